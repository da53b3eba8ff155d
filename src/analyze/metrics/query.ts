import { detailText, PulseloopError } from '../../errors/registry.js';
import { parseField } from '../query/fields.js';
import { type DateRange, parseDateRange, rangeDays } from '../query/scope.js';
import { DIMENSION_ALIASES, SOURCES } from './sources.js';

/**
 * The typed JSON query of the metrics layer (trends): which metrics, broken down by which
 * dimensions, filtered how, over which days, in which time buckets. The project's time zone
 * applies to dates and buckets.
 */

export const GRANULARITIES = ['hour', 'day', 'week', 'month', 'total'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export interface MetricsQuery {
  metrics: string[];
  dimensions: string[];
  /** Typed filters `{field, op, value}` (validated when compiled against each metric's source). */
  filters: { field: string; op: string; value?: unknown }[];
  dateRange: DateRange;
  granularity: Granularity;
  compare: 'previous_period' | null;
  /** Top-N breakdown values by the first metric; the rest are summed into "$other". */
  breakdownLimit: number;
}

export const MAX_METRICS = 20;
export const MAX_DIMENSIONS = 3;
export const MAX_BREAKDOWN_LIMIT = 100;
/** Hourly buckets: at most this many days. */
export const MAX_HOURLY_DAYS = 62;
const METRIC_ID = /^[a-z][a-z0-9_]{0,47}$/;
const KNOWN_KEYS = new Set([
  'metrics',
  'dimensions',
  'filters',
  'dateRange',
  'granularity',
  'compare',
  'breakdownLimit',
]);

function invalid(field: string, detail: string, detailZh: string): never {
  throw new PulseloopError('invalid_query', { field, ...detailText(detail, detailZh) });
}

/** A dimension id after aliases (`campaign` → `campaign_id`). */
export function canonicalDimension(name: string): string {
  return Object.hasOwn(DIMENSION_ALIASES, name) ? DIMENSION_ALIASES[name]! : name;
}

function isKnownDimension(name: string): boolean {
  return Object.values(SOURCES).some((s) => Object.hasOwn(s.dimensions, name));
}

/** Validates a metrics query; errors name the wrong field. */
export function parseMetricsQuery(body: unknown): MetricsQuery {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    invalid('body', 'expected a JSON object', '必须是 JSON 对象');
  const input = body as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KNOWN_KEYS.has(key)) {
      invalid(
        key,
        `unknown field; allowed: ${[...KNOWN_KEYS].join(', ')}`,
        `未知字段；可用字段：${[...KNOWN_KEYS].join('、')}`,
      );
    }
  }

  const { metrics } = input;
  if (!Array.isArray(metrics) || metrics.length === 0)
    invalid('metrics', 'expected a non-empty list of metric ids', '必须是非空的指标 ID 列表');
  if (metrics.length > MAX_METRICS)
    invalid('metrics', `at most ${MAX_METRICS} metrics`, `最多 ${MAX_METRICS} 个指标`);
  metrics.forEach((m, i) => {
    if (typeof m !== 'string' || !METRIC_ID.test(m))
      invalid(`metrics[${i}]`, 'expected a metric id', '必须是指标 ID');
  });

  const dimensionsInput = input.dimensions ?? [];
  if (!Array.isArray(dimensionsInput))
    invalid('dimensions', 'expected a list of dimension names', '必须是维度名列表');
  if (dimensionsInput.length > MAX_DIMENSIONS)
    invalid('dimensions', `at most ${MAX_DIMENSIONS} dimensions`, `最多 ${MAX_DIMENSIONS} 个维度`);
  const dimensions = dimensionsInput.map((d, i) => {
    const at = `dimensions[${i}]`;
    if (typeof d !== 'string') invalid(at, 'expected a dimension name', '必须是维度名');
    const name = canonicalDimension(d);
    if (name.startsWith('properties.') || name.startsWith('person.')) parseField(name, at);
    else if (!isKnownDimension(name))
      invalid(at, `unknown dimension "${d.slice(0, 60)}"`, `未知维度 "${d.slice(0, 60)}"`);
    return name;
  });
  if (new Set(dimensions).size !== dimensions.length)
    invalid('dimensions', 'a dimension appears twice', '维度不能重复');

  const filtersInput = input.filters ?? [];
  if (!Array.isArray(filtersInput)) invalid('filters', 'expected a list of filters', '必须是筛选条件列表');
  if (filtersInput.length > 50) invalid('filters', 'at most 50 filters', '最多 50 个筛选条件');
  const filters = filtersInput.map((f, i) => {
    if (typeof f !== 'object' || f === null || Array.isArray(f)) {
      invalid(`filters[${i}]`, 'expected an object { field, op, value }', '必须是对象 { field, op, value }');
    }
    const { field, op, value } = f as Record<string, unknown>;
    if (typeof field !== 'string' || field === '')
      invalid(`filters[${i}].field`, 'expected a field name', '必须是字段名');
    if (typeof op !== 'string') invalid(`filters[${i}].op`, 'expected an operator', '必须是运算符');
    return { field: canonicalDimension(field), op, ...(value !== undefined && { value }) };
  });

  const dateRange = parseDateRange(input.dateRange, 'dateRange');

  const granularity = input.granularity ?? 'day';
  if (typeof granularity !== 'string' || !(GRANULARITIES as readonly string[]).includes(granularity)) {
    invalid(
      'granularity',
      `expected one of ${GRANULARITIES.join(', ')}`,
      `必须是 ${GRANULARITIES.join('、')} 之一`,
    );
  }
  if (granularity === 'hour' && rangeDays(dateRange) > MAX_HOURLY_DAYS) {
    invalid(
      'granularity',
      `hourly buckets cover at most ${MAX_HOURLY_DAYS} days; use day or shorten dateRange`,
      `按小时统计最多覆盖 ${MAX_HOURLY_DAYS} 天；请改用 day 或缩短 dateRange`,
    );
  }

  const compare = input.compare ?? null;
  if (compare !== null && compare !== 'previous_period')
    invalid('compare', "expected 'previous_period' or null", "必须是 'previous_period' 或 null");

  const breakdownLimit = input.breakdownLimit ?? 10;
  if (
    typeof breakdownLimit !== 'number' ||
    !Number.isInteger(breakdownLimit) ||
    breakdownLimit < 1 ||
    breakdownLimit > MAX_BREAKDOWN_LIMIT
  ) {
    invalid(
      'breakdownLimit',
      `expected a whole number from 1 to ${MAX_BREAKDOWN_LIMIT}`,
      `必须是 1 到 ${MAX_BREAKDOWN_LIMIT} 之间的整数`,
    );
  }

  return {
    metrics: metrics as string[],
    dimensions,
    filters,
    dateRange,
    granularity: granularity as Granularity,
    compare,
    breakdownLimit,
  };
}
