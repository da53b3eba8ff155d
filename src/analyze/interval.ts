import { type AnalysisContext, defineAnalysis } from './analysis.js';
import {
  compileSelector,
  type EventSelector,
  FINAL_SETTINGS,
  parseSelector,
  personStages,
  selectorSource,
} from './event-selector.js';
import { SqlParams } from './query/params.js';
import { bindProject, type DateRange, nextDay, parseDateRange, rangeCondition } from './query/scope.js';
import {
  type Bucket,
  bodyObject,
  bucketEdges,
  bucketsOf,
  bucketVectorSql,
  oneOf,
  wholeNumber,
} from './query-body.js';

/**
 * Interval: the time from a person's first A event in the range to the next B event after it
 * (within a window), as a distribution in minutes, hours or days with median, p90 and average —
 * "how long from first visit to first order", "from sign-up to first play".
 * Ties: a B at the same instant as A counts (interval 0); when A and B are the same kind of event,
 * the next B is another event than the A itself.
 */

export const INTERVAL_UNITS = ['minute', 'hour', 'day'] as const;
export type IntervalUnit = (typeof INTERVAL_UNITS)[number];
const UNIT_SECONDS: Record<IntervalUnit, number> = { minute: 60, hour: 3600, day: 86_400 };
export const DEFAULT_INTERVAL_EDGES: Record<IntervalUnit, number[]> = {
  minute: [0, 1, 5, 10, 30, 60],
  hour: [0, 1, 2, 4, 8, 12, 24, 48],
  day: [0, 1, 2, 3, 5, 7, 14, 30],
};
export const MAX_WINDOW_DAYS = 365;

export interface IntervalQuery {
  dateRange: DateRange;
  fromEvent: EventSelector;
  toEvent: EventSelector;
  unit: IntervalUnit;
  /** Bucket edges in `unit`. */
  buckets: number[];
  /** How long after A a B still counts. */
  windowDays: number;
}

export interface IntervalResult {
  unit: IntervalUnit;
  /** Persons with an A event in the range. */
  persons: number;
  /** Of them, persons with a B after it inside the window. */
  converted: number;
  buckets: Bucket[];
  /** In `unit`; 0 when nobody converted. */
  stats: { mean: number; median: number; p90: number };
}

export function parseIntervalQuery(body: unknown): IntervalQuery {
  const b = bodyObject(body);
  const unit = oneOf(b.unit, INTERVAL_UNITS, 'unit', 'hour');
  const query: IntervalQuery = {
    dateRange: parseDateRange(b.dateRange),
    fromEvent: parseSelector(b.fromEvent, 'fromEvent'),
    toEvent: parseSelector(b.toEvent, 'toEvent'),
    unit,
    buckets: bucketEdges(b.buckets, 'buckets', 0) ?? DEFAULT_INTERVAL_EDGES[unit],
    windowDays: wholeNumber(b.windowDays, 'windowDays', 1, MAX_WINDOW_DAYS, 30),
  };
  const probe = new SqlParams();
  compileSelector(query.fromEvent, probe, 'fromEvent');
  compileSelector(query.toEvent, probe, 'toEvent');
  return query;
}

interface IntervalRow {
  persons: number;
  converted: number;
  mean: number;
  median: number;
  p90: number;
  counts: number[];
}

export async function runInterval(context: AnalysisContext, query: IntervalQuery): Promise<IntervalResult> {
  const params = new SqlParams();
  bindProject(params, context.project);
  const from = compileSelector(query.fromEvent, params, 'fromEvent');
  const to = compileSelector(query.toEvent, params, 'toEvent');
  const windowSeconds = query.windowDays * 86_400;
  const source = selectorSource(
    [from, to],
    { range: query.dateRange, padAfterSeconds: windowSeconds },
    params,
  );
  const inRange = rangeCondition('e.timestamp', query.dateRange, params);
  const unitSeconds = params.add('Float64', UNIT_SECONDS[query.unit]);
  const edges = params.add('Array(Float64)', query.buckets);
  const windowMs = params.add('Int64', windowSeconds * 1000);
  // Per person: the first A (time, message id) and the sorted B candidates; then the first B at or
  // after A that is not the A event itself.
  const stages = personStages(source);
  const [row] = await context.facts.query<IntervalRow>(
    `WITH ${source.ctes},
     per_id AS (
       SELECT ${stages.idKey} AS id, max(e.person_id) AS pid, countIf(${from.sql} AND ${inRange}) AS a_count,
              minIf((toUnixTimestamp64Milli(e.timestamp), e.message_id), ${from.sql} AND ${inRange}) AS a,
              groupArrayIf((toUnixTimestamp64Milli(e.timestamp), e.message_id), ${to.sql}) AS bs
       FROM ${stages.idFrom}
       WHERE ${source.where}
       GROUP BY id
     ),
     per_person AS (
       SELECT ${stages.person} AS person, minIf(d.a, d.a_count > 0) AS a, arraySort(groupArrayArray(d.bs)) AS bs
       FROM ${stages.personFrom}
       GROUP BY person
       HAVING sum(d.a_count) > 0
     ),
     intervals AS (
       SELECT person, arrayFilter(b -> b.1 >= a.1 AND b.2 != a.2, bs) AS after,
              length(after) > 0 AND after[1].1 - a.1 <= ${windowMs} AS has_next,
              if(has_next, (after[1].1 - a.1) / 1000 / ${unitSeconds}, 0) AS elapsed
       FROM per_person
     )
     SELECT count() AS persons, countIf(has_next) AS converted,
            avgIf(elapsed, has_next) AS mean,
            quantileExactInclusiveIf(0.5)(elapsed, has_next) AS median,
            quantileExactInclusiveIf(0.9)(elapsed, has_next) AS p90,
            sumForEach(arrayMap(x -> x * has_next, ${bucketVectorSql('elapsed', edges)})) AS counts
     FROM intervals
     ${FINAL_SETTINGS}`,
    params.values,
  );
  const converted = Number(row?.converted ?? 0);
  const stat = (v: unknown) => (converted > 0 && Number.isFinite(Number(v)) ? Number(v) : 0);
  return {
    unit: query.unit,
    persons: Number(row?.persons ?? 0),
    converted,
    buckets: bucketsOf(query.buckets, converted > 0 ? (row?.counts ?? []).map(Number) : [], false),
    stats: { mean: stat(row?.mean), median: stat(row?.median), p90: stat(row?.p90) },
  };
}

export const intervalAnalysis = defineAnalysis<IntervalQuery, IntervalResult>({
  kind: 'interval',
  en: 'Time between events',
  zh: '间隔分析',
  parse: parseIntervalQuery,
  run: runInterval,
  dependsOn: (query) => ({
    from: query.dateRange.from,
    to: nextDay(query.dateRange.to, query.windowDays + 1),
  }),
});
