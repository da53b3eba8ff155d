import type { PulseloopError } from '../../errors/registry.js';
import type { FactsEngine } from '../../store/facts/engine.js';
import type { OrderRow } from '../../store/facts/rows.js';
import {
  invalidField,
  invalidPayload,
  mapOrReject,
  objectOf,
  parseBody,
  requiredId,
  requiredTime,
  timeOf,
} from './parse.js';
import { verifyDoudianSign } from './signatures.js';
import { header, type PlatformTitle, type WebhookContext, type WebhookPlatform } from './types.js';

/**
 * Douyin shop (抖店) message push. Headers `app-id` and `event-sign` (see signatures.ts); the body is a
 * JSON array of messages `{tag, msg_id, data}`, where `data` is itself JSON text. Order messages
 * carry the parent order id `p_id`, `shop_id`, times in unix seconds and amounts in fen (分); tag
 * "0" is the platform's connectivity test. A message says what changed (paid, shipped …), so its row
 * is merged with the order's stored row: the newer event sets the status, the amount and creation
 * time are kept from whichever message had them. The platform expects `{"code":0,"msg":"success"}`.
 */

const TITLE: PlatformTitle = { title: 'Douyin shop', titleZh: '抖店' };

const ORDER_STATUS_BY_TAG: Record<string, string> = {
  '100': 'created', // trade_TradeCreate 订单创建
  '101': 'paid', // trade_TradePaid 订单支付
  '102': 'shipped', // trade_TradeSellerShip 卖家发货
  '103': 'completed', // trade_TradeSuccess 交易完成
  '106': 'cancelled', // trade_TradeCanceled 订单取消
};
const TEST_TAG = '0';

interface Message {
  tag: string;
  msgId: string;
  data: Record<string, unknown>;
}

function messageOf(raw: unknown, index: number): Message {
  const message = objectOf(raw, `[${index}]`);
  const tag = String(message.tag ?? '');
  let data: unknown = message.data;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data.replace(/("[A-Za-z0-9_]*id"\s*:\s*)(-?\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
    } catch {
      throw invalidField('data', 'is not JSON text.', '不是 JSON 文本。');
    }
  }
  return { tag, msgId: String(message.msg_id ?? ''), data: objectOf(data ?? {}, 'data') };
}

/** The order row one message describes, before merging with what is stored. */
function orderFromMessage(message: Message, context: WebhookContext): OrderRow {
  const status = ORDER_STATUS_BY_TAG[message.tag];
  if (!status)
    throw invalidField(
      'tag',
      `message tag "${message.tag}" is not an order message Pulseloop reads.`,
      `消息标签 "${message.tag}" 不是 Pulseloop 读取的订单消息。`,
    );
  const data = message.data;
  const eventAt =
    timeOf(data, 'update_time') ?? timeOf(data, 'pay_time') ?? requiredTime(data, 'create_time');
  const fen = data.pay_amount ?? data.order_amount;
  if (fen !== undefined && !(Number.isInteger(Number(fen)) && Number(fen) >= 0)) {
    const sent = JSON.stringify(fen);
    throw invalidField('pay_amount', `${sent} is not an amount in fen.`, `${sent} 不是以分为单位的金额。`);
  }
  return {
    project_id: context.projectId,
    order_id: `doudian:${requiredId(data, 'p_id')}`,
    distinct_id: '',
    person_id: '',
    platform: 'douyin_shop',
    shop_id: data.shop_id === undefined ? '' : String(data.shop_id),
    created_at: timeOf(data, 'create_time') ?? 0,
    paid_at: timeOf(data, 'pay_time') ?? null,
    status,
    amount: fen === undefined ? Number.NaN : Number(fen) / 100,
    currency: 'CNY',
    item_count: Array.isArray(data.s_ids) ? data.s_ids.length : 0,
    items: '[]',
    coupon: '',
    channel: 'douyin',
    utm_source: '',
    utm_medium: '',
    utm_campaign: '',
    campaign_id: '',
    content_id: '',
    source_id: context.sourceId,
    updated_at: eventAt,
  };
}

/** Folds an incoming message into the stored row of the same order. */
function merge(stored: OrderRow | undefined, incoming: OrderRow): OrderRow {
  if (!stored) return { ...incoming, amount: Number.isNaN(incoming.amount) ? 0 : incoming.amount };
  const newer = incoming.updated_at >= stored.updated_at ? incoming : stored;
  return {
    ...stored,
    status: newer.status,
    updated_at: Math.max(stored.updated_at, incoming.updated_at),
    amount: Number.isNaN(incoming.amount) ? stored.amount : incoming.amount,
    created_at: stored.created_at || incoming.created_at,
    paid_at: stored.paid_at ?? incoming.paid_at,
    item_count: stored.item_count || incoming.item_count,
    shop_id: stored.shop_id || incoming.shop_id,
  };
}

async function storedOrder(
  facts: FactsEngine,
  projectId: string,
  orderId: string,
): Promise<OrderRow | undefined> {
  const rows = await facts.query<Record<string, unknown>>(
    `SELECT * EXCEPT (created_at, paid_at, updated_at, amount),
            toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(paid_at) AS paid_ms,
            toUnixTimestamp64Milli(updated_at) AS updated_ms, toFloat64(amount) AS amount_value
     FROM orders FINAL WHERE project_id = {project:String} AND order_id = {order:String}`,
    { project: projectId, order: orderId },
  );
  const row = rows[0];
  if (!row) return undefined;
  const { created_ms, paid_ms, updated_ms, amount_value, ...rest } = row;
  return {
    ...(rest as Omit<OrderRow, 'created_at' | 'paid_at' | 'updated_at' | 'amount'>),
    created_at: Number(created_ms),
    paid_at: paid_ms === null ? null : Number(paid_ms),
    updated_at: Number(updated_ms),
    amount: Number(amount_value),
  };
}

export const doudianPlatform: WebhookPlatform = {
  id: 'doudian',
  ...TITLE,
  verify(raw, headers, secret) {
    if (!secret.appKey || header(headers, 'app-id') !== secret.appKey) return false;
    return verifyDoudianSign(
      raw,
      secret.appKey,
      secret.secret,
      header(headers, 'event-sign'),
      header(headers, 'sign-method'),
    );
  },
  async parse(raw, context) {
    const body = parseBody(raw, TITLE);
    if (!Array.isArray(body)) {
      throw invalidPayload(
        TITLE,
        'the body must be a JSON array of messages.',
        '请求体必须是消息的 JSON 数组。',
      );
    }
    const incoming: OrderRow[] = [];
    const rejected: Array<{ error: PulseloopError; raw: unknown }> = [];
    body.forEach((raw, index) => {
      if (typeof raw === 'object' && raw !== null && String((raw as { tag?: unknown }).tag) === TEST_TAG)
        return;
      mapOrReject(raw, () => orderFromMessage(messageOf(raw, index), context), incoming, rejected);
    });
    const merged = new Map<string, OrderRow>();
    for (const row of incoming) {
      const stored =
        merged.get(row.order_id) ?? (await storedOrder(context.facts, context.projectId, row.order_id));
      merged.set(row.order_id, merge(stored, row));
    }
    return { orders: [...merged.values()], comments: [], rejected };
  },
  reply: () => ({ code: 0, msg: 'success' }),
};
