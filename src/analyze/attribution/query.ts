import { detailText, PulseloopError } from '../../errors/registry.js';
import { compileFilters } from '../query/filters.js';
import { SqlParams } from '../query/params.js';
import { type DateRange, parseDateRange } from '../query/scope.js';

/**
 * The attribution query: which conversions, which touches, which window, which models. Parsed once
 * at the boundary; every error names the field that is wrong.
 */

/** Event columns a touch can be credited to; only these names ever become SQL identifiers. */
export const TOUCH_DIMENSIONS = ['channel', 'utm_source', 'utm_campaign', 'campaign_id', 'platform'] as const;
export type TouchDimension = (typeof TOUCH_DIMENSIONS)[number];

export const MODELS = [
  'first_touch',
  'last_touch',
  'last_non_direct',
  'linear',
  'time_decay',
  'position_based',
  'markov',
  'shapley',
] as const;
export type ModelName = (typeof MODELS)[number];

export type ConversionSource =
  | { source: 'orders' }
  | { source: 'event'; event: string; filters?: unknown; revenueField?: string };

export interface AttributionQuery {
  dateRange: DateRange;
  conversion: ConversionSource;
  touch: { dimension: TouchDimension; events?: string[]; filters?: unknown };
  /** Touches up to this many days before a conversion count for it. */
  lookbackDays: number;
  /** 'all' conversions, or only each person's 'first' conversion in the range. */
  count: 'all' | 'first';
  /** Time decay: a touch this many days older gets half the weight. */
  halfLifeDays: number;
  models: ModelName[];
  /** Markov: what removing a channel means (markov.ts). */
  markovRemoval: 'skip' | 'drop';
  /** Shapley: the coalition value (shapley.ts). */
  shapleyValue: 'markov' | 'conversions';
}

const MAX_LOOKBACK_DAYS = 365;
const EVENT_NAME = /^.{1,200}$/su;

function invalid(field: string, detail: string, detailZh: string): never {
  throw new PulseloopError('invalid_query', { field, ...detailText(detail, detailZh) });
}

function record(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    invalid(at, 'expected an object', '必须是对象');
  return value as Record<string, unknown>;
}

function eventName(value: unknown, at: string): string {
  if (typeof value !== 'string' || !EVENT_NAME.test(value))
    invalid(at, 'expected an event name', '必须是事件名');
  return value;
}

function positiveNumber(value: unknown, at: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    invalid(at, `expected a number greater than 0 and at most ${max}`, `必须是大于 0 且不超过 ${max} 的数字`);
  }
  return value;
}

/** Filters are compiled once here so that a wrong filter fails at parse time, naming its field. */
function checkFilters(filters: unknown, at: string): unknown {
  if (filters === undefined) return undefined;
  compileFilters(filters, new SqlParams(), at);
  return filters;
}

/** Conversions: `{ source: 'orders' }` (paid orders) or `{ source: 'event', event, filters?, revenueField? }`. */
export function parseConversion(value: unknown, at = 'conversion'): ConversionSource {
  if (value === undefined) return { source: 'orders' };
  const body = record(value, at);
  if (body.source === 'orders') return { source: 'orders' };
  if (body.source !== 'event')
    invalid(`${at}.source`, 'expected "orders" or "event"', '必须是 "orders" 或 "event"');
  const conversion: ConversionSource = {
    source: 'event',
    event: eventName(body.event, `${at}.event`),
  };
  if (body.filters !== undefined) conversion.filters = checkFilters(body.filters, `${at}.filters`);
  if (body.revenueField !== undefined) {
    if (body.revenueField !== 'revenue' && !String(body.revenueField).startsWith('properties.')) {
      invalid(
        `${at}.revenueField`,
        'expected "revenue" or properties.<key>',
        '必须是 "revenue" 或 properties.<key>',
      );
    }
    checkFilters([{ field: body.revenueField, op: 'is_set' }], `${at}.revenueField`);
    conversion.revenueField = body.revenueField as string;
  }
  return conversion;
}

function parseTouch(value: unknown): AttributionQuery['touch'] {
  if (value === undefined) return { dimension: 'channel' };
  const body = record(value, 'touch');
  const dimension = body.dimension ?? 'channel';
  if (!(TOUCH_DIMENSIONS as readonly unknown[]).includes(dimension)) {
    invalid(
      'touch.dimension',
      `expected one of ${TOUCH_DIMENSIONS.join(', ')}`,
      `必须是 ${TOUCH_DIMENSIONS.join('、')} 之一`,
    );
  }
  const touch: AttributionQuery['touch'] = { dimension: dimension as TouchDimension };
  if (body.events !== undefined) {
    if (!Array.isArray(body.events) || body.events.length === 0 || body.events.length > 100) {
      invalid(
        'touch.events',
        'expected a list of 1 to 100 event names',
        '必须是包含 1 到 100 个事件名的列表',
      );
    }
    touch.events = body.events.map((e, i) => eventName(e, `touch.events[${i}]`));
  }
  if (body.filters !== undefined) touch.filters = checkFilters(body.filters, 'touch.filters');
  return touch;
}

function parseModels(value: unknown): ModelName[] {
  if (value === undefined) return [...MODELS];
  if (!Array.isArray(value) || value.length === 0)
    invalid('models', `expected a list of ${MODELS.join(', ')}`, `必须是由 ${MODELS.join('、')} 组成的列表`);
  value.forEach((m, i) => {
    if (!(MODELS as readonly unknown[]).includes(m))
      invalid(`models[${i}]`, `expected one of ${MODELS.join(', ')}`, `必须是 ${MODELS.join('、')} 之一`);
  });
  return MODELS.filter((m) => value.includes(m));
}

/** One of `choices`; the first when absent. */
function oneOf<T extends string>(value: unknown, at: string, choices: readonly [T, ...T[]]): T {
  if (value === undefined) return choices[0];
  if (!(choices as readonly unknown[]).includes(value))
    invalid(at, `expected one of ${choices.join(', ')}`, `必须是 ${choices.join('、')} 之一`);
  return value as T;
}

/** Validates an attribution query body. */
export function parseAttributionQuery(body: unknown): AttributionQuery {
  const query = record(body, 'body');
  return {
    dateRange: parseDateRange(query.dateRange),
    conversion: parseConversion(query.conversion),
    touch: parseTouch(query.touch),
    lookbackDays: positiveNumber(query.lookbackDays, 'lookbackDays', 30, MAX_LOOKBACK_DAYS),
    count: oneOf(query.count, 'count', ['all', 'first'] as const),
    halfLifeDays: positiveNumber(query.halfLifeDays, 'halfLifeDays', 7, MAX_LOOKBACK_DAYS),
    models: parseModels(query.models),
    markovRemoval: oneOf(query.markovRemoval, 'markovRemoval', ['skip', 'drop'] as const),
    shapleyValue: oneOf(query.shapleyValue, 'shapleyValue', ['markov', 'conversions'] as const),
  };
}
