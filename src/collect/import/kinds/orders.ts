import { decimal4, type KindSpec, missing, money, num, setIf, text } from './types.js';

/** Shop back-ends name order states in their own words; analyses use these six. */
const STATUS_RULES: Array<[RegExp, string]> = [
  [/关闭|取消|cancel|closed|void/i, 'cancelled'],
  [/退款|售后完成|refund/i, 'refunded'],
  [/成功|完成|已收货|签收|complete|delivered/i, 'completed'],
  [/已发货|待收货|等待买家确认|shipped|fulfilled/i, 'shipped'],
  [/已付款|已支付|待发货|备货|出库|等待卖家发货|^paid$/i, 'paid'],
  [/待付款|待支付|未付款|等待付款|等待买家付款|pending|unpaid|created/i, 'created'],
];

/** The canonical status of an order state as the shop wrote it; unknown words are kept, lower-cased. */
export function orderStatus(written: string): string {
  for (const [pattern, status] of STATUS_RULES) if (pattern.test(written)) return status;
  return written.trim().toLowerCase();
}

/** Orders: one row per order; a status change arrives as a newer row with the same order id. */
export const orders: KindSpec = {
  kind: 'orders',
  table: 'orders',
  en: 'orders',
  zh: '订单',
  fields: {
    order_id: {
      type: 'text',
      required: true,
      en: 'order id',
      zh: '订单编号',
      synonyms: ['order_id', 'order_no', 'order', '订单编号', '订单号', '订单ID', '主订单编号'],
    },
    distinct_id: {
      type: 'text',
      en: 'buyer id',
      zh: '买家 ID',
      synonyms: [
        'distinct_id',
        'user_id',
        'buyer_id',
        'customer_id',
        '买家ID',
        '用户ID',
        '买家会员名',
        '买家昵称',
        '下单账号',
      ],
    },
    platform: { type: 'text', en: 'platform', zh: '平台', synonyms: ['platform', '平台'] },
    shop_id: {
      type: 'text',
      en: 'shop',
      zh: '店铺',
      synonyms: ['shop_id', 'shop', 'store', '店铺ID', '店铺名称', '店铺'],
    },
    created_at: {
      type: 'datetime',
      required: true,
      en: 'order time',
      zh: '下单时间',
      synonyms: [
        'created_at',
        'order_time',
        'ordered_at',
        '下单时间',
        '订单创建时间',
        '创建时间',
        '订单提交时间',
        '成交时间',
      ],
    },
    paid_at: {
      type: 'datetime',
      en: 'payment time',
      zh: '付款时间',
      synonyms: ['paid_at', 'payment_time', '付款时间', '支付时间', '订单付款时间', '支付完成时间'],
    },
    status: {
      type: 'text',
      en: 'status (created, paid, shipped, completed, refunded, cancelled)',
      zh: '订单状态',
      synonyms: ['status', 'order_status', '订单状态', '状态', '交易状态'],
    },
    amount: {
      type: 'money',
      required: true,
      en: 'amount paid',
      zh: '实付金额',
      synonyms: [
        'amount',
        'total',
        'paid_amount',
        '实付金额',
        '实付款',
        '支付金额',
        '订单金额',
        '买家实际支付金额',
        '实收金额',
      ],
    },
    currency: { type: 'text', en: 'currency', zh: '币种', synonyms: ['currency', '币种', '货币'] },
    item_count: {
      type: 'count',
      en: 'number of items',
      zh: '商品件数',
      synonyms: ['item_count', 'quantity', '商品数量', '购买数量', '宝贝总数量', '商品件数', '数量'],
    },
    item_name: {
      type: 'text',
      en: 'product name',
      zh: '商品名称',
      synonyms: [
        'item_name',
        'product',
        'product_name',
        '商品名称',
        '商品',
        '宝贝标题',
        '选购商品',
        '商品标题',
      ],
    },
    item_sku: {
      type: 'text',
      en: 'product id or SKU',
      zh: '商品编码',
      synonyms: ['item_sku', 'sku', 'product_id', '商品ID', '商品编码', '商家编码', 'SKU'],
    },
    item_price: {
      type: 'money',
      en: 'unit price',
      zh: '单价',
      synonyms: ['item_price', 'price', '单价', '商品单价'],
    },
    coupon: {
      type: 'text',
      en: 'coupon',
      zh: '优惠券',
      synonyms: ['coupon', 'discount_code', '优惠券', '优惠券名称'],
    },
    channel: {
      type: 'text',
      en: 'sales channel',
      zh: '渠道',
      synonyms: ['channel', '渠道', '流量来源', '订单来源'],
    },
    utm_source: { type: 'text', en: 'utm_source', zh: 'utm_source', synonyms: ['utm_source'] },
    utm_medium: { type: 'text', en: 'utm_medium', zh: 'utm_medium', synonyms: ['utm_medium'] },
    utm_campaign: { type: 'text', en: 'utm_campaign', zh: 'utm_campaign', synonyms: ['utm_campaign'] },
    campaign_id: { type: 'text', en: 'campaign', zh: '营销活动', synonyms: ['campaign_id', '活动ID'] },
    content_id: {
      type: 'text',
      en: 'post or live stream that sold it',
      zh: '带货作品或直播',
      synonyms: ['content_id', '作品ID', '视频ID', '直播间ID'],
    },
  },
  naturalKey: ['order_id'],
  idColumn: 'order_id',
  compare: {
    distinct_id: 'text',
    platform: 'text',
    shop_id: 'text',
    created_at: 'ms',
    paid_at: 'ms',
    status: 'text',
    amount: 'number',
    currency: 'text',
    item_count: 'number',
    items: 'text',
    coupon: 'text',
    channel: 'text',
    utm_source: 'text',
    utm_medium: 'text',
    utm_campaign: 'text',
    campaign_id: 'text',
    content_id: 'text',
  },
  build(values, context) {
    const orderId = text(values, 'order_id');
    if (!orderId) throw missing('order_id', this.fields.order_id!);
    const createdAt = num(values, 'created_at');
    if (createdAt === undefined) throw missing('created_at', this.fields.created_at!);
    const amount = money(values, 'amount');
    if (!amount) throw missing('amount', this.fields.amount!);
    const quantity = num(values, 'item_count');
    const row: Record<string, unknown> = {
      project_id: context.projectId,
      order_id: orderId,
      created_at: createdAt,
      currency: (text(values, 'currency') || amount.currency || context.currency).toUpperCase(),
      updated_at: context.updatedAt,
    };
    setIf(row, 'distinct_id', text(values, 'distinct_id'));
    setIf(row, 'platform', text(values, 'platform').toLowerCase());
    setIf(row, 'shop_id', text(values, 'shop_id'));
    setIf(row, 'paid_at', num(values, 'paid_at'));
    setIf(row, 'status', orderStatus(text(values, 'status')));
    setIf(row, 'amount', decimal4(amount.amount));
    setIf(row, 'item_count', quantity);
    const name = text(values, 'item_name');
    const sku = text(values, 'item_sku');
    if (name || sku) {
      const price = money(values, 'item_price');
      row.items = JSON.stringify([
        { sku, name, quantity: quantity ?? 1, ...(price ? { price: decimal4(price.amount) } : {}) },
      ]);
    }
    for (const column of [
      'coupon',
      'channel',
      'utm_source',
      'utm_medium',
      'utm_campaign',
      'campaign_id',
      'content_id',
    ]) {
      setIf(row, column, text(values, column));
    }
    setIf(row, 'source_id', context.sourceId);
    return row;
  },
};
