import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { replaceFileDurably } from '../lib/durable-file.js';
import { type FactsEngine, insertRows } from '../store/facts/engine.js';
import { EVENT_BINARY_COLUMNS } from '../store/facts/event-binary.js';
import { FACTS_TABLES, type FactsTable } from '../store/facts/schema.js';
import { refusesRows, setAsideRows } from './set-aside.js';
import {
  comparePositions,
  type DecodedFrame,
  formatPosition,
  listSegments,
  readSegment,
  type Wal,
  type WalPosition,
  type WalRecord,
} from './wal.js';

/**
 * Moves acknowledged records from the write-ahead log into the facts store.
 *
 * Exactly-once into the store: before inserting the range [from, to) of the log, the writer records
 * that range as in flight in the checkpoint file, and inserts each table's rows with the insert
 * deduplication token `wal:<log id>:<from>-<to>:<table>`. If the process dies mid-insert, the restart re-inserts
 * exactly that range with the same tokens, and ClickHouse drops the blocks it already has.
 */

interface Checkpoint {
  committed: WalPosition;
  /**
   * The range being inserted, and whether the store parsed it on every core. A re-insert must parse
   * the same way: parsed in parallel, JSON rows beyond ~10 MB form other blocks than parsed on one
   * thread, so their deduplication tokens would not match and the range would be stored twice.
   * Absent in checkpoints written before it was recorded: those came from the writer, on one thread.
   */
  inflight?: { from: WalPosition; to: WalPosition; parallelParsing?: boolean; isolation?: Isolation };
}

/**
 * A range the store refused as a whole, being inserted record by record: the parts (`table:format`)
 * that went in with the whole range before the refusal, which are not inserted again.
 */
interface Isolation {
  inserted: string[];
}

export interface BatchWriterOptions {
  flushIntervalMs: number;
  /**
   * After an insert of at least LARGE_INSERT_ROWS rows, the next waits until this long after it
   * started (0: no wait). Under sustained load this makes about one part a second per table, as
   * ClickHouse advises; trickles keep the flush interval's latency.
   */
  minInsertIntervalMs?: number;
  /** Flush early when this many rows are waiting. */
  maxBatchRows?: number;
  logger?: Logger;
}

/**
 * An insert this large means ingestion is busy: the next one is held back for `minInsertIntervalMs`.
 * Each insert makes a part that background merges rewrite later; parts of ~30k rows instead of
 * ~8k (one a second instead of four at 30,000 events/s) cut the store's CPU per row by about a third
 * (measured on the embedded engine: 15 → 10.5 µs a row, merges included).
 */
export const LARGE_INSERT_ROWS = 5_000;

export interface BatchWriterStats {
  pendingRows: number;
  pendingBytes: number;
  /** Age of the oldest acknowledged record not yet in the store. */
  lagMs: number;
  insertedRows: number;
  /** Rows the store refused since start, set aside in quarantine (reason_code store_refused_row). */
  setAsideRows: number;
  lastError: string | undefined;
}

export interface BatchWriter {
  /** Hands over records that are durable in the log up to `end`. */
  enqueue(records: WalRecord[], end: WalPosition): void;
  stats(): BatchWriterStats;
  /** Inserts everything waiting now. */
  flush(): Promise<void>;
  /**
   * Inserts until nothing acknowledged is waiting, arrivals included (an erasure needs every event
   * of the person stored before it deletes them); fails when the store refuses for `timeoutMs`.
   */
  drain(timeoutMs?: number): Promise<void>;
  /** Stops the timer after draining everything waiting. */
  close(): Promise<void>;
}

const CHECKPOINT_FILE = 'checkpoint.json';
const LOG_ID_FILE = 'log-id';

function readCheckpoint(dir: string): Checkpoint {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) {
    const first = listSegments(dir)[0] ?? 1;
    return { committed: { segment: first, offset: 0 } };
  }
  return JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
}

/** Inserts run one at a time, so two checkpoint writes never overlap. */
async function writeCheckpoint(dir: string, checkpoint: Checkpoint): Promise<void> {
  await replaceFileDurably(join(dir, CHECKPOINT_FILE), (file) => file.writeFile(JSON.stringify(checkpoint)));
}

/**
 * The start of the deduplication tokens of the log in `dir`, read once per writer or replay.
 * Positions start at 1.0 in every log, so the tokens carry the log's own id, made the first time it
 * is asked for: two servers writing to one ClickHouse server, or a log directory made anew beside a
 * kept store, must never have an insert taken for a repeat of another log's.
 */
async function logTokens(dir: string): Promise<string> {
  const path = join(dir, LOG_ID_FILE);
  if (!existsSync(path)) await replaceFileDurably(path, (file) => file.writeFile(randomUUID()));
  return `wal:${readFileSync(path, 'utf8').trim()}:`;
}

/** The tokens of a log from before log ids: for the range that was in flight when such a log stopped. */
const LEGACY_TOKENS = 'wal:';

/** The rows of one table in one format, as the records' own buffers (whole rows each). */
export interface InsertedPart {
  table: FactsTable;
  format: 'JSONEachRow' | 'RowBinary';
  rows: Buffer[];
  rowCount: number;
}

/** The column layout of each table's RowBinary rows in the log. */
const BINARY_COLUMNS: Partial<Record<FactsTable, readonly string[]>> = { events: EVENT_BINARY_COLUMNS };

/**
 * Each table's rows in log order, by format, as the records' own buffers (no joined copy: a flush
 * can be many megabytes). Tables in FACTS_TABLES order; a table's JSON rows (from a log written
 * before binary rows) before its binary ones.
 */
function groupByTable(records: readonly WalRecord[]): InsertedPart[] {
  const parts = new Map<string, InsertedPart>();
  for (const record of records) {
    const format = record.format ?? 'JSONEachRow';
    const key = partKey({ table: record.table, format });
    let part = parts.get(key);
    if (!part) {
      part = { table: record.table, format, rows: [], rowCount: 0 };
      parts.set(key, part);
    }
    part.rows.push(record.rows);
    part.rowCount += record.rowCount;
  }
  const order = (part: InsertedPart) =>
    FACTS_TABLES.indexOf(part.table) * 2 + (part.format === 'RowBinary' ? 1 : 0);
  return [...parts.values()].sort((a, b) => order(a) - order(b));
}

/** Inserts one part; its token tells a retry of the same range, table and format. */
async function insertPart(engine: FactsEngine, part: InsertedPart, token: string, parallelParsing: boolean) {
  if (part.format === 'JSONEachRow') {
    await engine.insertJsonEachRow(part.table, part.rows, { deduplicationToken: token, parallelParsing });
    return;
  }
  const columns = BINARY_COLUMNS[part.table];
  if (!columns) throw new Error(`the log holds binary rows for ${part.table}, which has no binary layout`);
  await insertRows(engine, part.table, part.rows, {
    format: 'RowBinary',
    columns,
    deduplicationToken: `${token}:binary`,
    parallelParsing,
  });
}

/**
 * Told after rows reach the store: each table's rows in one format, in pieces of whole rows (the
 * analysis cache drops what they change).
 */
export type InsertedRowsListener = (part: InsertedPart) => void;
const insertedRowsListeners = new Set<InsertedRowsListener>();

/** Subscribes to inserted rows; returns the unsubscribe function. */
export function onRowsInserted(listener: InsertedRowsListener): () => void {
  insertedRowsListeners.add(listener);
  return () => insertedRowsListeners.delete(listener);
}

/** What inserting a range did: rows stored, and rows set aside in quarantine because the store refused them. */
interface RangeOutcome {
  rows: number;
  setAside: number;
}

function partKey(part: Pick<InsertedPart, 'table' | 'format'>): string {
  return `${part.table}:${part.format}`;
}

/**
 * Inserts one range of the log into the store, recording it as in flight first. A replay before
 * start-up lets the store parse on every core; inserts beside request serving parse on one thread,
 * which costs less CPU (see InsertOptions.parallelParsing).
 *
 * When the store refuses the rows themselves (REFUSED_ROWS_CODES), retrying the range would fail
 * forever and hold back everything after it. The range is then inserted record by record (a record
 * is one request's rows of one table), and each record the store still refuses is set aside in
 * quarantine, row by row, with the store's reason: kept, visible, and out of the way.
 */
async function insertRange(
  engine: FactsEngine,
  dir: string,
  from: WalPosition,
  to: WalPosition,
  records: readonly WalRecord[],
  how: { tokens: string; parallelParsing: boolean; isolation?: Isolation },
): Promise<RangeOutcome> {
  const { parallelParsing, isolation } = how;
  await writeCheckpoint(dir, {
    committed: from,
    inflight: { from, to, parallelParsing, ...(isolation ? { isolation } : {}) },
  });
  const range = `${how.tokens}${formatPosition(from)}-${formatPosition(to)}`;
  const parts = groupByTable(records);
  let outcome: RangeOutcome = { rows: 0, setAside: 0 };
  if (isolation) {
    outcome = await insertRecordByRecord(engine, range, records, isolation, parallelParsing);
  } else {
    const inserted: string[] = [];
    for (const part of parts) {
      try {
        await insertPart(engine, part, `${range}:${part.table}`, parallelParsing);
      } catch (error) {
        if (!refusesRows(error)) throw error;
        return insertRange(engine, dir, from, to, records, { ...how, isolation: { inserted } });
      }
      inserted.push(partKey(part));
      outcome.rows += part.rowCount;
    }
  }
  await writeCheckpoint(dir, { committed: to });
  for (const part of parts) {
    for (const listener of insertedRowsListeners) {
      try {
        listener(part);
      } catch {
        // The rows are committed; a listener's failure must not make the writer insert them again.
      }
    }
  }
  return outcome;
}

/** Each record of a refused range on its own, with its own token; refused ones set aside. */
async function insertRecordByRecord(
  engine: FactsEngine,
  range: string,
  records: readonly WalRecord[],
  isolation: Isolation,
  parallelParsing: boolean,
): Promise<RangeOutcome> {
  const outcome: RangeOutcome = { rows: 0, setAside: 0 };
  for (const [index, record] of records.entries()) {
    const part: InsertedPart = {
      table: record.table,
      format: record.format ?? 'JSONEachRow',
      rows: [record.rows],
      rowCount: record.rowCount,
    };
    if (isolation.inserted.includes(partKey(part))) {
      outcome.rows += record.rowCount; // went in with the whole range, before the refusal
      continue;
    }
    const token = `${range}:record-${index}:${record.table}`;
    try {
      await insertPart(engine, part, token, parallelParsing);
      outcome.rows += record.rowCount;
    } catch (error) {
      if (!refusesRows(error)) throw error;
      const setAside = setAsideRows(record, `${token}:set-aside`, error);
      await engine.insertJsonEachRow('quarantine', setAside.payload, {
        deduplicationToken: `${token}:set-aside`,
        parallelParsing: false,
      });
      outcome.setAside += setAside.count;
    }
  }
  return outcome;
}

function readFrames(dir: string, from: WalPosition, to?: WalPosition): DecodedFrame[] {
  const frames: DecodedFrame[] = [];
  for (const segment of listSegments(dir)) {
    if (segment < from.segment || (to && segment > to.segment)) continue;
    const start = segment === from.segment ? from.offset : 0;
    for (const frame of readSegment(dir, segment, start).frames) {
      if (to && comparePositions(frame.end, to) > 0) return frames;
      frames.push(frame);
    }
  }
  return frames;
}

export interface ReplayReport {
  rows: number;
  frames: number;
  /** Rows the store refused, set aside in quarantine. */
  setAside: number;
}

/**
 * Puts into the store whatever the log holds beyond the checkpoint: first the range that was in
 * flight (same tokens, parsed as it was), then the rest in chunks. Runs before the server accepts traffic.
 */
export async function replayWal(
  engine: FactsEngine,
  dir: string,
  onProgress?: (done: number, total: number) => void,
  chunkRows = 200_000,
): Promise<ReplayReport> {
  if (!existsSync(dir)) return { rows: 0, frames: 0, setAside: 0 };
  const checkpoint = readCheckpoint(dir);
  let committed = checkpoint.committed;
  let rows = 0;
  let setAside = 0;
  let frameCount = 0;
  if (checkpoint.inflight) {
    const { from, to, parallelParsing = false, isolation } = checkpoint.inflight;
    const frames = readFrames(dir, from, to);
    const tokens = existsSync(join(dir, LOG_ID_FILE)) ? await logTokens(dir) : LEGACY_TOKENS;
    const outcome = await insertRange(engine, dir, from, to, frames, {
      tokens,
      parallelParsing,
      ...(isolation ? { isolation } : {}),
    });
    rows += outcome.rows;
    setAside += outcome.setAside;
    frameCount += frames.length;
    committed = checkpoint.inflight.to;
  }
  const rest = readFrames(dir, committed);
  const total = rest.reduce((sum, f) => sum + f.rowCount, 0);
  let tokens: string | undefined;
  let chunk: DecodedFrame[] = [];
  let chunkCount = 0;
  let done = 0;
  const flushChunk = async () => {
    const last = chunk.at(-1);
    if (!last) return;
    tokens ??= await logTokens(dir);
    const outcome = await insertRange(engine, dir, committed, last.end, chunk, {
      tokens,
      parallelParsing: true,
    });
    rows += outcome.rows;
    setAside += outcome.setAside;
    frameCount += chunk.length;
    done += chunkCount;
    onProgress?.(done, total);
    committed = last.end;
    chunk = [];
    chunkCount = 0;
  };
  for (const frame of rest) {
    chunk.push(frame);
    chunkCount += frame.rowCount;
    if (chunkCount >= chunkRows) await flushChunk();
  }
  await flushChunk();
  return { rows, frames: frameCount, setAside };
}

interface Queued {
  records: WalRecord[];
  end: WalPosition;
  bytes: number;
  rows: number;
  enqueuedAt: number;
}

/** Starts the writer; `start` is where the store's contents end in the log (after replay). */
export function startBatchWriter(
  engine: FactsEngine,
  wal: Wal,
  start: WalPosition,
  options: BatchWriterOptions,
): BatchWriter {
  const maxBatchRows = options.maxBatchRows ?? 100_000;
  const minInsertIntervalMs = options.minInsertIntervalMs ?? 0;
  /** No timed flush before this time (set after a large insert). */
  let holdUntil = 0;
  let committed = start;
  let queue: Queued[] = [];
  let pendingRows = 0;
  let pendingBytes = 0;
  let insertedRows = 0;
  let setAsideCount = 0;
  /** The log's token prefix, read at the first insert. */
  let tokens: string | undefined;
  let lastError: string | undefined;
  let running: Promise<void> | undefined;
  let failures = 0;
  let retryCount = 0;
  let closed = false;

  /** Inserts everything queued now as one range; arrivals during the insert wait for the next round. */
  async function insertQueued(): Promise<void> {
    if (queue.length === 0) return;
    // After a failure, retry exactly the failed range so that its deduplication tokens match.
    const batch = retryCount > 0 ? queue.slice(0, retryCount) : queue.slice();
    const last = batch.at(-1)!;
    const from = committed;
    // Monotonic: a step of the wall clock (NTP) must neither hold inserts back nor release them early.
    const startedAt = performance.now();
    try {
      tokens ??= await logTokens(wal.dir);
      const { rows, setAside } = await insertRange(
        engine,
        wal.dir,
        from,
        last.end,
        batch.flatMap((q) => q.records),
        { tokens, parallelParsing: false },
      );
      if (setAside > 0) {
        setAsideCount += setAside;
        options.logger?.error(
          { setAside, from: formatPosition(from), to: formatPosition(last.end) },
          'the facts store refused rows; they are kept in quarantine (reason_code store_refused_row)',
        );
      }
      // Only now does the batch leave the queue: a failed insert is retried over the same range.
      queue = queue.slice(batch.length);
      committed = last.end;
      insertedRows += rows;
      holdUntil = rows >= LARGE_INSERT_ROWS ? startedAt + minInsertIntervalMs : 0;
      for (const q of batch) {
        pendingRows -= q.rows;
        pendingBytes -= q.bytes;
      }
      failures = 0;
      retryCount = 0;
      lastError = undefined;
      // Stored, so no longer needed for a replay: a removal that fails is retried after the next insert.
      await wal.removeSegmentsBefore(committed).catch((error: unknown) => {
        options.logger?.warn({ err: error }, 'removing stored write-ahead log segments failed');
      });
    } catch (error) {
      failures += 1;
      retryCount = batch.length;
      lastError = (error as Error).message;
      options.logger?.error({ err: error, failures }, 'batch writer could not insert into the facts store');
      await new Promise((r) => setTimeout(r, Math.min(30_000, 100 * 2 ** failures)));
    }
  }

  function flush(): Promise<void> {
    running ??= insertQueued().finally(() => {
      running = undefined;
    });
    return running;
  }

  const timer = setInterval(() => {
    if (queue.length > 0 && performance.now() >= holdUntil) void flush();
  }, options.flushIntervalMs);
  timer.unref();

  return {
    enqueue(records: WalRecord[], end: WalPosition): void {
      let bytes = 0;
      let rows = 0;
      for (const r of records) {
        bytes += r.rows.length;
        rows += r.rowCount;
      }
      queue.push({ records, end, bytes, rows, enqueuedAt: Date.now() });
      pendingRows += rows;
      pendingBytes += bytes;
      if (pendingRows >= maxBatchRows && !running && !closed) void flush();
    },
    async drain(timeoutMs = 60_000): Promise<void> {
      const deadline = performance.now() + timeoutMs;
      while (queue.length > 0) {
        if (performance.now() > deadline) {
          throw new Error(`acknowledged events could not be stored in time: ${lastError ?? 'timeout'}`);
        }
        await flush();
      }
    },
    stats(): BatchWriterStats {
      const oldest = queue[0];
      return {
        pendingRows,
        pendingBytes,
        lagMs: oldest ? Date.now() - oldest.enqueuedAt : 0,
        insertedRows,
        setAsideRows: setAsideCount,
        lastError,
      };
    },
    flush: async () => {
      if (running) await running;
      await flush();
    },
    async close(): Promise<void> {
      closed = true;
      clearInterval(timer);
      // Drain: keep trying while the store accepts; what is left stays in the log for the next start.
      for (let attempt = 0; queue.length > 0 && attempt < 5; attempt += 1) {
        if (running) await running;
        await flush();
      }
    },
  };
}
