import { detailText, PulseloopError } from '../errors/registry.js';
import { type AnalysisContext, defineAnalysis } from './analysis.js';
import { conversionSql } from './attribution/journeys.js';
import {
  type ConversionSource,
  parseConversion,
  TOUCH_DIMENSIONS,
  type TouchDimension,
} from './attribution/query.js';
import { SqlParams } from './query/params.js';
import { bindProject, type DateRange, eventSource, nextDay, parseDateRange } from './query/scope.js';

/**
 * LTV by acquisition cohort and channel.
 *
 * - A person is acquired when first seen: their first event ever, if it falls in the date range.
 *   Cohort = the week (Monday) or month of that moment in the project time zone.
 * - Acquisition channel = the value of the touch dimension (default `channel`) on their first
 *   event that has one: first touch. Persons without any are under "(none)".
 * - Period k of a cohort = the k-th week or month after the cohort's own (calendar periods, as in
 *   retention); revenue = paid orders or a conversion event's revenue.
 * - LTV_k = revenue of the cohort's persons in periods 0..k / persons acquired. Periods that have
 *   not started yet (after today) are null, not zero.
 * - Acquisition cost (CAC) of a cohort and channel = the channel's ad spend during the cohort's
 *   period / persons that channel acquired in it; ROI = LTV / CAC (the latest LTV), null without
 *   spend. Spend joins as in attribution: channel, platform (and utm_source) and campaign id.
 */

export type LtvPeriod = 'week' | 'month';

export interface LtvQuery {
  dateRange: DateRange;
  period: LtvPeriod;
  /** Periods 0..periods after acquisition. */
  periods: number;
  dimension: TouchDimension;
  revenue: ConversionSource;
}

export interface LtvCell {
  cohort: string;
  channel: string;
  persons: number;
  /** Revenue in each period 0..N (null: the period has not started). */
  revenue: (number | null)[];
  /** Cumulative revenue per acquired person after each period. */
  ltv: (number | null)[];
  /**
   * Periods 0 … ended − 1 are final. A cohort's value after them, if not null, includes today's
   * period, still in progress; a channel's line holds final periods only.
   */
  ended: number;
  spend: number | null;
  /** Spend / persons acquired; null without spend. */
  acquisitionCost: number | null;
  /** Latest LTV / acquisition cost. */
  roi: number | null;
}

export interface LtvResult {
  period: LtvPeriod;
  periods: number;
  dimension: TouchDimension;
  currency: string;
  cohorts: LtvCell[];
  /** Per channel over all cohorts (cohort = 'all'); LTV_k over the persons whose period k has ended. */
  channels: LtvCell[];
}

const NO_VALUE = '(none)';

function invalid(field: string, detail: string, detailZh: string): never {
  throw new PulseloopError('invalid_query', { field, ...detailText(detail, detailZh) });
}

export function parseLtvQuery(body: unknown): LtvQuery {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    invalid('body', 'expected an object', '必须是对象');
  const q = body as Record<string, unknown>;
  const period = q.period ?? 'week';
  if (period !== 'week' && period !== 'month')
    invalid('period', 'expected "week" or "month"', '必须是 "week" 或 "month"');
  const periods = q.periods ?? (period === 'week' ? 12 : 6);
  if (typeof periods !== 'number' || !Number.isInteger(periods) || periods < 0 || periods > 104) {
    invalid('periods', 'expected a whole number from 0 to 104', '必须是 0 到 104 之间的整数');
  }
  const dimension = q.dimension ?? 'channel';
  if (!(TOUCH_DIMENSIONS as readonly unknown[]).includes(dimension)) {
    invalid(
      'dimension',
      `expected one of ${TOUCH_DIMENSIONS.join(', ')}`,
      `必须是 ${TOUCH_DIMENSIONS.join('、')} 之一`,
    );
  }
  return {
    dateRange: parseDateRange(q.dateRange),
    period,
    periods,
    dimension: dimension as TouchDimension,
    revenue: parseConversion(q.revenue, 'revenue'),
  };
}

/** The last day revenue is read for: N whole periods after the range's last cohort. */
function revenueUntil(query: LtvQuery): string {
  const days = query.period === 'week' ? 7 * (query.periods + 1) : 31 * (query.periods + 1);
  return nextDay(query.dateRange.to, days);
}

function cohortStartSql(period: LtvPeriod, time: string): string {
  return period === 'week'
    ? `toMonday(toDate(${time}, {tz:String}))`
    : `toStartOfMonth(toDate(${time}, {tz:String}))`;
}

/** Periods between a cohort start (Date) and a time, in whole calendar periods. */
function periodIndexSql(period: LtvPeriod, cohort: string, time: string): string {
  const day = `toDate(${time}, {tz:String})`;
  return period === 'week'
    ? `intDiv(dateDiff('day', ${cohort}, toMonday(${day})), 7)`
    : `(toYear(${day}) * 12 + toMonth(${day})) - (toYear(${cohort}) * 12 + toMonth(${cohort}))`;
}

interface CohortRow {
  cohort: string;
  channel: string;
  persons: number;
  periods: number[];
  amounts: number[];
  /** Periods of this cohort that have started by today. */
  started: number;
}

async function fetchCohorts(context: AnalysisContext, query: LtvQuery): Promise<CohortRow[]> {
  const params = new SqlParams();
  bindProject(params, context.project);
  // First seen needs the whole history up to the range end.
  const history = eventSource({ range: { from: '1970-01-02', to: query.dateRange.to } }, params);
  const revenue = conversionSql(
    query.revenue,
    { from: query.dateRange.from, to: revenueUntil(query) },
    params,
  );
  const rangeStart = params.add('String', query.dateRange.from);
  const column = `e.${query.dimension}`; // from the TOUCH_DIMENSIONS allow-list
  const rows = await context.facts.query<{
    cohort_label: string;
    channel: string;
    persons: number;
    by_period: [number[], number[]];
    started: number;
  }>(
    `WITH ${history.ctes},
     acquired AS (
       SELECT person, first_at, ${cohortStartSql(query.period, 'first_at')} AS cohort,
              if(first_value = '', ${params.add('String', NO_VALUE)}, first_value) AS channel
       FROM (
         SELECT if(pm.person_id != '', pm.person_id, if(v.person_id != '', v.person_id, v.distinct_id)) AS person,
                min(v.first_at) AS first_at,
                argMinIf(v.first_value, v.valued_at, v.first_value != '') AS first_value
         FROM (
           -- Visits first, then persons: a tenth of the rows to map through identities. No FINAL: a
           -- re-delivered event cannot change a first time or first value (revenue is read with FINAL).
           SELECT min(e.timestamp) AS first_at, minIf(e.timestamp, ${column} != '') AS valued_at,
                  argMinIf(${column}, e.timestamp, ${column} != '') AS first_value,
                  argMin(e.distinct_id, e.timestamp) AS distinct_id, argMin(e.person_id, e.timestamp) AS person_id
           FROM events AS e
           WHERE ${history.where}
           GROUP BY cityHash64(if(e.session_id != '', e.session_id, e.message_id))
         ) AS v
         LEFT JOIN person_map AS pm ON pm.distinct_id = v.distinct_id
         GROUP BY person
       )
       WHERE first_at >= toDateTime64(${rangeStart}, 3, {tz:String})
     ),
     revenue AS (
       SELECT person, groupArray((at, revenue)) AS list FROM (${revenue.select}) GROUP BY person
     )
     SELECT toString(cohort) AS cohort_label, channel, count() AS persons,
            sumMap(periods, amounts) AS by_period,
            any(${periodIndexSql(query.period, 'cohort', 'now64(3)')}) AS started
     FROM (
       SELECT a.cohort AS cohort, a.channel AS channel,
              arrayFilter(x -> x.1 >= a.first_at, r.list) AS after,
              arrayMap(x -> toInt32(${periodIndexSql(query.period, 'a.cohort', 'x.1')}), after) AS all_periods,
              arrayFilter((x, k) -> k <= ${params.add('Int32', query.periods)}, after, all_periods) AS kept,
              arrayFilter(k -> k <= ${params.add('Int32', query.periods)}, all_periods) AS periods,
              arrayMap(x -> x.2, kept) AS amounts
       FROM acquired AS a LEFT JOIN revenue AS r ON r.person = a.person
     )
     GROUP BY cohort, channel
     ORDER BY cohort, channel`,
    params.values,
  );
  return rows.map((r) => ({
    cohort: r.cohort_label,
    channel: r.channel,
    persons: Number(r.persons),
    periods: r.by_period[0].map(Number),
    amounts: r.by_period[1].map(Number),
    started: Number(r.started),
  }));
}

/** Spend per (cohort period start, value of the dimension). */
async function fetchSpend(
  context: AnalysisContext,
  query: LtvQuery,
): Promise<Map<string, number> | undefined> {
  const column = {
    channel: 'channel',
    platform: 'platform',
    utm_source: 'platform',
    campaign_id: 'campaign_id',
  }[query.dimension as string];
  if (column === undefined) return undefined;
  const params = new SqlParams();
  bindProject(params, context.project);
  const start = query.period === 'week' ? 'toMonday(date)' : 'toStartOfMonth(date)';
  // The whole period of the range's first and last cohorts.
  const rows = await context.facts.query<{ cohort: string; value: string; spend: number }>(
    `SELECT toString(${start}) AS cohort, ${column} AS value, toFloat64(sum(spend)) AS spend
     FROM ad_spend FINAL
     WHERE project_id = {project:String}
       AND ${start} >= ${query.period === 'week' ? 'toMonday' : 'toStartOfMonth'}(toDate(${params.add('String', query.dateRange.from)}))
       AND date <= ${query.period === 'week' ? 'toMonday' : 'toStartOfMonth'}(toDate(${params.add('String', query.dateRange.to)})) + ${query.period === 'week' ? 'toIntervalDay(6)' : 'toIntervalMonth(1) - toIntervalDay(1)'}
       AND ${column} != ''
     GROUP BY cohort, value`,
    params.values,
  );
  return new Map(rows.map((r) => [`${r.cohort}|${r.value}`, Number(r.spend)]));
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Revenue of a cohort row per period 0..n; null for periods that have not started. */
function revenueByPeriod(row: CohortRow, n: number): (number | null)[] {
  const revenue: (number | null)[] = Array.from({ length: n + 1 }, (_, k) => (k <= row.started ? 0 : null));
  row.periods.forEach((k, i) => {
    const current = revenue[k];
    if (current !== undefined && current !== null) revenue[k] = current + row.amounts[i]!;
  });
  return revenue;
}

/**
 * One line of the table from cohort rows (one row for a cohort cell, all of a channel's rows for its
 * total): LTV_k = cumulative revenue to k / persons, both over the rows whose period k has started
 * (`endedOnly`: ended), so young cohorts do not dilute a channel's later periods, nor does the week
 * in progress pull them down.
 */
function line(
  cohort: string,
  channel: string,
  rows: CohortRow[],
  n: number,
  spend: number | null,
  endedOnly = false,
): LtvCell {
  const revenue: (number | null)[] = [];
  const ltv: (number | null)[] = [];
  const cumulative = rows.map(() => 0);
  const byRow = rows.map((row) => revenueByPeriod(row, n));
  for (let k = 0; k <= n; k++) {
    let inPeriod = 0;
    let total = 0;
    let persons = 0;
    rows.forEach((row, i) => {
      const amount = byRow[i]![k];
      if (amount === null || amount === undefined || (endedOnly && k >= row.started)) return;
      cumulative[i]! += amount;
      inPeriod += amount;
      total += cumulative[i]!;
      persons += row.persons;
    });
    revenue.push(persons > 0 ? round(inPeriod, 2) : null);
    ltv.push(persons > 0 ? round(total / persons, 4) : null);
  }
  const persons = rows.reduce((sum, r) => sum + r.persons, 0);
  const latest = [...ltv].reverse().find((v) => v !== null) ?? null;
  // CAC = spend / persons acquired; ROI = LTV / CAC.
  const acquisitionCost = spend !== null && spend > 0 && persons > 0 ? spend / persons : null;
  // A single cohort: its periods before today's; a channel's line: all its values are of ended periods.
  const ended = endedOnly ? ltv.filter((v) => v !== null).length : Math.min(n + 1, rows[0]?.started ?? 0);
  return {
    cohort,
    channel,
    persons,
    revenue,
    ltv,
    ended,
    spend: spend === null ? null : round(spend, 2),
    acquisitionCost: acquisitionCost === null ? null : round(acquisitionCost, 4),
    roi: acquisitionCost === null || latest === null ? null : round(latest / acquisitionCost, 4),
  };
}

export async function runLtv(context: AnalysisContext, query: LtvQuery): Promise<LtvResult> {
  const rows = await fetchCohorts(context, query);
  const spend = await fetchSpend(context, query);
  const n = query.periods;
  const spendOf = (cohort: string, channel: string): number | null =>
    spend === undefined ? null : (spend.get(`${cohort}|${channel}`) ?? null);
  const cohorts = rows.map((row) =>
    line(row.cohort, row.channel, [row], n, spendOf(row.cohort, row.channel)),
  );

  const channelRows = new Map<string, CohortRow[]>();
  for (const row of rows) channelRows.set(row.channel, [...(channelRows.get(row.channel) ?? []), row]);
  const channels = [...channelRows.entries()].map(([channel, list]) => {
    // The channel's spend over every cohort period of the range, with or without acquisitions.
    let channelSpend: number | null = null;
    if (spend !== undefined) {
      for (const [key, amount] of spend) {
        if (key.slice(key.indexOf('|') + 1) === channel) channelSpend = (channelSpend ?? 0) + amount;
      }
    }
    return line('all', channel, list, n, channelSpend, true);
  });
  channels.sort((a, b) => b.persons - a.persons || a.channel.localeCompare(b.channel));
  return {
    period: query.period,
    periods: n,
    dimension: query.dimension,
    currency: context.project.currency,
    cohorts,
    channels,
  };
}

export const ltvAnalysis = defineAnalysis<LtvQuery, LtvResult>({
  kind: 'ltv',
  en: 'LTV by acquisition cohort and channel',
  zh: '按获客批次与渠道的用户终身价值',
  parse: parseLtvQuery,
  run: runLtv,
  dependsOn: (query) => ({ from: '1970-01-02', to: revenueUntil(query) }),
});
