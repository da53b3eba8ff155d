import type { PulseloopError } from '../../errors/registry.js';
import type { OrderRow } from '../../store/facts/rows.js';
import { amountOf, mapOrReject, objectOf, parseBody, requiredId, requiredTime, timeOf } from './parse.js';
import { verifyShopifyHmac } from './signatures.js';
import { header, type PlatformTitle, type WebhookPlatform } from './types.js';

/**
 * Shopify order webhooks (orders/create, orders/updated, orders/paid, orders/fulfilled,
 * orders/cancelled): the body is the whole order, signed with `X-Shopify-Hmac-Sha256`. Each delivery
 * becomes the order's latest row, versioned by the order's `updated_at`, so a late, older delivery
 * never replaces a newer one.
 */

function statusOf(order: Record<string, unknown>): string {
  if (order.cancelled_at) return 'cancelled';
  const financial = String(order.financial_status ?? '');
  if (financial === 'refunded') return 'refunded';
  if (order.fulfillment_status === 'fulfilled') return 'shipped';
  if (financial === 'paid' || financial === 'partially_refunded') return 'paid';
  return 'created';
}

function utmOf(landingSite: unknown): Record<string, string> {
  if (typeof landingSite !== 'string' || landingSite === '') return {};
  try {
    return Object.fromEntries(new URL(landingSite, 'https://shop.invalid').searchParams);
  } catch {
    return {};
  }
}

function toOrderRow(
  order: Record<string, unknown>,
  projectId: string,
  sourceId: string,
  receivedAt: number,
): OrderRow {
  const createdAt = requiredTime(order, 'created_at');
  const lineItems = Array.isArray(order.line_items) ? order.line_items : [];
  const items = lineItems.map((raw, i) => {
    const item = objectOf(raw, `line_items[${i}]`);
    return {
      sku: String(item.sku ?? item.variant_id ?? ''),
      name: String(item.name ?? item.title ?? ''),
      quantity: Number(item.quantity ?? 0),
      price: Number(item.price ?? 0),
    };
  });
  const customer =
    order.customer && typeof order.customer === 'object' ? (order.customer as Record<string, unknown>) : {};
  const discounts = Array.isArray(order.discount_codes) ? order.discount_codes : [];
  const utm = utmOf(order.landing_site);
  const status = statusOf(order);
  return {
    project_id: projectId,
    order_id: `shopify:${requiredId(order, 'id')}`,
    distinct_id: customer.id === undefined ? '' : `shopify:${String(customer.id)}`,
    person_id: '',
    platform: 'shopify',
    shop_id: '',
    created_at: createdAt,
    paid_at: status === 'created' ? null : (timeOf(order, 'processed_at') ?? null),
    status,
    amount: amountOf(order, 'total_price'),
    currency: String(order.currency ?? order.presentment_currency ?? ''),
    item_count: items.reduce((sum, item) => sum + item.quantity, 0),
    items: JSON.stringify(items),
    coupon: discounts.map((d) => String((d as Record<string, unknown>).code ?? '')).join(','),
    channel: '',
    utm_source: utm.utm_source ?? '',
    utm_medium: utm.utm_medium ?? '',
    utm_campaign: utm.utm_campaign ?? '',
    campaign_id: '',
    content_id: '',
    source_id: sourceId,
    updated_at: timeOf(order, 'updated_at') ?? receivedAt,
  };
}

const TITLE: PlatformTitle = { title: 'Shopify', titleZh: 'Shopify' };

export const shopifyPlatform: WebhookPlatform = {
  id: 'shopify',
  ...TITLE,
  verify: (raw, headers, secret) =>
    verifyShopifyHmac(raw, secret.secret, header(headers, 'x-shopify-hmac-sha256')),
  async parse(raw, context) {
    const order = objectOf(parseBody(raw, TITLE), 'body');
    const orders: OrderRow[] = [];
    const rejected: Array<{ error: PulseloopError; raw: unknown }> = [];
    mapOrReject(
      order,
      () => toOrderRow(order, context.projectId, context.sourceId, context.receivedAt),
      orders,
      rejected,
    );
    return { orders, comments: [], rejected };
  },
  reply: (result) => ({ success: true, ...result }),
};
