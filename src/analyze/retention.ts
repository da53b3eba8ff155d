import { detailText, PulseloopError } from '../errors/registry.js';
import { type AnalysisContext, defineAnalysis } from './analysis.js';
import {
  compileSelector,
  type EventSelector,
  FINAL_SETTINGS,
  parseSelector,
  personStages,
  selectorSource,
} from './event-selector.js';
import {
  type Period,
  parsePeriod,
  periodEnd,
  periodIndexOfDate,
  periodIndexSql,
  periodStart,
  todayIn,
} from './periods.js';
import { type FieldRef, fieldSql, parseField } from './query/fields.js';
import { SqlParams } from './query/params.js';
import { bindProject, type DateRange, nextDay, parseDateRange } from './query/scope.js';

/**
 * Retention: of the persons who did a start event in a period (the cohort), how many came back with
 * a return event 1, 2, … N periods later. Cohorts are formed by
 * - `first_time`: the person's first start event ever falls in the date range;
 * - `first_in_range`: the person's first start event inside the date range;
 * - `recurring`: every period in which the person did the start event (a person joins several cohorts).
 * `bounded` counts a return in exactly period k; `unbounded` in period k or any later one.
 * One scan of the events builds, per person, the start periods and the array of periods with a
 * return; ClickHouse counts per k (sumForEach) and ranks the breakdown values, folding all but the
 * largest into one remainder, so the answer has at most (MAX_BREAKDOWN_VALUES + 1) rows per cohort
 * however many values there are, and JavaScript only labels the small table.
 */

export const COHORT_TYPES = ['first_time', 'first_in_range', 'recurring'] as const;
export type CohortType = (typeof COHORT_TYPES)[number];
export const RETENTION_MODES = ['bounded', 'unbounded'] as const;
export type RetentionMode = (typeof RETENTION_MODES)[number];

export const MAX_RETENTION_PERIODS = 90;
/** Breakdown values beyond the largest ones are summed into `$other`. */
export const MAX_BREAKDOWN_VALUES = 20;
/** Where "first time ever" starts looking. */
const HISTORY_START = '1990-01-01';

export interface RetentionQuery {
  dateRange: DateRange;
  startEvent: EventSelector;
  returnEvent: EventSelector;
  cohortType: CohortType;
  period: Period;
  /** Periods after the cohort's own (period 0). */
  periods: number;
  mode: RetentionMode;
  breakdown?: string;
}

export interface RetentionRow {
  /** First day of the cohort's period (YYYY-MM-DD). */
  cohort: string;
  size: number;
  /** Persons counted in period 0…N; only periods that have begun are listed. */
  values: number[];
  rates: number[];
  /**
   * How many of `values` are final: those of periods that have ended (by today in the project time
   * zone); the one after them, if listed, is today's period, still in progress, whose count can
   * still rise. Unbounded, a return today raises every earlier value too: 0 until the cohort's last
   * period has ended.
   */
  ended: number;
}

export interface RetentionAverage {
  size: number;
  /**
   * Per period: the sum of the values of the cohorts for which it has ended (period 0: of every
   * cohort). A period in progress would pull the average down; one no cohort has ended is left out.
   */
  values: number[];
  /** Per period: those values over the sizes of the same cohorts (a weighted average). */
  rates: number[];
}

export interface RetentionTable {
  cohorts: RetentionRow[];
  average: RetentionAverage;
}

export interface RetentionResult extends RetentionTable {
  period: Period;
  periods: number;
  mode: RetentionMode;
  cohortType: CohortType;
  breakdowns?: (RetentionTable & { value: string })[];
}

function invalid(field: string, detail: string, detailZh: string): never {
  throw new PulseloopError('invalid_query', { field, ...detailText(detail, detailZh) });
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], at: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    invalid(at, `expected one of ${allowed.join(', ')}`, `必须是 ${allowed.join('、')} 之一`);
  }
  return value as T;
}

export function parseRetentionQuery(body: unknown): RetentionQuery {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    invalid('body', 'expected an object', '必须是对象');
  const b = body as Record<string, unknown>;
  const startEvent = parseSelector(b.startEvent, 'startEvent');
  const returnEvent = b.returnEvent === undefined ? startEvent : parseSelector(b.returnEvent, 'returnEvent');
  const periods = b.periods ?? 7;
  if (
    typeof periods !== 'number' ||
    !Number.isInteger(periods) ||
    periods < 1 ||
    periods > MAX_RETENTION_PERIODS
  ) {
    invalid(
      'periods',
      `expected a whole number from 1 to ${MAX_RETENTION_PERIODS}`,
      `必须是 1 到 ${MAX_RETENTION_PERIODS} 之间的整数`,
    );
  }
  const query: RetentionQuery = {
    dateRange: parseDateRange(b.dateRange),
    startEvent,
    returnEvent,
    cohortType: oneOf(b.cohortType, COHORT_TYPES, 'cohortType', 'first_time'),
    period: parsePeriod(b.period, 'period'),
    periods,
    mode: oneOf(b.mode, RETENTION_MODES, 'mode', 'bounded'),
  };
  if (b.breakdown !== undefined) {
    parseField(b.breakdown, 'breakdown');
    query.breakdown = b.breakdown as string;
  }
  // Validate filters now so a bad one answers 400 before any SQL runs.
  const probe = new SqlParams();
  compileSelector(query.startEvent, probe, 'startEvent');
  compileSelector(query.returnEvent, probe, b.returnEvent === undefined ? 'startEvent' : 'returnEvent');
  return query;
}

interface CohortCounts {
  cohort: number;
  /** A kept breakdown value; '' for the remainder (and without a breakdown). */
  breakdown: string;
  /** The counts of every value beyond the largest MAX_BREAKDOWN_VALUES, summed. */
  other: boolean;
  size: number;
  /** Persons returned in period 1…N. */
  returned: number[];
}

/** The SQL of a retention query; exported so tests and the benchmark can read it. */
export function retentionSql(query: RetentionQuery, timeZone: string, projectId: string) {
  const params = new SqlParams();
  bindProject(params, { projectId, timeZone, currency: '' });
  const { period, dateRange } = query;
  const start = compileSelector(query.startEvent, params, 'startEvent');
  const back = compileSelector(query.returnEvent, params, 'returnEvent');
  const breakdownRef: FieldRef | undefined =
    query.breakdown === undefined ? undefined : parseField(query.breakdown, 'breakdown');
  const breakdownSql = breakdownRef ? fieldSql(breakdownRef, 'string', params.add.bind(params)) : "''";

  // One scan reads both kinds of event: from the first start that can count (all history for
  // "first time ever") to the end of the last return period.
  const lastIndex = periodIndexOfDate(period, dateRange.to) + query.periods;
  const source = selectorSource(
    [start, back],
    {
      range: {
        from: query.cohortType === 'first_time' ? HISTORY_START : dateRange.from,
        to: periodEnd(period, lastIndex),
      },
      extraRefs: breakdownRef ? [breakdownRef] : [],
    },
    params,
  );
  const rangeStart = `toDateTime64(${params.add('String', dateRange.from)}, 3, {tz:String})`;
  const rangeEnd = `toDateTime64(${params.add('String', nextDay(dateRange.to))}, 3, {tz:String})`;
  const isStart =
    query.cohortType === 'first_time'
      ? `(${start.sql} AND e.timestamp < ${rangeEnd})`
      : `(${start.sql} AND e.timestamp >= ${rangeStart} AND e.timestamp < ${rangeEnd})`;
  const isReturn = `(${back.sql} AND e.timestamp >= ${rangeStart})`;
  const n = params.add('UInt32', query.periods);
  const index = periodIndexSql(period, 'e.timestamp');

  // Aggregating per distinct id first and mapping the few resulting rows to persons afterwards is
  // several times faster than joining every event with the person map. Person-trait filters or
  // breakdowns need the person on each event, so they take the slower path.
  const { idKey, idFrom, person, personFrom } = personStages(source);

  // Only the columns the cohort type needs: the first start (first_time, first_in_range) or every
  // start period inside the range (recurring), with the breakdown value of the earliest start.
  const recurring = query.cohortType === 'recurring';
  const withBreakdown = breakdownRef !== undefined;
  const inRangeStart = `${isStart} AND e.timestamp >= ${rangeStart}`;
  const idColumns = recurring
    ? withBreakdown
      ? [`groupArrayIf((${index}, e.timestamp, ${breakdownSql}), ${inRangeStart}) AS starts`]
      : [`groupUniqArrayIf(${index}, ${inRangeStart}) AS starts`]
    : [
        `minIf(e.timestamp, ${isStart}) AS first_ts`,
        `argMinIf(${index}, e.timestamp, ${isStart}) AS first_index`,
        withBreakdown
          ? `argMinIf(${breakdownSql}, (e.timestamp, ${breakdownSql}), ${isStart}) AS first_breakdown`
          : `'' AS first_breakdown`,
      ];
  const personColumns = recurring
    ? [withBreakdown ? 'groupArrayArray(d.starts) AS starts' : 'groupUniqArrayArray(d.starts) AS starts']
    : [
        'minIf(d.first_ts, d.start_count > 0) AS first_ts',
        'argMinIf(d.first_index, d.first_ts, d.start_count > 0) AS first_index',
        'argMinIf(d.first_breakdown, (d.first_ts, d.first_breakdown), d.start_count > 0) AS first_breakdown',
      ];
  let cohortsSql = `SELECT person, first_index AS cohort, first_breakdown AS breakdown, active
         FROM per_person WHERE first_ts >= ${rangeStart}`;
  if (recurring && withBreakdown) {
    cohortsSql = `SELECT person, cohort, arrayFirst(x -> x.1 = cohort, sorted_starts).3 AS breakdown, active
         FROM (SELECT person, active, arraySort(x -> (x.2, x.3), starts) AS sorted_starts FROM per_person)
         ARRAY JOIN arrayDistinct(arrayMap(x -> x.1, sorted_starts)) AS cohort`;
  } else if (recurring) {
    cohortsSql = `SELECT person, cohort, '' AS breakdown, active FROM per_person ARRAY JOIN starts AS cohort`;
  }
  // Unbounded: returned in period k or later, i.e. the last active period is at least cohort + k.
  const returnedIn = query.mode === 'bounded' ? 'has(active, cohort + k)' : 'cohort + k <= arrayMax(active)';
  const keptValues = params.add('UInt32', MAX_BREAKDOWN_VALUES);

  const sql = `WITH ${source.ctes},
  per_id AS (
    SELECT ${idKey} AS id, max(e.person_id) AS pid, countIf(${isStart}) AS start_count,
           ${idColumns.join(',\n           ')},
           groupUniqArrayIf(${index}, ${isReturn}) AS active
    FROM ${idFrom}
    WHERE ${source.where}
    GROUP BY id
  ),
  per_person AS (
    SELECT ${person} AS person, sum(d.start_count) AS start_count,
           ${personColumns.join(',\n           ')},
           groupUniqArrayArray(d.active) AS active
    FROM ${personFrom}
    GROUP BY person
    HAVING start_count > 0
  ),
  cohorts AS (${cohortsSql}),
  groups AS (
    SELECT cohort, breakdown, count() AS persons,
           sumForEach(arrayMap(k -> toUInt64(${returnedIn}), range(1, ${n} + 1))) AS returned_per_period
    FROM cohorts
    GROUP BY cohort, breakdown
  ),
  -- Largest values first (persons over all cohorts), ties in the order JavaScript's localeCompare
  -- gives (ICU collation), then by bytes so that the rank is deterministic.
  ranked AS (
    SELECT *, dense_rank() OVER (ORDER BY breakdown_persons DESC, breakdown COLLATE 'en', breakdown) AS breakdown_rank
    FROM (SELECT *, sum(persons) OVER (PARTITION BY breakdown) AS breakdown_persons FROM groups)
  )
SELECT cohort, breakdown_rank > ${keptValues} AS other, if(other, '', breakdown) AS kept_breakdown,
       sum(persons) AS size, sumForEach(returned_per_period) AS returned
FROM ranked
GROUP BY cohort, other, kept_breakdown
${FINAL_SETTINGS}`;
  return { sql, params: params.values };
}

function rate(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}

/** How many of a cohort's `reached` values are final (RetentionRow.ended). */
function finalValues(query: RetentionQuery, cohort: number, currentIndex: number, reached: number): number {
  // Unbounded, a return today counts in every period up to today's: until the cohort's last period
  // has ended, none of its values is final.
  if (query.mode === 'unbounded') return cohort + query.periods < currentIndex ? reached : 0;
  return Math.min(reached, Math.max(0, currentIndex - cohort));
}

/** Turns per-cohort counts into the heat table: every cohort of the range, periods that have begun. */
function buildTable(
  counts: readonly CohortCounts[],
  query: RetentionQuery,
  currentIndex: number,
): RetentionTable {
  const { period } = query;
  const byCohort = new Map<number, CohortCounts>();
  for (const c of counts) {
    const known = byCohort.get(c.cohort);
    if (known) {
      known.size += c.size;
      known.returned = known.returned.map((v, k) => v + (c.returned[k] ?? 0));
    } else byCohort.set(c.cohort, { ...c, returned: [...c.returned] });
  }
  const first = periodIndexOfDate(period, query.dateRange.from);
  const last = periodIndexOfDate(period, query.dateRange.to);
  const cohorts: RetentionRow[] = [];
  const sums = new Array<number>(query.periods + 1).fill(0);
  const sizes = new Array<number>(query.periods + 1).fill(0);
  let total = 0;
  for (let cohort = first; cohort <= last; cohort++) {
    const found = byCohort.get(cohort);
    const size = found?.size ?? 0;
    const reached = Math.max(0, Math.min(query.periods, currentIndex - cohort) + 1);
    const values = [size, ...(found?.returned ?? []).map(Number)]
      .concat(new Array<number>(query.periods + 1).fill(0))
      .slice(0, reached);
    const ended = finalValues(query, cohort, currentIndex, reached);
    values.forEach((v, k) => {
      if (k > 0 && k >= ended) return;
      sums[k] = (sums[k] ?? 0) + v;
      sizes[k] = (sizes[k] ?? 0) + size;
    });
    total += size;
    cohorts.push({
      cohort: periodStart(period, cohort),
      size,
      values,
      rates: values.map((v) => rate(v, size)),
      ended,
    });
  }
  const width = Math.max(0, ...cohorts.map((c) => Math.min(c.values.length, Math.max(1, c.ended))));
  return {
    cohorts,
    average: {
      size: total,
      values: sums.slice(0, width),
      rates: sums.slice(0, width).map((v, k) => rate(v, sizes[k] ?? 0)),
    },
  };
}

/** Runs a retention query: the heat table of all persons, and one per breakdown value. */
export async function runRetention(
  context: AnalysisContext,
  query: RetentionQuery,
): Promise<RetentionResult> {
  const { sql, params } = retentionSql(query, context.project.timeZone, context.project.projectId);
  const rows = await context.facts.query<{
    cohort: number;
    other: number;
    kept_breakdown: string;
    size: number;
    returned: number[];
  }>(sql, params);
  const counts: CohortCounts[] = rows.map((r) => ({
    cohort: Number(r.cohort),
    breakdown: String(r.kept_breakdown),
    other: Boolean(Number(r.other)),
    size: Number(r.size),
    returned: r.returned.map(Number),
  }));
  const currentIndex = periodIndexOfDate(query.period, todayIn(context.project.timeZone));
  const result: RetentionResult = {
    period: query.period,
    periods: query.periods,
    mode: query.mode,
    cohortType: query.cohortType,
    ...buildTable(counts, query, currentIndex),
  };
  if (query.breakdown !== undefined) result.breakdowns = breakdownTables(counts, query, currentIndex);
  return result;
}

/**
 * One table per kept breakdown value, largest first, then `$other` when values were folded into it.
 * ClickHouse chose the kept values; they are ordered here as they always were (localeCompare on ties).
 */
function breakdownTables(
  counts: readonly CohortCounts[],
  query: RetentionQuery,
  currentIndex: number,
): (RetentionTable & { value: string })[] {
  const sizeOf = new Map<string, number>();
  for (const c of counts) {
    if (!c.other) sizeOf.set(c.breakdown, (sizeOf.get(c.breakdown) ?? 0) + c.size);
  }
  const kept = [...sizeOf.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([value]) => value);
  const tables = kept.map((value) => ({
    value,
    ...buildTable(
      counts.filter((c) => !c.other && c.breakdown === value),
      query,
      currentIndex,
    ),
  }));
  const remainder = counts.filter((c) => c.other);
  if (remainder.length > 0) {
    tables.push({ value: '$other', ...buildTable(remainder, query, currentIndex) });
  }
  return tables;
}

export const retentionAnalysis = defineAnalysis<RetentionQuery, RetentionResult>({
  kind: 'retention',
  en: 'Retention',
  zh: '留存分析',
  parse: parseRetentionQuery,
  run: runRetention,
  dependsOn: (query) => ({
    from: query.cohortType === 'first_time' ? HISTORY_START : query.dateRange.from,
    to: periodEnd(query.period, periodIndexOfDate(query.period, query.dateRange.to) + query.periods),
  }),
});
