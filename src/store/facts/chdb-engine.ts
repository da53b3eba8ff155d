import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Session } from 'chdb';
import { PulseloopError } from '../../errors/registry.js';
import { runConcurrently } from '../../lib/run-concurrently.js';
import { makeDataDir } from '../data-dir.js';
import {
  checkInsertOptions,
  type FactsEngine,
  FactsQueryError,
  INSERT_SETTINGS,
  type InsertFormat,
  type InsertOptions,
  type InsertPayload,
  type InsertRowsOptions,
  joinedPayload,
  payloadBytes,
  QUERY_SETTINGS,
  type QueryParams,
  SCRATCH_TABLE_PREFIX,
} from './engine.js';
import { startIdlePurge } from './idle-purge.js';

interface ChdbError extends Error {
  clickhouseCode?: number;
}

function wrap(error: unknown, sql: string): FactsQueryError {
  const e = error as ChdbError;
  return new FactsQueryError(e.message ?? String(error), e.clickhouseCode, sql);
}

/**
 * How `file()` reads a spool file. The embedded engine's default is mmap, which takes a page fault for
 * every 4 KiB of the file; plain reads into reused buffers need none (measured under ingestion: ~0.01
 * fewer faults an event in the insert threads).
 */
const SPOOL_READ_METHOD = 'pread';

/** INSERT_SETTINGS as the SETTINGS clause of an INSERT … SELECT, each value a bound parameter. */
const FILE_INSERT_SETTINGS = Object.keys(INSERT_SETTINGS)
  .map((name) => `${name} = {setting_${name}:String}`)
  .join(', ');
const FILE_INSERT_SETTING_VALUES: QueryParams = Object.fromEntries(
  Object.entries(INSERT_SETTINGS).map(([name, value]) => [`setting_${name}`, String(value)]),
);

/**
 * Settings of the embedded engine itself (the server settings of a ClickHouse server).
 *
 * `os_threads_nice_value_merge_mutate`: background merges run at nice 10, below the serving thread,
 * which shares the machine's cores with them. At full load merges then take the cores' spare time
 * rather than the serving thread's: held for 23 minutes on two cores, ingestion stayed at 40–57k
 * events/s up to 68M stored events with 8–20 active parts (merges kept up), where at nice 0 it fell to
 * ~40k once ~10M were stored. When the serving thread is idle, merges get the cores as before.
 */
export const ENGINE_SETTINGS = { os_threads_nice_value_merge_mutate: 10 } as const;

const connectionArgs = Object.entries({ ...QUERY_SETTINGS, ...ENGINE_SETTINGS }).map(
  ([k, v]) => `--${k}=${v}`,
);

/**
 * Writes the parameter values that chdb's binder formats differently from @clickhouse/client the
 * way the client does, so a parameter means the same on both engines: chdb would drop a Date's
 * milliseconds and bind `true` as text that UInt8 refuses.
 */
function bindable(params: QueryParams): QueryParams {
  const out: QueryParams = {};
  for (const [name, value] of Object.entries(params)) {
    if (value instanceof Date) out[name] = unixSeconds(value);
    else if (typeof value === 'boolean') out[name] = value ? 1 : 0;
    else out[name] = value;
  }
  return out;
}

/** Unix seconds with milliseconds (ClickHouse reads it without a time zone), padded as the client pads it. */
function unixSeconds(date: Date): string {
  const seconds = Math.floor(date.getTime() / 1000);
  const millis = date.getUTCMilliseconds();
  const whole = String(seconds).padStart(10, '0');
  return millis === 0 ? whole : `${whole}.${String(millis).padStart(3, '0')}`;
}

/**
 * Payloads from this size on are inserted through a file: chdb's insert() hands the payload over as
 * the inline data of an INSERT query, which it parses at about a third of the speed ClickHouse reads
 * the same bytes from a file with `file()` (measured on a 1M-row import: 5.8 s against 3.8 s).
 */
const FILE_INSERT_MIN_BYTES = 1 << 20;
const FILE_EXTENSIONS: Record<InsertFormat, string> = {
  JSONEachRow: 'ndjson',
  TabSeparated: 'tsv',
  RowBinary: 'bin',
};
/** Whether a column's DEFAULT is what `file()` gives an omitted JSON key anyway: its type's default. */
function isTypeDefault(type: string, expression: string): boolean {
  return expression === (type.includes('String') ? "''" : '0');
}

/** Writes a payload to a new file, pieces with one gathered write (no joined copy of them in memory). */
async function writeSpoolFile(path: string, rows: InsertPayload): Promise<void> {
  const file = await open(path, 'w');
  try {
    if (typeof rows === 'string' || Buffer.isBuffer(rows)) await file.writeFile(rows);
    else await file.writev(rows as Buffer[]);
  } finally {
    await file.close();
  }
}

interface TableShape {
  types: Map<string, string>;
  /** No column has a default of its own (a DEFAULT other than the type's, MATERIALIZED, ALIAS…). */
  typeDefaultsOnly: boolean;
}

/** Where those payloads wait for the engine, inside the data directory (left-overs of a crash are removed at open). */
const INSERT_SPOOL = 'insert-spool';

/** Drops the scratch tables a crashed process left (no other process opens this data directory). */
async function dropScratchTables(session: Session): Promise<void> {
  const result = await session.queryBindAsync(
    'SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, {prefix:String})',
    { prefix: SCRATCH_TABLE_PREFIX },
    { format: 'JSONCompactEachRow' },
  );
  for (const line of result.text().split('\n')) {
    if (!line) continue;
    const [name] = JSON.parse(line) as [string];
    // The name comes from the catalogue; checked against the shape scratch tables are given.
    if (/^[a-z0-9_]+$/.test(name)) await session.queryAsync(`DROP TABLE IF EXISTS ${name}`);
  }
}

/**
 * The process that holds the embedded engine's lock on a data directory (ClickHouse flocks its
 * `status` file), read from Linux's /proc/locks; undefined when none does or it cannot be told.
 */
export function lockHolder(dataDir: string): number | undefined {
  let file: { dev: number; ino: number };
  let locks: string;
  try {
    file = statSync(join(dataDir, 'status'));
    locks = readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  // The device as /proc/locks writes it (major:minor in hex), decoded from glibc's dev_t.
  const major = (Math.floor(file.dev / 256) & 0xfff).toString(16).padStart(2, '0');
  const minor = ((file.dev & 0xff) | (Math.floor(file.dev / 4096) & 0xfff00)).toString(16).padStart(2, '0');
  const at = `${major}:${minor}:${file.ino}`;
  for (const line of locks.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 1994 fe:00:5366414 0 EOF"; a waiter's line has "->" after the number.
    const match = /^\d+:\s+FLOCK\s+\S+\s+WRITE\s+(\d+)\s+(\S+)\s/.exec(line);
    if (match && match[2] === at && Number(match[1]) !== process.pid) return Number(match[1]);
  }
  return undefined;
}

/**
 * The type `file()` reads a column's values as: LowCardinality dropped (at any depth), since the
 * insert turns the values into the table's type anyway. Read straight into a LowCardinality column,
 * each value is looked up in the column's dictionary one at a time; read as the plain type, the
 * whole block is converted at once. Measured on 40k-row RowBinary events blocks (17 LowCardinality
 * columns): reading 3.2 → 1.0 µs a row, the insert into `events` 7.9 → 5.1 µs a row. RowBinary,
 * JSON and TSV write a LowCardinality value exactly as its plain type, so the rows read the same.
 */
export function withoutLowCardinality(type: string): string {
  let out = type;
  for (let at = out.indexOf('LowCardinality('); at !== -1; at = out.indexOf('LowCardinality(')) {
    let depth = 0;
    let end = at + 'LowCardinality'.length;
    for (; end < out.length; end += 1) {
      if (out[end] === '(') depth += 1;
      else if (out[end] === ')' && --depth === 0) break;
    }
    out = out.slice(0, at) + out.slice(at + 'LowCardinality('.length, end) + out.slice(end + 1);
  }
  return out;
}

/**
 * How long the embedded engine's allocator (jemalloc, inside chdb) keeps freed memory before handing
 * it back to the system; chdb's default is 5 s. Ingestion needs the same ~30 MB of buffers again every
 * second, and every page handed back is a page fault to take again: at the default, 0.17 faults an
 * event, most of them in the store's insert threads. Faults cost ~15 µs each on the gVisor sandbox the
 * benchmarks first ran on, ~11 µs on the firecracker VMs since (~1 µs on bare metal). At 30 s: 0.07
 * faults an event and ~1.5 µs less of the store's CPU an event. Memory is not kept for an idle server: it is given back once the engine has
 * had no work for IDLE_PURGE_MS (idle-purge.ts).
 *
 * `thp:always`: the allocator asks for transparent huge pages (2 MiB) for its memory, where the system
 * allows them on request (`madvise`, the Debian default; a system that never allows them ignores it).
 * A large query's fresh memory is then one fault per 2 MiB instead of one per 4 KiB: the demo world
 * built with ~2 s of CPU less (1.08× events/s, four alternating pairs, AMD host), ingestion took half
 * the page faults an event at the same throughput. Idle RSS with the demo world ~15 MiB more (432
 * against 414–420 MiB); huge pages for the allocator's own metadata too (`metadata_thp`) cost ~40 MiB.
 */
export const CHDB_MALLOC_CONF = 'dirty_decay_ms:30000,thp:always';

/**
 * chdb, loaded with CHDB_MALLOC_CONF unless the environment sets JE_MALLOC_CONF (jemalloc reads it
 * once, when the library loads). An empty JE_MALLOC_CONF (`ENV JE_MALLOC_CONF=` in an image, an
 * exported empty variable) sets nothing, so it counts as unset: taken as the user's own, it left
 * chdb's defaults, and building the demo world took ~3.7× the page faults and ~20 % more CPU.
 */
async function loadChdb(): Promise<typeof Session> {
  const userConf = process.env.JE_MALLOC_CONF;
  if (userConf === undefined || userConf.trim() === '') process.env.JE_MALLOC_CONF = CHDB_MALLOC_CONF;
  try {
    return (await import('chdb')).Session;
  } finally {
    // Only the library needs it, not the processes the server starts: the environment is left as it was.
    if (userConf === undefined) delete process.env.JE_MALLOC_CONF;
    else process.env.JE_MALLOC_CONF = userConf;
  }
}

/** How long the engine must be idle before the memory its allocator keeps is given back (idle-purge.ts). */
export const IDLE_PURGE_MS = 2_000;

/** The in-process ClickHouse engine. chdb allows one data directory per process. */
export async function openChdbEngine(
  dataDir: string,
  database: string,
  options: { idlePurgeMs?: number } = {},
): Promise<FactsEngine> {
  makeDataDir(dataDir);
  // Asked first, so that the engine does not print its own lock error on stderr before ours.
  const heldBy = lockHolder(dataDir);
  if (heldBy !== undefined) throw new PulseloopError('data_dir_in_use', { dir: dataDir, pid: heldBy });
  const ChdbSession = await loadChdb();
  let session: Session;
  try {
    session = new ChdbSession(dataDir, { connectionArgs });
  } catch (error) {
    // chdb's error says only that it failed (the engine prints why on stderr); name the holder.
    const holder = lockHolder(dataDir);
    if (holder !== undefined) throw new PulseloopError('data_dir_in_use', { dir: dataDir, pid: holder });
    throw error;
  }
  // Only once the engine's lock is ours: the spool may hold files another process is inserting.
  const spool = join(dataDir, INSERT_SPOOL);
  rmSync(spool, { recursive: true, force: true });
  mkdirSync(spool, { recursive: true });
  await session.queryAsync(`CREATE DATABASE IF NOT EXISTS ${database}`);
  await session.queryAsync(`USE ${database}`);
  await dropScratchTables(session);
  let closed = false;
  const idle = startIdlePurge(async () => {
    await session.queryAsync('SYSTEM JEMALLOC PURGE');
  }, options.idlePurgeMs ?? IDLE_PURGE_MS);
  /** Column types per table, for the structure `file()` reads with (the schema changes only by migrations, which reopen). */
  const tableShapes = new Map<string, TableShape>();

  async function shapeOf(table: string): Promise<TableShape> {
    let shape = tableShapes.get(table);
    if (!shape) {
      const result = await session.queryBindAsync(
        `SELECT name, type, default_kind, default_expression FROM system.columns
         WHERE database = currentDatabase() AND table = {table:String} ORDER BY position`,
        { table },
        { format: 'JSONCompactEachRow' },
      );
      const columns = result
        .text()
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as [string, string, string, string]);
      shape = {
        types: new Map(columns.map(([name, type]) => [name, type])),
        // file() fills a key a JSON line omits with its type's default, not the table's DEFAULT.
        typeDefaultsOnly: columns.every(
          ([, type, kind, expression]) =>
            kind === '' || (kind === 'DEFAULT' && isTypeDefault(type, expression)),
        ),
      };
      // Scratch tables live for one operation: kept, their shapes would only pile up.
      if (!table.startsWith(SCRATCH_TABLE_PREFIX)) tableShapes.set(table, shape);
    }
    return shape;
  }

  /**
   * A payload written to a spool file and read by the engine with `file()`; JSON lines are read
   * with every column of the table, TabSeparated and RowBinary rows with `columns`.
   */
  async function insertThroughFile(
    table: string,
    rows: InsertPayload,
    format: InsertFormat,
    columns: readonly string[],
    options: InsertOptions,
  ): Promise<void> {
    const { types } = await shapeOf(table);
    const structure = columns.map((column) => {
      const type = types.get(column);
      if (!type)
        throw new FactsQueryError(
          `table ${table} has no column ${column}`,
          undefined,
          `INSERT INTO ${table}`,
        );
      return `${column} ${withoutLowCardinality(type)}`;
    });
    const path = join(spool, `${randomUUID()}.${FILE_EXTENSIONS[format]}`);
    await writeSpoolFile(path, rows);
    // Table and column names come from the caller's allow-lists and are checked against the table's
    // own columns above, setting names from INSERT_SETTINGS; the file, its format and structure, the
    // settings' values, the token and the parsing switch are bound parameters.
    const sql = `INSERT INTO ${table} (${columns.join(', ')})
      SELECT * FROM file({path:String}, {format:String}, {structure:String})
      SETTINGS ${FILE_INSERT_SETTINGS},
        insert_deduplication_token = {token:String}, input_format_parallel_parsing = {parallel:UInt8},
        storage_file_read_method = {read_method:String}`;
    // An empty token is no token.
    const token = options.deduplicationToken ?? '';
    const parallel = options.parallelParsing === false ? 0 : 1;
    const params: QueryParams = {
      ...FILE_INSERT_SETTING_VALUES,
      path,
      format,
      structure: structure.join(', '),
      token,
      parallel,
      read_method: SPOOL_READ_METHOD,
    };
    try {
      await session.queryBindAsync(sql, params, { format: 'Null' });
    } catch (error) {
      throw wrap(error, sql);
    } finally {
      await unlink(path).catch(() => undefined);
    }
  }

  /** The columns a payload can be read from a file with, or undefined when it must go inline. */
  async function fileColumns(
    table: string,
    options: InsertRowsOptions,
  ): Promise<readonly string[] | undefined> {
    // Tab-separated and binary rows hold every column of `columns`, in order.
    if (options.format !== 'JSONEachRow') return options.columns;
    const shape = await shapeOf(table);
    return shape.typeDefaultsOnly ? [...shape.types.keys()] : undefined;
  }

  async function insert(table: string, rows: InsertPayload, options: InsertRowsOptions): Promise<void> {
    checkInsertOptions(table, options);
    const { format } = options;
    // Binary rows always go through a file: the inline path passes the payload as text.
    if (format === 'RowBinary') return insertThroughFile(table, rows, format, options.columns!, options);
    if (payloadBytes(rows) >= FILE_INSERT_MIN_BYTES) {
      const columns = await fileColumns(table, options);
      if (columns) return insertThroughFile(table, rows, format, columns, options);
    }
    const settings: Record<string, string | number> = { ...INSERT_SETTINGS };
    if (options.deduplicationToken) settings.insert_deduplication_token = options.deduplicationToken;
    if (options.parallelParsing === false) settings.input_format_parallel_parsing = 0;
    try {
      await session.insert({
        table,
        values: joinedPayload(rows),
        format,
        settings,
        ...(options.columns ? { columns: options.columns } : {}),
      });
    } catch (error) {
      throw wrap(error, `INSERT INTO ${table}`);
    }
  }

  return {
    kind: 'chdb',
    database,
    readableFilesDir: spool,
    async query<Row>(sql: string, params: QueryParams = {}): Promise<Row[]> {
      try {
        const result = await idle.run(() =>
          session.queryBindAsync(sql, bindable(params), { format: 'JSONEachRow' }),
        );
        const text = result.text();
        if (text.length === 0) return [];
        return text
          .split('\n')
          .filter((line) => line.length > 0)
          .map((line) => JSON.parse(line) as Row);
      } catch (error) {
        throw wrap(error, sql);
      }
    },
    async command(sql: string, params: QueryParams = {}): Promise<void> {
      try {
        await idle.run(() => session.queryBindAsync(sql, bindable(params), { format: 'Null' }));
      } catch (error) {
        throw wrap(error, sql);
      }
    },
    async insertJsonEachRow(table: string, rows: InsertPayload, options: InsertOptions = {}): Promise<void> {
      await idle.run(() => insert(table, rows, { ...options, format: 'JSONEachRow' }));
    },
    insertRows: (table, rows, insertOptions) => idle.run(() => insert(table, rows, insertOptions)),
    async commandsConcurrently(statements, limit, onDone): Promise<void> {
      // chdb runs one statement at a time per connection (two 170 ms queries on one session took
      // 331 ms together, on two sessions 170 ms). Statements without parameters run in parallel on
      // connections of their own; with parameters chdb runs them one at a time in the process anyway.
      const sessions: Session[] = [session];
      try {
        while (sessions.length < Math.min(limit, statements.length)) {
          const side = new ChdbSession(dataDir, { connectionArgs });
          sessions.push(side);
          const use = `USE ${database}`;
          await side.queryAsync(use).catch((error: unknown) => {
            throw wrap(error, use);
          });
        }
        await runConcurrently(statements.length, sessions.length, async (index, lane) => {
          const sql = statements[index]!;
          try {
            await idle.run(() => sessions[lane]!.queryAsync(sql, { format: 'Null' }));
          } catch (error) {
            throw wrap(error, sql);
          }
          onDone?.(index);
        });
      } finally {
        for (const side of sessions.slice(1)) side.close();
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await idle.stop();
      session.close();
    },
  };
}
