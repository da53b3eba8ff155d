import type { Kysely } from 'kysely';
import type { MetadataStore } from '../../store/metadata/open.js';
import type { MetadataDatabase } from '../../store/metadata/schema.js';

/**
 * Row types of the metadata tables that migration 0002 creates for jobs, connectors and webhooks.
 * Times are ISO 8601 UTC text, as everywhere in the metadata store.
 */
export interface JobsTable {
  id: string;
  kind: string;
  /** At most one queued or running job holds a given key (partial unique index). */
  singleton_key: string | null;
  /** JSON text. */
  payload: string;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  next_run_at: string;
  /** While running: the lease; a worker that has not renewed it by then is presumed dead. */
  locked_until: string | null;
  /** `host:pid` of the worker holding the lease. */
  locked_by: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface ConnectorSecretsTable {
  id: string;
  value: string;
  created_at: string;
}

export interface ConnectorInstancesTable {
  id: string;
  project_id: string;
  connector: string;
  name: string;
  /** JSON text of the connector's settings (account ids, start date, base URL …). */
  config: string;
  /** `env:NAME` (read from the environment at sync time) or `secret:<id>` (connector_secrets). */
  credentials_ref: string;
  created_at: string;
  updated_at: string;
}

export interface ConnectorCheckpointsTable {
  instance_id: string;
  stream: string;
  /** JSON text of the stream's cursor: where the next page starts. */
  cursor: string;
  /** 1 while a run is part-way through (resume from `cursor`), 0 once it finished. */
  in_progress: number;
  pages_written: number;
  rows_written: number;
  updated_at: string;
}

export interface WebhookSecretsTable {
  source_id: string;
  platform: string;
  project_id: string;
  secret: string;
  /** The platform's app key where it is part of the signature (Douyin shop's app-id header). */
  app_key: string | null;
  created_at: string;
  updated_at: string;
}

export type CollectTables = {
  jobs: JobsTable;
  connector_secrets: ConnectorSecretsTable;
  connector_instances: ConnectorInstancesTable;
  connector_checkpoints: ConnectorCheckpointsTable;
  webhook_secrets: WebhookSecretsTable;
};

export type CollectDatabase = MetadataDatabase & CollectTables;

/** The metadata database seen with the tables of migration 0002. */
export function collectDb(store: MetadataStore): Kysely<CollectDatabase> {
  return store.db.withTables<CollectTables>();
}
