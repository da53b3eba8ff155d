import { randomBytes } from 'node:crypto';
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type FactsEngine,
  FactsQueryError,
  insertRows,
  SCRATCH_TABLE_PREFIX,
} from '../../store/facts/engine.js';
import type { QuarantineRow } from '../../store/facts/rows.js';
import { cellSql, ENGINE_CELL_PARAMS } from './engine-cells.js';
import type { ImportContext, ImportOptions, ImportSummary } from './importer.js';
import { recordHandler } from './importer.js';
import type { CompareAs, EngineBuildSql, KindSpec } from './kinds/types.js';
import { CsvSegmenter, type Segment } from './segments.js';
import { writeQuarantine } from './store.js';

/**
 * The import fast path: the engine reads the file. JavaScript splits the bytes into segments of whole
 * records (no parsing), the engine parses each segment's cells with engine-cells.ts and builds the
 * facts rows with the kind's engine build into a stage table; every row it cannot decide is handed
 * to JavaScript, which reads it as every import does (convert, or skip, or quarantine). Then one pass
 * in the engine keeps the latest row per natural key, compares with the stored rows and writes the
 * new and updated ones — the same outcome as the JavaScript reader, at several times its speed.
 *
 * Where the engine and JavaScript would read a file differently (irregular quoting, anything the
 * engine's CSV reader refuses), nothing has been written yet: JavaScript imports the file from the
 * start, from the segments kept on disk and the rest of the input.
 */

/**
 * Bytes of the file per segment the engine reads (progress is reported between segments). The
 * engine's memory while it writes a segment grows with the segment: 16 MiB keeps an import's peak
 * near that of a small file at little cost in speed (1M rows: 488 MiB at 16 MiB, 563 MiB at 32 MiB).
 */
const SEGMENT_BYTES = 16 << 20;
/**
 * Cells read beyond the header's, so that a longer row's quarantine text keeps them. The engine drops
 * cells beyond these (rows that long are not exports): their text is missing from quarantine.
 */
const SPARE_COLUMNS = 16;
/**
 * Rows per block the engine writes: blocks, not the file, bound the memory of an import (the
 * engine would otherwise gather a million rows before writing a part). No expression compilation:
 * the statements are one-offs, and compiled code would stay in memory.
 */
const WRITE_SETTINGS =
  'min_insert_block_size_rows = 65536, min_insert_block_size_bytes = 16777216, compile_expressions = 0';
/** Rows handed to JavaScript per page. */
const JAVASCRIPT_PAGE = 50_000;

/** The engine's CSV delimiter setting per delimiter the file can have. */
const DELIMITER_SETTINGS: Record<string, string> = { ',': "','", ';': "';'", '\t': "'\\t'" };

/** Words of a summary row (header.ts SUMMARY, loosely): rows with a short first cell holding one go to JavaScript. */
const SUMMARY_WORDS = ['合计', '总计', '汇总', '小计', '总和', '共计', 'total', 'sum'];

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

function toBuffer(value: Buffer | Uint8Array | string): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value);
}

/** The input of an import, with the bytes read so far kept until the reader is chosen. */
export class InputRecorder implements AsyncIterable<Buffer> {
  private readonly source: AsyncIterator<Buffer | Uint8Array | string>;
  private recorded: Buffer[] = [];
  private recording = true;

  constructor(input: AsyncIterable<Buffer | Uint8Array | string>) {
    this.source = input[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: async () => {
        const next = await this.source.next();
        if (next.done) return { done: true, value: undefined };
        const chunk = toBuffer(next.value);
        if (this.recording) this.recorded.push(chunk);
        return { done: false, value: chunk };
      },
    };
  }

  /** Stops keeping bytes: JavaScript reads on from where it is. */
  stop(): void {
    this.recording = false;
    this.recorded = [];
  }

  /**
   * The bytes read so far, then the rest of the input. Recorded chunks leave the record as they are
   * handed out: a reader that stops early leaves the others to the next call.
   */
  async *all(): AsyncGenerator<Buffer> {
    this.recording = false;
    while (this.recorded.length > 0) yield this.recorded.shift()!;
    for (;;) {
      const next = await this.source.next();
      if (next.done) return;
      yield toBuffer(next.value);
    }
  }
}

/** How the engine reads one file: SQL and parameters, when it can read it as JavaScript would. */
interface EngineRead {
  delimiter: string;
  /** Lines above the first data row (titles and the header). */
  skipLines: number;
  fileColumns: number;
  /**
   * What the engine's CSV reader would read as NULL (an empty cell for String columns): a random
   * token no export holds, since a cell is text as written (`\N` too).
   */
  nullToken: string;
  /** SQL per facts column, in the table's order. */
  select: string[];
  /** SQL: 1 for a row the engine read and built as JavaScript would. */
  ok: string;
  params: Record<string, unknown>;
}

/** The SQL that reads this file's rows, or undefined when only JavaScript reads it as it must be read. */
function engineReadOf(context: ImportContext): EngineRead | undefined {
  const { prepared, codec } = context;
  const { file, spec, header, plan, head } = prepared;
  const build = spec.engineBuild;
  if (!build || spec.reconcile || spec.keepsExtras) return undefined;
  if (file.format !== 'csv' && file.format !== 'tsv') return undefined;
  if (file.encoding !== 'utf-8' && file.encoding !== 'utf-8-bom') return undefined;
  if (!file.delimiter || !DELIMITER_SETTINGS[file.delimiter]) return undefined;
  if (codec.format !== 'TabSeparated' || !codec.columns) return undefined;
  if (header.headerIndex < 0 || header.dataIndex < 1) return undefined;
  // Lines are skipped by count: the rows above the data must be one line each.
  for (let i = 0; i < header.dataIndex; i++) {
    for (const cell of head[i]?.cells ?? [])
      if (typeof cell === 'string' && /[\r\n]/.test(cell)) return undefined;
  }

  const params: Record<string, unknown> = {
    ...ENGINE_CELL_PARAMS,
    project: context.target.projectId,
    source: context.target.sourceId ?? '',
    currency: context.target.currency,
    updated_at: context.updatedAt,
    header_first: header.names[0] ?? '',
    summary_words: SUMMARY_WORDS,
  };
  const fieldValues = new Map<string, string>();
  const cellsOk: string[] = [];
  const cellsPresent: string[] = [];
  for (const [field, fieldSpec] of Object.entries(spec.fields)) {
    const columns = plan.columns.filter((c) => c.field === field);
    const fallback = plan.defaults[field];
    if (build.javascriptOnly.includes(field)) {
      if (columns.length > 0 || fallback !== undefined) return undefined;
      continue;
    }
    // A later column's value wins over an earlier one's, any value over the default (convertRecord).
    const values: string[] = [];
    for (const column of [...columns].reverse()) {
      const cell = `c${column.index}`;
      const sql = cellSql(fieldSpec.type, column.unit, cell);
      if (!sql) return undefined;
      values.push(sql.value);
      cellsOk.push(sql.ok);
      // With every cell read as JavaScript reads it, a cell outside MISSING holds a value.
      cellsPresent.push(`NOT (${cell} IN {cell_missing:Array(String)})`);
    }
    if (fallback !== undefined) {
      if (typeof fallback !== 'string' || (fieldSpec.type !== 'text' && fieldSpec.type !== 'date'))
        return undefined;
      if (!IDENTIFIER.test(field)) return undefined;
      params[`default_${field}`] = fallback;
      values.push(`{default_${field}:String}`);
    }
    fieldValues.set(
      field,
      values.length === 0 ? 'NULL' : values.length === 1 ? values[0]! : `coalesce(${values.join(', ')})`,
    );
  }
  if (cellsPresent.length === 0) return undefined;

  const sql: EngineBuildSql = {
    field(name) {
      const value = fieldValues.get(name);
      if (value === undefined)
        throw new Error(`the engine build of ${spec.kind} reads an unknown field ${name}`);
      return `(${value})`;
    },
    projectId: '{project:String}',
    sourceId: '{source:String}',
    currency: '{currency:String}',
    updatedAt: 'fromUnixTimestamp64Milli({updated_at:Int64})',
  };
  const built = build.columns(sql);
  const select: string[] = [];
  for (const column of codec.columns) {
    const expression = built[column];
    if (expression === undefined) throw new Error(`the engine build of ${spec.kind} leaves out ${column}`);
    select.push(expression);
  }
  const fileColumns = header.names.length + SPARE_COLUMNS;
  // isSummaryRow looks at cells of at most 16 UTF-16 units: 48 bytes of UTF-8 at most.
  const firstCells = [0, 1, 2]
    .filter((i) => i < fileColumns)
    .map(
      (i) =>
        `(length(c${i}) <= 48 AND multiSearchAnyCaseInsensitiveUTF8(c${i}, {summary_words:Array(String)}))`,
    );
  const ok = [
    `(${cellsOk.join(' AND ')})`,
    // Not a blank row (a mapped cell holds a value), not a summary row, not the header repeated.
    `(${cellsPresent.join(' OR ')})`,
    `NOT (${firstCells.join(' OR ')})`,
    'c0 != {header_first:String}',
    `(${build.accepts(sql)})`,
  ].join(' AND ');
  return {
    delimiter: file.delimiter,
    skipLines: header.dataIndex,
    fileColumns,
    nullToken: `pulseloop-${randomBytes(12).toString('hex')}`,
    select,
    ok,
    params,
  };
}

export type EngineOutcome =
  | { done: true }
  /** Not done: JavaScript reads the prepared import on (no replay), or the file again from its start. */
  | { done: false; replay?: AsyncIterable<Buffer> };

/**
 * Where the engine puts what it reads: the rows it read into the rows table, the rows for JavaScript
 * (with their cells) into `rest`.
 *
 * - direct: the rows table is shaped exactly like the facts table, so that a first import into an
 *   empty range moves its parts over (ATTACH PARTITION … FROM) instead of writing them again. It has
 *   no room for file order, so a file with two rows of one key is staged again, ordered.
 * - ordered: the rows table keeps each row's segment and record number, and the latest row of a key wins.
 */
type Layout = 'direct' | 'ordered';

interface Stage {
  layout: Layout;
  rows: string;
  rest: string;
  /** Everything created, in the order to drop it. */
  created: string[];
  /** Columns of a rows-table line written by JavaScript. */
  rowColumns: string[];
  /** Rows the engine has staged so far. */
  rowCount: number;
}

/** Imports the file through the engine when it can read it; the summary in `context` is filled in. */
export async function importThroughEngine(
  facts: FactsEngine,
  context: ImportContext,
  recorder: InputRecorder,
  options: Pick<ImportOptions, 'onProgress' | 'segmentBytes'>,
): Promise<EngineOutcome> {
  const read = facts.readableFilesDir ? engineReadOf(context) : undefined;
  if (!read || !facts.readableFilesDir) {
    recorder.stop();
    return { done: false };
  }
  const files: string[] = [];
  const direct = await canStageDirect(facts, context.prepared.spec);
  let stage = await createStage(facts, context, direct ? 'direct' : 'ordered');
  const initial = countsOf(context.summary);
  try {
    const segmented = await stageSegments(facts, context, read, stage, recorder, files, options);
    if (!segmented.ok) {
      await dropStage(facts, stage);
      return { done: false, replay: replayOf(files, segmented.remaining, recorder) };
    }
    await readRowsWithJavaScript(facts, context, stage, segmented.records);
    if (stage.layout === 'direct' && (await hasDuplicateKeys(facts, stage))) {
      // Which of two rows is the later one, the direct layout cannot tell: stage again, ordered,
      // from the segments on disk (quarantine rows are stored once whatever happens).
      await dropStage(facts, stage);
      Object.assign(context.summary, structuredClone(initial));
      stage = await createStage(facts, context, 'ordered');
      await restageFiles(facts, context, read, stage, files, segmented.records);
      await readRowsWithJavaScript(facts, context, stage, segmented.records);
    }
    await mergeStage(facts, context, stage);
    await dropStage(facts, stage);
    await Promise.all(files.splice(0).map((path) => unlink(path).catch(() => undefined)));
    return { done: true };
  } catch (error) {
    await dropStage(facts, stage).catch(() => undefined);
    await Promise.all(files.map((path) => unlink(path).catch(() => undefined)));
    throw error;
  }
}

/**
 * Whether the direct layout fits the facts table: it finds a file's duplicate keys by the table's
 * sort order (which must be the project and the natural key), and moving parts in skips materialized
 * views (no view may read the table).
 */
async function canStageDirect(facts: FactsEngine, spec: KindSpec): Promise<boolean> {
  const [table] = await facts.query<{ key: string; views: string[] }>(
    `SELECT sorting_key AS key, dependencies_table AS views FROM system.tables
     WHERE database = currentDatabase() AND name = {table:String}`,
    { table: spec.table },
  );
  return table?.key === ['project_id', ...spec.naturalKey].join(', ') && table.views.length === 0;
}

/** The summary's counts the engine's reading adds to (restored when a file is staged again). */
function countsOf(summary: ImportSummary) {
  return {
    rowsRead: summary.rowsRead,
    quarantined: summary.quarantined,
    errorCount: summary.errorCount,
    errors: [...summary.errors],
    skipped: { ...summary.skipped },
  };
}

async function createStage(facts: FactsEngine, context: ImportContext, layout: Layout): Promise<Stage> {
  const { spec } = context.prepared;
  const columns = context.codec.columns!;
  const base = `${SCRATCH_TABLE_PREFIX}import_${randomBytes(8).toString('hex')}`;
  const stage: Stage = {
    layout,
    rows: `${base}_rows`,
    rest: `${base}_rest`,
    created: [],
    rowColumns: layout === 'direct' ? [...columns] : ['seg', 'rn', ...columns],
    rowCount: 0,
  };
  const create = async (table: string, sql: string) => {
    await facts.command(sql);
    stage.created.unshift(table);
  };
  if (layout === 'direct') await create(stage.rows, `CREATE TABLE ${stage.rows} AS ${spec.table}`);
  else {
    // The facts table's columns after the row's place in the file. Names and types come from the
    // engine's own catalogue; table names are made here.
    const types = await facts.query<{ name: string; type: string }>(
      'SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {table:String} ORDER BY position',
      { table: spec.table },
    );
    const definitions = types.map((c) => {
      if (!IDENTIFIER.test(c.name)) throw new Error(`unexpected column name ${c.name} in ${spec.table}`);
      return `${c.name} ${c.type}`;
    });
    await create(
      stage.rows,
      `CREATE TABLE ${stage.rows} (seg UInt32, rn UInt64, ${definitions.join(', ')}) ENGINE = MergeTree ORDER BY (seg, rn)`,
    );
  }
  await create(
    stage.rest,
    `CREATE TABLE ${stage.rest} (seg UInt32, rn UInt64, raw Array(String)) ENGINE = MergeTree ORDER BY (seg, rn)`,
  );
  // The stage lives for one import: merging its parts would only take CPU from the import.
  await facts.command(`SYSTEM STOP MERGES ${stage.rows}`);
  await facts.command(`SYSTEM STOP MERGES ${stage.rest}`);
  return stage;
}

async function dropStage(facts: FactsEngine, stage: Stage): Promise<void> {
  for (const table of stage.created) await facts.command(`DROP TABLE IF EXISTS ${table}`);
  stage.created = [];
}

/** Records per segment, or the bytes JavaScript must read instead. */
type Segmented = { ok: true; records: number[] } | { ok: false; remaining: Buffer[] };

/**
 * The statement that has the engine read one segment file: the rows it reads as JavaScript would
 * into the rows table, or (`rest`) the cells of the others.
 */
function segmentInsertSql(read: EngineRead, stage: Stage, seg: number, into: 'rows' | 'rest'): string {
  const raw = Array.from({ length: read.fileColumns }, (_, i) => `c${i}`).join(', ');
  // Skipped lines and the delimiter are settings: the line count is an integer computed here, the
  // delimiter's setting comes from DELIMITER_SETTINGS. Everything else is bound.
  const skip = seg === 0 ? Math.trunc(read.skipLines) : 0;
  const what =
    into === 'rest'
      ? `INSERT INTO ${stage.rest} (seg, rn, raw) SELECT {seg:UInt32}, _row_number, [${raw}]`
      : `INSERT INTO ${stage.rows} (${stage.rowColumns.join(', ')})
         SELECT ${stage.layout === 'ordered' ? '{seg:UInt32}, _row_number, ' : ''}${read.select.join(', ')}`;
  // One SELECT, so that the cells' checks and values share their common parts.
  return `${what}
    FROM file({path:String}, 'CSV', {structure:String})
    WHERE ${into === 'rest' ? 'NOT' : ''} (${read.ok})
    SETTINGS short_circuit_function_evaluation = 'force_enable', input_format_parallel_parsing = 0,
      input_format_csv_skip_first_lines = ${skip}, format_csv_delimiter = ${DELIMITER_SETTINGS[read.delimiter]},
      input_format_csv_trim_whitespaces = 0, input_format_csv_allow_variable_number_of_columns = 1,
      input_format_csv_allow_whitespace_or_tab_as_delimiter = 1,
      format_csv_allow_single_quotes = 0, format_csv_null_representation = '${read.nullToken}',
      input_format_csv_detect_header = 0, input_format_csv_skip_trailing_empty_lines = 0,
      precise_float_parsing = 1, optimize_on_insert = 0, ${WRITE_SETTINGS}`;
}

function structureOf(read: EngineRead): string {
  return Array.from({ length: read.fileColumns }, (_, i) => `c${i} String`).join(', ');
}

/**
 * Has the engine read one segment into the stage: answers false when the engine's reading disagrees
 * with JavaScript's (its CSV reader refused the file, or counted other records than the segmenter).
 */
async function stageSegment(
  facts: FactsEngine,
  read: EngineRead,
  stage: Stage,
  seg: number,
  path: string,
  records: number,
): Promise<{ ok: true; fast: number } | { ok: false }> {
  const params = { ...read.params, seg, path, structure: structureOf(read) };
  try {
    await facts.command(segmentInsertSql(read, stage, seg, 'rows'), params);
    const after = await rowCount(facts, stage.rows);
    const fast = after - stage.rowCount;
    stage.rowCount = after;
    if (fast > records) return { ok: false };
    if (fast < records) {
      // Most segments hold no row for JavaScript: their file is read once.
      await facts.command(segmentInsertSql(read, stage, seg, 'rest'), params);
      const [rest] = await facts.query<{ n: number }>(
        `SELECT count() AS n FROM ${stage.rest} WHERE seg = {seg:UInt32}`,
        { seg },
      );
      if (fast + Number(rest?.n ?? 0) !== records) return { ok: false };
    }
    // The memory the engine freed goes back to the system between segments (only the embedded
    // engine reads files, so this is never a shared server's allocator).
    await facts.command('SYSTEM JEMALLOC PURGE').catch(() => undefined);
    return { ok: true, fast };
  } catch (error) {
    if (!(error instanceof FactsQueryError)) throw error;
    return { ok: false };
  }
}

/** Splits the input into segments and has the engine read each into the stage. */
async function stageSegments(
  facts: FactsEngine,
  context: ImportContext,
  read: EngineRead,
  stage: Stage,
  recorder: InputRecorder,
  files: string[],
  options: Pick<ImportOptions, 'onProgress' | 'segmentBytes'>,
): Promise<Segmented> {
  const { summary } = context;
  const segmenter = new CsvSegmenter(read.delimiter.charCodeAt(0), options.segmentBytes ?? SEGMENT_BYTES);
  const records: number[] = [];
  let bytesRead = 0;
  let recordsRead = 0;
  let failed = false;
  let staging: Promise<void> = Promise.resolve();

  const stageOne = async (seg: number, path: string, segment: Segment) => {
    // The title and header lines the engine skips are no records.
    const count = seg === 0 ? segment.records - read.skipLines : segment.records;
    const staged =
      count < 0 ? { ok: false as const } : await stageSegment(facts, read, stage, seg, path, count);
    if (!staged.ok) {
      failed = true; // JavaScript reads the file
      return;
    }
    records[seg] = count;
    recordsRead += count;
    bytesRead += segment.bytes;
    summary.rowsRead += staged.fast;
    options.onProgress?.({ rowsRead: recordsRead, bytesRead });
  };

  // The next segment is written to disk while the engine reads the previous one.
  const writeSegment = async (segment: Segment) => {
    const seg = files.length;
    const path = join(facts.readableFilesDir!, `${stage.rows}-${seg}.csv`);
    files.push(path);
    await writeChunks(path, segment.chunks);
    await staging;
    if (failed) return;
    staging = stageOne(seg, path, segment);
  };

  for await (const chunk of recorder.all()) {
    for (const segment of segmenter.push(chunk)) await writeSegment(segment);
    if (segmenter.irregular || failed) break;
  }
  if (!segmenter.irregular && !failed) for (const segment of segmenter.end()) await writeSegment(segment);
  await staging;
  if (segmenter.irregular || failed) return { ok: false, remaining: segmenter.remaining() };
  return { ok: true, records };
}

/** The segments on disk read again into another stage (read once already: the engine agreed then). */
async function restageFiles(
  facts: FactsEngine,
  context: ImportContext,
  read: EngineRead,
  stage: Stage,
  files: readonly string[],
  records: readonly number[],
): Promise<void> {
  for (const [seg, path] of files.entries()) {
    const staged = await stageSegment(facts, read, stage, seg, path, records[seg] ?? 0);
    if (!staged.ok)
      throw new Error(`the engine read segment ${seg} of an import differently the second time`);
    context.summary.rowsRead += staged.fast;
  }
}

async function rowCount(facts: FactsEngine, table: string): Promise<number> {
  const [row] = await facts.query<{ n: number }>(`SELECT count() AS n FROM ${table}`);
  return Number(row?.n ?? 0);
}

/** JavaScript reads the rows the engine did not decide, as it reads every row (convert, skip or quarantine). */
async function readRowsWithJavaScript(
  facts: FactsEngine,
  context: ImportContext,
  stage: Stage,
  records: number[],
): Promise<void> {
  const { summary, target } = context;
  // Row numbers as a spreadsheet shows them: records above the data, then the segments before.
  const bases: number[] = [];
  let base = context.prepared.header.dataIndex;
  for (const count of records) {
    bases.push(base);
    base += count;
  }
  const fastRows = summary.rowsRead;
  let handed = 0;
  let seg = 0;
  let rn = 0;
  let lines: string[] = [];
  let refused: QuarantineRow[] = [];
  const handle = recordHandler(context, {
    row: (_key, line) => lines.push(stage.layout === 'direct' ? `${line}\n` : `${seg}\t${rn}\t${line}\n`),
    refused: (rows) => refused.push(...rows),
  });
  type Page = Array<{ seg: number; rn: number; raw: string[] }>;
  const fetchPage = (after: { seg: number; rn: number }) =>
    facts.query<Page[number]>(
      `SELECT seg, rn, raw FROM ${stage.rest}
       WHERE (seg, toInt64(rn)) > ({after_seg:UInt32}, {after_rn:Int64})
       ORDER BY seg, rn LIMIT {page:UInt32}`,
      { after_seg: after.seg, after_rn: after.rn, page: JAVASCRIPT_PAGE },
    );
  // The next page is fetched while this one is read.
  let next: Promise<Page> = fetchPage({ seg: 0, rn: -1 });
  for (;;) {
    const page = await next;
    if (page.length === 0) break;
    const last = page[page.length - 1]!;
    next =
      page.length < JAVASCRIPT_PAGE
        ? Promise.resolve([])
        : fetchPage({ seg: Number(last.seg), rn: Number(last.rn) });
    next.catch(() => undefined); // awaited (and thrown) on the next turn
    for (const row of page) {
      seg = Number(row.seg);
      rn = Number(row.rn);
      handle({ rowNumber: bases[seg]! + rn + 1, cells: row.raw });
    }
    handed += page.length;
    if (lines.length > 0) {
      await insertRows(facts, stage.rows, lines.join(''), {
        format: 'TabSeparated',
        columns: stage.rowColumns,
      });
    }
    await writeQuarantine(facts, target.projectId, refused);
    lines = [];
    refused = [];
  }
  summary.parsedBy = { engine: fastRows, javascript: handed };
}

/**
 * Whether two rows of the file share a natural key. The rows table is sorted like the facts table,
 * by project and natural key: FINAL folds rows of one key in a streaming merge, so the memory this
 * takes does not grow with the file (a set of a million keys would).
 */
async function hasDuplicateKeys(facts: FactsEngine, stage: Stage): Promise<boolean> {
  const [counts] = await facts.query<{ rows: number; keys: number }>(
    `SELECT (SELECT count() FROM ${stage.rows}) AS rows, (SELECT count() FROM ${stage.rows} FINAL) AS keys`,
  );
  return Number(counts?.rows ?? 0) !== Number(counts?.keys ?? 0);
}

function sameSql(column: string, how: CompareAs): string {
  switch (how) {
    case 'text':
      return `ifNull(toString(n.${column}), '') = ifNull(toString(s.${column}), '')`;
    case 'list':
      return `n.${column} = s.${column}`;
    case 'ms':
      return `ifNull(toUnixTimestamp64Milli(n.${column}), 0) = ifNull(toUnixTimestamp64Milli(s.${column}), 0)`;
    case 'number':
      return `abs(toFloat64(n.${column}) - toFloat64(s.${column})) <= 1e-9 * greatest(1, abs(toFloat64(n.${column})))`;
  }
}

/** The stage's rows into the facts table: the latest row per key; only new and changed rows written. */
async function mergeStage(facts: FactsEngine, context: ImportContext, stage: Stage): Promise<void> {
  const { summary, codec } = context;
  const spec = context.prepared.spec;
  const columns = codec.columns!;
  // Identifiers from the kind's specification (constants), the table's catalogue and this module.
  const keys = spec.naturalKey.join(', ');
  const range = spec.rangeColumn;
  const rangeBounds = !range
    ? '0 AS lo, 0 AS hi'
    : range.type === 'date'
      ? `toString(min(${range.column})) AS lo, toString(max(${range.column})) AS hi`
      : `toUnixTimestamp64Milli(min(${range.column})) AS lo, toUnixTimestamp64Milli(max(${range.column})) AS hi`;
  const [stats] = await facts.query<{ rows: number; lo: string | number; hi: string | number }>(
    `SELECT count() AS rows, ${rangeBounds} FROM ${stage.rows}`,
  );
  const rows = Number(stats?.rows ?? 0);
  if (rows === 0) return;
  let distinct = rows;
  let source = stage.rows;
  if (stage.layout === 'ordered') {
    const [unique] = await facts.query<{ keys: number }>(
      `SELECT uniqExact(${keys}) AS keys FROM ${stage.rows}`,
    );
    distinct = Number(unique?.keys ?? rows);
    summary.duplicates += rows - distinct;
    source = `(SELECT * FROM ${stage.rows} ORDER BY seg DESC, rn DESC LIMIT 1 BY ${keys})`;
  }
  const params: Record<string, unknown> = { project: context.target.projectId, lo: stats!.lo, hi: stats!.hi };
  const inRange = !range
    ? ''
    : range.type === 'date'
      ? `AND ${range.column} BETWEEN {lo:Date} AND {hi:Date}`
      : `AND ${range.column} BETWEEN fromUnixTimestamp64Milli({lo:Int64}) AND fromUnixTimestamp64Milli({hi:Int64})`;
  const probe = await facts.query(
    `SELECT 1 AS found FROM ${spec.table} WHERE project_id = {project:String} ${inRange} LIMIT 1`,
    params,
  );
  if (probe.length === 0) {
    // A first import into this range: every row is new.
    if (stage.layout === 'direct') await attachRows(facts, spec.table, stage.rows);
    else {
      await facts.command(
        `INSERT INTO ${spec.table} (${columns.join(', ')}) SELECT ${columns.join(', ')} FROM ${source}
         SETTINGS optimize_on_insert = 0, ${WRITE_SETTINGS}`,
      );
    }
    summary.imported += distinct;
    return;
  }
  const compared = Object.keys(spec.compare).filter((c) => !spec.naturalKey.includes(c));
  const stored = `(SELECT ${[...spec.naturalKey, ...compared].join(', ')}, 1 AS found FROM ${spec.table} FINAL
    WHERE project_id = {project:String} ${inRange})`;
  const on = spec.naturalKey.map((k) => `n.${k} = s.${k}`).join(' AND ');
  const same = Object.entries(spec.compare)
    .map(([column, how]) => sameSql(column, how))
    .join(' AND ');
  const joined = `FROM ${source} AS n LEFT JOIN ${stored} AS s ON ${on}`;
  // Past a quarter of a GiB the join goes on disk: memory stays flat whatever the file's size.
  const joinSettings = `SETTINGS join_algorithm = 'auto', max_bytes_in_join = 268435456, optimize_on_insert = 0, ${WRITE_SETTINGS}`;
  const [counts] = await facts.query<{ imported: number; updated: number; unchanged: number }>(
    `SELECT countIf(s.found = 0) AS imported, countIf(s.found = 1 AND NOT (${same})) AS updated,
       countIf(s.found = 1 AND (${same})) AS unchanged
     ${joined} ${joinSettings}`,
    params,
  );
  summary.imported += Number(counts?.imported ?? 0);
  summary.updated += Number(counts?.updated ?? 0);
  summary.unchanged += Number(counts?.unchanged ?? 0);
  if (Number(counts?.imported ?? 0) + Number(counts?.updated ?? 0) === 0) return;
  await facts.command(
    `INSERT INTO ${spec.table} (${columns.join(', ')})
     SELECT ${columns.map((c) => `n.${c}`).join(', ')} ${joined}
     WHERE s.found = 0 OR NOT (${same}) ${joinSettings}`,
    params,
  );
}

/** Moves the parts of a table shaped like the facts table into it, partition by partition. */
async function attachRows(facts: FactsEngine, table: string, rows: string): Promise<void> {
  const partitions = await facts.query<{ partition_id: string }>(
    `SELECT DISTINCT partition_id FROM system.parts
     WHERE database = currentDatabase() AND table = {table:String} AND active`,
    { table: rows },
  );
  for (const { partition_id: id } of partitions) {
    // Partition ids are the engine's own (digits of toYYYYMM); checked before they go into the statement.
    if (!/^[0-9A-Za-z_-]+$/.test(id)) throw new Error(`unexpected partition id ${id}`);
    await facts.command(`ALTER TABLE ${table} ATTACH PARTITION ID '${id}' FROM ${rows}`);
  }
}

async function writeChunks(path: string, chunks: Buffer[]): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.writev(chunks);
  } finally {
    await file.close();
  }
}

/** The file again from its start, for JavaScript: the segments kept on disk, then the rest of the input. */
async function* replayOf(
  files: string[],
  remaining: Buffer[],
  recorder: InputRecorder,
): AsyncGenerator<Buffer> {
  for (const path of files.splice(0)) {
    try {
      yield await readFile(path);
    } finally {
      await unlink(path).catch(() => undefined);
    }
  }
  yield* remaining;
  yield* recorder.all();
}
