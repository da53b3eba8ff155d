import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { PulseloopError } from '../../errors/registry.js';
import { detectEncoding, type TextEncoding, textDecoder } from './decode.js';
import { DelimitedParser, detectDelimiter } from './delimited.js';
import type { Cell } from './values.js';

/**
 * Readers: bytes of an export in, batches of records (row number + cells) out, never holding more
 * than a chunk of the file. The format comes from the file name or, failing that, the first bytes.
 */

export const FILE_FORMATS = ['csv', 'tsv', 'xlsx', 'ndjson'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export interface RawRecord {
  /** 1-based position in the file as a spreadsheet shows it (CSV record, XLSX row, NDJSON line). */
  rowNumber: number;
  cells: Cell[];
  /** The line as written, when the reader keeps it (NDJSON). */
  rawText?: string;
  /** Set when the record itself is unreadable (an NDJSON line that is not a JSON object). */
  problem?: { en: string; zh: string };
}

export interface OpenedFile {
  format: FileFormat;
  encoding: TextEncoding | 'binary';
  /** For NDJSON: the keys seen in the first batch, which serve as the header. */
  keys?: string[];
  /** For CSV and TSV: the delimiter the records were split at. */
  delimiter?: string;
  batches: AsyncIterable<RawRecord[]>;
  bytesRead(): number;
}

/** First bytes looked at to decide format and encoding. */
const SNIFF_BYTES = 64 * 1024;

function formatOf(fileName: string | undefined, head: Buffer): FileFormat {
  const extension = /\.([a-z]+)$/i.exec(fileName ?? '')?.[1]?.toLowerCase();
  if (extension === 'xlsx' || extension === 'xlsm') return 'xlsx';
  if (extension === 'tsv' || extension === 'tab') return 'tsv';
  if (extension === 'ndjson' || extension === 'jsonl') return 'ndjson';
  if (extension === 'csv' || extension === 'txt') return 'csv';
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'xlsx';
  const start = head
    .subarray(0, 64)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  return start.startsWith('{') ? 'ndjson' : 'csv';
}

/** Opens a byte stream as records; reads only the first chunks now, the rest as batches are pulled. */
export async function openRecords(
  input: AsyncIterable<Buffer | Uint8Array | string>,
  options: { fileName?: string; format?: FileFormat } = {},
): Promise<OpenedFile> {
  const iterator = input[Symbol.asyncIterator]();
  let bytesRead = 0;
  const head: Buffer[] = [];
  let headBytes = 0;
  let exhausted = false;
  while (headBytes < SNIFF_BYTES) {
    const next = await iterator.next();
    if (next.done) {
      exhausted = true;
      break;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    head.push(chunk);
    headBytes += chunk.length;
  }
  const first = Buffer.concat(head);
  if (first.length === 0) throw new PulseloopError('import_empty_file');
  const format = options.format ?? formatOf(options.fileName, first);

  async function* chunks(): AsyncGenerator<Buffer> {
    bytesRead += first.length;
    yield first;
    if (exhausted) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      bytesRead += chunk.length;
      yield chunk;
    }
  }

  if (format === 'xlsx') {
    return { format, encoding: 'binary', batches: xlsxBatches(chunks()), bytesRead: () => bytesRead };
  }
  const encoding = detectEncoding(first);
  if (format === 'ndjson') {
    const keys: string[] = [];
    return {
      format,
      encoding,
      keys,
      batches: ndjsonBatches(chunks(), encoding, keys),
      bytesRead: () => bytesRead,
    };
  }
  const sample = textDecoder(encoding).write(first.subarray(0, 16 * 1024));
  const delimiter = format === 'tsv' ? '\t' : detectDelimiter(sample, options.fileName);
  return {
    format: delimiter === '\t' ? 'tsv' : 'csv',
    encoding,
    delimiter,
    batches: delimitedBatches(chunks(), encoding, delimiter),
    bytesRead: () => bytesRead,
  };
}

/** Characters of text parsed into one batch of records (about a thousand rows of a typical export). */
const BATCH_CHARS = 64 * 1024;

async function* delimitedBatches(
  chunks: AsyncIterable<Buffer>,
  encoding: TextEncoding,
  delimiter: string,
): AsyncGenerator<RawRecord[]> {
  const decoder = textDecoder(encoding);
  const parser = new DelimitedParser(delimiter);
  for await (const chunk of chunks) {
    const text = decoder.write(chunk);
    // Small batches: a batch is alive while it is handled, and a megabyte of records at once would
    // outgrow V8's young generation, which then copies it at every scavenge.
    for (let start = 0; start < text.length; start += BATCH_CHARS) {
      const out: RawRecord[] = [];
      parser.push(text.slice(start, start + BATCH_CHARS), out);
      if (out.length > 0) yield out;
    }
  }
  const out: RawRecord[] = [];
  parser.push(decoder.end(), out);
  parser.end(out);
  if (out.length > 0) yield out;
}

const NOT_AN_OBJECT = { en: 'the line is not a JSON object', zh: '该行不是 JSON 对象' };

/** NDJSON: one JSON object per line; its keys are the columns (nested values kept as JSON text). */
async function* ndjsonBatches(
  chunks: AsyncIterable<Buffer>,
  encoding: TextEncoding,
  keys: string[],
): AsyncGenerator<RawRecord[]> {
  const decoder = textDecoder(encoding);
  const keyIndex = new Map<string, number>();
  let rest = '';
  let lineNumber = 0;
  const toRecords = (lines: string[]): RawRecord[] => {
    const parsed: Array<{ rowNumber: number; line: string; value: unknown; problem?: RawRecord['problem'] }> =
      [];
    for (const line of lines) {
      lineNumber++;
      const text = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (text.trim() === '') {
        parsed.push({ rowNumber: lineNumber, line: text, value: undefined });
        continue;
      }
      try {
        const value: unknown = JSON.parse(text);
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          parsed.push({ rowNumber: lineNumber, line: text, value, problem: NOT_AN_OBJECT });
          continue;
        }
        for (const key of Object.keys(value)) {
          if (!keyIndex.has(key)) {
            keyIndex.set(key, keys.length);
            keys.push(key);
          }
        }
        parsed.push({ rowNumber: lineNumber, line: text, value });
      } catch (error) {
        // The parser's own words stay as given in both languages.
        const said = error instanceof Error ? error.message : String(error);
        parsed.push({
          rowNumber: lineNumber,
          line: text,
          value: undefined,
          problem: { en: `the line is not valid JSON (${said})`, zh: `该行不是有效的 JSON（${said}）` },
        });
      }
    }
    return parsed.map(({ rowNumber, line, value, problem }) => {
      const cells: Cell[] = [];
      if (value && typeof value === 'object' && !problem) {
        for (const [key, v] of Object.entries(value)) cells[keyIndex.get(key)!] = jsonCell(v);
      }
      return { rowNumber, cells, rawText: line, ...(problem ? { problem } : {}) };
    });
  };
  for await (const chunk of chunks) {
    const text = rest + decoder.write(chunk);
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    if (lines.length > 0) yield toRecords(lines);
  }
  const last = rest + decoder.end();
  if (last.trim() !== '') yield toRecords([last]);
}

function jsonCell(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

/** A spreadsheet cell value as exceljs gives it → a plain cell. */
function xlsxCell(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value instanceof Date) return value;
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v.richText))
      return v.richText.map((part: { text?: string }) => part.text ?? '').join('');
    if ('result' in v) return xlsxCell(v.result);
    if ('text' in v) return xlsxCell(v.text);
    if ('error' in v) return String(v.error);
  }
  return String(value);
}

/** XLSX through exceljs's streaming reader: the first worksheet, row by row. */
async function* xlsxBatches(chunks: AsyncIterable<Buffer>): AsyncGenerator<RawRecord[]> {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(Readable.from(chunks), {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache', // needed to tell date cells from numbers
    hyperlinks: 'ignore',
    entries: 'emit',
  });
  let sheetNumber = 0;
  try {
    for await (const sheet of reader) {
      sheetNumber++;
      let batch: RawRecord[] = [];
      for await (const row of sheet) {
        if (sheetNumber > 1) continue; // later sheets are read past, not imported
        const values = row.values as unknown[];
        const cells: Cell[] = [];
        for (let column = 1; column < values.length; column++) cells.push(xlsxCell(values[column]));
        batch.push({ rowNumber: row.number, cells });
        if (batch.length >= 2000) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    }
  } catch (error) {
    if (error instanceof PulseloopError) throw error;
    throw new PulseloopError('import_unreadable_file', {
      format: 'XLSX',
      detail: error instanceof Error ? error.message : String(error),
    });
  }
}
