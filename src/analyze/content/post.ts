import { PulseloopError } from '../../errors/registry.js';
import { type AnalysisContext, defineAnalysis } from '../analysis.js';
import { SqlParams } from '../query/params.js';
import {
  bindProject,
  type DateRange,
  eventSource,
  nextDay,
  PERSON_SQL,
  parseDateRange,
  rangeCondition,
  rangeDays,
} from '../query/scope.js';
import { type MetricValues, metricColumns, metricValues, sumRowComponents } from './metrics.js';
import { integerIn, isoTime, objectBody, requiredText } from './scope.js';

/**
 * One post's page: its totals over the range, a daily curve, its latest comments with sentiment
 * counts, and what tracked persons did with it (video_played events).
 */

export interface PostQuery {
  platform: string;
  contentId: string;
  dateRange: DateRange;
  /** Latest comments to list. */
  comments: number;
}

export interface PostDay {
  date: string;
  plays: number;
  interactions: number;
  completion_rate: number | null;
  followers_gained: number;
}

export interface PostComment {
  commentId: string;
  parentId: string;
  authorName: string;
  text: string;
  createdAt: string | null;
  likeCount: number;
  language: string;
  sentiment: string;
}

export interface PostResult {
  post: {
    platform: string;
    accountId: string;
    contentId: string;
    title: string;
    contentType: string;
    publishedAt: string | null;
    durationSeconds: number;
    tags: string[];
  };
  totals: MetricValues;
  daily: PostDay[];
  comments: {
    /** Comments written inside the range. */
    total: number;
    sentiment: { positive: number; neutral: number; negative: number; unknown: number };
    latest: PostComment[];
  };
  /** video_played events of tracked persons inside the range. */
  tracked: { plays: number; viewers: number; avgCompletion: number | null };
}

export function parsePostQuery(body: unknown): PostQuery {
  const input = objectBody(body, ['platform', 'contentId', 'dateRange', 'comments']);
  return {
    platform: requiredText(input.platform, 'platform'),
    contentId: requiredText(input.contentId, 'contentId'),
    dateRange: parseDateRange(input.dateRange),
    comments: integerIn(input.comments, 'comments', 0, 200, 20),
  };
}

export const contentPost = defineAnalysis<PostQuery, PostResult>({
  kind: 'content_post',
  en: 'Post performance',
  zh: '单条内容表现',
  parse: parsePostQuery,
  dependsOn: (query) => query.dateRange,
  async run(context, query) {
    const post = await postDescription(context, query);
    const [days, comments, tracked] = await Promise.all([
      dailyRows(context, query),
      postComments(context, query),
      trackedViews(context, query),
    ]);
    return { post, ...days, comments, tracked };
  },
});

function postParams(context: AnalysisContext, query: PostQuery): SqlParams {
  const params = new SqlParams();
  bindProject(params, context.project);
  params.set('platform', 'String', query.platform);
  params.set('content', 'String', query.contentId);
  return params;
}

/** The post as its latest statistics row describes it; 404 when the platform never reported it. */
async function postDescription(context: AnalysisContext, query: PostQuery): Promise<PostResult['post']> {
  const params = postParams(context, query);
  const [row] = await context.facts.query<Record<string, unknown>>(
    `SELECT argMax(account_id, date) AS account_id, argMax(title, date) AS title,
       argMax(content_type, date) AS content_type,
       toUnixTimestamp64Milli(argMax(published_at, date)) AS published_ms,
       argMax(duration_seconds, date) AS duration_seconds, arrayDistinct(argMax(tags, date)) AS tags
     FROM content_stats FINAL
     WHERE project_id = {project:String} AND platform = {platform:String} AND content_id = {content:String}
     HAVING count() > 0`,
    params.values,
  );
  if (!row) {
    throw new PulseloopError('content_not_found', {
      platform: query.platform.slice(0, 40),
      contentId: query.contentId.slice(0, 80),
    });
  }
  return {
    platform: query.platform,
    accountId: String(row.account_id),
    contentId: query.contentId,
    title: String(row.title),
    contentType: String(row.content_type),
    publishedAt: isoTime(row.published_ms),
    durationSeconds: Number(row.duration_seconds),
    tags: row.tags as string[],
  };
}

/** Totals and one point per day of the range (days without statistics read as zero). */
async function dailyRows(
  context: AnalysisContext,
  query: PostQuery,
): Promise<{ totals: MetricValues; daily: PostDay[] }> {
  const params = postParams(context, query);
  const rows = await context.facts.query<Record<string, unknown>>(
    `WITH per_day AS (
       SELECT toString(s.date) AS day, ${sumRowComponents()}
       FROM content_stats AS s FINAL
       WHERE project_id = {project:String} AND platform = {platform:String} AND content_id = {content:String}
         AND date >= ${params.add('Date', query.dateRange.from)} AND date <= ${params.add('Date', query.dateRange.to)}
       GROUP BY day
     )
     SELECT *, ${metricColumns()} FROM per_day ORDER BY day`,
    params.values,
  );
  const byDay = new Map(rows.map((row) => [String(row.day), row]));
  const daily: PostDay[] = [];
  for (let i = 0, day = query.dateRange.from; i < rangeDays(query.dateRange); i++, day = nextDay(day)) {
    const row = byDay.get(day);
    const values = row ? metricValues(row) : undefined;
    daily.push({
      date: day,
      plays: values?.plays ?? 0,
      interactions: values?.interactions ?? 0,
      completion_rate: values?.completion_rate ?? null,
      followers_gained: values?.followers_gained ?? 0,
    });
  }
  return { totals: await postTotals(context, query), daily };
}

/** The post's metrics over the whole range, from summed components. */
async function postTotals(context: AnalysisContext, query: PostQuery): Promise<MetricValues> {
  const params = postParams(context, query);
  const [row] = await context.facts.query<Record<string, unknown>>(
    `WITH totals AS (
       SELECT ${sumRowComponents()}
       FROM content_stats AS s FINAL
       WHERE project_id = {project:String} AND platform = {platform:String} AND content_id = {content:String}
         AND date >= ${params.add('Date', query.dateRange.from)} AND date <= ${params.add('Date', query.dateRange.to)}
     )
     SELECT *, ${metricColumns()} FROM totals`,
    params.values,
  );
  return metricValues(row ?? {});
}

/** Comments written inside the range: sentiment counts and the latest few. */
async function postComments(context: AnalysisContext, query: PostQuery): Promise<PostResult['comments']> {
  const params = postParams(context, query);
  const where = `project_id = {project:String} AND platform = {platform:String} AND content_id = {content:String}
       AND ${rangeCondition('created_at', query.dateRange, params)}`;
  const [counts] = await context.facts.query<Record<string, number>>(
    `SELECT count() AS total, countIf(sentiment = 'positive') AS positive,
       countIf(sentiment = 'neutral') AS neutral, countIf(sentiment = 'negative') AS negative
     FROM comments FINAL WHERE ${where}`,
    params.values,
  );
  const latest =
    query.comments === 0
      ? []
      : await context.facts.query<Record<string, unknown>>(
          `SELECT comment_id, parent_id, author_name, text, toUnixTimestamp64Milli(created_at) AS created_ms,
             like_count, language, sentiment
           FROM comments FINAL WHERE ${where}
           ORDER BY created_at DESC, comment_id
           LIMIT ${params.add('UInt32', query.comments)}`,
          params.values,
        );
  const total = Number(counts?.total ?? 0);
  const positive = Number(counts?.positive ?? 0);
  const neutral = Number(counts?.neutral ?? 0);
  const negative = Number(counts?.negative ?? 0);
  return {
    total,
    sentiment: { positive, neutral, negative, unknown: total - positive - neutral - negative },
    latest: latest.map((row) => ({
      commentId: String(row.comment_id),
      parentId: String(row.parent_id),
      authorName: String(row.author_name),
      text: String(row.text),
      createdAt: isoTime(row.created_ms),
      likeCount: Number(row.like_count),
      language: String(row.language),
      sentiment: String(row.sentiment),
    })),
  };
}

/** Plays, distinct persons and mean completion of the post's video_played events. */
async function trackedViews(context: AnalysisContext, query: PostQuery): Promise<PostResult['tracked']> {
  const params = new SqlParams();
  bindProject(params, context.project);
  const source = eventSource(
    {
      range: query.dateRange,
      events: ['video_played'],
      filters: [
        { field: 'platform', op: 'eq', value: query.platform },
        { field: 'content_id', op: 'eq', value: query.contentId },
      ],
    },
    params,
  );
  const [row] = await context.facts.query<Record<string, unknown>>(
    `WITH ${source.ctes}
     SELECT count() AS plays, uniqExact(${PERSON_SQL}) AS viewers,
       avgOrNull(JSONExtract(e.properties, 'completion', 'Nullable(Float64)')) AS avg_completion
     FROM ${source.from} WHERE ${source.where}`,
    params.values,
  );
  return {
    plays: Number(row?.plays ?? 0),
    viewers: Number(row?.viewers ?? 0),
    avgCompletion: row?.avg_completion === null || row === undefined ? null : Number(row.avg_completion),
  };
}
