import { createHash } from 'node:crypto';
import { decimal4, type KindSpec, missing, money, num, RowProblem, setIf, text } from './types.js';

const TEXT_COLUMNS = [
  'user_id',
  'anonymous_id',
  'session_id',
  'platform',
  'channel',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
  'campaign_id',
  'content_id',
  'sharer_id',
  'page_url',
  'page_path',
  'referrer',
] as const;

/**
 * The message id of an imported event that has none: a hash of everything the row says, so that
 * importing the same rows again (in any order, from any file) yields the same ids and dedupes.
 */
export function importedMessageId(row: Record<string, unknown>): string {
  const hash = createHash('sha256');
  for (const key of Object.keys(row).sort()) {
    if (key === 'received_at' || key === 'source_id' || key === 'message_id') continue;
    hash.update(key).update('\u0000').update(JSON.stringify(row[key])).update('\u0001');
  }
  return `imp-${hash.digest('hex').slice(0, 32)}`;
}

/** Events (tracked actions) from a file: one row per event; unmapped columns become properties. */
export const events: KindSpec = {
  kind: 'events',
  table: 'events',
  en: 'events (tracked actions)',
  zh: '事件（用户行为）',
  fields: {
    message_id: {
      type: 'text',
      en: 'event id (derived from the row when absent)',
      zh: '事件 ID（缺失时由行内容生成）',
      synonyms: ['message_id', 'messageId', 'event_id', '事件ID'],
    },
    event: {
      type: 'text',
      required: true,
      en: 'event name',
      zh: '事件名',
      synonyms: ['event', 'event_name', 'name', '事件', '事件名', '事件名称', '行为'],
    },
    timestamp: {
      type: 'datetime',
      required: true,
      en: 'time',
      zh: '时间',
      synonyms: ['timestamp', 'time', 'event_time', '时间', '事件时间', '发生时间'],
    },
    distinct_id: {
      type: 'text',
      en: 'who (user id, else anonymous id)',
      zh: '用户标识',
      synonyms: ['distinct_id', 'openid', 'unionid', '用户标识'],
    },
    user_id: {
      type: 'text',
      en: 'user id',
      zh: '用户 ID',
      synonyms: ['user_id', 'userId', '用户ID', '会员ID'],
    },
    anonymous_id: {
      type: 'text',
      en: 'anonymous id',
      zh: '匿名 ID',
      synonyms: ['anonymous_id', 'anonymousId', 'device_id', '匿名ID', '设备ID'],
    },
    session_id: { type: 'text', en: 'session', zh: '会话', synonyms: ['session_id', '会话ID'] },
    platform: { type: 'text', en: 'platform', zh: '平台', synonyms: ['platform', '平台'] },
    channel: { type: 'text', en: 'channel', zh: '渠道', synonyms: ['channel', '渠道'] },
    utm_source: { type: 'text', en: 'utm_source', zh: 'utm_source', synonyms: ['utm_source'] },
    utm_medium: { type: 'text', en: 'utm_medium', zh: 'utm_medium', synonyms: ['utm_medium'] },
    utm_campaign: { type: 'text', en: 'utm_campaign', zh: 'utm_campaign', synonyms: ['utm_campaign'] },
    utm_content: { type: 'text', en: 'utm_content', zh: 'utm_content', synonyms: ['utm_content'] },
    utm_term: { type: 'text', en: 'utm_term', zh: 'utm_term', synonyms: ['utm_term'] },
    campaign_id: { type: 'text', en: 'campaign', zh: '活动', synonyms: ['campaign_id', '活动ID'] },
    content_id: { type: 'text', en: 'post', zh: '作品', synonyms: ['content_id', '作品ID', '内容ID'] },
    sharer_id: { type: 'text', en: 'sharer', zh: '分享者', synonyms: ['sharer_id', '分享者ID'] },
    revenue: { type: 'money', en: 'revenue', zh: '金额', synonyms: ['revenue', 'amount', '金额', '收入'] },
    currency: { type: 'text', en: 'currency', zh: '币种', synonyms: ['currency', '币种'] },
    page_url: {
      type: 'text',
      en: 'page URL',
      zh: '页面地址',
      synonyms: ['page_url', 'url', '页面地址', '页面URL'],
    },
    page_path: { type: 'text', en: 'page path', zh: '页面路径', synonyms: ['page_path', 'path', '页面路径'] },
    referrer: { type: 'text', en: 'referrer', zh: '来源页', synonyms: ['referrer', '来源页'] },
  },
  naturalKey: ['message_id'],
  idColumn: 'message_id',
  rangeColumn: { column: 'timestamp', type: 'datetime' },
  compare: { event: 'text', timestamp: 'ms', distinct_id: 'text', properties: 'text', revenue: 'number' },
  keepsExtras: true,
  build(values, context) {
    const event = text(values, 'event');
    if (!event) throw missing('event', this.fields.event!);
    const timestamp = num(values, 'timestamp');
    if (timestamp === undefined) throw missing('timestamp', this.fields.timestamp!);
    const distinctId = text(values, 'distinct_id') || text(values, 'user_id') || text(values, 'anonymous_id');
    if (!distinctId) {
      throw new RowProblem(
        'distinct_id',
        'the row names nobody (no user id or anonymous id)',
        '该行没有用户 ID 或匿名 ID',
      );
    }
    const row: Record<string, unknown> = {
      project_id: context.projectId,
      type: 'track',
      event,
      timestamp,
      distinct_id: distinctId,
      properties: JSON.stringify(context.extras ?? {}),
    };
    for (const column of TEXT_COLUMNS) setIf(row, column, text(values, column));
    const revenue = money(values, 'revenue');
    if (revenue) {
      setIf(row, 'revenue', decimal4(revenue.amount));
      row.currency = (text(values, 'currency') || revenue.currency || context.currency).toUpperCase();
    }
    row.message_id = text(values, 'message_id') || importedMessageId(row);
    row.received_at = context.updatedAt;
    setIf(row, 'source_id', context.sourceId);
    return row;
  },
};
