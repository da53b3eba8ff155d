import { type Static, Type } from '@sinclair/typebox';
import { detailText, PulseloopError } from '../../errors/registry.js';
import type { ContentStatsRow } from '../../store/facts/rows.js';
import { dayIn, parseJsonKeepingIds } from './config.js';
import { type HttpAnswer, judgeTransport, type Verdict } from './http.js';
import type { ConnectorDefinition, RejectedRow, StreamContext, StreamDefinition } from './types.js';

/**
 * Douyin Open Platform (抖音开放平台), the authorised account's videos with their statistics:
 * `GET /api/douyin/v1/video/video_list/?open_id&cursor&count` with the `access-token` header, paged by
 * the `cursor` and `has_more` the answer carries. Answers are `{data: {list, cursor, has_more,
 * error_code, description}, extra: {error_code, description, sub_error_code, sub_description, logid,
 * now}}`. See docs/connectors.md for the codes followed.
 *
 * The statistics are totals as of the moment of the sync, so each run writes one content_stats row
 * per video for the sync day (in the account's time zone): the day's snapshot of the totals. A later
 * run on the same day replaces that day's row.
 */

const PLATFORM = 'douyin';
/** The platform as messages name it, in both languages. */
const NAMED = { platform: 'Douyin', platform_zh: '抖音' };

export const DouyinConfig = Type.Object(
  {
    openId: Type.String({ minLength: 1, description: '授权用户的 open_id' }),
    /** Videos per page (the platform allows at most 20). */
    count: Type.Integer({ minimum: 1, maximum: 20, default: 20 }),
    baseUrl: Type.String({ pattern: '^https?://', default: 'https://open.douyin.com' }),
    timeZone: Type.String({ default: 'Asia/Shanghai' }),
  },
  { additionalProperties: false },
);
export type DouyinConfig = Static<typeof DouyinConfig>;

/** The platform's paging cursor (0 for the first page) and the day the run snapshots. */
export interface VideoListCursor {
  cursor: number | string;
  date: string;
}

/** Token expired or invalid, scope not granted, token and open_id of different users (new and old codes). */
const TOKEN_CODES = new Set([
  28001003, 28001008, 28001012, 28001015, 20028001003, 20028001008, 2190002, 2190008,
]);
/** "Busy, try again", network error, too frequent, risk control asking to slow down. */
const RETRY_CODES = new Set([28001005, 28001006, 28003018, 28001052, 2100004]);

interface VideoListAnswer {
  data?: {
    list?: unknown[];
    cursor?: number | string;
    has_more?: boolean;
    error_code?: number;
    description?: string;
  };
  extra?: { error_code?: number; description?: string; sub_description?: string; logid?: string };
}

function judgeVideoList(answer: HttpAnswer, instance: string): Verdict<VideoListAnswer> {
  const transport = judgeTransport(answer, NAMED);
  if (transport) return transport;
  const body = parseJsonKeepingIds(answer.text) as VideoListAnswer;
  const code = Number(body.extra?.error_code || body.data?.error_code || 0);
  if (code === 0) return { kind: 'ok', value: body };
  const description = body.extra?.description || body.data?.description || '';
  const detail = `${description}${body.extra?.logid ? ` (logid ${body.extra.logid})` : ''}`;
  if (RETRY_CODES.has(code)) {
    return {
      kind: 'retry',
      reason: `error_code ${code} ${description}`.trim(),
      reasonZh: `错误码 ${code} ${description}`.trim(),
    };
  }
  if (TOKEN_CODES.has(code)) {
    return {
      kind: 'fail',
      error: new PulseloopError('connector_bad_credentials', { ...NAMED, instance, code, detail }),
    };
  }
  return {
    kind: 'fail',
    error: new PulseloopError('connector_api_error', { ...NAMED, code, detail }),
  };
}

const videoList: StreamDefinition<DouyinConfig, VideoListCursor, 'content_stats'> = {
  name: 'video_list',
  table: 'content_stats',
  scheduleIntervalSeconds: 6 * 3600,
  rateLimitPerSecond: 5,
  startCursor(context, _previous, now) {
    return { cursor: 0, date: dayIn(context.config.timeZone, now) };
  },
  async readPage(context, cursor) {
    const url = new URL('/api/douyin/v1/video/video_list/', context.config.baseUrl);
    url.search = new URLSearchParams({
      open_id: context.config.openId,
      cursor: String(cursor.cursor),
      count: String(context.config.count),
    }).toString();
    const body = await context.api.get(
      url,
      { 'access-token': context.accessToken, 'content-type': 'application/json' },
      (answer) => judgeVideoList(answer, context.instanceName),
    );
    const list = Array.isArray(body.data?.list) ? body.data.list : [];
    const rows: ContentStatsRow[] = [];
    const rejected: RejectedRow[] = [];
    for (const raw of list) {
      try {
        rows.push(toContentStatsRow(context, cursor.date, raw));
      } catch (error) {
        if (!(error instanceof PulseloopError)) throw error;
        rejected.push({ error, raw });
      }
    }
    const hasMore = body.data?.has_more === true;
    return {
      rows,
      rejected,
      next: { cursor: hasMore ? (body.data?.cursor ?? 0) : 0, date: cursor.date },
      done: !hasMore,
      position: `${cursor.date} cursor ${cursor.cursor}`,
    };
  },
};

function invalid(field: string, detail: string, detailZh: string): PulseloopError {
  return new PulseloopError('connector_row_invalid', { ...NAMED, field, ...detailText(detail, detailZh) });
}

function count(statistics: Record<string, unknown>, field: string): number {
  const value = Number(statistics[field] ?? 0);
  if (!Number.isInteger(value) || value < 0) {
    const sent = JSON.stringify(statistics[field]);
    throw invalid(`statistics.${field}`, `${sent} is not a whole number ≥ 0.`, `${sent} 不是 ≥ 0 的整数。`);
  }
  return value;
}

function toContentStatsRow(
  context: StreamContext<DouyinConfig>,
  date: string,
  raw: unknown,
): ContentStatsRow {
  if (typeof raw !== 'object' || raw === null) throw invalid('list[]', 'not an object.', '不是 JSON 对象。');
  const item = raw as Record<string, unknown>;
  const itemId = item.item_id;
  if (typeof itemId !== 'string' || itemId === '') throw invalid('item_id', 'missing.', '缺失。');
  const statistics = (item.statistics ?? {}) as Record<string, unknown>;
  if (typeof statistics !== 'object') throw invalid('statistics', 'not an object.', '不是 JSON 对象。');
  const created = Number(item.create_time);
  return {
    project_id: context.projectId,
    platform: PLATFORM,
    account_id: context.config.openId,
    content_id: itemId,
    date,
    title: String(item.title ?? ''),
    content_type: 'video',
    published_at: Number.isFinite(created) && created > 0 ? created * 1000 : null,
    duration_seconds: 0,
    tags: [],
    impressions: 0,
    plays: count(statistics, 'play_count'),
    unique_viewers: 0,
    likes: count(statistics, 'digg_count'),
    comments: count(statistics, 'comment_count'),
    shares: count(statistics, 'share_count'),
    favourites: 0,
    completion_rate: 0,
    avg_watch_seconds: 0,
    followers_gained: 0,
    profile_visits: 0,
    source_id: context.instanceId,
    updated_at: context.runStartedAt,
  };
}

export const douyinConnector: ConnectorDefinition<DouyinConfig> = {
  id: 'douyin',
  platform: PLATFORM,
  displayName: NAMED.platform,
  displayNameZh: NAMED.platform_zh,
  title: { en: 'Douyin video statistics', zh: '抖音视频数据' },
  configSchema: DouyinConfig,
  configLabels: {
    openId: {
      en: 'Open ID',
      zh: 'Open ID',
      hint: { en: 'The open_id of the authorised account', zh: '授权用户的 open_id' },
    },
    count: { en: 'Videos per request', zh: '每次请求视频数' },
    baseUrl: { en: 'API address', zh: '接口地址' },
    timeZone: { en: 'Time zone', zh: '时区' },
  },
  streams: [videoList],
};
