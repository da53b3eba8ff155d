import { PulseloopError } from '../../errors/registry.js';
import { parseJsonKeepingIds } from '../connectors/config.js';

/** Helpers every platform's mapping uses: parse the body, read typed fields, say clearly what is wrong. */

export function parseBody(raw: Buffer, platform: string): unknown {
  try {
    return parseJsonKeepingIds(raw.toString('utf8'));
  } catch (error) {
    throw new PulseloopError('webhook_invalid_payload', {
      platform,
      detail: `the body is not JSON (${(error as Error).message}).`,
    });
  }
}

export function invalidField(field: string, detail: string): PulseloopError {
  return new PulseloopError('invalid_field', { field, detail });
}

export function requiredId(item: Record<string, unknown>, field: string): string {
  const value = item[field];
  if ((typeof value === 'string' && value !== '') || typeof value === 'number') return String(value);
  throw invalidField(field, 'missing.');
}

/** Milliseconds from an ISO 8601 text or unix seconds; undefined when absent. */
export function timeOf(item: Record<string, unknown>, field: string): number | undefined {
  const value = item[field];
  if (value === undefined || value === null || value === '') return undefined;
  const ms =
    typeof value === 'number' || /^\d+$/.test(String(value))
      ? Number(value) * 1000
      : Date.parse(String(value));
  if (!Number.isFinite(ms)) throw invalidField(field, `${JSON.stringify(value)} is not a time.`);
  return ms;
}

export function amountOf(item: Record<string, unknown>, field: string): number {
  const value = Number(item[field]);
  if (item[field] === undefined || item[field] === null || !Number.isFinite(value) || value < 0) {
    throw invalidField(field, `${JSON.stringify(item[field])} is not an amount.`);
  }
  return value;
}

export function objectOf(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidField(field, 'not an object.');
  return value as Record<string, unknown>;
}

export function requiredTime(item: Record<string, unknown>, field: string): number {
  const ms = timeOf(item, field);
  if (ms === undefined) throw invalidField(field, 'missing.');
  return ms;
}

/** Runs a row mapping; a PulseloopError becomes a rejected row with its reason, anything else is a bug. */
export function mapOrReject<Row>(
  raw: unknown,
  map: () => Row,
  rows: Row[],
  rejected: Array<{ error: PulseloopError; raw: unknown }>,
): void {
  try {
    rows.push(map());
  } catch (error) {
    if (!(error instanceof PulseloopError)) throw error;
    rejected.push({ error, raw });
  }
}
