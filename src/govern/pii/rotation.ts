import { PulseloopError } from '../../errors/registry.js';
import type { FactsEngine } from '../../store/facts/engine.js';
import { ENCRYPTED_PREFIX, reencryptField, reencryptJsonText } from './crypto.js';
import { type PiiKeyring, retirePiiKey } from './keys.js';

/**
 * Re-encryption after a key rotation, and retirement of keys nothing uses any more. Encrypted PII
 * lives in JSON text columns of the facts store: person traits and event properties.
 */

/**
 * Facts columns that may hold encrypted values: JSON text with encrypted fields inside, or a whole
 * encrypted value; `key` is the expression that identifies a row within a project.
 */
export const ENCRYPTED_COLUMNS = [
  { table: 'persons', column: 'traits', key: 'person_id', kind: 'json' },
  { table: 'events', column: 'properties', key: 'message_id', kind: 'json' },
  {
    table: 'comments',
    column: 'author_name',
    key: "concat(platform, '/', content_id, '/', comment_id)",
    kind: 'value',
  },
] as const;

const BATCH = 1000;

/**
 * Moves every encrypted value to the active key, a batch of rows at a time (one synchronous
 * mutation per batch, values bound as arrays). Returns the rows rewritten per table.
 */
export async function reencryptFacts(
  facts: FactsEngine,
  ring: PiiKeyring,
  onProgress?: (table: string, done: number, total: number) => void,
): Promise<Record<string, number>> {
  const rewritten: Record<string, number> = {};
  const activePrefix = `${ENCRYPTED_PREFIX}${ring.activeKeyId}:`;
  for (const { table, column, key, kind } of ENCRYPTED_COLUMNS) {
    rewritten[table] = 0;
    // Rows with an encrypted value under another key: some `enc:v1:` occurrence that is not the active prefix.
    const rows = await facts.query<{ project_id: string; id: string; text: string }>(
      `SELECT project_id, ${key} AS id, ${column} AS text FROM ${table}
       WHERE countSubstrings(${column}, {prefix:String}) > countSubstrings(${column}, {activePrefix:String})`,
      { prefix: ENCRYPTED_PREFIX, activePrefix },
    );
    const byProject = new Map<string, Array<{ id: string; text: string }>>();
    for (const row of rows) {
      const next = kind === 'json' ? reencryptJsonText(ring, row.text) : reencryptValue(ring, row.text);
      if (next === undefined) continue;
      const list = byProject.get(row.project_id) ?? [];
      list.push({ id: row.id, text: next });
      byProject.set(row.project_id, list);
    }
    const total = [...byProject.values()].reduce((sum, list) => sum + list.length, 0);
    for (const [projectId, list] of byProject) {
      for (let i = 0; i < list.length; i += BATCH) {
        const batch = list.slice(i, i + BATCH);
        await facts.command(
          `ALTER TABLE ${table} UPDATE ${column} = transform(${key}, {ids:Array(String)}, {texts:Array(String)}, ${column})
           WHERE project_id = {projectId:String} AND ${key} IN {ids:Array(String)} SETTINGS mutations_sync = 2`,
          { projectId, ids: batch.map((r) => r.id), texts: batch.map((r) => r.text) },
        );
        rewritten[table] += batch.length;
        onProgress?.(table, rewritten[table], total);
      }
    }
  }
  return rewritten;
}

/** How many stored rows still hold a value encrypted under the key. */
export async function countUnderKey(facts: FactsEngine, keyId: string): Promise<number> {
  let total = 0;
  for (const { table, column } of ENCRYPTED_COLUMNS) {
    const [row] = await facts.query<{ n: number }>(
      `SELECT count() AS n FROM ${table} WHERE position(${column}, {needle:String}) > 0`,
      { needle: `${ENCRYPTED_PREFIX}${keyId}:` },
    );
    total += Number(row?.n ?? 0);
  }
  return total;
}

/** Retires a key once no stored value needs it; pii_key_in_use otherwise. */
export async function retireKeyWhenUnused(
  facts: FactsEngine,
  ring: PiiKeyring,
  keyId: string,
): Promise<PiiKeyring> {
  const count = await countUnderKey(facts, keyId);
  if (count > 0) throw new PulseloopError('pii_key_in_use', { keyId, count });
  return retirePiiKey(ring, keyId);
}

function reencryptValue(ring: PiiKeyring, value: string): string | undefined {
  const next = reencryptField(ring, value);
  return next === value ? undefined : next;
}
