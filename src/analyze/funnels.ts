import { zonedClock } from '../collect/import/time.js';
import { type AnalysisContext, defineAnalysis } from './analysis.js';
import { type FunnelQuery, parseFunnelQuery } from './funnels/query.js';
import { droppedPersonsSql, funnelAggregateSql, funnelPeopleSql } from './funnels/sql.js';
import { todayIn } from './periods.js';
import { SqlParams } from './query/params.js';
import { bindProject, type DateRange, nextDay, rangeDays } from './query/scope.js';

/**
 * Funnels: how many persons go from step 1 through each later step, how long they take, how the
 * conversion changes with the day they entered, and who dropped where. See docs/funnels-paths.md
 * for the exact semantics (ties, exclusions, strict order).
 */

export interface FunnelStepResult {
  step: number;
  event: string;
  count: number;
  /** count / previous step's count (1 for step 1; 0 when the previous step is 0). */
  conversionFromPrevious: number;
  conversionFromFirst: number;
  droppedFromPrevious: number;
  /** Seconds from the previous step, over persons who reached this step; null for step 1. */
  avgSecondsFromPrevious: number | null;
  medianSecondsFromPrevious: number | null;
}

export interface FunnelResult {
  steps: FunnelStepResult[];
  breakdown?: { field: string; values: { value: string; steps: FunnelStepResult[] }[] };
  conversionOverTime: {
    granularity: 'day' | 'week';
    periods: {
      period: string;
      entered: number;
      converted: number;
      conversionRate: number | null;
      /**
       * Whether every entrant of the period has had the whole conversion window by the start of
       * today (project time zone): an incomplete period's rate can still rise as late steps arrive.
       */
      complete: boolean;
    }[];
  };
  timeToConvert: {
    fromStep: number;
    toStep: number;
    averageSeconds: number | null;
    medianSeconds: number | null;
    /** `toSeconds` is exclusive; null for the last, open bucket. */
    buckets: { fromSeconds: number; toSeconds: number | null; count: number }[];
  };
  dropped?: {
    step: number;
    breakdownValue?: string;
    total: number;
    limit: number;
    offset: number;
    persons: string[];
  };
}

interface AggregateRow {
  by_breakdown: number;
  by_period: number;
  by_bucket: number;
  breakdown_key: string;
  period: string;
  ttc_bucket: number;
  persons: number;
  step_counts: number[];
  avg_seconds: (number | null)[];
  median_seconds: (number | null)[];
  avg_seconds_to_convert: number | null;
  median_seconds_to_convert: number | null;
}

/** A finite number or null (ClickHouse answers NaN averages of nothing as null). */
function finite(value: unknown): number | null {
  const n = Number(value);
  return value === null || value === undefined || !Number.isFinite(n) ? null : n;
}

function stepResults(query: FunnelQuery, row: AggregateRow | undefined): FunnelStepResult[] {
  const counts = query.steps.map((_, i) => Number(row?.step_counts[i] ?? 0));
  const first = counts[0] ?? 0;
  return query.steps.map((step, i) => {
    const count = counts[i] ?? 0;
    const previous = i === 0 ? count : (counts[i - 1] ?? 0);
    return {
      step: i + 1,
      event: step.event,
      count,
      conversionFromPrevious: i === 0 ? (count > 0 ? 1 : 0) : previous > 0 ? count / previous : 0,
      conversionFromFirst: first > 0 ? count / first : 0,
      droppedFromPrevious: previous - count,
      avgSecondsFromPrevious: i === 0 || count === 0 ? null : finite(row?.avg_seconds[i - 1]),
      medianSecondsFromPrevious: i === 0 || count === 0 ? null : finite(row?.median_seconds[i - 1]),
    };
  });
}

/** Every period start (day, or Monday of a week) that the range touches, for a gap-free series. */
function periodsOf(range: DateRange, granularity: 'day' | 'week'): string[] {
  const days = Array.from({ length: rangeDays(range) }, (_, i) => nextDay(range.from, i));
  if (granularity === 'day') return days;
  const mondays = days.map((day) => nextDay(day, -((new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7)));
  return [...new Set(mondays)];
}

/**
 * Whether the window of the period's last possible entrant (at the end of its last day in the
 * range) has ended by the start of today: both instants in the project's time zone, so that a
 * daylight-saving day inside the window is an hour shorter or longer, as the window is not.
 */
export function periodComplete(
  period: string,
  query: Pick<FunnelQuery, 'conversionOverTime' | 'dateRange' | 'windowSeconds'>,
  today: ZonedDay,
): boolean {
  const periodEnd = query.conversionOverTime.granularity === 'week' ? nextDay(period, 7) : nextDay(period);
  const rangeEnd = nextDay(query.dateRange.to);
  // YYYY-MM-DD texts: the earlier date sorts first.
  const entriesEnd = [periodEnd, rangeEnd].sort()[0]!;
  return today.midnightMs(entriesEnd) + query.windowSeconds * 1000 <= today.startMs;
}

/** Today in a time zone, and the instant any day of it begins there. */
export interface ZonedDay {
  startMs: number;
  midnightMs(day: string): number;
}

export function zonedToday(timeZone: string, now = new Date()): ZonedDay {
  const clock = zonedClock(timeZone);
  const midnightMs = (day: string) => {
    const [year, month, date] = day.split('-').map(Number) as [number, number, number];
    return clock({ year, month, day: date, hour: 0, minute: 0, second: 0, millisecond: 0 });
  };
  return { startMs: midnightMs(todayIn(timeZone, now)), midnightMs };
}

function shapeResult(query: FunnelQuery, rows: AggregateRow[], today: ZonedDay): FunnelResult {
  const total = rows.find((r) => !r.by_breakdown && !r.by_period && !r.by_bucket);
  const n = query.steps.length;
  const result: FunnelResult = {
    steps: stepResults(query, total),
    conversionOverTime: { granularity: query.conversionOverTime.granularity, periods: [] },
    timeToConvert: {
      fromStep: query.timeToConvert.fromStep,
      toStep: query.timeToConvert.toStep,
      averageSeconds: finite(total?.avg_seconds_to_convert),
      medianSeconds: finite(total?.median_seconds_to_convert),
      buckets: [],
    },
  };
  if (query.breakdown) {
    const values = rows
      .filter((r) => r.by_breakdown)
      .map((r) => ({ value: r.breakdown_key, steps: stepResults(query, r) }))
      // Largest first; `$other` always last.
      .sort(
        (a, b) =>
          Number(a.value === '$other') - Number(b.value === '$other') ||
          (b.steps[0]?.count ?? 0) - (a.steps[0]?.count ?? 0) ||
          a.value.localeCompare(b.value),
      );
    result.breakdown = { field: query.breakdown.field, values };
  }
  const byPeriod = new Map(rows.filter((r) => r.by_period).map((r) => [r.period, r]));
  result.conversionOverTime.periods = periodsOf(query.dateRange, query.conversionOverTime.granularity).map(
    (period) => {
      const row = byPeriod.get(period);
      const entered = Number(row?.step_counts[0] ?? 0);
      const converted = Number(row?.step_counts[n - 1] ?? 0);
      return {
        period,
        entered,
        converted,
        conversionRate: entered > 0 ? converted / entered : null,
        complete: periodComplete(period, query, today),
      };
    },
  );
  const bounds = query.timeToConvert.bucketsSeconds;
  const byBucket = new Map(rows.filter((r) => r.by_bucket).map((r) => [Number(r.ttc_bucket), r]));
  result.timeToConvert.buckets = [0, ...bounds].map((fromSeconds, i) => ({
    fromSeconds,
    toSeconds: bounds[i] ?? null,
    count: Number(byBucket.get(i + 1)?.persons ?? 0),
  }));
  return result;
}

function newParams(context: AnalysisContext): SqlParams {
  const params = new SqlParams();
  bindProject(params, context.project);
  return params;
}

/** Runs a funnel (the function the benchmark times). */
export async function runFunnel(context: AnalysisContext, query: FunnelQuery): Promise<FunnelResult> {
  const params = newParams(context);
  const rows = await context.facts.query<AggregateRow>(
    funnelAggregateSql(funnelPeopleSql(query, params)),
    params.values,
  );
  const result = shapeResult(query, rows, zonedToday(context.project.timeZone));
  if (query.dropped) {
    const { step, limit, offset, breakdownValue } = query.dropped;
    const steps =
      breakdownValue === undefined
        ? result.steps
        : (result.breakdown?.values.find((v) => v.value === breakdownValue)?.steps ?? []);
    const droppedParams = newParams(context);
    const persons = await context.facts.query<{ person: string }>(
      droppedPersonsSql(funnelPeopleSql(query, droppedParams), query, droppedParams),
      droppedParams.values,
    );
    result.dropped = {
      step,
      ...(breakdownValue === undefined ? {} : { breakdownValue }),
      total: steps[step - 1]?.droppedFromPrevious ?? 0,
      limit,
      offset,
      persons: persons.map((p) => p.person),
    };
  }
  return result;
}

export const funnelsAnalysis = defineAnalysis<FunnelQuery, FunnelResult>({
  kind: 'funnels',
  en: 'Funnels',
  zh: '漏斗分析',
  parse: parseFunnelQuery,
  run: runFunnel,
  // Later steps may fall after the range, up to the window.
  dependsOn: (query) => ({
    from: query.dateRange.from,
    to: nextDay(query.dateRange.to, Math.ceil(query.windowSeconds / 86_400)),
  }),
});
