import type { FactsEngine } from '../../store/facts/engine.js';
import { fieldSql, parseField } from '../query/fields.js';
import { SqlParams } from '../query/params.js';
import {
  bindProject,
  type DateRange,
  eventSource,
  PERSON_MAP_CTE,
  PERSON_SQL,
  PERSON_TRAITS_CTE,
  type ProjectContext,
  rangeCondition,
} from '../query/scope.js';
import type { AttributionQuery, ConversionSource, TouchDimension } from './query.js';

/**
 * Journeys, extracted in ClickHouse and returned grouped by path, so that the models in TypeScript
 * work per distinct path and not per person.
 *
 * - A touch is a visit (events sharing a session id; an event without one is its own visit) with a
 *   non-empty value of the touch dimension; it takes the value, time and sender of the visit's first
 *   such event (the landing page's channel, not the internal pages after it).
 * - A converting journey is the person's touches in [conversion − lookback, conversion], oldest
 *   first (ties: by value), the most recent MAX_TOUCHES of them. A touch at the very time of the
 *   conversion counts.
 * - A person with touches but no conversion in the range has one non-converting journey: their
 *   touches inside the range. Converting persons have no non-converting journey.
 */

/** Longest path kept per journey (the most recent touches): bounds the work a bot with thousands of visits makes. */
export const MAX_TOUCHES = 200;

/** Journeys with the same path, with what they add up to. */
export interface PathGroup {
  path: string[];
  conversions: number;
  revenue: number;
  /** Journeys with this path that ended without a conversion. */
  nonConversions: number;
  /** Time-decay weights per position, each conversion's summing to 1, summed over the conversions. */
  decayCredit: number[];
  /** The same weights times each conversion's revenue. */
  decayRevenue: number[];
}

export interface ConversionTotals {
  conversions: number;
  revenue: number;
}

const DAY_MS = 86_400_000;
/** Only statuses of orders that were paid and not reversed count as conversions. */
const PAID_STATUSES = ['paid', 'shipped', 'completed'];

function mergeCtes(...lists: string[]): string {
  const traits = lists.some((c) => c.includes(PERSON_TRAITS_CTE));
  return traits ? `${PERSON_MAP_CTE}, ${PERSON_TRAITS_CTE}` : PERSON_MAP_CTE;
}

export interface ConversionSql {
  ctes: string;
  /** SELECT of (person, at DateTime64, revenue Float64) rows inside the range. */
  select: string;
}

/** Conversions (paid orders or an event) as (person, at, revenue) rows inside `range`. */
export function conversionSql(
  conversion: ConversionSource,
  range: DateRange,
  params: SqlParams,
): ConversionSql {
  if (conversion.source === 'orders') {
    const at = 'coalesce(o.paid_at, o.created_at)';
    return {
      ctes: PERSON_MAP_CTE,
      select: `SELECT if(pm.person_id != '', pm.person_id, if(o.person_id != '', o.person_id, o.distinct_id)) AS person,
          ${at} AS at, toFloat64(o.amount) AS revenue
        FROM orders AS o FINAL LEFT JOIN person_map AS pm ON pm.distinct_id = o.distinct_id
        WHERE o.project_id = {project:String}
          AND o.status IN ${params.add('Array(String)', PAID_STATUSES)}
          AND ${rangeCondition(at, range, params)}`,
    };
  }
  const source = eventSource(
    {
      range,
      events: [conversion.event],
      filters: conversion.filters,
      filtersAt: 'conversion.filters',
    },
    params,
  );
  const revenueRef = parseField(conversion.revenueField ?? 'revenue', 'conversion.revenueField');
  const revenue = fieldSql(revenueRef, 'number', params.add.bind(params));
  return {
    ctes: source.ctes,
    select: `SELECT if(pm.person_id != '', pm.person_id, if(e.person_id != '', e.person_id, e.distinct_id)) AS person,
          e.timestamp AS at, coalesce(${revenue}, 0) AS revenue
        FROM ${source.from}
        WHERE ${source.where}`,
  };
}

/** SELECT of one row per touch (visit): person, at, value. */
function touchSql(query: AttributionQuery, params: SqlParams): { ctes: string; select: string } {
  const dimension: TouchDimension = query.touch.dimension;
  const source = eventSource(
    {
      range: query.dateRange,
      events: query.touch.events,
      filters: query.touch.filters,
      filtersAt: 'touch.filters',
      padBeforeSeconds: Math.round(query.lookbackDays * 86_400),
    },
    params,
  );
  // `dimension` comes from the TOUCH_DIMENSIONS allow-list.
  const value = `e.${dimension}`;
  // Visits are grouped by a 64-bit hash of their id: grouping a million visits by number is faster
  // than by text, and a collision among 2^64 values is negligible.
  const visit = `cityHash64(if(e.session_id != '', e.session_id, e.message_id))`;
  if (source.ctes.includes(PERSON_TRAITS_CTE)) {
    // Filters on person traits need each event's person before grouping.
    return {
      ctes: source.ctes,
      select: `SELECT ${PERSON_SQL} AS person, min(e.timestamp) AS at, argMin(${value}, e.timestamp) AS value
        FROM ${source.from}
        WHERE ${source.where} AND ${value} != ''
        GROUP BY person, ${visit}`,
    };
  }
  // Otherwise group events into visits first and map only the visits' senders to persons: a tenth
  // of the rows to join. A visit's sender is its first event's (a login inside it maps to the same person).
  // No FINAL: a re-delivered event (same message id) cannot change a visit's first time, value or
  // sender, and FINAL over every event costs more than the rest of the query.
  // (Conversions, which are counted and summed, are read with FINAL.)
  return {
    ctes: source.ctes,
    select: `SELECT if(pm.person_id != '', pm.person_id, if(v.person_id != '', v.person_id, v.distinct_id)) AS person,
          v.at AS at, v.value AS value
        FROM (
          SELECT min(e.timestamp) AS at, argMin(${value}, e.timestamp) AS value,
                 argMin(e.distinct_id, e.timestamp) AS distinct_id, argMin(e.person_id, e.timestamp) AS person_id
          FROM events AS e
          WHERE ${source.where} AND ${value} != ''
          GROUP BY ${visit}
        ) AS v
        LEFT JOIN person_map AS pm ON pm.distinct_id = v.distinct_id`,
  };
}

/** The grouped journeys of a query. */
export async function fetchPathGroups(
  facts: FactsEngine,
  project: ProjectContext,
  query: AttributionQuery,
): Promise<PathGroup[]> {
  const params = new SqlParams();
  bindProject(params, project);
  const touches = touchSql(query, params);
  const conversions = conversionSql(query.conversion, query.dateRange, params);
  const lookbackMs = params.add('Int64', Math.round(query.lookbackDays * DAY_MS));
  const halfLifeMs = params.add('Float64', query.halfLifeDays * DAY_MS);
  const rangeStart = params.add('String', query.dateRange.from);
  const keep = query.count === 'first' ? 'arraySlice(c.list, 1, 1)' : 'c.list';
  const sql = `WITH ${mergeCtes(touches.ctes, conversions.ctes)},
    touches AS (
      SELECT person, arraySort(x -> (x.1, x.2), groupArray((toUnixTimestamp64Milli(at), value))) AS list
      FROM (${touches.select})
      GROUP BY person
    ),
    conversions AS (
      SELECT person, arraySort(x -> (x.1, x.2), groupArray((toUnixTimestamp64Milli(at), revenue))) AS list
      FROM (${conversions.select})
      GROUP BY person
    ),
    journeys AS (
      SELECT arrayJoin(if(empty(c.list),
          [(arrayFilter(x -> x.1 >= toUnixTimestamp64Milli(toDateTime64(${rangeStart}, 3, {tz:String})), t.list),
            toFloat64(0), toUInt8(0), toInt64(0))],
          arrayMap(conv -> (arrayFilter(x -> x.1 <= conv.1 AND x.1 >= conv.1 - ${lookbackMs}, t.list),
            conv.2, toUInt8(1), conv.1), ${keep}))) AS journey
      FROM touches AS t LEFT JOIN conversions AS c ON c.person = t.person
    )
    SELECT path, countIf(converted = 1) AS conversions, sumIf(conversion_revenue, converted = 1) AS revenue,
      countIf(converted = 0) AS non_conversions,
      sumForEachIf(weights, converted = 1) AS decay_credit,
      sumForEachIf(arrayMap(w -> w * conversion_revenue, weights), converted = 1) AS decay_revenue
    FROM (
      SELECT arraySlice(journey.1, -${MAX_TOUCHES}) AS window, journey.2 AS conversion_revenue, journey.3 AS converted,
        arrayMap(x -> x.2, window) AS path,
        arrayMap(x -> exp2(-(journey.4 - x.1) / ${halfLifeMs}), window) AS raw_weights,
        arrayMap(w -> w / arraySum(raw_weights), raw_weights) AS weights
      FROM journeys
      WHERE notEmpty(window)
    )
    GROUP BY path`;
  const rows = await facts.query<{
    path: string[];
    conversions: number;
    revenue: number;
    non_conversions: number;
    decay_credit: number[];
    decay_revenue: number[];
  }>(sql, params.values);
  return rows.map((r) => ({
    path: r.path,
    conversions: Number(r.conversions),
    revenue: Number(r.revenue),
    nonConversions: Number(r.non_conversions),
    decayCredit: r.decay_credit.length === r.path.length ? r.decay_credit.map(Number) : r.path.map(() => 0),
    decayRevenue:
      r.decay_revenue.length === r.path.length ? r.decay_revenue.map(Number) : r.path.map(() => 0),
  }));
}

/** All conversions in the range, with or without touches (the denominator of "unattributed"). */
export async function fetchConversionTotals(
  facts: FactsEngine,
  project: ProjectContext,
  query: AttributionQuery,
): Promise<ConversionTotals> {
  const params = new SqlParams();
  bindProject(params, project);
  const conversions = conversionSql(query.conversion, query.dateRange, params);
  const counted =
    query.count === 'first'
      ? `SELECT count() AS conversions, sum(first_revenue) AS revenue FROM (
           SELECT person, argMin(revenue, (at, revenue)) AS first_revenue FROM (${conversions.select}) GROUP BY person)`
      : `SELECT count() AS conversions, sum(revenue) AS revenue FROM (${conversions.select})`;
  const [row] = await facts.query<{ conversions: number; revenue: number }>(
    `WITH ${mergeCtes(conversions.ctes)} ${counted}`,
    params.values,
  );
  return { conversions: Number(row?.conversions ?? 0), revenue: Number(row?.revenue ?? 0) };
}
