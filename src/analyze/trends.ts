import { defineAnalysis } from './analysis.js';
import {
  type CompiledStatement,
  type CompileOptions,
  compileStatements,
  planQuery,
} from './metrics/compile.js';
import { loadCatalogue } from './metrics/custom.js';
import { type MetricsQuery, parseMetricsQuery } from './metrics/query.js';
import { BUILT_IN_CATALOGUE, type Catalogue, resolveMetric } from './metrics/resolve.js';
import { type MetricsResult, runMetricsQuery } from './metrics/run.js';
import { type DateRange, nextDay, type ProjectContext, previousPeriod } from './query/scope.js';

/**
 * Trends: metrics over time in the project time zone, broken down by dimensions (top-N with the
 * rest as "$other"), compared with the previous period. The query model and compiler live in
 * ./metrics; this module registers them as the `trends` analysis.
 */
export const trends = defineAnalysis<MetricsQuery, MetricsResult>({
  kind: 'trends',
  en: 'Trends',
  zh: '趋势分析',
  parse: parseMetricsQuery,
  async run(context, query) {
    const catalogue = await loadCatalogue(context.metadata, context.project.projectId, query.metrics);
    return runMetricsQuery({ facts: context.facts, project: context.project, catalogue }, query);
  },
  dependsOn: trendsDependsOn,
});

/** Start of all data: cohorts find first days and running totals add everything before the range. */
const BEGINNING = '1970-01-01';

/**
 * The event days a trends result depends on. Most metrics read only their range (and the previous
 * period when compared); cohort metrics, running totals and new buyers also read the days before it
 * (and cohorts 31 days after), and a custom metric might be any of these, so those reach further.
 */
export function trendsDependsOn(query: MetricsQuery): DateRange {
  const from =
    query.compare === 'previous_period' ? previousPeriod(query.dateRange).from : query.dateRange.from;
  const bounded = query.metrics.every((id) => {
    const def = BUILT_IN_CATALOGUE.get(id);
    if (!def) return false;
    const leaves = resolveMetric(BUILT_IN_CATALOGUE, id, 'metrics').leaves;
    return leaves.every((l) => l.source !== 'cohorts' && !l.cumulative && !l.needsFirstOrders);
  });
  return bounded
    ? { from, to: query.dateRange.to }
    : { from: BEGINNING, to: nextDay(query.dateRange.to, 31) };
}

/**
 * The SQL a trends query compiles to, without running it (benchmarks compare it with hand-written
 * SQL). `sql`/`params` are the first statement; `statements` lists one per facts source. A statement
 * read from the hourly rollup carries its guard and raw-events fallback (`rollups: false` compiles
 * only raw-events SQL).
 */
export function compileTrends(
  project: ProjectContext,
  body: unknown,
  catalogue: Catalogue = BUILT_IN_CATALOGUE,
  options: CompileOptions = {},
): { sql: string; params: Record<string, unknown>; statements: CompiledStatement[] } {
  const query = parseMetricsQuery(body);
  const statements = compileStatements(project, query, planQuery(catalogue, query), options);
  return { sql: statements[0]!.sql, params: statements[0]!.params, statements };
}
