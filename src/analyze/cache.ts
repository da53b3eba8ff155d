import { scanEventRows } from '../store/facts/event-binary.js';
import type { Analysis, AnalysisContext } from './analysis.js';
import { type DateRange, nextDay } from './query/scope.js';

/**
 * Analysis results kept in memory, keyed by project + kind + the query as canonical JSON, bounded
 * by entries and bytes (least recently used goes first). A result is dropped when rows arrive that
 * it may depend on: events whose time falls in the days it read (Analysis.dependsOn), or any
 * identity, person or non-event fact of its project (they change persons and whole tables). Writes
 * that do not pass through the batch writer (bulk imports, connectors) are bounded by a time to live.
 */

export interface ResultCacheOptions {
  maxEntries?: number;
  maxBytes?: number;
  ttlMs?: number;
  now?: () => number;
}

interface Entry {
  projectId: string;
  /** UTC milliseconds the result's days may cover in any time zone (UTC−12 … UTC+14). */
  fromMs: number;
  untilMs: number;
  value: unknown;
  bytes: number;
  storedAt: number;
}

export interface ResultCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  invalidated: number;
}

/** Written rows of one project: the event-time span, or 'all' when anything of the project may change. */
export type WrittenSpan = { fromMs: number; toMs: number } | 'all';

export interface ResultCache {
  get(key: string): unknown | undefined;
  /** Stores a result unless its project saw writes since `generation` (a result computed from older data). */
  set(key: string, projectId: string, dependsOn: DateRange, value: unknown, generation: number): void;
  /** A number that changes whenever the project's results are invalidated. */
  generation(projectId: string): number;
  /** Drops the project's results that a write of this span may change. */
  noteWritten(projectId: string, span: WrittenSpan): void;
  /** Reads project ids (and event times) from rows just inserted into a table. */
  noteInsertedRows(part: WrittenRows): void;
  stats(): ResultCacheStats;
}

const HOUR_MS = 3_600_000;

/** Canonical JSON: object keys sorted, so equal queries give equal keys whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function cacheKey(projectId: string, kind: string, query: unknown): string {
  return `${projectId}\u0000${kind}\u0000${canonicalJson(query)}`;
}

const PROJECT_KEY = Buffer.from('"project_id":"');
const TIMESTAMP_KEY = Buffer.from('"timestamp":');

/** The integer written at `at` (digits, optionally after a minus sign), or NaN. */
function integerAt(bytes: Buffer, at: number): number {
  const negative = bytes[at] === 0x2d;
  let i = negative ? at + 1 : at;
  let value = 0;
  const first = i;
  for (; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
  }
  if (i === first) return Number.NaN;
  return negative ? -value : value;
}

/** Rows written to a table: JSON lines, or RowBinary `events` rows (event-binary.ts), in pieces of whole rows. */
export interface WrittenRows {
  table: string;
  format: 'JSONEachRow' | 'RowBinary';
  rows: readonly Buffer[];
}

/** Widens the project's span in `spans` by one row's event time (NaN: unknown, so 'all'). */
function noteRow(spans: Map<string, WrittenSpan>, projectId: string, ms: number): void {
  const known = spans.get(projectId);
  if (Number.isNaN(ms) || known === 'all') spans.set(projectId, 'all');
  else if (!known) spans.set(projectId, { fromMs: ms, toMs: ms });
  else if (ms < known.fromMs || ms > known.toMs)
    spans.set(projectId, { fromMs: Math.min(known.fromMs, ms), toMs: Math.max(known.toMs, ms) });
}

/**
 * Project ids and event-time spans of rows as the ingestion path writes them. Runs on the serving
 * thread after every insert of the batch writer, so it reads bytes and makes a string only when a
 * row's project differs from the row before it.
 */
export function scanWrittenRows(written: WrittenRows): Map<string, WrittenSpan> {
  const spans = new Map<string, WrittenSpan>();
  const events = written.table === 'events';
  for (const piece of written.rows) {
    if (written.format === 'RowBinary' && events) scanBinaryPiece(piece, spans);
    else if (written.format === 'RowBinary') throw new Error(`no binary layout for ${written.table}`);
    else scanPiece(piece, events, spans);
  }
  return spans;
}

/**
 * Reads project ids from the bytes of `rows`, making a string only when a row's id differs from the
 * row before it (rows of one request, and mostly of one flush, share their project).
 */
function projectIdReader(rows: Buffer): (start: number, end: number) => string {
  let previousStart = -1;
  let previousEnd = -1;
  let projectId = '';
  return (start, end) => {
    const sameProject =
      previousStart >= 0 &&
      end - start === previousEnd - previousStart &&
      rows.compare(rows, previousStart, previousEnd, start, end) === 0;
    if (!sameProject) projectId = rows.toString('utf8', start, end);
    previousStart = start;
    previousEnd = end;
    return projectId;
  };
}

/** Adds the spans of one piece of RowBinary `events` rows to `spans`. */
function scanBinaryPiece(rows: Buffer, spans: Map<string, WrittenSpan>): void {
  const projectIdAt = projectIdReader(rows);
  scanEventRows(rows, ({ projectStart, projectEnd, timestampMs }) => {
    noteRow(spans, projectIdAt(projectStart, projectEnd), timestampMs);
  });
}

/** Adds the spans of one piece of whole JSON lines to `spans`. */
function scanPiece(rows: Buffer, events: boolean, spans: Map<string, WrittenSpan>): void {
  const projectIdAt = projectIdReader(rows);
  let start = 0;
  while (start < rows.length) {
    let end = rows.indexOf(10, start);
    if (end === -1) end = rows.length;
    const p = rows.indexOf(PROJECT_KEY, start);
    if (p !== -1 && p < end) {
      const idStart = p + PROJECT_KEY.length;
      const projectId = projectIdAt(idStart, rows.indexOf(34, idStart));
      let ms = Number.NaN;
      if (events) {
        const t = rows.indexOf(TIMESTAMP_KEY, start);
        if (t !== -1 && t < end) ms = integerAt(rows, t + TIMESTAMP_KEY.length);
      }
      noteRow(spans, projectId, ms);
    }
    start = end + 1;
  }
}

export function createResultCache(options: ResultCacheOptions = {}): ResultCache {
  const maxEntries = options.maxEntries ?? 500;
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const ttlMs = options.ttlMs ?? 10 * 60_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const generations = new Map<string, number>();
  let bytes = 0;
  const counters = { hits: 0, misses: 0, invalidated: 0 };

  const drop = (key: string, entry: Entry) => {
    entries.delete(key);
    bytes -= entry.bytes;
  };
  const bump = (projectId: string) => generations.set(projectId, (generations.get(projectId) ?? 0) + 1);

  const cache: ResultCache = {
    get(key) {
      const entry = entries.get(key);
      if (!entry || now() - entry.storedAt > ttlMs) {
        if (entry) drop(key, entry);
        counters.misses += 1;
        return undefined;
      }
      // Re-insert: Map order is the recency order.
      entries.delete(key);
      entries.set(key, entry);
      counters.hits += 1;
      return entry.value;
    },
    set(key, projectId, dependsOn, value, generation) {
      if ((generations.get(projectId) ?? 0) !== generation) return;
      const size = JSON.stringify(value).length * 2;
      if (size > maxBytes) return;
      const old = entries.get(key);
      if (old) drop(key, old);
      entries.set(key, {
        projectId,
        fromMs: Date.parse(`${dependsOn.from}T00:00:00Z`) - 14 * HOUR_MS,
        untilMs: Date.parse(`${nextDay(dependsOn.to)}T00:00:00Z`) + 12 * HOUR_MS,
        value,
        bytes: size,
        storedAt: now(),
      });
      bytes += size;
      for (const [k, e] of entries) {
        if (entries.size <= maxEntries && bytes <= maxBytes) break;
        drop(k, e);
      }
    },
    generation: (projectId) => generations.get(projectId) ?? 0,
    noteWritten(projectId, span) {
      bump(projectId);
      for (const [key, entry] of entries) {
        if (entry.projectId !== projectId) continue;
        if (span === 'all' || (span.fromMs < entry.untilMs && span.toMs >= entry.fromMs)) {
          drop(key, entry);
          counters.invalidated += 1;
        }
      }
    },
    noteInsertedRows(written) {
      for (const [projectId, span] of scanWrittenRows(written)) cache.noteWritten(projectId, span);
    },
    stats: () => ({ entries: entries.size, bytes, ...counters }),
  };
  return cache;
}

const caches = new WeakMap<object, ResultCache>();

/** The one cache of a server, keyed by its facts engine (routes share it without new wiring). */
export function resultCacheFor(owner: object, options?: ResultCacheOptions): ResultCache {
  let cache = caches.get(owner);
  if (!cache) {
    cache = createResultCache(options);
    caches.set(owner, cache);
  }
  return cache;
}

/**
 * Drops a project's cached results after rows were deleted outside the batch writer (erasure,
 * retention, scheduled or asked for): on the cache of this facts engine, when a server keeps one.
 */
export function noteFactsDeleted(facts: object, projectId: string): void {
  caches.get(facts)?.noteWritten(projectId, 'all');
}

/** Runs an analysis through the cache: a stored result when there is one, else runs and stores it. */
export function runWithCache<Query, Result>(
  cache: ResultCache,
  analysis: Analysis<Query, Result>,
  context: AnalysisContext,
  query: Query,
): Promise<{ result: Result; cached: boolean }> {
  return cachedResult(cache, context.project.projectId, analysis.kind, query, analysis.dependsOn(query), () =>
    analysis.run(context, query),
  );
}

/**
 * Any read of a project's facts through the cache, under `kind` and `query` (its key): a stored
 * result when there is one, else `run`'s, stored unless rows of `dependsOn`'s days arrived meanwhile.
 */
export async function cachedResult<Result>(
  cache: ResultCache,
  projectId: string,
  kind: string,
  query: unknown,
  dependsOn: DateRange,
  run: () => Promise<Result>,
): Promise<{ result: Result; cached: boolean }> {
  const key = cacheKey(projectId, kind, query);
  const hit = cache.get(key);
  if (hit !== undefined) return { result: hit as Result, cached: true };
  const generation = cache.generation(projectId);
  const result = await run();
  cache.set(key, projectId, dependsOn, result, generation);
  return { result, cached: false };
}
