import { type AnalysisContext, defineAnalysis } from '../analysis.js';
import { SqlParams } from '../query/params.js';
import { bindProject, type DateRange, parseDateRange } from '../query/scope.js';
import {
  CONTENT_METRIC_IDS,
  HEAT_INDEX_SQL,
  HEAT_PARTS_SQL,
  type MetricValues,
  metricColumns,
  metricValues,
} from './metrics.js';
import {
  type ContentFilters,
  integerIn,
  isoTime,
  objectBody,
  oneOf,
  parseContentFilters,
  postFilterSql,
  postsCte,
} from './scope.js';

/**
 * Leaderboard of posts and videos across platforms: every content metric and the heat index per
 * post, sorted by an allow-listed metric, filtered and paginated.
 */

/** What a leaderboard may be sorted by: the metrics, the heat index and the publishing time. */
export const LEADERBOARD_SORTS = [...CONTENT_METRIC_IDS, 'heat_index', 'published_at'] as const;

export interface LeaderboardQuery {
  dateRange: DateRange;
  filters: ContentFilters;
  sort: { by: string; direction: 'asc' | 'desc' };
  limit: number;
  offset: number;
}

export interface LeaderboardRow {
  platform: string;
  accountId: string;
  contentId: string;
  title: string;
  contentType: string;
  publishedAt: string | null;
  durationSeconds: number;
  tags: string[];
  metrics: MetricValues;
}

export interface LeaderboardResult {
  /** Posts matching the filters, before pagination. */
  total: number;
  rows: LeaderboardRow[];
}

const MAX_LIMIT = 500;
const MAX_OFFSET = 100_000;

export function parseLeaderboardQuery(body: unknown): LeaderboardQuery {
  const input = objectBody(body, ['dateRange', 'filters', 'sort', 'limit', 'offset']);
  const sortInput = input.sort === undefined ? {} : objectBody(input.sort, ['by', 'direction'], 'sort.');
  return {
    dateRange: parseDateRange(input.dateRange),
    filters: parseContentFilters(input.filters),
    sort: {
      by: oneOf(sortInput.by, 'sort.by', LEADERBOARD_SORTS, 'plays'),
      direction: oneOf(sortInput.direction, 'sort.direction', ['asc', 'desc'] as const, 'desc'),
    },
    limit: integerIn(input.limit, 'limit', 1, MAX_LIMIT, 50),
    offset: integerIn(input.offset, 'offset', 0, MAX_OFFSET, 0),
  };
}

const HEAT_METRICS = [...CONTENT_METRIC_IDS, 'heat_index'];

export const contentLeaderboard = defineAnalysis<LeaderboardQuery, LeaderboardResult>({
  kind: 'content_leaderboard',
  en: 'Content leaderboard',
  zh: '内容排行榜',
  parse: parseLeaderboardQuery,
  dependsOn: (query) => query.dateRange,
  async run({ facts, project }, query) {
    const params = new SqlParams();
    bindProject(params, project);
    // The sort column comes from the allow-list above; ties fall back to the post's key so pages
    // never overlap or skip a post.
    const direction = query.sort.direction === 'asc' ? 'ASC' : 'DESC';
    const sql = `WITH ${postsCte(query.dateRange, params)},
    measured AS (
      SELECT *, ${metricColumns()} FROM posts
    ),
    scored AS (
      SELECT *, ${HEAT_PARTS_SQL}
      FROM measured
      WINDOW per_platform AS (PARTITION BY platform)
    )
    SELECT platform, account_id, content_id, title, content_type,
      toUnixTimestamp64Milli(published_at) AS published_ms, duration_seconds, tags,
      ${CONTENT_METRIC_IDS.join(', ')},
      ${HEAT_INDEX_SQL} AS heat_index,
      count() OVER () AS total
    FROM scored AS p
    WHERE ${postFilterSql(query.filters, params)}
    ORDER BY ${query.sort.by} ${direction} NULLS LAST, platform, account_id, content_id
    LIMIT ${params.add('UInt32', query.limit)} OFFSET ${params.add('UInt32', query.offset)}`;
    const rows = await facts.query<Record<string, unknown>>(sql, params.values);
    return {
      total: rows.length > 0 ? Number(rows[0]?.total) : await countPosts({ facts, project }, query),
      rows: rows.map((row) => ({
        platform: String(row.platform),
        accountId: String(row.account_id),
        contentId: String(row.content_id),
        title: String(row.title),
        contentType: String(row.content_type),
        publishedAt: isoTime(row.published_ms),
        durationSeconds: Number(row.duration_seconds),
        tags: row.tags as string[],
        metrics: metricValues(row, HEAT_METRICS),
      })),
    };
  },
});

/** The total when the requested page is past the end (the page query then returns no row). */
async function countPosts(
  { facts, project }: Pick<AnalysisContext, 'facts' | 'project'>,
  query: LeaderboardQuery,
): Promise<number> {
  if (query.offset === 0) return 0;
  const params = new SqlParams();
  bindProject(params, project);
  const [row] = await facts.query<{ total: number }>(
    `WITH ${postsCte(query.dateRange, params)}
     SELECT count() AS total FROM posts WHERE ${postFilterSql(query.filters, params)}`,
    params.values,
  );
  return Number(row?.total ?? 0);
}
