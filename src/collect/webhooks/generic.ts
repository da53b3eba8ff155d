import type { CommentRow, OrderRow } from '../../store/facts/rows.js';
import {
  amountOf,
  invalidField,
  invalidPayload,
  mapOrReject,
  objectOf,
  parseBody,
  requiredId,
  requiredTime,
  timeOf,
} from './parse.js';
import { verifyHexHmac } from './signatures.js';
import { header, type PlatformTitle, type WebhookContext, type WebhookPlatform } from './types.js';

/**
 * The generic signed-JSON webhook, for anything that can sign a body: `X-Pulseloop-Signature` is the
 * hex HMAC-SHA256 of the raw body with the source's secret. The body is
 * `{"orders": [...], "comments": [...]}` in Pulseloop's own field names (docs/connectors.md).
 */

const TITLE: PlatformTitle = { title: 'Signed JSON', titleZh: '签名 JSON' };
const ORDER_STATUSES = ['created', 'paid', 'shipped', 'completed', 'refunded', 'cancelled'];
const SENTIMENTS = ['positive', 'negative', 'neutral', ''];

function text(item: Record<string, unknown>, field: string, fallback = ''): string {
  const value = item[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' && typeof value !== 'number')
    throw invalidField(field, 'must be text.', '必须是文本。');
  return String(value);
}

function toOrder(raw: unknown, context: WebhookContext): OrderRow {
  const item = objectOf(raw, 'orders[]');
  const status = text(item, 'status', 'created');
  if (!ORDER_STATUSES.includes(status))
    throw invalidField(
      'status',
      `"${status}" is not one of ${ORDER_STATUSES.join(', ')}.`,
      `"${status}" 不是 ${ORDER_STATUSES.join('、')} 之一。`,
    );
  const currency = text(item, 'currency');
  if (!/^[A-Z]{3}$/.test(currency)) {
    throw invalidField(
      'currency',
      `"${currency}" is not an ISO 4217 code.`,
      `"${currency}" 不是 ISO 4217 货币代码。`,
    );
  }
  const items = item.items === undefined ? [] : item.items;
  if (!Array.isArray(items)) throw invalidField('items', 'must be an array.', '必须是数组。');
  const createdAt = requiredTime(item, 'created_at');
  return {
    project_id: context.projectId,
    order_id: requiredId(item, 'order_id'),
    distinct_id: text(item, 'user_id'),
    person_id: '',
    platform: text(item, 'platform'),
    shop_id: text(item, 'shop_id'),
    created_at: createdAt,
    paid_at: timeOf(item, 'paid_at') ?? null,
    status,
    amount: amountOf(item, 'amount'),
    currency,
    item_count: items.reduce<number>(
      (sum, i) => sum + Number((i as Record<string, unknown>)?.quantity ?? 1),
      0,
    ),
    items: JSON.stringify(items),
    coupon: text(item, 'coupon'),
    channel: text(item, 'channel'),
    utm_source: text(item, 'utm_source'),
    utm_medium: text(item, 'utm_medium'),
    utm_campaign: text(item, 'utm_campaign'),
    campaign_id: text(item, 'campaign_id'),
    content_id: text(item, 'content_id'),
    source_id: context.sourceId,
    updated_at: timeOf(item, 'updated_at') ?? context.receivedAt,
  };
}

function toComment(raw: unknown, context: WebhookContext): CommentRow {
  const item = objectOf(raw, 'comments[]');
  const sentiment = text(item, 'sentiment');
  if (!SENTIMENTS.includes(sentiment))
    throw invalidField(
      'sentiment',
      `"${sentiment}" is not positive, negative or neutral.`,
      `"${sentiment}" 不是 positive、negative 或 neutral。`,
    );
  const body = text(item, 'text');
  if (body === '') throw invalidField('text', 'missing.', '缺失。');
  const likes = Number(item.like_count ?? 0);
  if (!Number.isInteger(likes) || likes < 0)
    throw invalidField(
      'like_count',
      `${JSON.stringify(item.like_count)} is not a whole number ≥ 0.`,
      `${JSON.stringify(item.like_count)} 不是 ≥ 0 的整数。`,
    );
  return {
    project_id: context.projectId,
    platform: requiredId(item, 'platform'),
    content_id: requiredId(item, 'content_id'),
    comment_id: requiredId(item, 'comment_id'),
    parent_id: text(item, 'parent_id'),
    author_id: text(item, 'author_id'),
    author_name: text(item, 'author_name'),
    text: body,
    created_at: requiredTime(item, 'created_at'),
    like_count: likes,
    language: text(item, 'language'),
    sentiment,
    sentiment_score: Number(item.sentiment_score ?? 0),
    source_id: context.sourceId,
    updated_at: timeOf(item, 'updated_at') ?? context.receivedAt,
  };
}

export const genericPlatform: WebhookPlatform = {
  id: 'generic',
  ...TITLE,
  verify: (raw, headers, secret) =>
    verifyHexHmac(raw, secret.secret, header(headers, 'x-pulseloop-signature')),
  async parse(raw, context) {
    const body = objectOf(parseBody(raw, TITLE), 'body');
    const orders = body.orders ?? [];
    const comments = body.comments ?? [];
    if (!Array.isArray(orders) || !Array.isArray(comments)) {
      throw invalidPayload(
        TITLE,
        '"orders" and "comments" must be arrays.',
        '"orders" 和 "comments" 必须是数组。',
      );
    }
    const result = { orders: [] as OrderRow[], comments: [] as CommentRow[], rejected: [] };
    for (const raw of orders) mapOrReject(raw, () => toOrder(raw, context), result.orders, result.rejected);
    for (const raw of comments)
      mapOrReject(raw, () => toComment(raw, context), result.comments, result.rejected);
    return result;
  },
  reply: (result) => ({ success: true, ...result }),
};
