import { createHash } from 'node:crypto';
import { PulseloopError } from '../errors/registry.js';
import { ByteSink } from '../lib/byte-sink.js';
import { type FactsEngine, FactsQueryError } from '../store/facts/engine.js';
import { decodeEventRows } from '../store/facts/event-binary.js';
import type { QuarantineRow } from '../store/facts/rows.js';
import { FACTS_TABLES, type FactsTable } from '../store/facts/schema.js';
import { writeCompactJsonLine } from './ingest.js';
import { isPlainObject } from './segment/body.js';
import type { WalRecord } from './wal.js';

/**
 * Rows of the log the store refuses. One refused row fails its whole insert, and the batch writer
 * would retry it forever, holding back everything after it; such rows are set aside in quarantine
 * instead (see batch-writer.ts), kept and visible with the store's reason.
 */

/**
 * ClickHouse error codes that mean the rows themselves are refused (a value it cannot read or hold):
 * retrying the same rows cannot help. Anything else (the store down, busy, out of memory) is retried.
 */
const REFUSED_ROWS_CODES: ReadonlySet<number> = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  407, // DECIMAL_OVERFLOW
]);

export function refusesRows(error: unknown): error is FactsQueryError {
  return (
    error instanceof FactsQueryError &&
    error.clickhouseCode !== undefined &&
    REFUSED_ROWS_CODES.has(error.clickhouseCode)
  );
}

/**
 * What a set-aside row keeps as its raw text: the table it was for and the row itself as JSON, whole
 * (never cut short, unlike other quarantine payloads), so that `retrySetAsideRows` can insert it again
 * once the cause is fixed. `rowBinaryBase64` holds a binary record whose rows could not be told apart.
 */
export interface SetAsideRaw {
  table: string;
  row?: Record<string, unknown>;
  text?: string;
  rowBinaryBase64?: string;
}

/**
 * Quarantine rows for a record the store refused, one per row: JSON lines as they are, binary events
 * rows decoded into the same columns as JSON (times and amounts as text), each with its project.
 */
export function setAsideRows(
  record: WalRecord,
  idPrefix: string,
  error: FactsQueryError,
): { payload: Buffer; count: number } {
  const firstLine = error.message.split('\n')[0] ?? '';
  const reason = new PulseloopError('store_refused_row', {
    table: record.table,
    detail: firstLine.length > 300 ? `${firstLine.slice(0, 300)}…` : firstLine,
  });
  const sink = new ByteSink(1024);
  const receivedAt = Date.now();
  for (const [rowNumber, { raw, projectId }] of keptRows(record).entries()) {
    const row: QuarantineRow = {
      project_id: projectId,
      id: `${idPrefix}:${rowNumber}`,
      received_at: receivedAt,
      origin: 'http',
      source_id: '',
      reason_code: reason.code,
      reason: reason.message,
      reason_zh: reason.zh,
      field: '',
      row_number: rowNumber,
      raw: JSON.stringify(raw),
    };
    writeCompactJsonLine(sink, row);
  }
  return { payload: sink.finish(), count: record.rowCount };
}

/** The record's rows as set-aside raw values, each with the project it names ('' when none). */
function keptRows(record: WalRecord): Array<{ raw: SetAsideRaw; projectId: string }> {
  const { table } = record;
  if (record.format === 'RowBinary') {
    try {
      return decodeEventRows(record.rows).map((row) => ({
        raw: { table, row },
        projectId: row.project_id ?? '',
      }));
    } catch {
      // Rows cut short: the bytes are kept whole all the same.
      return [{ raw: { table, rowBinaryBase64: record.rows.toString('base64') }, projectId: '' }];
    }
  }
  const kept: Array<{ raw: SetAsideRaw; projectId: string }> = [];
  for (const line of record.rows.toString('utf8').split('\n')) {
    if (line === '') continue;
    const row = objectOfLine(line);
    kept.push(
      row
        ? { raw: { table, row }, projectId: typeof row.project_id === 'string' ? row.project_id : '' }
        : { raw: { table, text: line }, projectId: '' },
    );
  }
  return kept;
}

/** The JSON object a line holds, or undefined when it is not one. */
function objectOfLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** What `retrySetAsideRows` did with the rows set aside. */
export interface RetryOutcome {
  /** Rows the store took this time; their quarantine rows are removed. */
  stored: number;
  /** Rows the store refused again; they stay in quarantine. */
  refusedAgain: number;
  /** Rows whose kept text cannot be inserted (not a row of a known table); they stay in quarantine. */
  unreadable: number;
  /** The store's reason for the first row it refused again. */
  firstRefusal?: string;
}

/** The set-aside rows of one project, or of every project when {project} is ''. */
const SET_ASIDE_FILTER = `reason_code = {code:String} AND ({project:String} = '' OR project_id = {project:String})`;

/** Set-aside rows read per page at most. */
const PAGE_ROWS = 10_000;
/** Pages hold at least this many rows, so a refused request's rows (≤ 2,500) fit one page whole. */
const MIN_PAGE_ROWS = 2_500;
/**
 * Bytes of kept text a page may hold. A page is one answer of the store, which the embedded engine
 * hands over as one string (≤ 512 MiB), with the kept JSON text escaped again: 10,000 rows of the
 * largest kind (an event of 32 KB and its columns) could pass that limit.
 */
const PAGE_TEXT_BYTES = 128 * 1024 * 1024;
/** Quarantine rows removed per statement once their rows are stored. */
const REMOVE_CHUNK = 1000;

interface KeptRow {
  id: string;
  received_ms: number;
  raw: string;
}

/**
 * Inserts the rows set aside (reason store_refused_row) again. The rows of one refused request go in
 * together; when the store refuses them, one by one. Each insert carries a token made of the rows'
 * quarantine ids, so a run stopped between storing rows and removing them from quarantine stores
 * nothing twice when repeated. Rows stored leave quarantine (after each page); rows refused again
 * stay, with their reason. An error other than a refusal of the rows (the store down) stops the run
 * after removing what was stored.
 */
export async function retrySetAsideRows(
  facts: FactsEngine,
  options: { projectId?: string; onProgress?: (done: number, total: number) => void } = {},
): Promise<RetryOutcome> {
  const params = { code: 'store_refused_row', project: options.projectId ?? '' };
  const [kept] = await facts.query<{ n: number; longest: number }>(
    `SELECT count() AS n, max(length(raw)) AS longest FROM quarantine FINAL WHERE ${SET_ASIDE_FILTER}`,
    params,
  );
  const total = Number(kept?.n ?? 0);
  const pageRows = rowsPerPage(Number(kept?.longest ?? 0));
  const outcome: RetryOutcome = { stored: 0, refusedAgain: 0, unreadable: 0 };
  let done = 0;
  let after = { at: 0, id: '' };
  for (;;) {
    options.onProgress?.(done, total);
    const page = await facts.query<KeptRow>(
      `SELECT id, toUnixTimestamp64Milli(received_at) AS received_ms, raw FROM quarantine FINAL
       WHERE ${SET_ASIDE_FILTER} AND (received_at, id) > (fromUnixTimestamp64Milli({at:Int64}, 'UTC'), {id:String})
       ORDER BY received_at, id LIMIT {limit:UInt32}`,
      { ...params, at: after.at, id: after.id, limit: pageRows },
    );
    if (page.length === 0) break;
    const groups = requestGroups(page);
    // A full page may end inside a request: its rows wait for the next page, to go in together.
    if (page.length === pageRows && groups.length > 1) groups.pop();
    const stored: string[] = [];
    try {
      for (const group of groups) await retryGroup(facts, group, stored, outcome);
    } finally {
      await removeFromQuarantine(facts, stored);
      outcome.stored += stored.length;
    }
    const last = groups.at(-1)!.at(-1)!;
    after = { at: Number(last.received_ms), id: last.id };
    done += groups.reduce((sum, group) => sum + group.length, 0);
  }
  options.onProgress?.(total, total);
  return outcome;
}

/** Rows a page can hold when the longest kept text is `longestBytes` long. */
export function rowsPerPage(longestBytes: number): number {
  const fit = Math.floor(PAGE_TEXT_BYTES / Math.max(1, 2 * longestBytes));
  return Math.min(PAGE_ROWS, Math.max(MIN_PAGE_ROWS, fit));
}

/** Rows of one refused request share their id up to the row number (`<insert token>:set-aside:<n>`). */
function requestGroups(rows: KeptRow[]): KeptRow[][] {
  const groups: KeptRow[][] = [];
  let prefix: string | undefined;
  for (const row of rows) {
    const own = row.id.slice(0, row.id.lastIndexOf(':'));
    if (own === prefix) groups.at(-1)!.push(row);
    else groups.push([row]);
    prefix = own;
  }
  return groups;
}

/** Inserts one request's rows together, else one by one; stored ids are added to `stored`. */
async function retryGroup(facts: FactsEngine, group: KeptRow[], stored: string[], outcome: RetryOutcome) {
  const rows: Array<{ id: string; table: FactsTable; line: string }> = [];
  for (const { id, raw } of group) {
    const target = insertableRow(raw);
    if (target) rows.push({ id, table: target.table, line: `${JSON.stringify(target.row)}\n` });
    else outcome.unreadable += 1;
  }
  const table = rows[0]?.table;
  if (table && rows.length > 1 && rows.every((row) => row.table === table)) {
    const ids = rows.map((row) => row.id);
    try {
      await facts.insertJsonEachRow(table, rows.map((row) => row.line).join(''), {
        deduplicationToken: `set-aside-retry:${createHash('sha256').update(ids.join('\n')).digest('hex')}`,
      });
      stored.push(...ids);
      return;
    } catch (error) {
      if (!refusesRows(error)) throw error;
    }
  }
  for (const row of rows) {
    try {
      await facts.insertJsonEachRow(row.table, row.line, { deduplicationToken: `set-aside-retry:${row.id}` });
      stored.push(row.id);
    } catch (error) {
      if (!refusesRows(error)) throw error;
      outcome.refusedAgain += 1;
      outcome.firstRefusal ??= error.message.split('\n')[0];
    }
  }
}

async function removeFromQuarantine(facts: FactsEngine, ids: string[]): Promise<void> {
  for (let at = 0; at < ids.length; at += REMOVE_CHUNK)
    await facts.command(
      `ALTER TABLE quarantine DELETE WHERE reason_code = {code:String} AND id IN {ids:Array(String)}
       SETTINGS mutations_sync = 2`,
      { code: 'store_refused_row', ids: ids.slice(at, at + REMOVE_CHUNK) },
    );
}

/** The table and row a set-aside raw text names, when the table is a facts table and the row an object. */
function insertableRow(raw: string): { table: FactsTable; row: Record<string, unknown> } | undefined {
  const kept = objectOfLine(raw) as Partial<SetAsideRaw> | undefined;
  const table = FACTS_TABLES.find((name) => name === kept?.table);
  const row = kept?.row;
  return table && isPlainObject(row) ? { table, row } : undefined;
}
