import { detailText, PulseloopError } from '../../errors/registry.js';
import type { FactsEngine } from '../../store/facts/engine.js';
import type { QuarantineRow } from '../../store/facts/rows.js';
import { RowChunk } from './chunk.js';
import { InputRecorder, importThroughEngine } from './engine-import.js';
import { detectHeader, type Header, isBlankRow, isSummaryRow } from './header.js';
import { kindSpec } from './kinds/index.js';
import type { KindSpec } from './kinds/types.js';
import { type CustomMapping, knownNames, type MappingPlan, planMapping, tiersFor } from './mapping.js';
import { type Preset, presetNamed } from './presets/index.js';
import { type FileFormat, type OpenedFile, openRecords, type RawRecord } from './records.js';
import { type RowCodec, rowCodecFor } from './row-codec.js';
import { convertRecord, quarantineRows, type RowEnv, type RowError, rowEnv } from './rows.js';
import { type ChunkCounts, naturalKeyOf, writeChunk, writeQuarantine } from './store.js';
import { zonedClock } from './time.js';

/**
 * The import pipeline: open → find the header → map columns → per row: skip blank and summary rows,
 * parse, build the facts row or quarantine it → in chunks: look up stored keys, insert new and
 * updated rows. Parsing the next chunk overlaps with writing the previous one.
 */

export interface ImportTarget {
  projectId: string;
  /** The project's IANA time zone: local times in the file are read in it. */
  timeZone: string;
  /** The project's currency, for amounts the file names none for. */
  currency: string;
  sourceId?: string;
}

export interface ImportOptions {
  kind?: string;
  preset?: string;
  mapping?: CustomMapping;
  fileName?: string;
  format?: FileFormat;
  /** Rows per look-up and insert (JavaScript reader). */
  chunkRows?: number;
  /** Who reads the file: the engine where it can ('auto', the default), or always JavaScript. */
  reader?: 'auto' | 'javascript';
  /** Bytes per segment the engine reads at a time (engine reader; tests use small ones). */
  segmentBytes?: number;
  onProgress?: (progress: { rowsRead: number; bytesRead: number }) => void;
  now?: () => number;
}

export interface ImportSummary {
  kind: string;
  preset: string | null;
  format: FileFormat;
  encoding: string;
  headerRow: number;
  columns: Array<{ column: string; field: string; unit?: string }>;
  unmappedColumns: string[];
  rowsRead: number;
  imported: number;
  updated: number;
  unchanged: number;
  /** Rows whose natural key repeats an earlier row of the same chunk; the later one wins. */
  duplicates: number;
  quarantined: number;
  skipped: { blank: number; summary: number; header: number };
  /** The first errors (all are in quarantine). */
  errors: RowError[];
  errorCount: number;
  durationMs: number;
  rowsPerSecond: number;
  /** Rows read by the engine's fast path and by JavaScript (rows it handed on, or the whole file). */
  parsedBy?: { engine: number; javascript: number };
}

/** How many records are looked at to find the header. */
export const HEADER_SEARCH_ROWS = 30;
const MAX_REPORTED_ERRORS = 1000;
/** Rows per look-up and insert: measured on 1M rows, 50k beat 100k in speed and in peak memory. */
const DEFAULT_CHUNK_ROWS = 50_000;
/** Chunks parsed but not yet written at most (each holds its buffer and keys). */
const WRITE_QUEUE = 2;

export interface PreparedImport {
  file: OpenedFile;
  spec: KindSpec;
  preset?: Preset;
  header: Header;
  plan: MappingPlan;
  /** Records read while looking for the header, data rows among them. */
  head: RawRecord[];
  rest: AsyncIterator<RawRecord[]>;
}

/** Resolves the kind and preset the options name (a mapping file may name them too). */
export function resolveKind(options: Pick<ImportOptions, 'kind' | 'preset' | 'mapping'>): {
  spec: KindSpec;
  preset?: Preset;
} {
  const presetName = options.preset ?? options.mapping?.preset;
  const preset = presetName ? presetNamed(presetName) : undefined;
  const kind = options.kind ?? options.mapping?.kind ?? preset?.kind;
  if (!kind)
    throw new PulseloopError(
      'invalid_request',
      detailText(
        'say which kind of file this is with --kind (or use a preset).',
        '请用 --kind 指明文件类型（或使用预设）。',
      ),
    );
  const spec = kindSpec(kind);
  if (preset && preset.kind !== spec.kind) {
    throw new PulseloopError('import_preset_kind_mismatch', {
      preset: preset.name,
      presetKind: preset.kind,
      kind: spec.kind,
    });
  }
  return { spec, ...(preset ? { preset } : {}) };
}

/** Reads the first records of a file and finds its header. */
export async function readHead(
  input: AsyncIterable<Buffer | Uint8Array | string>,
  options: Pick<ImportOptions, 'fileName' | 'format'>,
): Promise<{ file: OpenedFile; head: RawRecord[]; rest: AsyncIterator<RawRecord[]> }> {
  const file = await openRecords(input, options);
  const rest = file.batches[Symbol.asyncIterator]();
  const head: RawRecord[] = [];
  while (head.length < HEADER_SEARCH_ROWS) {
    const next = await rest.next();
    if (next.done) break;
    head.push(...next.value);
  }
  return { file, head, rest };
}

/** The header of the head records: NDJSON keys, or the detected header row. */
export function headerOf(file: OpenedFile, head: RawRecord[], known: (name: string) => boolean): Header {
  if (file.keys) {
    return {
      headerIndex: -1,
      dataIndex: 0,
      names: [...file.keys],
      candidates: file.keys.map((k) => [k]),
      rowNumber: 0,
    };
  }
  const header = detectHeader(head.slice(0, HEADER_SEARCH_ROWS), known);
  if (!header) throw new PulseloopError('import_no_header', { rows: HEADER_SEARCH_ROWS });
  return header;
}

export async function prepareImport(
  input: AsyncIterable<Buffer | Uint8Array | string>,
  target: ImportTarget,
  options: ImportOptions,
): Promise<PreparedImport> {
  const { spec, preset } = resolveKind(options);
  const { file, head, rest } = await readHead(input, options);
  const header = headerOf(file, head, knownNames(tiersFor(spec, preset, options.mapping)));
  const plan = planMapping(spec, header, {
    ...(preset ? { preset } : {}),
    ...(options.mapping ? { custom: options.mapping } : {}),
    timeZone: target.timeZone,
  });
  return { file, spec, ...(preset ? { preset } : {}), header, plan, head, rest };
}

/** Cells up to the last non-empty one (how many empty cells end a row depends on who split it). */
function filledLength(cells: readonly unknown[]): number {
  let n = cells.length;
  while (n > 0 && (cells[n - 1] === '' || cells[n - 1] === undefined || cells[n - 1] === null)) n--;
  return n;
}

/** The header line repeated (a report that pages its rows repeats it), ignoring empty cells at the end. */
function sameAsHeader(cells: RawRecord['cells'], header: Header): boolean {
  const n = filledLength(cells);
  if (n < 2 || n !== filledLength(header.names)) return false;
  for (let i = 0; i < n; i++) if ((cells[i] ?? '') !== (header.names[i] ?? '')) return false;
  return true;
}

/** Where the records of an import go: encoded facts rows, or quarantine rows for refused ones. */
export interface RecordSink {
  row(key: string, line: string, range: string | number | undefined): void;
  refused(rows: QuarantineRow[]): void;
}

/**
 * What becomes of each record: blank, summary and repeated header rows are skipped, the rest are
 * converted into a facts row or refused with their reasons; the summary counts every outcome.
 */
export function recordHandler(context: ImportContext, sink: RecordSink): (record: RawRecord) => void {
  const { env, codec, summary, target, updatedAt } = context;
  const { spec, header } = context.prepared;
  const rangeColumn = spec.rangeColumn?.column;
  return (record) => {
    const cells = record.cells;
    if (!record.problem && isBlankRow(cells)) {
      summary.skipped.blank++;
      return;
    }
    if (!record.problem && isSummaryRow(cells)) {
      summary.skipped.summary++;
      return;
    }
    if (!record.problem && header.headerIndex >= 0 && sameAsHeader(cells, header)) {
      summary.skipped.header++;
      return;
    }
    summary.rowsRead++;
    const outcome = convertRecord(record, env);
    if (outcome.ok) {
      const row = outcome.row;
      // Encoded at once: the row object dies young, only its line and key are kept.
      sink.row(
        naturalKeyOf(spec, row),
        codec.encode(row),
        rangeColumn === undefined ? undefined : (row[rangeColumn] as string | number),
      );
      return;
    }
    summary.quarantined++;
    summary.errorCount += outcome.errors.length;
    for (const e of outcome.errors) if (summary.errors.length < MAX_REPORTED_ERRORS) summary.errors.push(e);
    sink.refused(
      quarantineRows(outcome.errors, outcome.raw, {
        projectId: target.projectId,
        sourceId: target.sourceId ?? '',
        receivedAt: updatedAt,
        kind: spec.kind,
      }),
    );
  };
}

/** The conversion set-up of one import: how rows are read, built and encoded, and its summary so far. */
export interface ImportContext {
  prepared: PreparedImport;
  target: ImportTarget;
  env: RowEnv;
  codec: RowCodec;
  updatedAt: number;
  summary: ImportSummary;
}

async function importContext(
  facts: FactsEngine,
  prepared: PreparedImport,
  target: ImportTarget,
  updatedAt: number,
): Promise<ImportContext> {
  const { file, spec, header, plan } = prepared;
  const env: RowEnv = rowEnv({
    spec,
    plan,
    header,
    clock: zonedClock(target.timeZone),
    context: {
      projectId: target.projectId,
      sourceId: target.sourceId ?? '',
      currency: target.currency,
      updatedAt,
    },
    kind: spec.kind,
  });
  const summary: ImportSummary = {
    kind: spec.kind,
    preset: prepared.preset?.name ?? null,
    format: file.format,
    encoding: file.encoding,
    headerRow: header.rowNumber,
    columns: plan.columns.map((c) => ({
      column: c.column,
      field: c.field,
      ...(c.unit ? { unit: c.unit } : {}),
    })),
    unmappedColumns: plan.unmapped.map((c) => c.column),
    rowsRead: 0,
    imported: 0,
    updated: 0,
    unchanged: 0,
    duplicates: 0,
    quarantined: 0,
    skipped: { blank: 0, summary: 0, header: 0 },
    errors: [],
    errorCount: 0,
    durationMs: 0,
    rowsPerSecond: 0,
  };
  return { prepared, target, env, codec: await rowCodecFor(facts, spec.table), updatedAt, summary };
}

/**
 * Imports a file (a byte stream) into the facts store of one project. The engine reads the file
 * itself where it can (engine-import.ts: UTF-8 CSV/TSV of a kind with an engine build), JavaScript
 * reads it otherwise; both store the same rows.
 */
export async function importFile(
  facts: FactsEngine,
  input: AsyncIterable<Buffer | Uint8Array | string>,
  target: ImportTarget,
  options: ImportOptions,
): Promise<ImportSummary> {
  const startedAt = performance.now();
  const updatedAt = (options.now ?? Date.now)();
  const recorder =
    options.reader !== 'javascript' && facts.readableFilesDir ? new InputRecorder(input) : undefined;
  let prepared = await prepareImport(recorder ?? input, target, options);
  let context = await importContext(facts, prepared, target, updatedAt);
  if (recorder) {
    const outcome = await importThroughEngine(facts, context, recorder, options);
    if (outcome.done) return finished(context.summary, startedAt);
    if (outcome.replay) {
      // The engine could not read this file as JavaScript would: JavaScript reads it from the start.
      prepared = await prepareImport(outcome.replay, target, options);
      context = await importContext(facts, prepared, target, updatedAt);
    }
  }
  await importWithJavaScript(facts, context, options);
  return finished(context.summary, startedAt);
}

function finished(summary: ImportSummary, startedAt: number): ImportSummary {
  summary.durationMs = Math.round(performance.now() - startedAt);
  summary.rowsPerSecond = Math.round(summary.rowsRead / Math.max(0.001, summary.durationMs / 1000));
  return summary;
}

async function importWithJavaScript(
  facts: FactsEngine,
  context: ImportContext,
  options: ImportOptions,
): Promise<void> {
  const { prepared, target, codec, summary } = context;
  const { file, spec, header } = prepared;
  const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
  let chunk = new RowChunk();
  let quarantine: QuarantineRow[] = [];
  // One chunk is written while the next is parsed; writes stay in order, so a later chunk's
  // look-up sees the rows of the earlier ones.
  let pending: Promise<void> = Promise.resolve();
  const add = (counts: ChunkCounts) => {
    summary.imported += counts.imported;
    summary.updated += counts.updated;
    summary.unchanged += counts.unchanged;
  };
  // Buffers of written chunks are reused: no buffer garbage per chunk.
  const spares: Buffer[] = [];
  // Written chunks, oldest first: writes run one after another (a chunk's look-up sees the rows of
  // the earlier ones), while parsing runs up to WRITE_QUEUE chunks ahead of them.
  const queue: Array<Promise<void>> = [];
  const flush = async () => {
    const rows = chunk;
    const refused = quarantine;
    quarantine = [];
    summary.duplicates += rows.duplicates;
    if (queue.length >= WRITE_QUEUE) await queue.shift();
    chunk = new RowChunk(spares.pop());
    const write = pending.then(async () => {
      add(await writeChunk(facts, spec, codec, target.projectId, rows));
      spares.push(rows.release());
      await writeQuarantine(facts, target.projectId, refused);
    });
    write.catch(() => {}); // awaited (and thrown) at a later flush or the end
    pending = write;
    queue.push(write);
  };

  // Exact chunk bounds: the memory a chunk takes does not depend on how the input was split.
  const full = () => chunk.rows >= chunkRows || quarantine.length >= chunkRows;
  const handle = recordHandler(context, {
    row: (key, line, range) => chunk.add(key, line, range),
    refused: (rows) => quarantine.push(...rows),
  });

  // Records above the header are titles, not data.
  for (let i = header.dataIndex; i < prepared.head.length; i++) {
    handle(prepared.head[i]!);
    if (full()) await flush();
  }
  options.onProgress?.({ rowsRead: summary.rowsRead, bytesRead: file.bytesRead() });
  for (;;) {
    const next = await prepared.rest.next();
    if (next.done) break;
    for (const record of next.value) {
      handle(record);
      if (full()) await flush();
    }
    options.onProgress?.({ rowsRead: summary.rowsRead, bytesRead: file.bytesRead() });
  }
  await flush();
  await pending;
  summary.parsedBy = { engine: 0, javascript: summary.rowsRead };
}
