import { detailText, PulseloopError } from '../../errors/registry.js';
import { EVENT_ROLLUP_TABLE, hourAlignedZone, isRollupColumn } from '../../store/facts/rollups.js';
import { FINAL_SETTINGS } from '../event-selector.js';
import { EVENT_COLUMNS, fieldSql, parseField } from '../query/fields.js';
import { compileFilters } from '../query/filters.js';
import { SqlParams } from '../query/params.js';
import {
  bindProject,
  type DateRange,
  nextDay,
  PERSON_MAP_CTE,
  PERSON_SQL,
  PERSON_TRAITS_CTE,
  type ProjectContext,
  rangeCondition,
} from '../query/scope.js';
import type { AggregateMetric, AggregateSqlContext } from './catalogue.js';
import type { Granularity, MetricsQuery } from './query.js';
import { type Catalogue, metricHasDimension, type ResolvedMetric, resolveMetric } from './resolve.js';
import { SOURCES, type SourceId, sourceHasDimension } from './sources.js';

/**
 * Compiles a metrics query into ClickHouse SQL: one statement per facts source the metrics read.
 *
 * Two shapes. When every aggregate is additive (counts and sums), a statement is one GROUP BY
 * (bucket, breakdown values); with a breakdown, the SQL keeps the top N values by the first metric
 * and adds up the rest into "$other" (so an answer holds at most N + 1 rows a bucket, however many
 * values there are), and the runner adds up totals from those rows. Otherwise (distinct persons) the
 * SQL computes them exactly: the top N in a CTE (ranked over the query's own date range), the rest
 * folded into "$other", and each breakdown value's total and the overall total through GROUPING SETS.
 *
 * Additive event counts and revenue whose dimensions and filters are rollup columns read the hourly
 * rollup (src/store/facts/rollups.ts) instead of raw events, with guard queries and the raw
 * statement to fall back on.
 */

export const OTHER = '$other';

/**
 * The parameter a 'groups' statement that folds by another's ranking reads the top values from: one
 * array of breakdown values per top value (Array(Array(String))), bound by the runner.
 */
export const TOP_VALUES_PARAM = 'top_values';

export interface CompiledStatement {
  source: SourceId;
  /** 'series': buckets and totals in the range; 'opening': running totals before the range starts. */
  purpose: 'series' | 'opening';
  /** Aggregate metric ids, in column order (m0, m1, …). */
  leaves: string[];
  /**
   * 'groups': one row per bucket and breakdown values `b0`, `b1`, …: each of the top N values, and
   * the rest added up with `b0` = "$other" (the other `b…` empty, and `rest` = 1 when there are
   * several dimensions); the runner adds up totals. 'totals': rows hold `breakdown` (text for one
   * dimension, an array for several) with the top N folded in SQL, and `total_bucket` /
   * `total_breakdown` = 1 on the totals.
   */
  shape: 'groups' | 'totals';
  /**
   * groups with a breakdown: 'ranks' when this statement finds the top N (the rank aggregate's source
   * over the query's range), 'folds' when it reads them from TOP_VALUES_PARAM (the runner binds what
   * the ranking statement kept; unbound, everything is "$other"). null: no breakdown, or 'totals'.
   */
  topN: 'ranks' | 'folds' | null;
  sql: string;
  params: Record<string, unknown>;
  /**
   * Read from the hourly rollup: valid when one of `guards` (tried in order) returns raw_rows =
   * rollup_rows; else run `fallback` (raw events).
   */
  rollup?: { guards: GuardStatement[]; fallback: CompiledStatement };
}

export interface GuardStatement {
  sql: string;
  params: Record<string, unknown>;
}

export interface QueryPlan {
  metrics: ResolvedMetric[];
  /** Aggregates per source, in first-use order. */
  leavesBySource: Map<SourceId, AggregateMetric[]>;
  rankLeaf: AggregateMetric;
  /** Every aggregate is additive: statements have the 'groups' shape. */
  additive: boolean;
}

function invalid(field: string, detail: string, detailZh: string): never {
  throw new PulseloopError('invalid_query', { field, ...detailText(detail, detailZh) });
}

/** Resolves the metrics and checks that dimensions, filters and granularity apply to each of them. */
export function planQuery(catalogue: Catalogue, query: MetricsQuery): QueryPlan {
  const metrics = query.metrics.map((id, i) => resolveMetric(catalogue, id, `metrics[${i}]`));
  metrics.forEach((metric, i) => {
    query.dimensions.forEach((dimension, j) => {
      if (!metricHasDimension(metric, dimension)) {
        invalid(
          `dimensions[${j}]`,
          `metric "${metric.def.id}" (metrics[${i}]) cannot be broken down by "${dimension}"`,
          `指标 "${metric.def.id}"（metrics[${i}]）不能按 "${dimension}" 分组`,
        );
      }
    });
    query.filters.forEach((filter, j) => {
      for (const source of metric.sources) {
        if (!sourceTakesFilter(source, filter.field)) {
          invalid(
            `filters[${j}].field`,
            `metric "${metric.def.id}" (metrics[${i}]) cannot be filtered by "${filter.field.slice(0, 60)}"`,
            `指标 "${metric.def.id}"（metrics[${i}]）不能按 "${filter.field.slice(0, 60)}" 筛选`,
          );
        }
      }
    });
    if (query.granularity === 'hour' && !metric.hourly) {
      invalid(
        'granularity',
        `metric "${metric.def.id}" (metrics[${i}]) has no hourly buckets; use day or longer`,
        `指标 "${metric.def.id}"（metrics[${i}]）没有按小时的数据；请使用 day 或更长的粒度`,
      );
    }
  });
  const leavesBySource = new Map<SourceId, AggregateMetric[]>();
  for (const metric of metrics) {
    for (const leaf of metric.leaves) {
      const list = leavesBySource.get(leaf.source) ?? [];
      if (!list.includes(leaf)) list.push(leaf);
      leavesBySource.set(leaf.source, list);
    }
  }
  const additive = [...leavesBySource.values()].every((list) => list.every((leaf) => leaf.additive === true));
  return { metrics, leavesBySource, rankLeaf: metrics[0]!.rankLeaf, additive };
}

function sourceTakesFilter(source: SourceId, field: string): boolean {
  if (source === 'events' || source === 'cohorts') {
    return (
      Object.hasOwn(EVENT_COLUMNS, field) || field.startsWith('properties.') || field.startsWith('person.')
    );
  }
  return sourceHasDimension(source, field);
}

// ── SQL pieces ────────────────────────────────────────────────────────────────────────────────

/** The bucket label of a time: local 'YYYY-MM-DD HH:00' for hours, the first day for the rest. */
export function bucketSql(time: string, kind: 'datetime' | 'date', granularity: Granularity): string {
  const tz = kind === 'datetime' ? ', {tz:String}' : '';
  switch (granularity) {
    case 'hour':
      return `formatDateTime(${time}, '%Y-%m-%d %H:00', {tz:String})`;
    case 'day':
      return kind === 'datetime' ? `toString(toDate(${time}${tz}))` : `toString(${time})`;
    case 'week':
      return `toString(toMonday(${time}${tz}))`;
    case 'month':
      return `toString(toStartOfMonth(${time}${tz}))`;
    case 'total':
      return `''`;
  }
}

const TEXT_OPS = [
  'eq',
  'neq',
  'in',
  'not_in',
  'contains',
  'not_contains',
  'starts_with',
  'is_set',
  'is_not_set',
];

function textOf(value: unknown, at: string): string {
  if (typeof value === 'string' && value.length <= 1000) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return invalid(at, 'expected a text or number value', '必须是文本或数字');
}

/** A filter on a dimension column of a non-event source (text comparisons only). */
function dimensionFilterSql(
  column: string,
  filter: MetricsQuery['filters'][number],
  params: SqlParams,
  at: string,
) {
  const { op, value } = filter;
  const list = () => {
    if (!Array.isArray(value) || value.length === 0 || value.length > 1000) {
      invalid(
        `${at}.value`,
        'expected a non-empty list of at most 1000 values',
        '必须是非空且最多 1000 个值的列表',
      );
    }
    return params.add(
      'Array(String)',
      value.map((v, i) => textOf(v, `${at}.value[${i}]`)),
    );
  };
  const one = () => params.add('String', textOf(value, `${at}.value`));
  switch (op) {
    case 'eq':
      return `${column} = ${one()}`;
    case 'neq':
      return `${column} != ${one()}`;
    case 'in':
      return `${column} IN ${list()}`;
    case 'not_in':
      return `${column} NOT IN ${list()}`;
    case 'contains':
      return `positionUTF8(${column}, ${one()}) > 0`;
    case 'not_contains':
      return `positionUTF8(${column}, ${one()}) = 0`;
    case 'starts_with':
      return `startsWith(${column}, ${one()})`;
    case 'is_set':
      return `${column} != ''`;
    case 'is_not_set':
      return `${column} = ''`;
    default:
      return invalid(
        `${at}.op`,
        `"${filter.field}" is text here: use one of ${TEXT_OPS.join(', ')}`,
        `"${filter.field}" 在此为文本：请使用 ${TEXT_OPS.join('、')} 之一`,
      );
  }
}

interface Frame {
  ctes: string[];
  from: string;
  where: string[];
  time: string;
  timeKind: 'datetime' | 'date';
  person: string;
  /** SQL of a dimension as text. */
  dimension(name: string): string;
  /** Event names the rows are restricted to (events frames), undefined: every row. */
  events?: readonly string[];
  /**
   * Every table read with FINAL keeps rows of one sort key in one partition (events, content_stats,
   * ad_spend), so FINAL_SETTINGS holds; orders (keyed by order id, partitioned by creation month) do not.
   */
  finalSafe: boolean;
}

interface FrameOptions {
  source: SourceId;
  range: DateRange;
  /** 'range': rows inside the range; 'before': every row before it (running-total openings). */
  window: 'range' | 'before';
  query: MetricsQuery;
  leaves: readonly AggregateMetric[];
  params: SqlParams;
}

function eventFilters(options: FrameOptions) {
  return compileFilters(options.query.filters, options.params, 'filters');
}

function usesTraits(options: FrameOptions, filterRefs: { source: string }[]): boolean {
  return (
    filterRefs.some((r) => r.source === 'person') ||
    options.query.dimensions.some((d) => d.startsWith('person.')) ||
    options.leaves.some((l) => l.needsPersonTraits)
  );
}

function eventDimension(params: SqlParams) {
  return (name: string) => fieldSql(parseField(name, 'dimensions'), 'string', params.add.bind(params));
}

/** Whether any aggregate reads the row's person (counts and sums do not: they skip the identity join). */
function readsPerson(leaves: readonly AggregateMetric[]): boolean {
  let used = false;
  const probe: AggregateSqlContext = {
    bind: () => '0',
    params: new SqlParams(),
    get person() {
      used = true;
      return "''";
    },
    sameBucket: () => '1',
  };
  for (const leaf of leaves) leaf.sql(probe);
  return used;
}

function eventsFrame(options: FrameOptions): Frame {
  const { params, range } = options;
  const filters = eventFilters(options);
  const traits = usesTraits(options, filters.refs);
  const persons = traits || readsPerson(options.leaves);
  let from = persons
    ? 'events AS e FINAL LEFT JOIN person_map AS pm ON pm.distinct_id = e.distinct_id'
    : 'events AS e FINAL';
  if (traits) from += ` LEFT JOIN person_traits AS pt ON pt.person_id = ${PERSON_SQL}`;
  const where = ['e.project_id = {project:String}', rangeCondition('e.timestamp', range, params)];
  // The sort key starts with the event name: naming the events prunes everything else.
  const events = eventNames(options.leaves);
  if (events) where.push(`e.event IN ${params.add('Array(String)', events)}`);
  where.push(filters.sql);
  return {
    ctes: traits ? [PERSON_MAP_CTE, PERSON_TRAITS_CTE] : persons ? [PERSON_MAP_CTE] : [],
    from,
    where,
    time: 'e.timestamp',
    timeKind: 'datetime',
    person: PERSON_SQL,
    dimension: eventDimension(params),
    ...(events && { events }),
    finalSafe: true,
  };
}

/** The event names a set of aggregates reads, or undefined when one reads every event. */
function eventNames(leaves: readonly AggregateMetric[]): string[] | undefined {
  if (!leaves.every((l) => l.events !== undefined)) return undefined;
  return [...new Set(leaves.flatMap((l) => l.events ?? []))];
}

/** The hourly rollup in place of events: same columns for dimensions and filters, `hour` for time. */
function rollupFrame(options: FrameOptions): Frame {
  const { params, range } = options;
  const filters = eventFilters(options);
  const where = ['e.project_id = {project:String}', rangeCondition('e.hour', range, params)];
  const events = eventNames(options.leaves);
  if (events) where.push(`e.event IN ${params.add('Array(String)', events)}`);
  where.push(filters.sql);
  return {
    ctes: [],
    from: `${EVENT_ROLLUP_TABLE} AS e`,
    where,
    time: 'e.hour',
    timeKind: 'datetime',
    person: "''",
    dimension: eventDimension(params),
    ...(events && { events }),
    finalSafe: true,
  };
}

/** An aggregate's SQL over the rollup (columns `events` and `revenue`); see AggregateMetric.rollup. */
function rollupAggregate(leaf: AggregateMetric, params: SqlParams): string {
  const read = leaf.rollup!;
  const column = read.measure === 'count' ? 'e.events' : 'e.revenue';
  const conditions: string[] = [];
  if (leaf.events) conditions.push(`e.event IN ${params.add('Array(String)', leaf.events)}`);
  if (read.filters && read.filters.length > 0) {
    conditions.push(compileFilters(read.filters, params, `metric ${leaf.id} filters`).sql);
  }
  const sum = conditions.length > 0 ? `sumIf(${column}, ${conditions.join(' AND ')})` : `sum(${column})`;
  return read.measure === 'count' ? sum : `toFloat64(${sum})`;
}

function tableFilters(options: FrameOptions): string[] {
  const dims = SOURCES[options.source].dimensions;
  return options.query.filters.map((f, i) =>
    dimensionFilterSql(dims[f.field]!, f, options.params, `filters[${i}]`),
  );
}

function dateWindow(column: string, options: FrameOptions): string {
  const from = options.params.add('String', options.range.from);
  if (options.window === 'before') return `${column} < toDate(${from})`;
  return `${column} BETWEEN toDate(${from}) AND toDate(${options.params.add('String', options.range.to)})`;
}

function tableFrame(options: FrameOptions, table: 'content_stats' | 'ad_spend'): Frame {
  const dims = SOURCES[options.source].dimensions;
  return {
    ctes: [],
    from: `${table} AS e FINAL`,
    where: ['e.project_id = {project:String}', dateWindow('e.date', options), ...tableFilters(options)],
    time: 'e.date',
    timeKind: 'date',
    person: "''",
    dimension: (name) => dims[name]!,
    finalSafe: true,
  };
}

/** Orders that count for sales, as in the catalogue. */
const FIRST_ORDERS_CTE = `first_orders AS (
    SELECT ${PERSON_SQL} AS person, min(e.created_at) AS first_at
    FROM orders AS e FINAL LEFT JOIN person_map AS pm ON pm.distinct_id = e.distinct_id
    WHERE e.project_id = {project:String} AND e.status != 'cancelled'
    GROUP BY person
  )`;

function ordersFrame(options: FrameOptions): Frame {
  const dims = SOURCES.orders.dimensions;
  const firstOrders = options.leaves.some((l) => l.needsFirstOrders);
  // Order counts and sums need no person: skip the identity join.
  const persons = firstOrders || readsPerson(options.leaves);
  let from = persons
    ? 'orders AS e FINAL LEFT JOIN person_map AS pm ON pm.distinct_id = e.distinct_id'
    : 'orders AS e FINAL';
  if (firstOrders) from += ` LEFT JOIN first_orders AS fo ON fo.person = ${PERSON_SQL}`;
  return {
    ctes: firstOrders ? [PERSON_MAP_CTE, FIRST_ORDERS_CTE] : persons ? [PERSON_MAP_CTE] : [],
    from,
    where: [
      'e.project_id = {project:String}',
      rangeCondition('e.created_at', options.range, options.params),
      ...tableFilters(options),
    ],
    time: 'e.created_at',
    timeKind: 'datetime',
    person: PERSON_SQL,
    dimension: (name) => dims[name]!,
    finalSafe: false,
  };
}

/** Longest return period a cohort metric looks at (D30), plus one day. */
const COHORT_FOLLOW_DAYS = 31;

function cohortsFrame(options: FrameOptions): Frame {
  const { params, range } = options;
  const filters = eventFilters(options);
  const traits = filters.refs.some((r) => r.source === 'person');
  let events = 'events AS e FINAL LEFT JOIN person_map AS pm ON pm.distinct_id = e.distinct_id';
  if (traits) events += ` LEFT JOIN person_traits AS pt ON pt.person_id = ${PERSON_SQL}`;
  const until = params.add('String', nextDay(range.to, COHORT_FOLLOW_DAYS));
  // First day ever of each person (so the scan starts at the beginning of the data) and every day active.
  const cohortRows = `cohort_rows AS (
    SELECT person, min(day) AS first_day, groupUniqArray(day) AS days, toDate(now(), {tz:String}) AS today_local
    FROM (
      SELECT ${PERSON_SQL} AS person, toDate(e.timestamp, {tz:String}) AS day
      FROM ${events}
      WHERE e.project_id = {project:String} AND e.timestamp < toDateTime64(${until}, 3, {tz:String}) AND ${filters.sql}
    )
    GROUP BY person
  )`;
  const ctes = traits ? [PERSON_MAP_CTE, PERSON_TRAITS_CTE, cohortRows] : [PERSON_MAP_CTE, cohortRows];
  let from = 'cohort_rows AS e';
  // Net revenue to date of each person (catalogue metric cohort_revenue reads r.revenue).
  const revenue = options.leaves.some((l) => l.id === 'cohort_revenue');
  if (revenue) {
    ctes.push(`cohort_revenue AS (
    SELECT ${PERSON_SQL} AS person, sum(toFloat64(e.amount)) AS revenue
    FROM orders AS e FINAL LEFT JOIN person_map AS pm ON pm.distinct_id = e.distinct_id
    WHERE e.project_id = {project:String} AND e.status NOT IN ('cancelled', 'refunded')
    GROUP BY person
  )`);
    from += ' LEFT JOIN cohort_revenue AS r ON r.person = e.person';
  }
  return {
    ctes,
    from,
    where: [dateWindow('e.first_day', options)],
    time: 'e.first_day',
    timeKind: 'date',
    person: 'e.person',
    dimension: () => invalid('dimensions', 'cohort metrics take no dimensions', '同期群指标不支持维度'),
    finalSafe: !revenue,
  };
}

function frameOf(options: FrameOptions): Frame {
  switch (options.source) {
    case 'events':
      return eventsFrame(options);
    case 'content':
      return tableFrame(options, 'content_stats');
    case 'ads':
      return tableFrame(options, 'ad_spend');
    case 'orders':
      return ordersFrame(options);
    case 'cohorts':
      return cohortsFrame(options);
  }
}

/** The breakdown of the 'totals' shape: text for one dimension, an array for several. */
function breakdownSql(frame: Frame, dimensions: readonly string[]): string {
  if (dimensions.length === 0) return 'emptyArrayString()';
  if (dimensions.length === 1) return `toString(${frame.dimension(dimensions[0]!)})`;
  return `[${dimensions.map((d) => `toString(${frame.dimension(d)})`).join(', ')}]`;
}

function aggregateContext(frame: Frame, params: SqlParams, granularity: Granularity, range: DateRange) {
  const context: AggregateSqlContext = {
    bind: params.add.bind(params),
    params,
    person: frame.person,
    sameBucket: (column) =>
      granularity === 'total'
        ? `${column} >= toDateTime64(${params.add('String', range.from)}, 3, {tz:String})`
        : `${bucketSql(column, 'datetime', granularity)} = ${bucketSql(frame.time, frame.timeKind, granularity)}`,
  };
  return context;
}

export interface CompileOptions {
  /** The range to read (the previous period for comparisons); default the query's range. */
  range?: DateRange;
  granularity?: Granularity;
  /** Read the hourly rollup where it answers exactly (default true). */
  rollups?: boolean;
}

interface StatementArgs {
  project: ProjectContext;
  query: MetricsQuery;
  plan: QueryPlan;
  source: SourceId;
  leaves: readonly AggregateMetric[];
  range: DateRange;
  granularity: Granularity;
  purpose: 'series' | 'opening';
}

/** Compiles the statements for a planned query; the top-N of a breakdown always ranks over the query's range. */
export function compileStatements(
  project: ProjectContext,
  query: MetricsQuery,
  plan: QueryPlan,
  options: CompileOptions = {},
): CompiledStatement[] {
  const range = options.range ?? query.dateRange;
  const granularity = options.granularity ?? query.granularity;
  const rollups = options.rollups ?? true;
  const statements: CompiledStatement[] = [];
  const base = { project, query, plan };
  for (const [source, leaves] of plan.leavesBySource) {
    statements.push(compileOne({ ...base, source, leaves, range, granularity, purpose: 'series' }, rollups));
    const cumulative = leaves.filter((l) => l.cumulative);
    if (cumulative.length > 0) {
      statements.push(
        compileOne(
          { ...base, source, leaves: cumulative, range, granularity: 'total', purpose: 'opening' },
          rollups,
        ),
      );
    }
  }
  return statements;
}

function compileOne(args: StatementArgs, rollups: boolean): CompiledStatement {
  if (!args.plan.additive) return compileTotals(args);
  const raw = compileGroups(args, false);
  if (!rollups || !rollupAnswers(args)) return raw;
  return { ...compileGroups(args, true), rollup: { guards: rollupGuards(args), fallback: raw } };
}

/**
 * Whether the hourly rollup answers a statement exactly: event counts or revenue only, dimensions
 * and filters on rollup columns, and a time zone whose offset is whole hours on those days (a UTC
 * hour then lies in one local hour, day, week and month; Asia/Kolkata's +5:30 reads raw events).
 */
function rollupAnswers({ project, query, source, leaves, range }: StatementArgs): boolean {
  return (
    source === 'events' &&
    leaves.every((l) => l.rollup !== undefined) &&
    query.dimensions.every(isRollupColumn) &&
    query.filters.every((f) => isRollupColumn(f.field)) &&
    hourAlignedZone(project.timeZone, nextDay(range.from, -1), nextDay(range.to, 1))
  );
}

/**
 * Checks that the rollup still equals `events` where a statement reads it, cheapest first; one that
 * holds is enough. The view adds every inserted row, so when the rows of `events` (without FINAL)
 * and the rollup's count differ, rows were deleted (erasure, retention) or re-delivered copies merged
 * away. 1: every project, the UTC months around the range, from part metadata (`system.parts`; a part
 * with lightweight-deleted rows counts none, so it fails) and the rollup alone; 2: the statement's own
 * project, events and range, counted in `events`.
 */
function rollupGuards({ project, leaves, range }: StatementArgs): GuardStatement[] {
  const months = utcMonths(nextDay(range.from, -1), nextDay(range.to, 1));
  const global = new SqlParams();
  const partitions = global.add('Array(String)', months);
  const monthNumbers = global.add('Array(UInt32)', months.map(Number));
  const wholeMonths = {
    sql: `SELECT
  (SELECT sumIf(rows, NOT has_lightweight_delete) FROM system.parts WHERE database = currentDatabase() AND table = 'events' AND active AND partition_id IN ${partitions}) AS raw_rows,
  (SELECT sum(events) FROM ${EVENT_ROLLUP_TABLE} WHERE toYYYYMM(hour) IN ${monthNumbers}) AS rollup_rows`,
    params: global.values,
  };
  const params = new SqlParams();
  bindProject(params, project);
  const names = eventNames(leaves);
  const event = names ? ` AND event IN ${params.add('Array(String)', names)}` : '';
  const own = {
    sql: `SELECT
  (SELECT count() FROM events WHERE project_id = {project:String}${event} AND ${rangeCondition('timestamp', range, params)}) AS raw_rows,
  (SELECT sum(events) FROM ${EVENT_ROLLUP_TABLE} WHERE project_id = {project:String}${event} AND ${rangeCondition('hour', range, params)}) AS rollup_rows`,
    params: params.values,
  };
  return [wholeMonths, own];
}

/** The UTC months (YYYYMM, the partitions of `events`) from one date to another. */
function utcMonths(from: string, to: string): string[] {
  const months: string[] = [];
  for (let month = `${from.slice(0, 7)}-01`; month <= to; month = nextMonth(month)) {
    months.push(month.slice(0, 4) + month.slice(5, 7));
  }
  return months;
}

function nextMonth(first: string): string {
  const year = Number(first.slice(0, 4));
  const month = Number(first.slice(5, 7));
  return month === 12 ? `${year + 1}-01-01` : `${year}-${String(month + 1).padStart(2, '0')}-01`;
}

/**
 * The 'groups' shape (see CompiledStatement.shape): one GROUP BY (bucket, breakdown values) over the
 * facts. With a breakdown it is wrapped: its rows are marked `in_top` (ranked here or read from the
 * bound top values), and an outer GROUP BY adds up the unmarked ones into "$other".
 */
function compileGroups(args: StatementArgs, fromRollup: boolean): CompiledStatement {
  const { project, query, source, leaves, range, purpose } = args;
  const params = new SqlParams();
  bindProject(params, project);
  const window = purpose === 'opening' ? 'before' : 'range';
  const options: FrameOptions = { source, range, window, query, leaves, params };
  const frame = fromRollup ? rollupFrame(options) : frameOf(options);
  const topN = topNOf(args);
  let select: string;
  if (topN === null) {
    select = groupingSql(args, frame, params, fromRollup, ANSWER_NAMES, false);
  } else {
    const rankRows = topN === 'ranks' && rankReadsFewerRows(args, frame);
    const grouped = groupingSql(args, frame, params, fromRollup, INNER_NAMES, rankRows);
    const marked =
      topN === 'ranks' ? markRankedTop(args, grouped, params, rankRows) : markBoundTop(args, grouped, params);
    select = foldOthers(args, marked, params);
  }
  const settings = !fromRollup && frame.finalSafe ? `\n${FINAL_SETTINGS}` : '';
  const sql = `${frame.ctes.length > 0 ? `WITH ${frame.ctes.join(',\n  ')}\n` : ''}${select}${settings}`;
  return {
    source,
    purpose,
    leaves: leaves.map((l) => l.id),
    shape: 'groups',
    topN,
    sql,
    params: params.values,
  };
}

/**
 * Which statement of a breakdown ranks: the rank aggregate's source over the query's own range (as
 * the 'totals' shape ranks); the previous period, running-total openings and other sources fold by it.
 */
function topNOf({ query, plan, source, range, purpose }: StatementArgs): CompiledStatement['topN'] {
  if (query.dimensions.length === 0) return null;
  const ranks =
    purpose === 'series' &&
    source === plan.rankLeaf.source &&
    range.from === query.dateRange.from &&
    range.to === query.dateRange.to;
  return ranks ? 'ranks' : 'folds';
}

/** The rank aggregate reads fewer events than the statement: only values it has rows for may rank. */
function rankReadsFewerRows({ plan }: StatementArgs, frame: Frame): boolean {
  const rankEvents = plan.rankLeaf.events;
  return rankEvents !== undefined && !sameSet(rankEvents, frame.events);
}

interface ColumnNames {
  /** Prefix of the breakdown value columns. */
  value: string;
  /** Prefix of the aggregate columns. */
  aggregate: string;
}

/** The answer's own columns (b0…, m0…), and those of the GROUP BY under a fold (v0…, a0…). */
const ANSWER_NAMES: ColumnNames = { value: 'b', aggregate: 'm' };
const INNER_NAMES: ColumnNames = { value: 'v', aggregate: 'a' };

/**
 * SELECT bucket, breakdown values and aggregates, grouped by bucket and values; with `rankRows`, `r`
 * counts the rows the rank aggregate reads.
 */
function groupingSql(
  args: StatementArgs,
  frame: Frame,
  params: SqlParams,
  fromRollup: boolean,
  names: ColumnNames,
  rankRows: boolean,
): string {
  const { query, plan, leaves, range, granularity } = args;
  const context = aggregateContext(frame, params, granularity, range);
  const columns = [`${bucketSql(frame.time, frame.timeKind, granularity)} AS bucket`];
  query.dimensions.forEach((d, i) => {
    columns.push(`toString(${frame.dimension(d)}) AS ${names.value}${i}`);
  });
  if (rankRows) {
    const events = params.add('Array(String)', plan.rankLeaf.events);
    columns.push(
      fromRollup ? `sumIf(e.events, e.event IN ${events}) AS r` : `countIf(e.event IN ${events}) AS r`,
    );
  }
  leaves.forEach((leaf, i) => {
    columns.push(
      `${fromRollup ? rollupAggregate(leaf, params) : leaf.sql(context)} AS ${names.aggregate}${i}`,
    );
  });
  const keys = ['bucket', ...query.dimensions.map((_, i) => `${names.value}${i}`)];
  const groupBy =
    granularity === 'total' && query.dimensions.length === 0 ? '' : `\nGROUP BY ${keys.join(', ')}`;
  return `SELECT ${columns.join(',\n  ')}
FROM ${frame.from}
WHERE ${frame.where.join('\n  AND ')}${groupBy}`;
}

/**
 * Marks the rows of the top N values as the 'totals' shape ranks them: by the rank aggregate's total
 * over the range, descending, then by the values (as bytes, dimension by dimension); values the rank
 * aggregate reads no rows of take no place. Window functions over the grouped rows, so the facts are
 * read once.
 */
function markRankedTop(args: StatementArgs, rows: string, params: SqlParams, rankRows: boolean): string {
  const { query, plan, leaves } = args;
  const rankColumn = `a${leaves.findIndex((leaf) => leaf.id === plan.rankLeaf.id)}`;
  const columns = [
    '*',
    `sum(${rankColumn}) OVER per_value AS total`,
    rankRows ? '(sum(r) OVER per_value) > 0 AS eligible' : '1 AS eligible',
  ];
  const keys = query.dimensions.map((_, i) => `v${i}`);
  const limit = params.add('UInt32', query.breakdownLimit);
  // dense_rank: every row of a value shares the value's place, and no two values share one (the
  // values are part of the sort key), so place ≤ N keeps the rows of at most N values.
  return `SELECT *, eligible AND dense_rank() OVER (ORDER BY eligible DESC, total DESC, ${keys.join(', ')}) <= ${limit} AS in_top
FROM (
  SELECT ${columns.join(',\n    ')}
  FROM (
${rows}
  )
  WINDOW per_value AS (PARTITION BY ${keys.join(', ')})
)`;
}

/** Marks the rows of the top values the ranking statement kept (bound to TOP_VALUES_PARAM when run). */
function markBoundTop({ query }: StatementArgs, rows: string, params: SqlParams): string {
  params.set(TOP_VALUES_PARAM, 'Array(Array(String))', []);
  const keys = query.dimensions.map((_, i) => `v${i}`);
  return `SELECT *, [${keys.join(', ')}] IN {${TOP_VALUES_PARAM}:Array(Array(String))} AS in_top
FROM (
${rows}
)`;
}

/**
 * Keeps the marked values' rows and adds up the rest of each bucket into "$other". With several
 * dimensions `rest` tells that row from a kept value whose values happen to read "$other", "", …
 * (with one, both are the series ["$other"], as the runner always folded them).
 */
function foldOthers({ query, leaves }: StatementArgs, rows: string, params: SqlParams): string {
  const other = params.add('String', OTHER);
  const several = query.dimensions.length > 1;
  const columns = [
    'bucket',
    ...query.dimensions.map((_, i) => `if(in_top, v${i}, ${i === 0 ? other : "''"}) AS b${i}`),
    ...(several ? ['NOT in_top AS rest'] : []),
    ...leaves.map((_, i) => `sum(a${i}) AS m${i}`),
  ];
  const keys = ['bucket', ...query.dimensions.map((_, i) => `b${i}`), ...(several ? ['rest'] : [])];
  return `SELECT ${columns.join(',\n  ')}
FROM (
${rows}
)
GROUP BY ${keys.join(', ')}`;
}

function sameSet(a: readonly string[], b: readonly string[] | undefined): boolean {
  return b !== undefined && a.length === new Set(b).size && a.every((x) => b.includes(x));
}

/** The 'totals' shape (some aggregate is not additive); see CompiledStatement.shape. */
function compileTotals(args: StatementArgs): CompiledStatement {
  const { project, query, plan, source, leaves, range, granularity, purpose } = args;
  const params = new SqlParams();
  bindProject(params, project);
  const window = purpose === 'opening' ? 'before' : 'range';
  const frame = frameOf({ source, range, window, query, leaves, params });
  const ctes = [...frame.ctes];
  let finalSafe = frame.finalSafe;

  let breakdown = breakdownSql(frame, query.dimensions);
  if (query.dimensions.length > 0) {
    const rankLeaves = [plan.rankLeaf];
    const rankFrame = frameOf({
      source: plan.rankLeaf.source,
      range: query.dateRange,
      window: 'range',
      query,
      leaves: rankLeaves,
      params,
    });
    finalSafe &&= rankFrame.finalSafe;
    for (const cte of rankFrame.ctes) if (!ctes.includes(cte)) ctes.push(cte);
    const rankAggregate = plan.rankLeaf.sql(aggregateContext(rankFrame, params, 'total', query.dateRange));
    ctes.push(`top AS (
    SELECT ${breakdownSql(rankFrame, query.dimensions)} AS v
    FROM ${rankFrame.from}
    WHERE ${rankFrame.where.join('\n      AND ')}
    GROUP BY v
    ORDER BY ${rankAggregate} DESC, v
    LIMIT ${params.add('UInt32', query.breakdownLimit)}
  )`);
    const other = params.add('String', OTHER);
    breakdown = `if(${breakdown} IN (SELECT v FROM top), ${breakdown}, ${query.dimensions.length === 1 ? other : `[${other}]`})`;
  }

  const context = aggregateContext(frame, params, granularity, range);
  const aggregates = leaves.map((leaf, i) => `${leaf.sql(context)} AS m${i}`);
  const bucket = bucketSql(frame.time, frame.timeKind, granularity);
  const hasDims = query.dimensions.length > 0;
  let groupBy: string;
  if (granularity === 'total') groupBy = hasDims ? 'GROUP BY GROUPING SETS ((breakdown), ())' : '';
  else
    groupBy = hasDims
      ? 'GROUP BY GROUPING SETS ((bucket, breakdown), (breakdown), ())'
      : 'GROUP BY GROUPING SETS ((bucket), ())';

  // grouping(x) = 1 marks the rows where x is rolled up (the totals); the key itself then holds a default.
  const markers = [
    ...(granularity === 'total' ? [] : ['grouping(bucket) AS total_bucket']),
    ...(hasDims ? ['grouping(breakdown) AS total_breakdown'] : []),
  ];
  const settings = finalSafe ? `\n${FINAL_SETTINGS}` : '';
  const sql = `${ctes.length > 0 ? `WITH ${ctes.join(',\n  ')}\n` : ''}SELECT ${bucket} AS bucket, ${breakdown} AS breakdown,
  ${[...markers, ...aggregates].join(',\n  ')}
FROM ${frame.from}
WHERE ${frame.where.join('\n  AND ')}
${groupBy}${settings}`;
  return {
    source,
    purpose,
    leaves: leaves.map((l) => l.id),
    shape: 'totals',
    topN: null,
    sql,
    params: params.values,
  };
}
