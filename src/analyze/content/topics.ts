import { defineAnalysis } from '../analysis.js';
import { SqlParams } from '../query/params.js';
import { bindProject, type DateRange, parseDateRange } from '../query/scope.js';
import {
  CONTENT_METRIC_IDS,
  type MetricValues,
  metricColumns,
  metricValues,
  resumComponents,
} from './metrics.js';
import {
  type ContentFilters,
  integerIn,
  objectBody,
  oneOf,
  parseContentFilters,
  postFilterSql,
  postsCte,
} from './scope.js';

/**
 * Hashtag / topic performance: each post counts once under every tag it carries (its latest tag
 * list), with its statistics inside the range.
 */

export const TOPIC_SORTS = ['posts', 'median_plays', ...CONTENT_METRIC_IDS] as const;

export interface TopicsQuery {
  dateRange: DateRange;
  filters: ContentFilters;
  sort: { by: string; direction: 'asc' | 'desc' };
  limit: number;
}

export interface TopicRow {
  tag: string;
  posts: number;
  /** Median of the plays of the tag's posts (the mean of the two middle posts for an even count). */
  median_plays: number;
  metrics: MetricValues;
}

export interface TopicsResult {
  /** Distinct tags among the filtered posts. */
  total: number;
  rows: TopicRow[];
}

export function parseTopicsQuery(body: unknown): TopicsQuery {
  const input = objectBody(body, ['dateRange', 'filters', 'sort', 'limit']);
  const sortInput = input.sort === undefined ? {} : objectBody(input.sort, ['by', 'direction'], 'sort.');
  return {
    dateRange: parseDateRange(input.dateRange),
    filters: parseContentFilters(input.filters),
    sort: {
      by: oneOf(sortInput.by, 'sort.by', TOPIC_SORTS, 'plays'),
      direction: oneOf(sortInput.direction, 'sort.direction', ['asc', 'desc'] as const, 'desc'),
    },
    limit: integerIn(input.limit, 'limit', 1, 1000, 50),
  };
}

export const contentTopics = defineAnalysis<TopicsQuery, TopicsResult>({
  kind: 'content_topics',
  en: 'Hashtag and topic performance',
  zh: '话题标签表现',
  parse: parseTopicsQuery,
  dependsOn: (query) => query.dateRange,
  async run({ facts, project }, query) {
    const params = new SqlParams();
    bindProject(params, project);
    const direction = query.sort.direction === 'asc' ? 'ASC' : 'DESC';
    const rows = await facts.query<Record<string, unknown>>(
      `WITH ${postsCte(query.dateRange, params)},
      per_tag AS (
        SELECT tag, count() AS posts, quantileExactInclusive(0.5)(p.plays) AS median_plays,
          ${resumComponents()}
        FROM posts AS p ARRAY JOIN p.tags AS tag
        WHERE ${postFilterSql(query.filters, params)}
        GROUP BY tag
      )
      SELECT *, ${metricColumns()}, count() OVER () AS total
      FROM per_tag
      ORDER BY ${query.sort.by} ${direction} NULLS LAST, tag
      LIMIT ${params.add('UInt32', query.limit)}`,
      params.values,
    );
    return {
      total: Number(rows[0]?.total ?? 0),
      rows: rows.map((row) => ({
        tag: String(row.tag),
        posts: Number(row.posts),
        median_plays: Number(row.median_plays),
        metrics: metricValues(row),
      })),
    };
  },
});
