import { PulseloopError } from '../errors/registry.js';
import { ByteSink } from '../lib/byte-sink.js';
import { FactsQueryError } from '../store/facts/engine.js';
import { scanEventRows } from '../store/facts/event-binary.js';
import type { QuarantineRow } from '../store/facts/rows.js';
import { writeCompactJsonLine } from './ingest.js';
import { capText } from './segment/quarantine.js';
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
 * Quarantine rows for a record the store refused: one per JSON line (its text as the raw value, its
 * project when the line says), or one for a binary record (base64, the first row's project).
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
  const rawRows: Array<{ raw: string; projectId: string }> = [];
  if (record.format === 'RowBinary') {
    let projectId = '';
    try {
      scanEventRows(record.rows, (row) => {
        projectId ||= record.rows.toString('utf8', row.projectStart, row.projectEnd);
      });
    } catch {
      // Rows cut short: the raw bytes are kept all the same.
    }
    rawRows.push({ raw: `RowBinary, base64: ${record.rows.toString('base64')}`, projectId });
  } else {
    for (const line of record.rows.toString('utf8').split('\n')) {
      if (line !== '') rawRows.push({ raw: line, projectId: projectIdOfLine(line) });
    }
  }
  const sink = new ByteSink(1024);
  const receivedAt = Date.now();
  for (const [rowNumber, { raw, projectId }] of rawRows.entries()) {
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
      raw: capText(raw),
    };
    writeCompactJsonLine(sink, row);
  }
  return { payload: sink.finish(), count: rawRows.length };
}

/** The project a JSON row names, or '' when it names none or is not JSON. */
function projectIdOfLine(line: string): string {
  try {
    const row = JSON.parse(line) as { project_id?: unknown };
    return typeof row.project_id === 'string' ? row.project_id : '';
  } catch {
    return '';
  }
}
