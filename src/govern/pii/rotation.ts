import { PulseloopError } from '../../errors/registry.js';
import type { FactsEngine } from '../../store/facts/engine.js';
import { readInKeyPages } from '../../store/facts/key-pages.js';
import { ENCRYPTED_PREFIX, reencryptField, reencryptJsonText } from './crypto.js';
import { type PiiKeyring, retirePiiKey } from './keys.js';

/**
 * Re-encryption after a key rotation, and retirement of keys nothing uses any more. Encrypted PII
 * lives in JSON text columns of the facts store: person traits and event properties.
 */

/**
 * Facts columns that may hold encrypted values: JSON text with encrypted fields inside, or a whole
 * encrypted value. `key` tells a row apart within a project: its id and a hash of the text, since
 * versions of one person (or copies of one event) not yet merged share the id but not always the
 * text, and each must get its own text back. `order` is the
 * table's sort key and `after` the same key compared with a cursor (`{c0}`…, the values of the last
 * row read as text): rows are read in pages along it.
 */
export const ENCRYPTED_COLUMNS = [
  {
    table: 'persons',
    column: 'traits',
    key: "concat(person_id, '/', toString(cityHash64(traits)))",
    kind: 'json',
    order: 'project_id, person_id',
    cursor: 'project_id AS c0, person_id AS c1',
    after: '(project_id, person_id) > ({c0:String}, {c1:String})',
  },
  {
    table: 'events',
    column: 'properties',
    key: "concat(message_id, '/', toString(cityHash64(properties)))",
    kind: 'json',
    order: 'project_id, event, toDate(timestamp), distinct_id, message_id',
    cursor:
      'project_id AS c0, event AS c1, toString(toDate(timestamp)) AS c2, distinct_id AS c3, message_id AS c4',
    after:
      '(project_id, event, toDate(timestamp), distinct_id, message_id) > ({c0:String}, {c1:String}, toDate({c2:String}), {c3:String}, {c4:String})',
  },
  {
    table: 'comments',
    column: 'author_name',
    key: "concat(platform, '/', content_id, '/', comment_id, '/', toString(cityHash64(author_name)))",
    kind: 'value',
    order: 'project_id, platform, content_id, comment_id',
    cursor: 'project_id AS c0, platform AS c1, content_id AS c2, comment_id AS c3',
    after:
      '(project_id, platform, content_id, comment_id) > ({c0:String}, {c1:String}, {c2:String}, {c3:String})',
  },
] as const;

/** Rows read per page (a page of large JSON texts stays far below the 512 MiB an answer can hold). */
const PAGE_ROWS = 10_000;
/**
 * Bytes of new text per mutation. A ClickHouse server takes bound parameters in the URL (1 MiB by
 * default, and JSON is longer once URL-encoded) and parses an array within max_query_size (256 KiB
 * by default, escapes included); the embedded engine has neither limit.
 */
const MUTATION_BYTES = { chdb: 16 << 20, http: 128 << 10 } as const;

interface PageRow {
  project_id: string;
  id: string;
  text: string;
  [cursor: `c${number}`]: string;
}

/**
 * Moves every encrypted value to the active key: rows holding a value under another key are read in
 * pages along each table's sort key, re-encrypted, and written back by synchronous mutations (values
 * bound as arrays, batched by bytes). Returns the rows rewritten per table.
 */
export async function reencryptFacts(
  facts: FactsEngine,
  ring: PiiKeyring,
  onProgress?: (table: string, done: number, total: number) => void,
): Promise<Record<string, number>> {
  const rewritten: Record<string, number> = {};
  const activePrefix = `${ENCRYPTED_PREFIX}${ring.activeKeyId}:`;
  const batchBytes = MUTATION_BYTES[facts.kind === 'chdb' ? 'chdb' : 'http'];
  for (const { table, column, key, kind, order, cursor, after } of ENCRYPTED_COLUMNS) {
    let done = 0;
    // Rows with an encrypted value under another key: some `enc:v1:` occurrence that is not the active prefix.
    const underOtherKey = `countSubstrings(${column}, {prefix:String}) > countSubstrings(${column}, {activePrefix:String})`;
    const params = { prefix: ENCRYPTED_PREFIX, activePrefix };
    const [counted] = await facts.query<{ n: number }>(
      `SELECT count() AS n FROM ${table} WHERE ${underOtherKey}`,
      params,
    );
    const total = Number(counted?.n ?? 0);
    await readInKeyPages<PageRow>(facts, {
      first: `SELECT project_id, ${key} AS id, ${column} AS text, ${cursor} FROM ${table}
              WHERE ${underOtherKey} ORDER BY ${order} LIMIT {limit:UInt32}`,
      next: `SELECT project_id, ${key} AS id, ${column} AS text, ${cursor} FROM ${table}
             WHERE ${underOtherKey} AND ${after} ORDER BY ${order} LIMIT {limit:UInt32}`,
      params,
      pageRows: PAGE_ROWS,
      // The columns `c0`… of the last row (mutations change only the encrypted column, not the key).
      cursor: (last) => Object.fromEntries(Object.entries(last).filter(([name]) => /^c\d$/.test(name))),
      onPage: async (page) => {
        const changed: Array<{ projectId: string; id: string; text: string }> = [];
        for (const row of page) {
          const next = kind === 'json' ? reencryptJsonText(ring, row.text) : reencryptValue(ring, row.text);
          if (next !== undefined) changed.push({ projectId: row.project_id, id: row.id, text: next });
        }
        for (const batch of batchesOf(changed, batchBytes)) {
          await facts.command(
            `ALTER TABLE ${table} UPDATE ${column} = transform(${key}, {ids:Array(String)}, {texts:Array(String)}, ${column})
             WHERE project_id = {projectId:String} AND ${key} IN {ids:Array(String)} SETTINGS mutations_sync = 2`,
            { projectId: batch[0]!.projectId, ids: batch.map((r) => r.id), texts: batch.map((r) => r.text) },
          );
          done += batch.length;
          onProgress?.(table, done, Math.max(total, done));
        }
      },
    });
    rewritten[table] = done;
  }
  return rewritten;
}

/** Splits rows into batches of one project each, holding at most `maxBytes` of new text (at least one row). */
function batchesOf<Row extends { projectId: string; text: string }>(rows: Row[], maxBytes: number): Row[][] {
  const batches: Row[][] = [];
  let batch: Row[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = Buffer.byteLength(row.text) + row.projectId.length;
    if (batch.length > 0 && (bytes + size > maxBytes || batch[0]!.projectId !== row.projectId)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(row);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
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
