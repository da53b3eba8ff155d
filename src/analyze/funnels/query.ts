import { detailText, PulseloopError } from '../../errors/registry.js';
import { parseField } from '../query/fields.js';
import { compileFilters } from '../query/filters.js';
import { SqlParams } from '../query/params.js';
import { type DateRange, parseDateRange } from '../query/scope.js';

/**
 * The funnel query as the API accepts it, and its validation. Every error names the query field
 * that is wrong (`steps[1].event`), so the 400 tells the person what to fix.
 */

/** sequential: other events may occur between steps; strict: no other step event between two
 * consecutive steps; any: the steps may happen in any order. */
export const FUNNEL_ORDERS = ['sequential', 'strict', 'any'] as const;
export type FunnelOrder = (typeof FUNNEL_ORDERS)[number];

export interface FunnelStep {
  event: string;
  /** Filters on this step's event only (same shape as query filters). */
  filters?: unknown[];
  /** Longest time from the previous step to this one (defaults to the funnel window). */
  withinSeconds?: number;
  /** Shortest time from the previous step to this one (defaults to `minSecondsBetweenSteps`). */
  minSecondsFromPrevious?: number;
}

/** A person who does `event` after step `fromStep` and before step `toStep` (1-based) stops there. */
export interface FunnelExclusion {
  event: string;
  filters?: unknown[];
  fromStep: number;
  toStep: number;
}

export interface FunnelQuery {
  dateRange: DateRange;
  steps: FunnelStep[];
  order: FunnelOrder;
  /** The whole funnel must be completed within this many seconds of step 1. */
  windowSeconds: number;
  minSecondsBetweenSteps: number;
  exclusions: FunnelExclusion[];
  /** Filters on every event the funnel reads. */
  filters?: unknown[];
  breakdown?: { field: string; limit: number };
  conversionOverTime: { granularity: 'day' | 'week' };
  timeToConvert: { fromStep: number; toStep: number; bucketsSeconds: number[] };
  /** Persons who completed step `step - 1` but not step `step`, a page at a time. */
  dropped?: { step: number; limit: number; offset: number; breakdownValue?: string };
}

/** Steps are tracked as bits of a UInt64 per event; 64 is far beyond any funnel a person reads. */
export const MAX_STEPS = 64;
export const MAX_EXCLUSIONS = 20;
export const MAX_DROPPED_PAGE = 10_000;
const DAY = 86_400;
export const DEFAULT_WINDOW_SECONDS = 14 * DAY;
const MAX_WINDOW_SECONDS = 365 * DAY;
/** Human-sized histogram bounds: 1 min, 5 min, 15 min, 30 min, 1 h, 3 h, 6 h, 12 h, 1 d, 2 d, 3 d, 7 d, 14 d, 30 d. */
const DEFAULT_BUCKETS = [
  60,
  300,
  900,
  1800,
  3600,
  10_800,
  21_600,
  43_200,
  DAY,
  2 * DAY,
  3 * DAY,
  7 * DAY,
].concat([14 * DAY, 30 * DAY, 60 * DAY, 90 * DAY, 180 * DAY]);

function invalid(field: string, detail: string, detailZh: string): never {
  throw new PulseloopError('invalid_query', { field, ...detailText(detail, detailZh) });
}

function object(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    invalid(at, 'expected an object', '必须是对象');
  return value as Record<string, unknown>;
}

export function eventName(value: unknown, at: string): string {
  if (typeof value !== 'string' || value.trim() === '') invalid(at, 'expected an event name', '必须是事件名');
  if (value.length > 200) invalid(at, 'event names are at most 200 characters', '事件名最多 200 个字符');
  return value;
}

export function integer(value: unknown, at: string, min: number, max: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(at, `expected a whole number from ${min} to ${max}`, `必须是 ${min} 到 ${max} 之间的整数`);
  }
  return value;
}

/** Validates filters now (so a bad one is a 400 naming it) and keeps them as sent. */
export function checkedFilters(value: unknown, at: string): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  compileFilters(value, new SqlParams(), at);
  return value as unknown[];
}

function parseStep(value: unknown, index: number, windowSeconds: number): FunnelStep {
  const at = `steps[${index}]`;
  const raw = object(value, at);
  const step: FunnelStep = { event: eventName(raw.event, `${at}.event`) };
  const filters = checkedFilters(raw.filters, `${at}.filters`);
  if (filters) step.filters = filters;
  for (const key of ['withinSeconds', 'minSecondsFromPrevious'] as const) {
    if (raw[key] === undefined) continue;
    if (index === 0) invalid(`${at}.${key}`, 'the first step has no previous step', '第一步没有上一步');
    step[key] = integer(raw[key], `${at}.${key}`, 0, windowSeconds);
  }
  return step;
}

function parseExclusion(value: unknown, index: number, stepCount: number): FunnelExclusion {
  const at = `exclusions[${index}]`;
  const raw = object(value, at);
  const exclusion: FunnelExclusion = {
    event: eventName(raw.event, `${at}.event`),
    fromStep: integer(raw.fromStep, `${at}.fromStep`, 1, stepCount - 1, 1),
    toStep: integer(raw.toStep, `${at}.toStep`, 2, stepCount, stepCount),
  };
  if (exclusion.fromStep >= exclusion.toStep)
    invalid(`${at}.toStep`, 'must be after fromStep', '必须在 fromStep 之后');
  const filters = checkedFilters(raw.filters, `${at}.filters`);
  if (filters) exclusion.filters = filters;
  return exclusion;
}

function parseBuckets(value: unknown, windowSeconds: number): number[] {
  if (value === undefined) return DEFAULT_BUCKETS.filter((b) => b < windowSeconds);
  const at = 'timeToConvert.bucketsSeconds';
  if (!Array.isArray(value) || value.length === 0 || value.length > 100) {
    invalid(
      at,
      'expected 1 to 100 increasing bucket bounds in seconds',
      '必须是 1 到 100 个递增的分桶边界（单位：秒）',
    );
  }
  const bounds = value.map((b, i) => integer(b, `${at}[${i}]`, 1, MAX_WINDOW_SECONDS));
  bounds.forEach((b, i) => {
    if (i > 0 && b <= (bounds[i - 1] as number))
      invalid(`${at}[${i}]`, 'bounds must increase', '分桶边界必须递增');
  });
  return bounds;
}

/** Validates a funnel query body; throws `invalid_query` naming the wrong field. */
export function parseFunnelQuery(body: unknown): FunnelQuery {
  const raw = object(body, 'body');
  const dateRange = parseDateRange(raw.dateRange);
  const order = raw.order ?? 'sequential';
  if (typeof order !== 'string' || !(FUNNEL_ORDERS as readonly string[]).includes(order)) {
    invalid(
      'order',
      `expected one of ${FUNNEL_ORDERS.join(', ')}`,
      `必须是 ${FUNNEL_ORDERS.join('、')} 之一`,
    );
  }
  const windowSeconds = integer(
    raw.windowSeconds,
    'windowSeconds',
    1,
    MAX_WINDOW_SECONDS,
    DEFAULT_WINDOW_SECONDS,
  );
  if (!Array.isArray(raw.steps) || raw.steps.length < 2 || raw.steps.length > MAX_STEPS) {
    invalid('steps', `expected 2 to ${MAX_STEPS} steps`, `必须包含 2 到 ${MAX_STEPS} 个步骤`);
  }
  const steps = raw.steps.map((s, i) => parseStep(s, i, windowSeconds));
  const minSecondsBetweenSteps = integer(
    raw.minSecondsBetweenSteps,
    'minSecondsBetweenSteps',
    0,
    windowSeconds,
    0,
  );
  if (order === 'any') {
    // Time between steps has no meaning when the steps have no order.
    if (minSecondsBetweenSteps > 0)
      invalid('minSecondsBetweenSteps', 'not available with order "any"', 'order 为 "any" 时不可用');
    steps.forEach((s, i) => {
      if (s.withinSeconds !== undefined)
        invalid(`steps[${i}].withinSeconds`, 'not available with order "any"', 'order 为 "any" 时不可用');
      if (s.minSecondsFromPrevious !== undefined) {
        invalid(
          `steps[${i}].minSecondsFromPrevious`,
          'not available with order "any"',
          'order 为 "any" 时不可用',
        );
      }
    });
  }
  const rawExclusions = raw.exclusions ?? [];
  if (!Array.isArray(rawExclusions) || rawExclusions.length > MAX_EXCLUSIONS) {
    invalid(
      'exclusions',
      `expected a list of at most ${MAX_EXCLUSIONS} exclusions`,
      `必须是最多 ${MAX_EXCLUSIONS} 个排除条件的列表`,
    );
  }
  const exclusions = rawExclusions.map((e, i) => parseExclusion(e, i, steps.length));

  const query: FunnelQuery = {
    dateRange,
    steps,
    order: order as FunnelOrder,
    windowSeconds,
    minSecondsBetweenSteps,
    exclusions,
    conversionOverTime: { granularity: 'day' },
    timeToConvert: { fromStep: 1, toStep: steps.length, bucketsSeconds: [] },
  };
  const filters = checkedFilters(raw.filters, 'filters');
  if (filters) query.filters = filters;

  if (raw.breakdown !== undefined) {
    const b =
      typeof raw.breakdown === 'string' ? { field: raw.breakdown } : object(raw.breakdown, 'breakdown');
    parseField(b.field, 'breakdown.field');
    query.breakdown = { field: b.field as string, limit: integer(b.limit, 'breakdown.limit', 1, 100, 20) };
  }
  if (raw.conversionOverTime !== undefined) {
    const c = object(raw.conversionOverTime, 'conversionOverTime');
    const granularity = c.granularity ?? 'day';
    if (granularity !== 'day' && granularity !== 'week')
      invalid('conversionOverTime.granularity', 'expected day or week', '必须是 day 或 week');
    query.conversionOverTime = { granularity };
  }
  const ttc = raw.timeToConvert === undefined ? {} : object(raw.timeToConvert, 'timeToConvert');
  const fromStep = integer(ttc.fromStep, 'timeToConvert.fromStep', 1, steps.length - 1, 1);
  const toStep = integer(ttc.toStep, 'timeToConvert.toStep', 2, steps.length, steps.length);
  if (fromStep >= toStep) invalid('timeToConvert.toStep', 'must be after fromStep', '必须在 fromStep 之后');
  query.timeToConvert = { fromStep, toStep, bucketsSeconds: parseBuckets(ttc.bucketsSeconds, windowSeconds) };

  if (raw.dropped !== undefined) {
    const d = object(raw.dropped, 'dropped');
    query.dropped = {
      step: integer(d.step, 'dropped.step', 2, steps.length),
      limit: integer(d.limit, 'dropped.limit', 1, MAX_DROPPED_PAGE, 1000),
      offset: integer(d.offset, 'dropped.offset', 0, Number.MAX_SAFE_INTEGER, 0),
    };
    if (d.breakdownValue !== undefined) {
      if (typeof d.breakdownValue !== 'string')
        invalid('dropped.breakdownValue', 'expected text', '必须是文本');
      if (!query.breakdown)
        invalid('dropped.breakdownValue', 'the query has no breakdown', '该查询没有设置分组维度');
      query.dropped.breakdownValue = d.breakdownValue;
    }
  }
  return query;
}
