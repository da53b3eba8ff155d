import type { FactsEngine } from '../../store/facts/engine.js';
import { type DateRange, nextDay, type ProjectContext, previousPeriod, rangeDays } from '../query/scope.js';
import type { MetricDef, MetricFormat, MetricUnit } from './catalogue.js';
import {
  type CompiledStatement,
  compileStatements,
  type GuardStatement,
  OTHER,
  planQuery,
  type QueryPlan,
  TOP_VALUES_PARAM,
} from './compile.js';
import { evaluateFormula, type FormulaNode, parseFormula } from './formula.js';
import type { Granularity, MetricsQuery } from './query.js';
import type { Catalogue } from './resolve.js';

/**
 * Runs a metrics query and shapes the result for charts: one series per metric × breakdown value
 * with a point for every bucket of the range (zeros where no data), totals, and the previous
 * period's totals with the change in percent.
 */

export interface TrendPoint {
  t: string;
  value: number | null;
}

export interface TrendSeries {
  metric: string;
  /** The breakdown values (one per dimension), `["$other"]` for the rest, null without breakdown. */
  breakdown: string[] | null;
  points: TrendPoint[];
  total: number | null;
  previousTotal: number | null;
  changePercent: number | null;
}

export interface MetricsResult {
  timeZone: string;
  currency: string;
  granularity: Granularity;
  dateRange: DateRange;
  previousRange: DateRange | null;
  buckets: string[];
  metrics: {
    id: string;
    en: string;
    zh: string;
    unit: MetricUnit;
    format: MetricFormat;
    higherIsBetter: boolean | null;
  }[];
  series: TrendSeries[];
  totals: {
    metric: string;
    value: number | null;
    previousValue: number | null;
    changePercent: number | null;
  }[];
}

interface Bucket {
  t: string;
  /** Days, calendar weeks and months of the bucket inside the range ($days, $weeks, $months). */
  days: number;
  weeks: number;
  months: number;
}

function mondayOf(date: string): string {
  const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
  return nextDay(date, -((weekday + 6) % 7));
}

function bucketKey(date: string, granularity: Granularity): string {
  if (granularity === 'week') return mondayOf(date);
  if (granularity === 'month') return `${date.slice(0, 7)}-01`;
  if (granularity === 'total') return '';
  return date;
}

/** Every bucket of the range in order, with its length inside the range. */
export function bucketsOf(range: DateRange, granularity: Granularity): Bucket[] {
  if (granularity === 'hour') {
    const out: Bucket[] = [];
    for (let d = range.from; d <= range.to; d = nextDay(d)) {
      for (let h = 0; h < 24; h += 1)
        out.push({ t: `${d} ${String(h).padStart(2, '0')}:00`, days: 1, weeks: 1, months: 1 });
    }
    return out;
  }
  const groups = new Map<string, { days: number; weeks: Set<string>; months: Set<string> }>();
  for (let d = range.from; d <= range.to; d = nextDay(d)) {
    const key = bucketKey(d, granularity);
    const group = groups.get(key) ?? { days: 0, weeks: new Set(), months: new Set() };
    group.days += 1;
    group.weeks.add(mondayOf(d));
    group.months.add(d.slice(0, 7));
    groups.set(key, group);
  }
  return [...groups].map(([t, g]) => ({ t, days: g.days, weeks: g.weeks.size, months: g.months.size }));
}

interface Row {
  bucket: string;
  /** 'totals' shape: text (one dimension) or array (several). */
  breakdown?: string[] | string;
  total_bucket?: number;
  total_breakdown?: number;
  [column: string]: unknown;
}

/** Aggregate values by leaf → `${bucket}\u0000${breakdown}`. */
type LeafValues = Map<string, Map<string, number | null>>;

const keyOf = (bucket: string, breakdown: readonly string[]) => `${bucket}\u0000${JSON.stringify(breakdown)}`;

function toNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

interface StatementRows {
  statement: CompiledStatement;
  rows: Row[];
}

type GuardRow = { raw_rows: unknown; rollup_rows: unknown };

async function guardHolds(facts: FactsEngine, guard: GuardStatement): Promise<boolean> {
  try {
    const [check] = await facts.query<GuardRow>(guard.sql, guard.params);
    return check !== undefined && Number(check.raw_rows) === Number(check.rollup_rows);
  } catch {
    // e.g. no access to system.parts on a ClickHouse server: the next guard decides.
    return false;
  }
}

/** Runs one statement; a rollup statement none of whose guards holds runs its raw-events fallback instead. */
async function runStatement(facts: FactsEngine, statement: CompiledStatement): Promise<StatementRows> {
  if (!statement.rollup) return { statement, rows: await facts.query<Row>(statement.sql, statement.params) };
  const { guards, fallback } = statement.rollup;
  const [rows, first] = await Promise.all([
    facts.query<Row>(statement.sql, statement.params),
    guardHolds(facts, guards[0]!),
  ]);
  if (first) return { statement, rows };
  for (const guard of guards.slice(1)) {
    if (await guardHolds(facts, guard)) return { statement, rows };
  }
  return { statement: fallback, rows: await facts.query<Row>(fallback.sql, fallback.params) };
}

/**
 * A folding statement (and its raw-events fallback) with the top values the ranking statement kept
 * bound; other statements as they are.
 */
function withTopValues(statement: CompiledStatement, top: readonly string[][]): CompiledStatement {
  if (statement.topN !== 'folds') return statement;
  const bound = { ...statement, params: { ...statement.params, [TOP_VALUES_PARAM]: top } };
  if (!statement.rollup) return bound;
  return {
    ...bound,
    rollup: { ...statement.rollup, fallback: withTopValues(statement.rollup.fallback, top) },
  };
}

/**
 * Runs the statements of the range and of the previous period. With a breakdown, the one that ranks
 * the top N runs first; the others then fold by the values it kept, all in parallel.
 */
async function runStatements(
  facts: FactsEngine,
  current: CompiledStatement[],
  previous: CompiledStatement[],
  dimensions: number,
): Promise<[StatementRows[], StatementRows[]]> {
  const ranking = current.find((s) => s.topN === 'ranks');
  const ranked = ranking ? await runStatement(facts, ranking) : undefined;
  const top = ranked ? keptValues(ranked.rows, dimensions) : [];
  const run = (s: CompiledStatement) => runStatement(facts, withTopValues(s, top));
  const [currentRows, previousRows] = await Promise.all([
    Promise.all(current.filter((s) => s !== ranking).map(run)),
    Promise.all(previous.map(run)),
  ]);
  return [ranked ? [ranked, ...currentRows] : currentRows, previousRows];
}

interface Collected {
  values: LeafValues;
  breakdowns: Map<string, string[]>;
  openings: LeafValues;
}

/** Breakdown values of a 'groups' row (b0, b1, …). */
function groupValues(row: Row, dimensions: number): string[] {
  const values: string[] = [];
  for (let i = 0; i < dimensions; i += 1) values.push(String(row[`b${i}`] ?? ''));
  return values;
}

/** The series a 'groups' row belongs to: its breakdown values, or ["$other"] for the rest the SQL added up. */
function breakdownOf(row: Row, dimensions: number): string[] {
  return Number(row.rest) === 1 ? [OTHER] : groupValues(row, dimensions);
}

/**
 * The values the ranking statement kept (its rows but "$other"). With one dimension a kept value that
 * reads "$other" is left out: folded by the other statements, it lands in the same series ["$other"].
 */
function keptValues(rows: Row[], dimensions: number): string[][] {
  const kept = new Map<string, string[]>();
  for (const row of rows) {
    const values = breakdownOf(row, dimensions);
    if (values.length === 1 && values[0] === OTHER) continue;
    kept.set(JSON.stringify(values), values);
  }
  return [...kept.values()];
}

/**
 * Reads statement rows into leaf values by (bucket, breakdown). 'groups' rows (the top N folded by
 * the SQL) are added up into each bucket, each breakdown value's total and the overall total.
 */
function collect(results: StatementRows[], query: MetricsQuery): Collected {
  const values: LeafValues = new Map();
  const openings: LeafValues = new Map();
  const breakdowns = new Map<string, string[]>();
  const dimensions = query.dimensions.length;
  for (const { statement, rows } of results) {
    const target = statement.purpose === 'opening' ? openings : values;
    const maps = statement.leaves.map((leaf) => {
      const map = target.get(leaf) ?? new Map<string, number | null>();
      target.set(leaf, map);
      return map;
    });
    for (const row of rows) {
      let bucket: string;
      let breakdown: string[];
      let keys: string[];
      if (statement.shape === 'groups') {
        bucket = row.bucket;
        breakdown = dimensions === 0 ? [] : breakdownOf(row, dimensions);
        keys = [...new Set([keyOf(bucket, breakdown), keyOf('', breakdown), keyOf('', [])])];
      } else {
        const b = row.breakdown ?? [];
        breakdown = row.total_breakdown === 1 ? [] : typeof b === 'string' ? [b] : b;
        bucket = row.total_bucket === 1 ? '' : row.bucket;
        keys = [keyOf(bucket, breakdown)];
      }
      if (breakdown.length > 0 && statement.purpose === 'series')
        breakdowns.set(JSON.stringify(breakdown), breakdown);
      statement.leaves.forEach((_, j) => {
        const value = toNumber(row[`m${j}`]);
        const map = maps[j]!;
        for (const key of keys) {
          if (statement.shape === 'groups') map.set(key, (map.get(key) ?? 0) + (value ?? 0));
          else map.set(key, value);
        }
      });
    }
  }
  return { values, breakdowns, openings };
}

/** Value of a metric at one point, computing formulas over the aggregates' values there. */
function metricValue(
  catalogue: Catalogue,
  def: MetricDef,
  leaf: (id: string) => number | null,
  bucket: Bucket,
  depth = 0,
): number | null {
  if (def.kind === 'aggregate') return leaf(def.id);
  if (depth > 20) return null;
  return evaluateFormula(treeOf(def.expression), (ref) => {
    if (ref === '$days') return bucket.days;
    if (ref === '$weeks') return bucket.weeks;
    if (ref === '$months') return bucket.months;
    const inner = catalogue.get(ref);
    return inner ? metricValue(catalogue, inner, leaf, bucket, depth + 1) : null;
  });
}

const trees = new Map<string, FormulaNode>();

function treeOf(expression: string): FormulaNode {
  let tree = trees.get(expression);
  if (!tree) {
    tree = parseFormula(expression);
    if (trees.size > 10_000) trees.clear();
    trees.set(expression, tree);
  }
  return tree;
}

function changePercent(current: number | null, previous: number | null): number | null {
  if (current === null || previous === null || previous === 0) return null;
  return ((current - previous) / Math.abs(previous)) * 100;
}

export interface RunContext {
  facts: FactsEngine;
  project: ProjectContext;
  catalogue: Catalogue;
}

/** Runs a parsed metrics query (see MetricsQuery) and returns chart-ready series. */
export async function runMetricsQuery(
  context: RunContext,
  query: MetricsQuery,
  options: { rollups?: boolean } = {},
): Promise<MetricsResult> {
  const { facts, project, catalogue } = context;
  const plan: QueryPlan = planQuery(catalogue, query);
  const statements = compileStatements(project, query, plan, options);
  const previousRange = query.compare === 'previous_period' ? previousPeriod(query.dateRange) : null;
  const previousStatements = previousRange
    ? compileStatements(project, query, plan, { ...options, range: previousRange, granularity: 'total' })
    : [];
  const [currentRows, previousRows] = await runStatements(
    facts,
    statements,
    previousStatements,
    query.dimensions.length,
  );
  const current = collect(currentRows, query);
  const previous = previousRange ? collect(previousRows, query) : undefined;

  const buckets = bucketsOf(query.dateRange, query.granularity);
  const totalBucket: Bucket = {
    t: '',
    days: rangeDays(query.dateRange),
    ...(() => {
      const [all] = bucketsOf(query.dateRange, 'total');
      return { weeks: all!.weeks, months: all!.months };
    })(),
  };
  const previousBucket: Bucket | null = previousRange
    ? { ...bucketsOf(previousRange, 'total')[0]!, t: '' }
    : null;
  const cumulative = new Set(
    plan.metrics.flatMap((m) => m.leaves.filter((l) => l.cumulative).map((l) => l.id)),
  );

  // Leaf value at (bucket, breakdown); running totals add the opening and every earlier bucket.
  const leafAt = (
    run: { values: LeafValues; openings: LeafValues },
    id: string,
    bucketIndex: number | 'total',
    breakdown: readonly string[],
  ): number | null => {
    const values = run.values.get(id);
    // No row: nothing happened there (0); a row with null: an average of nothing (no data).
    const read = (bucket: string) => {
      const key = keyOf(bucket, breakdown);
      return values?.has(key) ? (values.get(key) ?? null) : 0;
    };
    if (!cumulative.has(id)) return read(bucketIndex === 'total' ? '' : buckets[bucketIndex]!.t);
    let sum = run.openings.get(id)?.get(keyOf('', breakdown)) ?? 0;
    if (bucketIndex === 'total') return sum + (read('') ?? 0);
    for (let i = 0; i <= bucketIndex; i += 1) sum += read(buckets[i]!.t) ?? 0;
    return sum;
  };

  const rank = plan.rankLeaf.id;
  const breakdownList = [...current.breakdowns.values()].sort((a, b) => {
    if (a.length === 1 && a[0] === OTHER) return 1;
    if (b.length === 1 && b[0] === OTHER) return -1;
    const diff = (leafAt(current, rank, 'total', b) ?? 0) - (leafAt(current, rank, 'total', a) ?? 0);
    return diff !== 0 ? diff : JSON.stringify(a) < JSON.stringify(b) ? -1 : 1;
  });
  const seriesKeys: (string[] | null)[] = query.dimensions.length > 0 ? breakdownList : [null];

  const series: TrendSeries[] = [];
  for (const metric of plan.metrics) {
    for (const breakdown of seriesKeys) {
      const b = breakdown ?? [];
      const points = buckets.map((bucket, i) => ({
        t: query.granularity === 'total' ? 'total' : bucket.t,
        value: metricValue(catalogue, metric.def, (id) => leafAt(current, id, i, b), bucket),
      }));
      const total = metricValue(catalogue, metric.def, (id) => leafAt(current, id, 'total', b), totalBucket);
      const previousTotal =
        previous && previousBucket
          ? metricValue(catalogue, metric.def, (id) => leafAt(previous, id, 'total', b), previousBucket)
          : null;
      series.push({
        metric: metric.def.id,
        breakdown,
        points,
        total,
        previousTotal,
        changePercent: changePercent(total, previousTotal),
      });
    }
  }
  const totals = plan.metrics.map((metric) => {
    const value = metricValue(catalogue, metric.def, (id) => leafAt(current, id, 'total', []), totalBucket);
    const previousValue =
      previous && previousBucket
        ? metricValue(catalogue, metric.def, (id) => leafAt(previous, id, 'total', []), previousBucket)
        : null;
    return {
      metric: metric.def.id,
      value,
      previousValue,
      changePercent: changePercent(value, previousValue),
    };
  });

  return {
    timeZone: project.timeZone,
    currency: project.currency,
    granularity: query.granularity,
    dateRange: query.dateRange,
    previousRange,
    buckets: query.granularity === 'total' ? ['total'] : buckets.map((b) => b.t),
    metrics: plan.metrics.map(({ def }) => ({
      id: def.id,
      en: def.en,
      zh: def.zh,
      unit: def.unit,
      format: def.format,
      higherIsBetter: def.higherIsBetter,
    })),
    series,
    totals,
  };
}
