import type { AnalysisContext } from '../analyze/analysis.js';
import { loadCatalogue } from '../analyze/metrics/custom.js';
import type { MetricsQuery } from '../analyze/metrics/query.js';
import { resolveMetric } from '../analyze/metrics/resolve.js';
import type { MetricsResult } from '../analyze/metrics/run.js';
import { trends } from '../analyze/trends.js';
import { detailText, PulseloopError } from '../errors/registry.js';
import { laplaceNoise, type Rng, seededRng, suppressSmallCells } from './aggregates.js';

/**
 * Privacy-safe breakdown exports: a trends query over the whole range, one row per breakdown value,
 * with the number of persons behind each row. Rows describing 1…k−1 persons have their numbers
 * withheld; with ε, person counts get Laplace noise. Content statistics and ad spend are platform
 * aggregates with no person behind a row, so they are never suppressed on their own.
 */

/** The persons metric counted for each source that holds personal rows. */
const PERSONS_METRIC_OF_SOURCE: Record<string, string> = { events: 'active_persons', orders: 'buyers' };

export interface BreakdownExportOptions {
  /** A trends query body (metrics, dimensions, dateRange, filters…); granularity is forced to the whole range. */
  query: Record<string, unknown>;
  /** Smallest number of persons a published row may describe (default 5). */
  k: number;
  /** Privacy budget for Laplace noise on person counts; none when absent. */
  epsilon?: number;
  /** Makes the noise reproducible (a report shared twice then shows the same numbers). */
  seed?: number;
}

export interface BreakdownExport {
  dimensions: string[];
  /** Metric columns in order; persons metrics added for k-anonymity are included. */
  metrics: { id: string; en: string; zh: string; unit: string }[];
  rows: { values: string[]; metrics: (number | null)[]; persons: number | null; suppressed: boolean }[];
  k: number;
  epsilon: number | null;
  suppressedRows: number;
}

export async function exportBreakdown(
  context: AnalysisContext,
  options: BreakdownExportOptions,
): Promise<BreakdownExport> {
  const base = trends.parse({ ...options.query, granularity: 'total', compare: null });
  if (base.dimensions.length === 0) {
    throw new PulseloopError('invalid_query', {
      field: 'query.dimensions',
      ...detailText('a breakdown needs a dimension', '按维度分组导出时至少需要一个维度'),
    });
  }
  const catalogue = await loadCatalogue(context.metadata, context.project.projectId, base.metrics);
  const sources = new Set(
    base.metrics.flatMap((id, i) => [...resolveMetric(catalogue, id, `metrics[${i}]`).sources]),
  );
  const added = [...sources]
    .map((s) => PERSONS_METRIC_OF_SOURCE[s])
    .filter((id): id is string => id !== undefined && !base.metrics.includes(id));
  const query: MetricsQuery = { ...base, metrics: [...base.metrics, ...added] };
  const result = await trends.run(context, query);
  return shapeExport(result, query, options);
}

/** Pivots the series into one row per breakdown value, then suppresses and adds noise. */
export function shapeExport(
  result: MetricsResult,
  query: Pick<MetricsQuery, 'metrics' | 'dimensions'>,
  options: Pick<BreakdownExportOptions, 'k' | 'epsilon' | 'seed'>,
): BreakdownExport {
  const metrics = query.metrics.map((id) => result.metrics.find((m) => m.id === id)!);
  const personColumns = metrics.flatMap((m, i) => (m.unit === 'persons' ? [i] : []));
  const byValue = new Map<string, { values: string[]; metrics: (number | null)[] }>();
  for (const series of result.series) {
    if (!series.breakdown) continue;
    const key = JSON.stringify(series.breakdown);
    let row = byValue.get(key);
    if (!row) {
      row = { values: series.breakdown, metrics: metrics.map(() => null) };
      byValue.set(key, row);
    }
    row.metrics[query.metrics.indexOf(series.metric)] = series.total;
  }
  // A row is as identifying as its smallest person count.
  const rows = [...byValue.values()].map((row) => {
    const counts = personColumns.map((i) => row.metrics[i] ?? 0).filter((n) => n > 0);
    return { ...row, persons: personColumns.length === 0 ? null : counts.length ? Math.min(...counts) : 0 };
  });
  const suppressed = suppressSmallCells(
    rows.map((r) => ({ ...r, personsValue: r.persons ?? 0 })),
    { k: options.k, personsColumn: 'personsValue' },
  );
  const rng: Rng | undefined = options.seed === undefined ? undefined : seededRng(options.seed);
  const noisy = (n: number | null) =>
    n === null || options.epsilon === undefined
      ? n
      : Math.max(0, Math.round(laplaceNoise(n, { epsilon: options.epsilon, rng })));
  const out = suppressed.map((r, i) => {
    const original = rows[i]!;
    if (r.suppressed) {
      return { values: original.values, metrics: metrics.map(() => null), persons: null, suppressed: true };
    }
    return {
      values: original.values,
      metrics: original.metrics.map((v, j) => (personColumns.includes(j) ? noisy(v) : v)),
      persons: noisy(original.persons),
      suppressed: false,
    };
  });
  return {
    dimensions: [...query.dimensions],
    metrics: metrics.map((m) => ({ id: m.id, en: m.en, zh: m.zh, unit: m.unit })),
    rows: out,
    k: options.k,
    epsilon: options.epsilon ?? null,
    suppressedRows: out.filter((r) => r.suppressed).length,
  };
}

/** CSV with a header of dimension and metric ids; withheld numbers are empty cells. */
export function breakdownCsv(data: BreakdownExport): string {
  const cell = (v: string | number | null | boolean) => {
    if (v === null) return '';
    const text = String(v);
    // A leading = + - @ would run as a formula in a spreadsheet.
    const safe = /^[=+\-@]/.test(text) && typeof v === 'string' ? `'${text}` : text;
    return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
  };
  const header = [...data.dimensions, ...data.metrics.map((m) => m.id), 'persons', 'suppressed'];
  const lines = data.rows.map((r) =>
    [...r.values, ...r.metrics, r.persons, r.suppressed].map(cell).join(','),
  );
  return `${[header.map(cell).join(','), ...lines].join('\n')}\n`;
}
