import { randomUUID } from 'node:crypto';
import type { PulseloopError } from '../../errors/registry.js';
import type { QuarantineRow } from '../../store/facts/rows.js';
import { MAX_QUARANTINE_RAW_BYTES } from './limits.js';

/**
 * The quarantine step of the Segment pipeline: every refused body or event becomes a row that
 * says why, with what was sent, so nothing is dropped silently.
 */

export interface QuarantineEnv {
  projectId: string;
  sourceId: string;
  receivedAt: number;
  origin: 'http' | 'import' | 'connector' | 'webhook';
  /** Position of the event in its batch (the index the response reports); 0 for a request or a single call. */
  rowNumber?: number;
}

/** Text of what was sent: bytes and strings as they are, anything else as JSON. */
function rawText(raw: unknown): string {
  if (Buffer.isBuffer(raw) || raw instanceof Uint8Array) return Buffer.from(raw).toString('utf8');
  if (typeof raw === 'string') return raw;
  try {
    return JSON.stringify(raw) ?? String(raw);
  } catch (error) {
    // Only a value too deep for the stack gets here; parseJsonBody refuses those before parsing.
    return `[not serialisable: ${error instanceof Error ? error.message : String(error)}]`;
  }
}

/** Cuts text to at most `limitBytes` of UTF-8, on a character boundary, with a marker saying so. */
export function capText(text: string, limitBytes: number = MAX_QUARANTINE_RAW_BYTES): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limitBytes) return text;
  const marker = `…[truncated: ${bytes.length} bytes in all]`;
  let end = Math.max(0, limitBytes - Buffer.byteLength(marker));
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back off continuation bytes
  return bytes.subarray(0, end).toString('utf8') + marker;
}

/** The quarantine row for a refused request or event. */
export function toQuarantineRow(error: PulseloopError, raw: unknown, env: QuarantineEnv): QuarantineRow {
  const field = error.details.field;
  return {
    project_id: env.projectId,
    id: randomUUID(),
    received_at: env.receivedAt,
    origin: env.origin,
    source_id: env.sourceId,
    reason_code: error.code,
    reason: error.message,
    reason_zh: error.zh,
    field: field === undefined ? '' : String(field),
    row_number: env.rowNumber ?? 0,
    raw: capText(rawText(raw)),
  };
}
