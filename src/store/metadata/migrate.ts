import { type Migration, Migrator, sql } from 'kysely';
import type { MetadataStore } from './open.js';

/**
 * Every metadata migration, keyed by a zero-padded number and a name; they run in key order and
 * are never edited once committed: a change is a new entry. Written with Kysely's schema builder so
 * one definition creates the same tables on SQLite and PostgreSQL (`text` and `integer` on both).
 */
export const METADATA_MIGRATIONS: Record<string, Migration> = {
  '0001_organisations_projects_sources_write_keys': {
    async up(db) {
      await db.schema
        .createTable('organisations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('projects')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('organisation_id', 'text', (c) => c.notNull().references('organisations.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('time_zone', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('projects_organisation_id')
        .on('projects')
        .column('organisation_id')
        .execute();

      await db.schema
        .createTable('sources')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sources_project_id').on('sources').column('project_id').execute();

      // The primary key on `key` is the index every ingestion request looks up.
      await db.schema
        .createTable('write_keys')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('source_id', 'text', (c) => c.notNull().references('sources.id'))
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('rate_limit_per_second', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('write_keys_project_id').on('write_keys').column('project_id').execute();
      await db.schema.createIndex('write_keys_source_id').on('write_keys').column('source_id').execute();
    },
  },
  // Connectors and webhooks (src/collect/connectors, src/collect/webhooks): the durable job table,
  // connector instances with their stored secrets and per-stream checkpoints, webhook secrets per source.
  '0002_jobs_connectors_webhooks': {
    async up(db) {
      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        // At most one queued or running job per key (the partial unique index below).
        .addColumn('singleton_key', 'text')
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('next_run_at', 'text', (c) => c.notNull())
        .addColumn('locked_until', 'text')
        .addColumn('locked_by', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema.createIndex('jobs_due').on('jobs').columns(['status', 'next_run_at']).execute();
      await db.schema
        .createIndex('jobs_active_singleton')
        .on('jobs')
        .column('singleton_key')
        .unique()
        .where(sql<boolean>`status in ('queued', 'running')`)
        .execute();

      await db.schema
        .createTable('connector_secrets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('connector_instances')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('connector', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('credentials_ref', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('connector_instances_project_name', ['project_id', 'name'])
        .execute();

      await db.schema
        .createTable('connector_checkpoints')
        .addColumn('instance_id', 'text', (c) => c.notNull().references('connector_instances.id'))
        .addColumn('stream', 'text', (c) => c.notNull())
        .addColumn('cursor', 'text', (c) => c.notNull())
        .addColumn('in_progress', 'integer', (c) => c.notNull())
        .addColumn('pages_written', 'integer', (c) => c.notNull())
        .addColumn('rows_written', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('connector_checkpoints_pk', ['instance_id', 'stream'])
        .execute();

      await db.schema
        .createTable('webhook_secrets')
        .addColumn('source_id', 'text', (c) => c.notNull().references('sources.id'))
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('app_key', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('webhook_secrets_pk', ['source_id', 'platform'])
        .execute();
    },
  },
  // Metrics catalogue and saved analyses (src/analyze/metrics/custom.ts, src/analyze/saved.ts):
  // custom metrics per project, saved insights (an analysis kind + its query) and dashboards.
  '0003_insights_dashboards_metrics': {
    async up(db) {
      await db.schema
        .createTable('custom_metrics')
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('en', 'text', (c) => c.notNull())
        .addColumn('zh', 'text', (c) => c.notNull())
        .addColumn('unit', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('higher_is_better', 'integer')
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('custom_metrics_pk', ['project_id', 'id'])
        .execute();

      await db.schema
        .createTable('insights')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('query', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('insights_project_id').on('insights').column('project_id').execute();

      await db.schema
        .createTable('dashboards')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('tiles', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('dashboards_project_id').on('dashboards').column('project_id').execute();
    },
  },
  // Governance (src/govern): users with organisation and project roles, sessions and personal API
  // tokens (both stored as SHA-256 hashes only), the append-only audit log, consent history, the
  // suppression list of erased ids (keyed hashes) and per-project governance settings (retention).
  '0004_users_roles_tokens_audit_consent': {
    async up(db) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('disabled_at', 'text')
        .execute();

      await db.schema
        .createTable('organisation_members')
        .addColumn('organisation_id', 'text', (c) => c.notNull().references('organisations.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('organisation_members_pk', ['organisation_id', 'user_id'])
        .execute();

      await db.schema
        .createTable('project_members')
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('project_members_pk', ['project_id', 'user_id'])
        .execute();
      await db.schema
        .createIndex('project_members_user_id')
        .on('project_members')
        .column('user_id')
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('csrf_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('user_agent', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();

      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('read_only', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('api_tokens_user_id').on('api_tokens').column('user_id').execute();

      // Append-only: the application has no update or delete path for this table.
      await db.schema
        .createTable('audit_log')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('organisation_id', 'text')
        .addColumn('project_id', 'text')
        .addColumn('actor_type', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text', (c) => c.notNull())
        .addColumn('actor_label', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target_type', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('user_agent', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('audit_log_project_at')
        .on('audit_log')
        .columns(['project_id', 'at'])
        .execute();

      await db.schema
        .createTable('consent_records')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('granted', 'integer', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('occurred_at', 'text', (c) => c.notNull())
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('consent_records_subject')
        .on('consent_records')
        .columns(['project_id', 'subject_id', 'purpose'])
        .execute();
      await db.schema
        .createIndex('consent_records_recorded_at')
        .on('consent_records')
        .column('recorded_at')
        .execute();

      await db.schema
        .createTable('suppressed_ids')
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('id_hash', 'text', (c) => c.notNull())
        .addColumn('erased_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('suppressed_ids_pk', ['project_id', 'id_hash'])
        .execute();

      await db.schema
        .createTable('governance_settings')
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('governance_settings_pk', ['project_id', 'key'])
        .execute();
    },
  },
};

/**
 * Applies every metadata migration not yet recorded in `metadata_migrations` and returns the names
 * of those it ran (empty when the store is up to date). Safe to run at every start, and from
 * several processes at once: Kysely's migrator takes a lock first.
 */
export async function migrateMetadata(
  store: MetadataStore,
  migrations: Record<string, Migration> = METADATA_MIGRATIONS,
): Promise<string[]> {
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'metadata_migrations',
    migrationLockTableName: 'metadata_migrations_lock',
    // Without a schema Kysely would find a `metadata_migrations` table in any schema of the database;
    // pinning it to the connection's own schema keeps isolated schemas (tests, tenants) apart.
    ...(store.dialect === 'postgres' && { migrationTableSchema: await currentSchema(store) }),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`Metadata migration ${failed ?? ''} failed: ${(error as Error).message ?? error}`, {
      cause: error,
    });
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

async function currentSchema(store: MetadataStore): Promise<string> {
  const { rows } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(store.db);
  const schema = rows[0]?.schema;
  if (!schema) throw new Error('PostgreSQL has no current schema: check the search_path of the connection.');
  return schema;
}
