import { defineAnalysis } from '../analysis.js';
import { SqlParams } from '../query/params.js';
import { bindProject, type DateRange, parseDateRange } from '../query/scope.js';
import { emptyMetrics, type MetricValues, metricColumns, metricValues, resumComponents } from './metrics.js';
import {
  type ContentFilters,
  invalid,
  objectBody,
  parseContentFilters,
  postFilterSql,
  postsCte,
} from './scope.js';

/**
 * Completion rate against video length: videos (duration_seconds > 0) bucketed by their length,
 * with the plays-weighted completion rate and watch time of each bucket.
 */

/** Bucket edges in seconds: <15 s, 15–30 s, 30–60 s, 60–180 s, 180 s and longer. */
export const DEFAULT_LENGTH_EDGES = [15, 30, 60, 180];

export interface LengthQuery {
  dateRange: DateRange;
  filters: ContentFilters;
  /** Increasing edges in seconds; n edges make n + 1 buckets. */
  edges: number[];
}

export interface LengthBucket {
  /** Lower edge (inclusive) and upper edge (exclusive, null for the last) in seconds. */
  fromSeconds: number;
  toSeconds: number | null;
  label: string;
  posts: number;
  metrics: MetricValues;
}

export interface LengthResult {
  buckets: LengthBucket[];
}

function parseEdges(value: unknown): number[] {
  if (value === undefined) return DEFAULT_LENGTH_EDGES;
  if (!Array.isArray(value) || value.length === 0 || value.length > 20) {
    invalid('edges', 'expected 1–20 increasing lengths in seconds', '必须是 1–20 个递增的时长（单位：秒）');
  }
  value.forEach((edge, i) => {
    if (typeof edge !== 'number' || !Number.isFinite(edge) || edge <= 0) {
      invalid(
        `edges[${i}]`,
        'expected a length in seconds greater than 0',
        '必须是大于 0 的时长（单位：秒）',
      );
    }
    if (i > 0 && edge <= value[i - 1]) invalid(`edges[${i}]`, 'edges must increase', '分桶边界必须递增');
  });
  return value as number[];
}

export function parseLengthQuery(body: unknown): LengthQuery {
  const input = objectBody(body, ['dateRange', 'filters', 'edges']);
  return {
    dateRange: parseDateRange(input.dateRange),
    filters: parseContentFilters(input.filters),
    edges: parseEdges(input.edges),
  };
}

function bucketLabel(from: number, to: number | null): string {
  if (from === 0) return `<${to}s`;
  return to === null ? `${from}s+` : `${from}–${to}s`;
}

export const contentLength = defineAnalysis<LengthQuery, LengthResult>({
  kind: 'content_length',
  en: 'Completion by video length',
  zh: '视频时长与完播率',
  parse: parseLengthQuery,
  dependsOn: (query) => query.dateRange,
  async run({ facts, project }, query) {
    const params = new SqlParams();
    bindProject(params, project);
    const edges = params.add('Array(Float64)', query.edges);
    // bucket = number of edges at or below the length: 0 for the shortest bucket … n for the longest
    const rows = await facts.query<Record<string, unknown>>(
      `WITH ${postsCte(query.dateRange, params)},
      per_bucket AS (
        SELECT length(arrayFilter(edge -> edge <= p.duration_seconds, ${edges})) AS bucket, count() AS posts,
          ${resumComponents()}
        FROM posts AS p
        WHERE p.duration_seconds > 0 AND ${postFilterSql(query.filters, params)}
        GROUP BY bucket
      )
      SELECT *, ${metricColumns()} FROM per_bucket ORDER BY bucket`,
      params.values,
    );
    const byBucket = new Map(rows.map((row) => [Number(row.bucket), row]));
    const bounds = [0, ...query.edges];
    return {
      buckets: bounds.map((from, i) => {
        const to = query.edges[i] ?? null;
        const row = byBucket.get(i);
        return {
          fromSeconds: from,
          toSeconds: to,
          label: bucketLabel(from, to),
          posts: Number(row?.posts ?? 0),
          metrics: row ? metricValues(row) : emptyMetrics(),
        };
      }),
    };
  },
});
