import { type Static, Type } from '@sinclair/typebox';
import { detailText, PulseloopError } from '../../errors/registry.js';
import type { AdSpendRow } from '../../store/facts/rows.js';
import { addDays, dayIn, earlierDay, laterDay, parseJsonKeepingIds } from './config.js';
import { type HttpAnswer, judgeTransport, type Verdict } from './http.js';
import type { ConnectorDefinition, Page, RejectedRow, StreamContext, StreamDefinition } from './types.js';

/**
 * Ocean Engine (巨量引擎) Marketing API, ad-level report: `GET /open_api/2/report/ad/get/` with the
 * `Access-Token` header, one day per request (start_date = end_date), paged by page/page_size.
 * Answers are `{code, message, data: {list, page_info: {page, page_size, total_number, total_page}},
 * request_id}`; code 0 is success, 40100 means "too many requests", 401xx token codes mean the
 * access token is not accepted. See docs/connectors.md.
 */

const PLATFORM = 'oceanengine';
/** The platform as messages name it, in both languages. */
const NAMED = { platform: 'Ocean Engine', platform_zh: '巨量引擎' };

export const OceanEngineConfig = Type.Object(
  {
    advertiserId: Type.String({ pattern: '^[0-9]{1,20}$', description: '广告主 ID' }),
    /** First day to pull (YYYY-MM-DD). */
    startDate: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
    /** Days before yesterday pulled again on every run: the platform corrects recent days. */
    lookbackDays: Type.Integer({ minimum: 1, maximum: 30, default: 3 }),
    pageSize: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    baseUrl: Type.String({ pattern: '^https?://', default: 'https://ad.oceanengine.com' }),
    /** The account's reporting time zone (its days). */
    timeZone: Type.String({ default: 'Asia/Shanghai' }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', default: 'CNY' }),
  },
  { additionalProperties: false },
);
export type OceanEngineConfig = Static<typeof OceanEngineConfig>;

/** Where the report stands: the day being read, its next page, and the last day of this run. */
export interface AdReportCursor {
  date: string;
  page: number;
  lastDate: string;
}

/** Codes the Marketing API documents for a missing, expired or invalid token or app. */
const TOKEN_CODES = new Set([40101, 40102, 40103, 40104, 40105, 40107]);
const RATE_LIMIT_CODE = 40100;

interface ReportAnswer {
  code: number;
  message?: string;
  data?: { list?: unknown[]; page_info?: { page?: number; total_page?: number; total_number?: number } };
  request_id?: string;
}

function judgeReport(answer: HttpAnswer, instance: string): Verdict<ReportAnswer> {
  const transport = judgeTransport(answer, NAMED);
  if (transport) return transport;
  const body = parseJsonKeepingIds(answer.text) as ReportAnswer;
  const code = Number(body.code);
  if (code === 0) return { kind: 'ok', value: body };
  const detail = `${body.message ?? ''}${body.request_id ? ` (request_id ${body.request_id})` : ''}`;
  if (code === RATE_LIMIT_CODE || code >= 50000) {
    const said = body.message ?? '';
    return {
      kind: 'retry',
      reason: `code ${code} ${said}`.trim(),
      reasonZh: `错误码 ${code} ${said}`.trim(),
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

const REPORT_FIELDS = ['cost', 'show', 'click', 'convert'];
const GROUP_BY = ['STAT_GROUP_BY_FIELD_ID', 'STAT_GROUP_BY_FIELD_STAT_TIME'];

const adReport: StreamDefinition<OceanEngineConfig, AdReportCursor, 'ad_spend'> = {
  name: 'ad_report',
  table: 'ad_spend',
  scheduleIntervalSeconds: 6 * 3600,
  rateLimitPerSecond: 5,
  startCursor(context, previous, now) {
    const { startDate, lookbackDays, timeZone } = context.config;
    const lastDate = addDays(dayIn(timeZone, now), -1);
    const reread = addDays(lastDate, -(lookbackDays - 1));
    // Continue after the last day read, but re-read the days the platform may still correct.
    const from = previous ? laterDay(startDate, earlierDay(previous.date, reread)) : startDate;
    return { date: from, page: 1, lastDate };
  },
  async readPage(context, cursor) {
    if (cursor.date > cursor.lastDate) {
      return { rows: [], rejected: [], next: cursor, done: true, position: 'up to date' };
    }
    const url = new URL('/open_api/2/report/ad/get/', context.config.baseUrl);
    url.search = new URLSearchParams({
      advertiser_id: context.config.advertiserId,
      start_date: cursor.date,
      end_date: cursor.date,
      group_by: JSON.stringify(GROUP_BY),
      time_granularity: 'STAT_TIME_GRANULARITY_DAILY',
      fields: JSON.stringify(REPORT_FIELDS),
      page: String(cursor.page),
      page_size: String(context.config.pageSize),
    }).toString();
    const body = await context.api.get(
      url,
      { 'Access-Token': context.accessToken, Accept: 'application/json' },
      (answer) => judgeReport(answer, context.instanceName),
    );
    const list = Array.isArray(body.data?.list) ? body.data.list : [];
    const totalPages = Math.max(0, Number(body.data?.page_info?.total_page ?? 0));
    const { rows, rejected } = mapRows(context, list);
    const next: AdReportCursor =
      cursor.page < totalPages
        ? { ...cursor, page: cursor.page + 1 }
        : { ...cursor, date: addDays(cursor.date, 1), page: 1 };
    return {
      rows,
      rejected,
      next,
      done: next.date > cursor.lastDate,
      position: `${cursor.date} page ${cursor.page}/${Math.max(totalPages, 1)}`,
    } satisfies Page<AdReportCursor, AdSpendRow>;
  },
};

function mapRows(context: StreamContext<OceanEngineConfig>, list: unknown[]) {
  const rows: AdSpendRow[] = [];
  const rejected: RejectedRow[] = [];
  for (const raw of list) {
    try {
      rows.push(toAdSpendRow(context, raw));
    } catch (error) {
      if (!(error instanceof PulseloopError)) throw error;
      rejected.push({ error, raw });
    }
  }
  return { rows, rejected };
}

function invalid(field: string, detail: string, detailZh: string): PulseloopError {
  return new PulseloopError('connector_row_invalid', { ...NAMED, field, ...detailText(detail, detailZh) });
}

function count(item: Record<string, unknown>, field: string): number {
  const value = Number(item[field] ?? 0);
  if (!Number.isFinite(value) || value < 0 || !Number.isInteger(value)) {
    const sent = JSON.stringify(item[field]);
    throw invalid(field, `${sent} is not a whole number ≥ 0.`, `${sent} 不是 ≥ 0 的整数。`);
  }
  return value;
}

function idOf(item: Record<string, unknown>, field: string, required: boolean): string {
  const value = item[field];
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (required) throw invalid(field, 'missing.', '缺失。');
  return '';
}

/** One report row (an ad on a day) as an ad_spend row; the ad (计划) is the ad group level. */
function toAdSpendRow(context: StreamContext<OceanEngineConfig>, raw: unknown): AdSpendRow {
  if (typeof raw !== 'object' || raw === null) throw invalid('list[]', 'not an object.', '不是 JSON 对象。');
  const item = raw as Record<string, unknown>;
  const day = /^(\d{4}-\d{2}-\d{2})/.exec(String(item.stat_datetime ?? ''))?.[1];
  if (!day) {
    const sent = JSON.stringify(item.stat_datetime);
    throw invalid('stat_datetime', `${sent} is not a date.`, `${sent} 不是日期。`);
  }
  const cost = Number(item.cost ?? 0);
  if (!Number.isFinite(cost) || cost < 0) {
    const sent = JSON.stringify(item.cost);
    throw invalid('cost', `${sent} is not an amount.`, `${sent} 不是有效金额。`);
  }
  return {
    project_id: context.projectId,
    date: day,
    platform: PLATFORM,
    account_id: context.config.advertiserId,
    campaign_id: idOf(item, 'campaign_id', true),
    campaign_name: String(item.campaign_name ?? ''),
    ad_group_id: idOf(item, 'ad_id', true),
    ad_group_name: String(item.ad_name ?? ''),
    creative_id: idOf(item, 'creative_id', false),
    creative_name: '',
    channel: 'paid_social',
    impressions: count(item, 'show'),
    clicks: count(item, 'click'),
    spend: cost,
    currency: context.config.currency,
    conversions: count(item, 'convert'),
    conversion_revenue: 0,
    source_id: context.instanceId,
    updated_at: context.runStartedAt,
  };
}

export const oceanEngineConnector: ConnectorDefinition<OceanEngineConfig> = {
  id: 'oceanengine',
  platform: PLATFORM,
  displayName: NAMED.platform,
  displayNameZh: NAMED.platform_zh,
  title: { en: 'Ocean Engine ad report', zh: '巨量引擎广告报表' },
  configSchema: OceanEngineConfig,
  configLabels: {
    advertiserId: { en: 'Advertiser ID', zh: '广告主 ID' },
    startDate: {
      en: 'First day to pull',
      zh: '起始日期',
      hint: { en: 'YYYY-MM-DD, e.g. 2025-03-01', zh: '格式 YYYY-MM-DD，例如 2025-03-01' },
    },
    lookbackDays: {
      en: 'Days pulled again',
      zh: '回溯天数',
      hint: {
        en: 'Recent days read again on every run: the platform corrects them',
        zh: '每次同步重新读取最近几天的数据（平台会修正近期数据）',
      },
    },
    pageSize: { en: 'Rows per request', zh: '每次请求行数' },
    baseUrl: { en: 'API address', zh: '接口地址' },
    timeZone: { en: 'Reporting time zone', zh: '报表时区' },
    currency: { en: 'Currency', zh: '币种' },
  },
  streams: [adReport],
};
