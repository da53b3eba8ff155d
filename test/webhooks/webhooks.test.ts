import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setWebhookSecret } from '../../src/collect/webhooks/secrets.js';
import { createSource } from '../../src/store/metadata/sources.js';
import { startTestServer, type TestServer } from '../support/server.js';

const SHOPIFY_SECRET = 'shpss_5f1d8a0c7e2b4d9a';
const DOUDIAN_APP_KEY = '7123456789012345678';
const DOUDIAN_SECRET = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
const GENERIC_SECRET = 'whsec_generic_0123456789';

let ts: TestServer;
let sourceId: string;

beforeAll(async () => {
  ts = await startTestServer();
  ({
    source: { id: sourceId },
  } = await createSource(ts.server.metadata, { projectId: ts.projectId, name: 'Shops', kind: 'server' }));
  await setWebhookSecret(ts.server.metadata, { sourceId, platform: 'shopify', secret: SHOPIFY_SECRET });
  await setWebhookSecret(ts.server.metadata, {
    sourceId,
    platform: 'doudian',
    secret: DOUDIAN_SECRET,
    appKey: DOUDIAN_APP_KEY,
  });
  await setWebhookSecret(ts.server.metadata, { sourceId, platform: 'generic', secret: GENERIC_SECRET });
});
afterAll(async () => ts.close());

async function post(platform: string, body: string, headers: Record<string, string>) {
  const response = await fetch(`${ts.url}/v1/webhooks/${sourceId}/${platform}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function shopifySign(body: string, secret = SHOPIFY_SECRET): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('base64');
}

async function orders(orderId: string) {
  return ts.server.facts.query<Record<string, unknown>>(
    `SELECT order_id, distinct_id, platform, shop_id, status, toFloat64(amount) AS amount, currency, item_count, items,
            coupon, utm_source, utm_medium, utm_campaign, toString(created_at) AS created_at, toString(paid_at) AS paid_at
     FROM orders FINAL WHERE project_id = {project:String} AND order_id = {order:String}`,
    { project: ts.projectId, order: orderId },
  );
}

async function quarantined(reasonCode: string) {
  return ts.server.facts.query<{
    origin: string;
    source_id: string;
    reason_code: string;
    field: string;
    raw: string;
  }>(
    `SELECT origin, source_id, reason_code, reason, field, raw FROM quarantine FINAL
     WHERE project_id = {project:String} AND reason_code = {code:String} ORDER BY received_at`,
    { project: ts.projectId, code: reasonCode },
  );
}

/** An order as Shopify's orders/* webhooks send it (abridged to the fields Pulseloop reads and a few more). */
function shopifyOrder(overrides: Record<string, unknown> = {}) {
  return {
    id: '820982911946154508',
    admin_graphql_api_id: 'gid://shopify/Order/820982911946154508',
    name: '#9999',
    email: 'jon@example.com',
    created_at: '2025-03-01T14:05:00+08:00',
    updated_at: '2025-03-01T14:06:00+08:00',
    processed_at: '2025-03-01T14:05:30+08:00',
    currency: 'CNY',
    total_price: '398.00',
    subtotal_price: '418.00',
    financial_status: 'paid',
    fulfillment_status: null,
    cancelled_at: null,
    landing_site: '/products/green-tea?utm_source=douyin&utm_medium=paid_social&utm_campaign=spring',
    referring_site: 'https://www.douyin.com/',
    discount_codes: [{ code: 'SPRING20', amount: '20.00', type: 'fixed_amount' }],
    customer: { id: '115310627314723954', email: 'jon@example.com' },
    line_items: [
      {
        id: '866550311766439020',
        sku: 'TEA-GREEN-250',
        title: 'Green tea',
        name: 'Green tea - 250 g',
        quantity: 2,
        price: '159.00',
      },
      { id: '141249953214522974', sku: 'CUP-01', title: 'Cup', name: 'Cup', quantity: 1, price: '100.00' },
    ],
    ...overrides,
  };
}

/** Shopify writes ids as bare JSON numbers, beyond what a double holds exactly. */
function shopifyJson(order: object): string {
  return JSON.stringify(order).replace(/"id":"(\d+)"/g, '"id":$1');
}

describe('Shopify order webhooks', () => {
  it('stores a signed orders/create delivery as an order with its amount, items, coupon and UTM', async () => {
    const body = shopifyJson({
      ...shopifyOrder(),
      id: '820982911946154508',
      customer: { id: '115310627314723954' },
    });
    const answer = await post('shopify', body, {
      'x-shopify-hmac-sha256': shopifySign(body),
      'x-shopify-topic': 'orders/create',
      'x-shopify-shop-domain': 'leaf-co.myshopify.com',
    });
    expect(answer).toEqual({ status: 200, body: { success: true, accepted: 1, quarantined: 0, errors: [] } });
    const [order] = await orders('shopify:820982911946154508');
    expect(order).toMatchObject({
      distinct_id: 'shopify:115310627314723954',
      platform: 'shopify',
      status: 'paid',
      amount: 398,
      currency: 'CNY',
      item_count: 3,
      coupon: 'SPRING20',
      utm_source: 'douyin',
      utm_medium: 'paid_social',
      utm_campaign: 'spring',
      created_at: '2025-03-01 06:05:00.000',
      paid_at: '2025-03-01 06:05:30.000',
    });
    expect(JSON.parse(String(order!.items))).toEqual([
      { sku: 'TEA-GREEN-250', name: 'Green tea - 250 g', quantity: 2, price: 159 },
      { sku: 'CUP-01', name: 'Cup', quantity: 1, price: 100 },
    ]);
  });

  it('keeps the newest state of an order even when an older delivery arrives last', async () => {
    const id = '820982911946150001';
    const created = shopifyJson(shopifyOrder({ id }));
    const cancelled = shopifyJson(
      shopifyOrder({
        id,
        cancelled_at: '2025-03-02T09:00:00+08:00',
        updated_at: '2025-03-02T09:00:00+08:00',
        financial_status: 'voided',
      }),
    );
    for (const body of [created, cancelled, created]) {
      expect((await post('shopify', body, { 'x-shopify-hmac-sha256': shopifySign(body) })).status).toBe(200);
    }
    expect((await orders(`shopify:${id}`)).map((o) => o.status)).toEqual(['cancelled']);
  });

  it('refuses a delivery signed with another secret with 401, stores nothing and records the attempt', async () => {
    const body = shopifyJson(shopifyOrder({ id: '820982911946159999' }));
    const answer = await post('shopify', body, {
      'x-shopify-hmac-sha256': shopifySign(body, 'not-the-secret'),
    });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({
      error: { code: 'webhook_bad_signature', message_zh: expect.stringContaining('签名') },
    });
    const tampered = await post('shopify', body.replace('398.00', '1.00'), {
      'x-shopify-hmac-sha256': shopifySign(body),
    });
    expect(tampered.status).toBe(401);
    const missing = await post('shopify', body, {});
    expect(missing.status).toBe(401);
    expect(await orders('shopify:820982911946159999')).toEqual([]);
    const records = await quarantined('webhook_bad_signature');
    expect(records).toHaveLength(3);
    expect(records[0]).toMatchObject({ origin: 'webhook', source_id: sourceId, raw: body });
  });

  it('quarantines a signed order that has no creation time, with the field named', async () => {
    const body = shopifyJson(shopifyOrder({ id: '820982911946150002', created_at: null }));
    const answer = await post('shopify', body, { 'x-shopify-hmac-sha256': shopifySign(body) });
    expect(answer.body).toMatchObject({
      accepted: 0,
      quarantined: 1,
      errors: [
        {
          code: 'invalid_field',
          message: 'Field "created_at" is invalid: missing.',
          message_zh: '字段 "created_at" 无效：缺失。',
        },
      ],
    });
    const [record] = (await quarantined('invalid_field')).filter((r) => r.raw.includes('820982911946150002'));
    expect(record).toMatchObject({ origin: 'webhook', field: 'created_at' });
  });
});

describe('Douyin shop (抖店) message push', () => {
  function sign(body: string, method?: 'hmac-sha256'): string {
    const text = `${DOUDIAN_APP_KEY}${body}${DOUDIAN_SECRET}`;
    return method
      ? createHmac('sha256', DOUDIAN_SECRET).update(text).digest('hex')
      : createHash('md5').update(text).digest('hex');
  }
  function message(tag: string, data: Record<string, unknown>) {
    return { tag, msg_id: `7${tag}${Date.now()}`, data: JSON.stringify(data) };
  }
  const pId = '6912345678901234567';

  it('answers the connectivity test with {code: 0, msg: "success"} and stores nothing', async () => {
    const body = JSON.stringify([{ tag: '0', msg_id: '0', data: '{}' }]);
    const answer = await post('doudian', body, { 'app-id': DOUDIAN_APP_KEY, 'event-sign': sign(body) });
    expect(answer).toEqual({ status: 200, body: { code: 0, msg: 'success' } });
  });

  it("merges an order's messages: the creation gives the amount, the later shipment the status", async () => {
    // The platform writes 64-bit ids as bare numbers inside the data text.
    const created = JSON.stringify([
      {
        tag: '100',
        msg_id: '7100001',
        data: `{"p_id":${pId},"s_ids":[6912345678901234568],"shop_id":88888,"order_status":1,"create_time":1740809100,"pay_amount":12990}`,
      },
    ]);
    const shipped = JSON.stringify([
      message('102', { p_id: pId, shop_id: 88888, order_status: 3, update_time: 1740895500 }),
    ]);
    expect(
      (await post('doudian', shipped, { 'app-id': DOUDIAN_APP_KEY, 'event-sign': sign(shipped) })).status,
    ).toBe(200);
    const answer = await post('doudian', created, {
      'app-id': DOUDIAN_APP_KEY,
      'event-sign': sign(created, 'hmac-sha256'),
      'sign-method': 'hmac-sha256',
    });
    expect(answer.body).toEqual({ code: 0, msg: 'success' });
    expect(await orders(`doudian:${pId}`)).toEqual([
      expect.objectContaining({
        status: 'shipped',
        amount: 129.9,
        currency: 'CNY',
        shop_id: '88888',
        created_at: '2025-03-01 06:05:00.000',
      }),
    ]);
  });

  it('refuses a push naming another app or signed wrongly, and quarantines messages it cannot read', async () => {
    const body = JSON.stringify([message('101', { p_id: '1', create_time: 1740809100, pay_amount: 100 })]);
    expect((await post('doudian', body, { 'app-id': '123', 'event-sign': sign(body) })).status).toBe(401);
    expect(
      (await post('doudian', body, { 'app-id': DOUDIAN_APP_KEY, 'event-sign': sign(`${body} `) })).status,
    ).toBe(401);

    const odd = JSON.stringify([
      message('999', { p_id: '2' }),
      message('101', { p_id: '3', create_time: 1740809100, pay_amount: -5 }),
    ]);
    const answer = await post('doudian', odd, { 'app-id': DOUDIAN_APP_KEY, 'event-sign': sign(odd) });
    expect(answer).toEqual({ status: 200, body: { code: 0, msg: 'success' } });
    const records = (await quarantined('invalid_field')).filter(
      (r) => r.raw.includes('\\"p_id\\":\\"2\\"') || r.raw.includes('\\"p_id\\":\\"3\\"'),
    );
    expect(records.map((r) => r.field).sort()).toEqual(['pay_amount', 'tag']);
  });
});

describe('generic signed-JSON webhook', () => {
  function sign(body: string): string {
    return createHmac('sha256', GENERIC_SECRET).update(body).digest('hex');
  }

  it('stores orders and comments and quarantines the invalid entries with their reasons', async () => {
    const body = JSON.stringify({
      orders: [
        {
          order_id: 'G-1',
          created_at: '2025-03-01T08:00:00Z',
          amount: 88.5,
          currency: 'CNY',
          status: 'paid',
          platform: 'youzan',
          user_id: 'u1',
        },
      ],
      comments: [
        {
          platform: 'xiaohongshu',
          content_id: 'note-1',
          comment_id: 'c-1',
          text: '好喝！回购了',
          created_at: '2025-03-01T09:00:00Z',
          sentiment: 'positive',
          like_count: 3,
        },
        {
          platform: 'xiaohongshu',
          content_id: 'note-1',
          comment_id: 'c-2',
          text: '太贵',
          created_at: '2025-03-01T09:01:00Z',
          like_count: -1,
        },
      ],
    });
    const answer = await post('generic', body, { 'x-pulseloop-signature': `sha256=${sign(body)}` });
    expect(answer.body).toMatchObject({
      accepted: 2,
      quarantined: 1,
      errors: [
        { index: 0, code: 'invalid_field', message_zh: '字段 "like_count" 无效：-1 不是 ≥ 0 的整数。' },
      ],
    });
    expect(await orders('G-1')).toEqual([
      expect.objectContaining({ status: 'paid', amount: 88.5, platform: 'youzan', distinct_id: 'u1' }),
    ]);
    const comments = await ts.server.facts.query<Record<string, unknown>>(
      `SELECT comment_id, text, sentiment, like_count FROM comments FINAL WHERE project_id = {project:String} ORDER BY comment_id`,
      { project: ts.projectId },
    );
    expect(comments).toEqual([
      { comment_id: 'c-1', text: '好喝！回购了', sentiment: 'positive', like_count: 3 },
    ]);
    const [record] = (await quarantined('invalid_field')).filter((r) => r.raw.includes('c-2'));
    expect(record).toMatchObject({ field: 'like_count', origin: 'webhook' });
  });

  it('answers 400 and quarantines a signed body that is not JSON, 401 for a bad signature', async () => {
    const body = '{"orders": [';
    const answer = await post('generic', body, { 'x-pulseloop-signature': sign(body) });
    expect(answer).toMatchObject({ status: 400, body: { error: { code: 'webhook_invalid_payload' } } });
    const { message, message_zh } = (answer.body as { error: { message: string; message_zh: string } }).error;
    expect(message).toMatch(/^The Signed JSON webhook payload is invalid: the body is not JSON \(/);
    // JSON.parse's own words stay as they are; the sentence around them is Chinese.
    expect(message_zh).toMatch(/^签名 JSON Webhook 内容无效：请求体不是 JSON（.+）。$/);
    expect((await quarantined('webhook_invalid_payload')).some((r) => r.raw === body)).toBe(true);
    expect((await post('generic', '{}', { 'x-pulseloop-signature': 'zz' })).status).toBe(401);
  });

  it('answers 404 for a source without that webhook and for an unknown platform', async () => {
    const { source } = await createSource(ts.server.metadata, {
      projectId: ts.projectId,
      name: 'Other',
      kind: 'server',
    });
    const unconfigured = await fetch(`${ts.url}/v1/webhooks/${source.id}/shopify`, {
      method: 'POST',
      body: '{}',
    });
    expect(unconfigured.status).toBe(404);
    expect(((await unconfigured.json()) as { error: { code: string } }).error.code).toBe(
      'webhook_not_configured',
    );
    const unknown = await fetch(`${ts.url}/v1/webhooks/${sourceId}/myspace`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
  });
});
