import { type AnalysisContext, defineAnalysis } from './analysis.js';
import {
  compileSelector,
  type EventSelector,
  FINAL_SETTINGS,
  parseSelector,
  personStages,
  selectorSource,
} from './event-selector.js';
import { type Period, parsePeriod, periodIndexOfDate, periodIndexSql, periodStart } from './periods.js';
import { SqlParams } from './query/params.js';
import { bindProject, type DateRange, parseDateRange } from './query/scope.js';
import { bodyObject, invalid } from './query-body.js';

/**
 * Lifecycle (PostHog's definitions), per period of the range, for persons doing the event:
 * - new: active this period, and this is the period of their first such event ever;
 * - returning: active this period and the previous one;
 * - resurrecting: active this period, not the previous one, but some time before;
 * - dormant: active the previous period, not this one — reported as a negative number.
 * A person's first event ever needs all history up to the range's end, which ClickHouse folds
 * into one row per person (first period + active periods) before counting per period.
 */

export const MAX_LIFECYCLE_PERIODS = 400;
const HISTORY_START = '1990-01-01';

export interface LifecycleQuery {
  dateRange: DateRange;
  event: EventSelector;
  period: Period;
}

export interface LifecycleRow {
  /** First day of the period (YYYY-MM-DD). */
  period: string;
  new: number;
  returning: number;
  resurrecting: number;
  /** Zero or negative. */
  dormant: number;
}

export interface LifecycleResult {
  period: Period;
  periods: LifecycleRow[];
}

/** A number of periods in Chinese: "400 天", "400 周", "400 个月". */
const PERIOD_ZH: Record<Period, string> = { day: '天', week: '周', month: '个月' };

export function parseLifecycleQuery(body: unknown): LifecycleQuery {
  const b = bodyObject(body);
  const query: LifecycleQuery = {
    dateRange: parseDateRange(b.dateRange),
    event: parseSelector(b.event, 'event'),
    period: parsePeriod(b.period, 'period'),
  };
  const count =
    periodIndexOfDate(query.period, query.dateRange.to) -
    periodIndexOfDate(query.period, query.dateRange.from) +
    1;
  if (count > MAX_LIFECYCLE_PERIODS) {
    invalid(
      'dateRange',
      `at most ${MAX_LIFECYCLE_PERIODS} ${query.period}s`,
      `最多 ${MAX_LIFECYCLE_PERIODS} ${PERIOD_ZH[query.period]}`,
    );
  }
  compileSelector(query.event, new SqlParams(), 'event');
  return query;
}

export async function runLifecycle(
  context: AnalysisContext,
  query: LifecycleQuery,
): Promise<LifecycleResult> {
  const params = new SqlParams();
  bindProject(params, context.project);
  const selector = compileSelector(query.event, params, 'event');
  const source = selectorSource(
    [selector],
    { range: { from: HISTORY_START, to: query.dateRange.to } },
    params,
  );
  const first = periodIndexOfDate(query.period, query.dateRange.from);
  const last = periodIndexOfDate(query.period, query.dateRange.to);
  const indexes = Array.from({ length: last - first + 1 }, (_, i) => first + i);
  const periods = params.add('Array(Int64)', indexes);
  const before = params.add('Int64', first - 1);
  const index = periodIndexSql(query.period, 'e.timestamp');
  const stages = personStages(source);
  const rows = await context.facts.query<Omit<LifecycleRow, 'period'> & { p: number }>(
    `WITH ${source.ctes},
     per_id AS (
       SELECT ${stages.idKey} AS id, max(e.person_id) AS pid, min(${index}) AS first_period,
              groupUniqArrayIf(${index}, ${index} >= ${before}) AS active
       FROM ${stages.idFrom}
       WHERE ${source.where}
       GROUP BY id
     ),
     per_person AS (
       SELECT ${stages.person} AS person, min(d.first_period) AS first_period,
              groupUniqArrayArray(d.active) AS active
       FROM ${stages.personFrom}
       GROUP BY person
       HAVING length(active) > 0
     )
     SELECT p,
            countIf(has(active, p) AND first_period = p) AS new,
            countIf(has(active, p) AND first_period < p AND has(active, p - 1)) AS returning,
            countIf(has(active, p) AND first_period < p - 1 AND NOT has(active, p - 1)) AS resurrecting,
            -countIf(NOT has(active, p) AND has(active, p - 1)) AS dormant
     FROM per_person
     ARRAY JOIN ${periods} AS p
     GROUP BY p
     ${FINAL_SETTINGS}`,
    params.values,
  );
  const byIndex = new Map(rows.map((r) => [Number(r.p), r]));
  return {
    period: query.period,
    periods: indexes.map((i) => {
      const r = byIndex.get(i);
      return {
        period: periodStart(query.period, i),
        new: Number(r?.new ?? 0),
        returning: Number(r?.returning ?? 0),
        resurrecting: Number(r?.resurrecting ?? 0),
        dormant: Number(r?.dormant ?? 0),
      };
    }),
  };
}

export const lifecycleAnalysis = defineAnalysis<LifecycleQuery, LifecycleResult>({
  kind: 'lifecycle',
  en: 'Lifecycle',
  zh: '用户生命周期',
  parse: parseLifecycleQuery,
  run: runLifecycle,
  dependsOn: (query) => ({ from: HISTORY_START, to: query.dateRange.to }),
});
