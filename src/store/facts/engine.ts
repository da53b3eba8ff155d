import { runConcurrently } from '../../lib/run-concurrently.js';

/** Bound query parameters: `{name:Type}` placeholders in the SQL, values here. Never concatenated into SQL. */
export type QueryParams = Record<string, unknown>;

export interface InsertOptions {
  /** Same token + same payload twice → stored once (ClickHouse insert deduplication). */
  deduplicationToken?: string;
  columns?: readonly string[];
  /**
   * false: parse the payload on one thread. ClickHouse's parallel parsing first splits the payload
   * in a pass of its own, ~15 % more CPU a row; worth it when the cores would otherwise wait (an
   * import), not for inserts that run beside request serving (the batch writer).
   */
  parallelParsing?: boolean;
}

/**
 * An insert payload: text, bytes, or bytes in pieces (each piece holds whole rows). Pieces spare
 * the caller a copy of many records into one buffer; the embedded engine writes them out as they are.
 */
export type InsertPayload = Buffer | string | readonly Buffer[];

/** The payload's size in bytes. */
export function payloadBytes(rows: InsertPayload): number {
  if (typeof rows === 'string') return Buffer.byteLength(rows);
  if (Buffer.isBuffer(rows)) return rows.length;
  let bytes = 0;
  for (const piece of rows as readonly Buffer[]) bytes += piece.length;
  return bytes;
}

/** The payload as one buffer (or string), joining pieces. */
export function joinedPayload(rows: InsertPayload): Buffer | string {
  return typeof rows === 'string' || Buffer.isBuffer(rows) ? rows : Buffer.concat(rows as readonly Buffer[]);
}

/**
 * Payload formats of `insertRows`: TabSeparated is cheaper to build in JavaScript and to parse;
 * RowBinary (every column of `columns`, in order, in ClickHouse's binary encoding) cheaper still, and
 * it carries arrays without the engine parsing text.
 */
export type InsertFormat = 'JSONEachRow' | 'TabSeparated' | 'RowBinary';

/** The formats `insertRows` accepts; an engine checks the name against it before writing it into SQL. */
export const INSERT_FORMATS: readonly InsertFormat[] = ['JSONEachRow', 'TabSeparated', 'RowBinary'];

export interface InsertRowsOptions extends InsertOptions {
  format: InsertFormat;
}

/**
 * What every engine checks before it writes a format name into SQL: the format is one it knows,
 * and binary rows name their columns (they cannot say which columns they hold, and the embedded
 * engine reads them from a file by that list).
 */
export function checkInsertOptions(table: string, options: InsertRowsOptions): void {
  const refuse = (message: string) => new FactsQueryError(message, undefined, `INSERT INTO ${table}`);
  if (!INSERT_FORMATS.includes(options.format))
    throw refuse(`unknown insert format ${String(options.format)}`);
  if (options.format === 'RowBinary' && !options.columns)
    throw refuse(`RowBinary rows for ${table} must name their columns`);
}

/**
 * One interface over ClickHouse SQL. The same SQL text runs on the in-process engine (chdb) and on a
 * ClickHouse server over HTTP; table names are unqualified and resolve in the engine's database.
 */
export interface FactsEngine {
  readonly kind: 'chdb' | 'http';
  readonly database: string;
  /** Runs a SELECT and returns its rows (JSONEachRow). */
  query<Row = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<Row[]>;
  /** Runs a statement that returns nothing (DDL, mutations). */
  command(sql: string, params?: QueryParams): Promise<void>;
  /** Inserts newline-separated JSON rows; the payload is passed through as bytes. */
  insertJsonEachRow(table: string, rows: InsertPayload, options?: InsertOptions): Promise<void>;
  /**
   * Inserts rows in the named format, passed through as bytes. A TabSeparated payload holds every
   * column of `columns` (or of the table) in order, `\N` for NULL; a RowBinary payload every column
   * of `columns`, which it must name. Optional, so engines written before it (test doubles) still
   * type-check: call it through `insertRows` below.
   */
  insertRows?(table: string, rows: InsertPayload, options: InsertRowsOptions): Promise<void>;
  /**
   * Runs statements that take no parameters (table maintenance such as OPTIMIZE) up to `limit` at a
   * time, calling `onDone` with each one's index when it ends. The embedded engine runs one statement
   * at a time per connection, so it opens connections of its own for them. Optional: call it through
   * `commandsConcurrently` below, which runs them as concurrent `command` calls otherwise.
   */
  commandsConcurrently?(
    statements: readonly string[],
    limit: number,
    onDone?: (index: number) => void,
  ): Promise<void>;
  /**
   * A directory whose files the engine itself reads with `file()` (the embedded engine's own disk);
   * absent where the engine runs elsewhere. Files put there are the writer's to remove.
   */
  readonly readableFilesDir?: string;
  close(): Promise<void>;
}

/**
 * Tables named so hold an operation's intermediate rows (an import's stage) and are dropped when it
 * ends; the embedded engine drops any left at open (the left-overs of a crash).
 */
export const SCRATCH_TABLE_PREFIX = 'scratch_';

/**
 * Ids bound as one array parameter at most. A ClickHouse server takes parameters in the URL (1 MiB)
 * and parses an array like query text, within max_query_size (256 KiB by default): 10,000 ids of
 * 32–36 characters did not fit ("Max query size exceeded"); 2,000 take about 80 KiB.
 */
export const MAX_BOUND_IDS = 2_000;

/** An error the engine reported for a query, with ClickHouse's numeric code when known. */
export class FactsQueryError extends Error {
  override name = 'FactsQueryError';
  constructor(
    message: string,
    readonly clickhouseCode: number | undefined,
    readonly sql: string,
  ) {
    super(message);
  }
}

/** Settings both engines apply to every query so that results have one shape everywhere. */
export const QUERY_SETTINGS = {
  output_format_json_quote_64bit_integers: 0,
  output_format_json_quote_decimals: 0,
  date_time_input_format: 'best_effort',
  insert_deduplicate: 1,
} as const;

/**
 * Settings of every insert. Replacing tables need not collapse duplicates while inserting (readers
 * use FINAL and background merges fold them), which makes inserts several times cheaper; insert
 * deduplication stays on, since WAL replays rely on their tokens. A JSON object given for a String
 * column is stored as its text (it is ClickHouse's default, stated because a server's profile could
 * turn it off). One insert may touch any number of monthly partitions: an acknowledged batch that
 * backfills years of history must be stored, and the default limit (100) would refuse the whole insert
 * again on every retry.
 */
export const INSERT_SETTINGS = {
  date_time_input_format: 'best_effort',
  optimize_on_insert: 0,
  input_format_json_read_objects_as_strings: 1,
  max_partitions_per_insert_block: '0',
} as const;

/** `engine.commandsConcurrently`, or concurrent `command` calls on an engine without it (a server). */
export async function commandsConcurrently(
  engine: FactsEngine,
  statements: readonly string[],
  limit: number,
  onDone?: (index: number) => void,
): Promise<void> {
  if (engine.commandsConcurrently) return engine.commandsConcurrently(statements, limit, onDone);
  await runConcurrently(statements.length, limit, async (index) => {
    await engine.command(statements[index]!);
    onDone?.(index);
  });
}

/** Whether the engine takes `insertRows` payloads in other formats than JSONEachRow. */
export function canInsertRows(engine: FactsEngine): boolean {
  return typeof engine.insertRows === 'function';
}

/** Inserts through `engine.insertRows`, or `insertJsonEachRow` for JSONEachRow on an engine without it. */
export async function insertRows(
  engine: FactsEngine,
  table: string,
  rows: InsertPayload,
  options: InsertRowsOptions,
): Promise<void> {
  if (engine.insertRows) return engine.insertRows(table, rows, options);
  if (options.format !== 'JSONEachRow') {
    throw new FactsQueryError(
      `this facts engine cannot insert ${options.format}`,
      undefined,
      `INSERT INTO ${table}`,
    );
  }
  const { format: _format, ...rest } = options;
  return engine.insertJsonEachRow(table, rows, rest);
}
