import { detailText, PulseloopError } from '../../errors/registry.js';
import { parseJsonKeepingIds } from '../connectors/config.js';
import type { PlatformTitle } from './types.js';

/** Helpers every platform's mapping uses: parse the body, read typed fields, say clearly what is wrong. */

export function parseBody(raw: Buffer, platform: PlatformTitle): unknown {
  try {
    return parseJsonKeepingIds(raw.toString('utf8'));
  } catch (error) {
    // JSON.parse's own message is quoted as it is.
    const said = (error as Error).message;
    throw invalidPayload(platform, `the body is not JSON (${said}).`, `请求体不是 JSON（${said}）。`);
  }
}

/** webhook_invalid_payload: the body as a whole is unusable. */
export function invalidPayload(platform: PlatformTitle, detail: string, detailZh: string): PulseloopError {
  return new PulseloopError('webhook_invalid_payload', {
    platform: platform.title,
    platform_zh: platform.titleZh,
    ...detailText(detail, detailZh),
  });
}

export function invalidField(field: string, detail: string, detailZh: string): PulseloopError {
  return new PulseloopError('invalid_field', { field, ...detailText(detail, detailZh) });
}

export function requiredId(item: Record<string, unknown>, field: string): string {
  const value = item[field];
  if ((typeof value === 'string' && value !== '') || typeof value === 'number') return String(value);
  throw invalidField(field, 'missing.', '缺失。');
}

/** Milliseconds from an ISO 8601 text or unix seconds; undefined when absent. */
export function timeOf(item: Record<string, unknown>, field: string): number | undefined {
  const value = item[field];
  if (value === undefined || value === null || value === '') return undefined;
  const ms =
    typeof value === 'number' || /^\d+$/.test(String(value))
      ? Number(value) * 1000
      : Date.parse(String(value));
  if (!Number.isFinite(ms)) {
    const sent = JSON.stringify(value);
    throw invalidField(field, `${sent} is not a time.`, `${sent} 不是有效时间。`);
  }
  return ms;
}

export function amountOf(item: Record<string, unknown>, field: string): number {
  const value = Number(item[field]);
  if (item[field] === undefined || item[field] === null || !Number.isFinite(value) || value < 0) {
    const sent = JSON.stringify(item[field]);
    throw invalidField(field, `${sent} is not an amount.`, `${sent} 不是有效金额。`);
  }
  return value;
}

export function objectOf(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidField(field, 'not an object.', '不是 JSON 对象。');
  return value as Record<string, unknown>;
}

export function requiredTime(item: Record<string, unknown>, field: string): number {
  const ms = timeOf(item, field);
  if (ms === undefined) throw invalidField(field, 'missing.', '缺失。');
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
