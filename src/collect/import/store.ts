import { type FactsEngine, insertRows, MAX_BOUND_IDS } from '../../store/facts/engine.js';
import type { QuarantineRow } from '../../store/facts/rows.js';
import type { RowChunk } from './chunk.js';
import type { CompareAs, KindSpec } from './kinds/types.js';
import type { RowCodec } from './row-codec.js';

/**
 * Writing a chunk of imported rows: look up the stored rows with the same natural keys, tell new
 * from updated from unchanged, and insert only new and updated rows (an identical re-import writes
 * nothing). A chunk whose range holds no stored row at all (a first import) is inserted as it is,
 * without a look-up or a single row decoded. Facts tables are ReplacingMergeTree on the natural key with `updated_at` as version,
 * so an updated row replaces the stored one.
 */

export interface ChunkCounts {
  imported: number;
  updated: number;
  unchanged: number;
}

const KEY_SEPARATOR = '\u0001';

/** The natural key of a row as one string. */
export function naturalKeyOf(spec: KindSpec, row: Record<string, unknown>): string {
  const columns = spec.naturalKey;
  if (columns.length === 1) return keyPart(row[columns[0]!]);
  // join() builds one flat string; `+=` would keep a chain of parts alive for every stored key.
  const parts: string[] = [];
  for (const column of columns) parts.push(keyPart(row[column]));
  return parts.join(KEY_SEPARATOR);
}

function keyPart(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

/** Milliseconds columns get their own alias: ClickHouse would otherwise read the alias in WHERE. */
const MS_PREFIX = 'ms__';

function selectExpression(column: string, how: CompareAs | 'key'): string {
  return how === 'ms' ? `toUnixTimestamp64Milli(${column}) AS ${MS_PREFIX}${column}` : column;
}

/**
 * Stored rows of this project sharing a natural key with a row of the chunk, by key, a slice of ids
 * at a time. Nothing when the chunk's range holds no row of the project.
 */
async function* storedRows(
  facts: FactsEngine,
  spec: KindSpec,
  projectId: string,
  chunk: RowChunk,
): AsyncGenerator<Map<string, Record<string, unknown>>> {
  // Identifiers come from the kind's specification (constants), values only from bound parameters.
  const params: Record<string, unknown> = { project: projectId };
  let range = '';
  if (spec.rangeColumn) {
    Object.assign(params, { lo: chunk.lo, hi: chunk.hi });
    range =
      spec.rangeColumn.type === 'date'
        ? `AND ${spec.rangeColumn.column} BETWEEN {lo:Date} AND {hi:Date}`
        : `AND ${spec.rangeColumn.column} BETWEEN fromUnixTimestamp64Milli({lo:Int64}) AND fromUnixTimestamp64Milli({hi:Int64})`;
  }
  // A cheap probe first: a first import into an empty range needs no key look-up at all.
  const probe = await facts.query(
    `SELECT 1 AS found FROM ${spec.table} WHERE project_id = {project:String} ${range} LIMIT 1`,
    params,
  );
  if (probe.length === 0) return;
  // The id column is part of the natural key: its values are read off the keys.
  const idPosition = spec.naturalKey.indexOf(spec.idColumn);
  const ids = new Set<string>();
  for (const key of chunk.keys.keys()) ids.add(key.split(KEY_SEPARATOR)[idPosition] ?? '');
  const allIds = [...ids];
  const columns = [
    ...spec.naturalKey.map((c) => selectExpression(c, 'key')),
    ...Object.entries(spec.compare)
      .filter(([c]) => !spec.naturalKey.includes(c))
      .map(([c, how]) => selectExpression(c, how)),
  ];
  for (let start = 0; start < allIds.length; start += MAX_BOUND_IDS) {
    const stored = await facts.query<Record<string, unknown>>(
      `SELECT ${columns.join(', ')} FROM ${spec.table} FINAL
       WHERE project_id = {project:String} ${range} AND ${spec.idColumn} IN {ids:Array(String)}`,
      { ...params, ids: allIds.slice(start, start + MAX_BOUND_IDS) },
    );
    const found = new Map<string, Record<string, unknown>>();
    for (const row of stored) {
      for (const [column, how] of Object.entries(spec.compare)) {
        if (how !== 'ms') continue;
        row[column] = row[MS_PREFIX + column];
        delete row[MS_PREFIX + column];
      }
      found.set(naturalKeyOf(spec, row), row);
    }
    yield found;
  }
}

function sameValue(how: CompareAs, a: unknown, b: unknown): boolean {
  switch (how) {
    case 'text':
      return String(a ?? '') === String(b ?? '');
    case 'ms':
      return Number(a ?? 0) === Number(b ?? 0);
    case 'list':
      return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
    case 'number': {
      const x = Number(a ?? 0);
      const y = Number(b ?? 0);
      return Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x));
    }
  }
}

function unchanged(spec: KindSpec, row: Record<string, unknown>, stored: Record<string, unknown>): boolean {
  for (const column in spec.compare) {
    if (!sameValue(spec.compare[column]!, row[column], stored[column])) return false;
  }
  return true;
}

/** Writes one chunk: answers how many rows were new, updated and unchanged. */
export async function writeChunk(
  facts: FactsEngine,
  spec: KindSpec,
  codec: RowCodec,
  projectId: string,
  chunk: RowChunk,
): Promise<ChunkCounts> {
  const counts: ChunkCounts = { imported: 0, updated: 0, unchanged: 0 };
  if (chunk.size === 0) return counts;
  const skipped = new Set<number>();
  const replaced = new Map<number, string>();
  // Comparing needs only the compared columns; reconciling (persons) needs the whole row.
  const wanted = spec.reconcile ? undefined : new Set(Object.keys(spec.compare));
  let matched = 0;
  for await (const stored of storedRows(facts, spec, projectId, chunk)) {
    for (const [key, before] of stored) {
      const index = chunk.keys.get(key);
      if (index === undefined) continue; // same id, another key (another day of the post)
      matched++;
      const row = codec.decode(chunk.line(index), wanted);
      spec.reconcile?.(row, before);
      if (unchanged(spec, row, before)) {
        counts.unchanged++;
        skipped.add(index);
        continue;
      }
      counts.updated++;
      if (spec.reconcile) replaced.set(index, codec.encode(row));
    }
  }
  counts.imported = chunk.size - matched;
  if (counts.imported + counts.updated > 0) {
    const payload = chunk.payload(skipped.size > 0 ? (i) => !skipped.has(i) : undefined, replaced);
    await insertRows(facts, spec.table, payload, {
      format: codec.format,
      ...(codec.columns ? { columns: codec.columns } : {}),
    });
  }
  return counts;
}

/** Stores quarantine rows not stored before (their ids derive from the row), so a re-import adds none. */
export async function writeQuarantine(
  facts: FactsEngine,
  projectId: string,
  rows: QuarantineRow[],
): Promise<number> {
  if (rows.length === 0) return 0;
  // Looked up in slices: a chunk may set aside tens of thousands of rows (a file with one bad column).
  const seen = new Set<string>();
  for (let start = 0; start < rows.length; start += MAX_BOUND_IDS) {
    const existing = await facts.query<{ id: string }>(
      `SELECT id FROM quarantine WHERE project_id = {project:String} AND origin = 'import' AND id IN {ids:Array(String)}`,
      { project: projectId, ids: rows.slice(start, start + MAX_BOUND_IDS).map((r) => r.id) },
    );
    for (const row of existing) seen.add(row.id);
  }
  const fresh = rows.filter((r) => !seen.has(r.id));
  if (fresh.length > 0) {
    await facts.insertJsonEachRow('quarantine', `${fresh.map((r) => JSON.stringify(r)).join('\n')}\n`);
  }
  return fresh.length;
}
