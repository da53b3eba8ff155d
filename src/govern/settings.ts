import type { MetadataStore } from '../store/metadata/open.js';
import { governDb } from './tables.js';

/**
 * Per-project governance settings (PII field list, retention periods, …): one JSON value per
 * (project, key) in `governance_settings`, whose primary key makes the write a single upsert.
 */

export async function readGovernanceSetting<T>(
  store: MetadataStore,
  projectId: string,
  key: string,
): Promise<T | undefined> {
  const row = await governDb(store)
    .selectFrom('governance_settings')
    .select('value')
    .where('project_id', '=', projectId)
    .where('key', '=', key)
    .executeTakeFirst();
  return row ? (JSON.parse(row.value) as T) : undefined;
}

export async function writeGovernanceSetting(
  store: MetadataStore,
  projectId: string,
  key: string,
  value: unknown,
): Promise<void> {
  const row = {
    project_id: projectId,
    key,
    value: JSON.stringify(value),
    updated_at: new Date().toISOString(),
  };
  await governDb(store)
    .insertInto('governance_settings')
    .values(row)
    .onConflict((c) =>
      c.columns(['project_id', 'key']).doUpdateSet({ value: row.value, updated_at: row.updated_at }),
    )
    .execute();
}
