import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { detailText, PulseloopError } from '../../errors/registry.js';
import type { MetadataStore } from './open.js';
import { getProject } from './projects.js';
import type { SourcesTable, WriteKeysTable } from './schema.js';

/** Where data comes from. */
export const SOURCE_KINDS = ['website', 'app', 'mini_program', 'server', 'import'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export interface Source {
  id: string;
  projectId: string;
  name: string;
  kind: SourceKind;
  /** ISO 8601 UTC. */
  createdAt: string;
}

/**
 * A write key authorises sending events to one source. Keys are public by nature (embedded in
 * web pages and SDK snippets), so they are stored as they are, not hashed.
 */
export interface WriteKey {
  key: string;
  sourceId: string;
  projectId: string;
  /** Null: the server-wide default applies. */
  rateLimitPerSecond: number | null;
  /** ISO 8601 UTC. */
  createdAt: string;
  /** ISO 8601 UTC, or null while the key is active. */
  revokedAt: string | null;
}

/** What ingestion needs to know about a key it accepts. */
export type ActiveWriteKey = Pick<WriteKey, 'key' | 'sourceId' | 'projectId' | 'rateLimitPerSecond'>;

export interface WriteKeyOptions {
  rateLimitPerSecond?: number | null;
}

/** Creates a source in a project together with its first write key. */
export async function createSource(
  store: MetadataStore,
  input: { projectId: string; name: string; kind: SourceKind },
): Promise<{ source: Source; writeKey: WriteKey }> {
  const row: SourcesTable = {
    id: randomUUID(),
    project_id: input.projectId,
    name: validName(input.name),
    kind: validKind(input.kind),
    created_at: new Date().toISOString(),
  };
  if (!(await getProject(store, input.projectId))) {
    throw new PulseloopError('not_found', { what: 'Project', what_zh: '项目', id: input.projectId });
  }
  const keyRow = newWriteKeyRow(row.id, row.project_id, null);
  await store.db.transaction().execute(async (trx) => {
    await trx.insertInto('sources').values(row).execute();
    await trx.insertInto('write_keys').values(keyRow).execute();
  });
  return { source: toSource(row), writeKey: toWriteKey(keyRow) };
}

/** The source with this id, or undefined. */
export async function getSource(store: MetadataStore, id: string): Promise<Source | undefined> {
  const row = await store.db.selectFrom('sources').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toSource(row);
}

/** The sources of a project, oldest first. */
export async function listSources(store: MetadataStore, projectId: string): Promise<Source[]> {
  const rows = await store.db
    .selectFrom('sources')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toSource);
}

/** Adds a write key to a source, e.g. to rotate keys without downtime; not_found if the source does not exist. */
export async function createWriteKey(
  store: MetadataStore,
  sourceId: string,
  options: WriteKeyOptions = {},
): Promise<WriteKey> {
  const source = await getSource(store, sourceId);
  if (!source) throw new PulseloopError('not_found', { what: 'Source', what_zh: '数据源', id: sourceId });
  const row = newWriteKeyRow(source.id, source.projectId, validRateLimit(options.rateLimitPerSecond));
  await store.db.insertInto('write_keys').values(row).execute();
  return toWriteKey(row);
}

/**
 * Revokes a key from now on; true if the key exists (revoking twice keeps the first revocation
 * time), false if it is unknown.
 */
export async function revokeWriteKey(store: MetadataStore, key: string): Promise<boolean> {
  const result = await store.db
    .updateTable('write_keys')
    .set({ revoked_at: sql<string>`coalesce(revoked_at, ${new Date().toISOString()})` })
    .where('key', '=', key)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Every write key of a project, revoked ones included, oldest first. */
export async function listWriteKeys(store: MetadataStore, projectId: string): Promise<WriteKey[]> {
  const rows = await store.db
    .selectFrom('write_keys')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('created_at')
    .orderBy('key')
    .execute();
  return rows.map(toWriteKey);
}

/** The key if it exists and is not revoked: one primary-key lookup, run on every ingestion request. */
export async function findActiveWriteKey(
  store: MetadataStore,
  key: string,
): Promise<ActiveWriteKey | undefined> {
  const row = await store.db
    .selectFrom('write_keys')
    .select(['key', 'source_id', 'project_id', 'rate_limit_per_second'])
    .where('key', '=', key)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return (
    row && {
      key: row.key,
      sourceId: row.source_id,
      projectId: row.project_id,
      rateLimitPerSecond: row.rate_limit_per_second,
    }
  );
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const WRITE_KEY_LENGTH = 32;

/** `pl_wk_` and 32 random base62 characters (≈190 bits). */
export function generateWriteKey(): string {
  let out = '';
  while (out.length < WRITE_KEY_LENGTH) {
    for (const byte of randomBytes(WRITE_KEY_LENGTH)) {
      // 248 = 4 × 62: dropping bytes above it keeps every character equally likely.
      if (byte < 248 && out.length < WRITE_KEY_LENGTH) out += BASE62[byte % 62];
    }
  }
  return `pl_wk_${out}`;
}

function newWriteKeyRow(
  sourceId: string,
  projectId: string,
  rateLimitPerSecond: number | null,
): WriteKeysTable {
  return {
    key: generateWriteKey(),
    source_id: sourceId,
    project_id: projectId,
    rate_limit_per_second: rateLimitPerSecond,
    created_at: new Date().toISOString(),
    revoked_at: null,
  };
}

function validName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new PulseloopError(
      'invalid_request',
      detailText('the source needs a non-empty name.', '数据源名称不能为空。'),
    );
  }
  return name.trim();
}

function validKind(kind: unknown): SourceKind {
  if (!SOURCE_KINDS.includes(kind as SourceKind)) {
    throw new PulseloopError(
      'invalid_request',
      detailText(
        `source kind "${String(kind)}" is unknown; use one of ${SOURCE_KINDS.join(', ')}.`,
        `未知的数据源类型 "${String(kind)}"：请使用 ${SOURCE_KINDS.join('、')} 之一。`,
      ),
    );
  }
  return kind as SourceKind;
}

function validRateLimit(value: number | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isInteger(value) || value < 1) {
    throw new PulseloopError(
      'invalid_request',
      detailText(
        `rateLimitPerSecond must be a positive whole number, not ${value}.`,
        `rateLimitPerSecond 必须是正整数，而不是 ${value}。`,
      ),
    );
  }
  return value;
}

function toSource(row: SourcesTable): Source {
  return {
    id: row.id,
    projectId: row.project_id,
    name: row.name,
    kind: row.kind as SourceKind,
    createdAt: row.created_at,
  };
}

function toWriteKey(row: WriteKeysTable): WriteKey {
  return {
    key: row.key,
    sourceId: row.source_id,
    projectId: row.project_id,
    rateLimitPerSecond: row.rate_limit_per_second,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
