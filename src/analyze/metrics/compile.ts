import { PulseloopError } from '../../errors/registry.js';
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
 * Compiles a metrics query into ClickHouse SQL: one statement per facts source the metrics read,
 * each returning rows `{bucket, breakdown, m0, m1, …}` for every (bucket, breakdown value), every
 * breakdown value's total (bucket '') and the overall total (bucket '', breakdown []), through
 * GROUPING SETS. A breakdown keeps the top-N values by the first metric (ranked over the query's own
 * date range) and folds the rest into "$other".
 */

export const OTHER = '$other';

export interface CompiledStatement {
  source: SourceId;
  /** 'series': buckets and totals in the range; 'opening': running totals before the range starts. */
  purpose: 'series' | 'opening';
  /** Aggregate metric ids, in column order (m0, m1, …). */
  leaves: string[];
  sql: string;
  params: Record<string, unknown>;
}

export interface QueryPlan {
  metrics: ResolvedMetric[];
  /** Aggregates per source, in first-use order. */
  leavesBySource: Map<SourceId, AggregateMetric[]>;
  rankLeaf: AggregateMetric;
}

function invalid(field: string, detail: string): never {
  throw new PulseloopError('invalid_query', { field, detail });
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
        );
      }
    });
    query.filters.forEach((filter, j) => {
      for (const source of metric.sources) {
        if (!sourceTakesFilter(source, filter.field)) {
          invalid(
            `filters[${j}].field`,
            `metric "${metric.def.id}" (metrics[${i}]) cannot be filtered by "${filter.field.slice(0, 60)}"`,
          );
        }
      }
    });
    if (query.granularity === 'hour' && !metric.hourly) {
      invalid(
        'granularity',
        `metric "${metric.def.id}" (metrics[${i}]) has no hourly buckets; use day or longer`,
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
  return { metrics, leavesBySource, rankLeaf: metrics[0]!.rankLeaf };
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
  return invalid(at, 'expected a text or number value');
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
      invalid(`${at}.value`, 'expected a non-empty list of at most 1000 values');
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
      return invalid(`${at}.op`, `"${filter.field}" is text here: use one of ${TEXT_OPS.join(', ')}`);
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
  if (options.leaves.every((l) => l.events !== undefined)) {
    const names = [...new Set(options.leaves.flatMap((l) => l.events ?? []))];
    where.push(`e.event IN ${params.add('Array(String)', names)}`);
  }
  where.push(filters.sql);
  return {
    ctes: traits ? [PERSON_MAP_CTE, PERSON_TRAITS_CTE] : persons ? [PERSON_MAP_CTE] : [],
    from,
    where,
    time: 'e.timestamp',
    timeKind: 'datetime',
    person: PERSON_SQL,
    dimension: eventDimension(params),
  };
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
  let from = 'orders AS e FINAL LEFT JOIN person_map AS pm ON pm.distinct_id = e.distinct_id';
  if (firstOrders) from += ` LEFT JOIN first_orders AS fo ON fo.person = ${PERSON_SQL}`;
  return {
    ctes: firstOrders ? [PERSON_MAP_CTE, FIRST_ORDERS_CTE] : [PERSON_MAP_CTE],
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
  if (options.leaves.some((l) => l.id === 'cohort_revenue')) {
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
    dimension: () => invalid('dimensions', 'cohort metrics take no dimensions'),
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

function breakdownSql(frame: Frame, dimensions: readonly string[]): string {
  if (dimensions.length === 0) return 'emptyArrayString()';
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
  const statements: CompiledStatement[] = [];
  for (const [source, leaves] of plan.leavesBySource) {
    statements.push(compileOne(project, query, plan, source, leaves, range, granularity, 'series'));
    const cumulative = leaves.filter((l) => l.cumulative);
    if (cumulative.length > 0) {
      statements.push(compileOne(project, query, plan, source, cumulative, range, 'total', 'opening'));
    }
  }
  return statements;
}

function compileOne(
  project: ProjectContext,
  query: MetricsQuery,
  plan: QueryPlan,
  source: SourceId,
  leaves: readonly AggregateMetric[],
  range: DateRange,
  granularity: Granularity,
  purpose: 'series' | 'opening',
): CompiledStatement {
  const params = new SqlParams();
  bindProject(params, project);
  const window = purpose === 'opening' ? 'before' : 'range';
  const frame = frameOf({ source, range, window, query, leaves, params });
  const ctes = [...frame.ctes];

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
    breakdown = `if(${breakdown} IN (SELECT v FROM top), ${breakdown}, [${params.add('String', OTHER)}])`;
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
  const sql = `${ctes.length > 0 ? `WITH ${ctes.join(',\n  ')}\n` : ''}SELECT ${bucket} AS bucket, ${breakdown} AS breakdown,
  ${[...markers, ...aggregates].join(',\n  ')}
FROM ${frame.from}
WHERE ${frame.where.join('\n  AND ')}
${groupBy}`;
  return { source, purpose, leaves: leaves.map((l) => l.id), sql, params: params.values };
}
