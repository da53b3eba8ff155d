import { detailText, PulseloopError } from '../errors/registry.js';

/**
 * Small validators for analysis bodies. Each throws `invalid_query` naming the field it checked,
 * so a client learns exactly which part of its JSON to fix.
 */

export function invalid(field: string, detail: string, detailZh: string): never {
  throw new PulseloopError('invalid_query', { field, ...detailText(detail, detailZh) });
}

/** The body as an object of fields. */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    invalid('body', 'expected an object', '必须是对象');
  return body as Record<string, unknown>;
}

/** One of a few allowed words, or `fallback` when absent. */
export function oneOf<T extends string>(value: unknown, allowed: readonly T[], at: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    invalid(at, `expected one of ${allowed.join(', ')}`, `必须是 ${allowed.join('、')} 之一`);
  }
  return value as T;
}

/** A whole number in [min, max], or `fallback` when absent. */
export function wholeNumber(value: unknown, at: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(at, `expected a whole number from ${min} to ${max}`, `必须是 ${min} 到 ${max} 之间的整数`);
  }
  return value;
}

/** Bucket edges: 1–50 finite numbers in increasing order; `undefined` when absent. */
export function bucketEdges(
  value: unknown,
  at: string,
  min = Number.NEGATIVE_INFINITY,
): number[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > 50) {
    invalid(at, 'expected a list of 1 to 50 bucket edges', '必须是包含 1 到 50 个分桶边界的列表');
  }
  value.forEach((edge, i) => {
    if (typeof edge !== 'number' || !Number.isFinite(edge) || edge < min) {
      invalid(
        `${at}[${i}]`,
        `expected a number${min > Number.NEGATIVE_INFINITY ? ` ≥ ${min}` : ''}`,
        `必须是${min > Number.NEGATIVE_INFINITY ? `不小于 ${min} 的` : ''}数字`,
      );
    }
    if (i > 0 && edge <= value[i - 1]) invalid(`${at}[${i}]`, 'edges must increase', '分桶边界必须递增');
  });
  return value as number[];
}

/** A list of event names, or `undefined` (all events) when absent. */
export function eventNames(value: unknown, at: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > 100) {
    invalid(at, 'expected a list of 1 to 100 event names', '必须是包含 1 到 100 个事件名的列表');
  }
  value.forEach((name, i) => {
    if (typeof name !== 'string' || name === '' || name.length > 200) {
      invalid(`${at}[${i}]`, 'expected an event name (1–200 characters)', '必须是事件名（1–200 个字符）');
    }
  });
  return value as string[];
}

export interface Bucket {
  /** Lower edge, included; `null` for "below the first edge". */
  from: number | null;
  /** Upper edge, excluded; `null` for the last, open bucket. */
  to: number | null;
  label: string;
  persons: number;
}

/**
 * Buckets from edges and the counts per bucket index (0 = below the first edge, i = from edge i).
 * `whole` labels integer buckets as `2`, `3–4`, `5+`; otherwise `[2, 5)` style ranges.
 */
export function bucketsOf(edges: readonly number[], counts: readonly number[], whole: boolean): Bucket[] {
  const buckets: Bucket[] = [];
  if ((counts[0] ?? 0) > 0) {
    buckets.push({ from: null, to: edges[0] ?? null, label: `< ${edges[0]}`, persons: counts[0] ?? 0 });
  }
  edges.forEach((from, i) => {
    const to = edges[i + 1] ?? null;
    let label: string;
    if (to === null) label = `${from}+`;
    else if (whole) label = to - from === 1 ? `${from}` : `${from}–${to - 1}`;
    else label = `${from}–${to}`;
    buckets.push({ from, to, label, persons: counts[i + 1] ?? 0 });
  });
  return buckets;
}

/** SQL counting, per bucket index 0…edges, the rows whose `value` falls in it (for sumForEach). */
export function bucketVectorSql(value: string, edges: string): string {
  return `arrayMap(i -> toUInt64(arrayCount(x -> x <= ${value}, ${edges}) = i), range(length(${edges}) + 1))`;
}
