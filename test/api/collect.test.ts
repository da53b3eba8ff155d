import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource, createWriteKey } from '../../src/store/metadata/sources.js';
import { basicAuth, startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

async function post(
  path: string,
  body: unknown,
  init: { key?: string; headers?: Record<string, string> } = {},
) {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const response = await fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: basicAuth(init.key ?? t.writeKey),
      ...init.headers,
    },
    body: payload,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

async function eventsOf(projectId: string, where = '1', params: Record<string, unknown> = {}) {
  await t.settle();
  return t.server.facts.query<Record<string, unknown>>(
    `SELECT * FROM events FINAL WHERE project_id = {project:String} AND ${where} ORDER BY timestamp, message_id`,
    { project: projectId, ...params },
  );
}

async function quarantined(projectId: string) {
  await t.settle();
  return t.server.facts.query<{ reason_code: string; reason: string; raw: string; row_number: number }>(
    'SELECT reason_code, reason, raw, row_number FROM quarantine WHERE project_id = {project:String} ORDER BY received_at, row_number',
    { project: projectId },
  );
}

describe('collection API: single calls', () => {
  it('stores a track call sent with the write key as Basic-auth user name', async () => {
    const response = await post('/v1/track', {
      userId: 'u-track',
      event: 'video_play',
      messageId: 'track-1',
      properties: { content_id: 'v1', platform: 'douyin' },
    });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ success: true, accepted: 1, quarantined: 0 });
    const rows = await eventsOf(t.projectId, "message_id = 'track-1'");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      event: 'video_play',
      distinct_id: 'u-track',
      content_id: 'v1',
      type: 'track',
    });
  });

  it('accepts the write key in the body instead of the header', async () => {
    const response = await fetch(`${t.url}/v1/page`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        writeKey: t.writeKey,
        anonymousId: 'anon-page',
        name: 'Home',
        messageId: 'page-1',
      }),
    });
    expect(response.status).toBe(200);
    expect(await eventsOf(t.projectId, "message_id = 'page-1'")).toMatchObject([{ event: '$pageview' }]);
  });

  it('takes gzip-compressed bodies', async () => {
    const body = gzipSync(JSON.stringify({ anonymousId: 'gz', event: 'zipped', messageId: 'gzip-1' }));
    const response = await post('/v1/track', body, { headers: { 'content-encoding': 'gzip' } });
    expect(response.status).toBe(200);
    expect(await eventsOf(t.projectId, "message_id = 'gzip-1'")).toHaveLength(1);
  });

  it('stores a re-delivered event once', async () => {
    const event = {
      userId: 'u-dup',
      event: 'order_completed',
      messageId: 'dup-1',
      properties: { revenue: 99 },
    };
    expect((await post('/v1/track', event)).json).toMatchObject({ accepted: 1 });
    expect((await post('/v1/track', event)).json).toMatchObject({ accepted: 0, duplicates: 1 });
    await t.settle();
    const [row] = await t.server.facts.query<{ n: number }>(
      "SELECT count() AS n FROM events WHERE project_id = {p:String} AND message_id = 'dup-1'",
      { p: t.projectId },
    );
    expect(Number(row!.n)).toBe(1);
  });

  it('corrects the client clock as Segment does: timestamp = receivedAt − (sentAt − originalTimestamp)', async () => {
    const before = Date.now();
    await post('/v1/track', {
      anonymousId: 'skewed',
      event: 'skew',
      messageId: 'skew-1',
      originalTimestamp: '2030-01-01T00:00:00.000Z',
      sentAt: '2030-01-01T00:00:10.000Z',
    });
    const after = Date.now();
    await t.settle();
    const [row] = await t.server.facts.query<{ ms: number }>(
      "SELECT toUnixTimestamp64Milli(timestamp) AS ms FROM events WHERE project_id = {p:String} AND message_id = 'skew-1'",
      { p: t.projectId },
    );
    expect(Number(row!.ms)).toBeGreaterThanOrEqual(before - 10_000);
    expect(Number(row!.ms)).toBeLessThanOrEqual(after - 10_000);
  });

  it('answers 400 naming the problem for invalid JSON', async () => {
    const response = await post('/v1/track', '{"userId": "x" "event": "e"}');
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('invalid_json');
    // The parser's English names where it stopped; the Chinese says it too.
    expect(response.json.error.message).toBe(
      "The body is not valid JSON: Expected ',' or '}' after property value in JSON at position 15",
    );
    expect(response.json.error.message_zh).toMatch(/^请求体不是有效的 JSON：位置 15 处语法错误（Expected/);
    expect(response.json.error.details.position).toBe(15);
    const cut = await post('/v1/track', '{"userId": "x", "event": ');
    expect(cut.json.error.message_zh).toBe('请求体不是有效的 JSON：语法错误（Unexpected end of JSON input）');
  });

  it('answers 400 naming the invalid field in English and in Chinese', async () => {
    const response = await post('/v1/track', { userId: 'u', event: 12 });
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({
      code: 'invalid_field',
      message: 'Field "event" is invalid: must be a string',
      message_zh: '字段 "event" 无效：必须是字符串',
      details: { field: 'event', detail: 'must be a string', detail_zh: '必须是字符串' },
    });
  });

  it('answers 400 for an event without any id, and keeps it in quarantine', async () => {
    const { projectId, writeKey } = await t.newProject('missing ids');
    const response = await post('/v1/track', { event: 'no_id' }, { key: writeKey });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('missing_id');
    expect((await quarantined(projectId)).map((q) => q.reason_code)).toEqual(['missing_id']);
  });

  it('answers 400 for an event over 32 KB', async () => {
    const response = await post('/v1/track', {
      userId: 'big',
      event: 'huge',
      properties: { blob: 'x'.repeat(33 * 1024) },
    });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toMatch(/too_large/);
  });

  it('answers 401 for an unknown write key and for no key at all', async () => {
    const unknown = await post('/v1/track', { userId: 'u', event: 'e' }, { key: 'pl_wk_doesnotexist' });
    expect(unknown.status).toBe(401);
    expect(unknown.json.error.code).toBe('unknown_write_key');
    const none = await fetch(`${t.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'u', event: 'e' }),
    });
    expect(none.status).toBe(401);
  });

  it('answers CORS preflights so browsers can send events', async () => {
    const response = await fetch(`${t.url}/v1/batch`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });
});

describe('collection API: batches', () => {
  it('keeps the valid events of a batch and quarantines each invalid one with its reason', async () => {
    const { projectId, writeKey } = await t.newProject('mixed batch');
    const response = await post(
      '/v1/batch',
      {
        batch: [
          { type: 'track', userId: 'u1', event: 'ok_1', messageId: 'b-ok-1' },
          { type: 'track', event: 'no_id', messageId: 'b-bad-1' },
          { type: 'identify', userId: 'u1', traits: { city: '上海' }, messageId: 'b-ok-2' },
          { type: 'launch_rockets', userId: 'u1', messageId: 'b-bad-2' },
          {
            type: 'track',
            userId: 'u1',
            event: 'bad_time',
            timestamp: 'yesterday-ish',
            messageId: 'b-bad-3',
          },
          {
            type: 'track',
            userId: 'u1',
            event: 'future',
            timestamp: '2999-01-01T00:00:00Z',
            messageId: 'b-bad-4',
          },
          { type: 'track', userId: 'u1', event: 'ok_3', messageId: 'b-ok-3' },
        ],
      },
      { key: writeKey },
    );
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ success: true, accepted: 3, quarantined: 4 });
    expect(response.json.errors.map((e: { index: number }) => e.index)).toEqual([1, 3, 4, 5]);
    // Every refusal is told in both languages.
    for (const e of response.json.errors as Array<{ message: string; message_zh: string }>) {
      expect(e.message).toMatch(/[a-z]/);
      expect(e.message_zh).toMatch(/[\u4e00-\u9fff]/);
    }
    const stored = await eventsOf(projectId);
    expect(stored.map((r) => r.message_id).sort()).toEqual(['b-ok-1', 'b-ok-2', 'b-ok-3']);
    const reasons = (await quarantined(projectId)).map((q) => q.reason_code).sort();
    expect(reasons).toEqual(['future_timestamp', 'invalid_timestamp', 'missing_id', 'unknown_type']);
  });

  it('merges the batch-level context into each event', async () => {
    const { projectId, writeKey } = await t.newProject('batch context');
    await post(
      '/v1/batch',
      {
        context: { locale: 'zh-CN', campaign: { source: 'douyin', medium: 'paid_social', name: 'double11' } },
        batch: [{ type: 'track', anonymousId: 'a', event: 'view', messageId: 'ctx-1' }],
      },
      { key: writeKey },
    );
    expect(await eventsOf(projectId)).toMatchObject([
      { locale: 'zh-CN', utm_source: 'douyin', utm_medium: 'paid_social', utm_campaign: 'double11' },
    ]);
  });

  it('refuses a batch of more than 2,500 events with 400', async () => {
    const batch = Array.from({ length: 2501 }, (_, i) => ({
      type: 'track',
      userId: 'u',
      event: 'e',
      messageId: `m${i}`,
    }));
    const response = await post('/v1/batch', { batch });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toMatch(/batch_too_many_events|request_too_large/);
  });

  it('refuses a request over 500 KB with 400', async () => {
    const batch = Array.from({ length: 40 }, (_, i) => ({
      type: 'track',
      userId: 'u',
      event: 'e',
      messageId: `big${i}`,
      properties: { pad: 'y'.repeat(15_000) },
    }));
    const response = await post('/v1/batch', { batch });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('request_too_large');
  });

  it('survives hostile payloads: __proto__ keys, deep nesting, huge strings', async () => {
    const { projectId, writeKey } = await t.newProject('hostile');
    let deep: unknown = { leaf: true };
    for (let i = 0; i < 200; i += 1) deep = { d: deep };
    const raw = `{"batch":[{"type":"track","userId":"u","event":"proto","messageId":"h1","properties":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}},${JSON.stringify({ type: 'track', userId: 'u', event: 'deep', messageId: 'h2', properties: deep })},${JSON.stringify({ type: 'track', userId: 'u', event: 'x'.repeat(40_000), messageId: 'h3' })}]}`;
    const response = await post('/v1/batch', raw, { key: writeKey });
    expect(response.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(response.json).toMatchObject({ accepted: 1, quarantined: 2 });
    expect((await eventsOf(projectId)).map((r) => r.message_id)).toEqual(['h1']);
  });

  it('stores lone surrogates, fractional millisecond times, and quarantines amounts the store cannot hold, so no row blocks the writer', async () => {
    const { projectId, writeKey } = await t.newProject('unstorable');
    // JSON.stringify writes each lone surrogate as an escape (\ud800), as a hostile sender would.
    const body = JSON.stringify({
      batch: [
        {
          type: 'track',
          userId: 'u\udc00',
          event: 'a\ud800b',
          messageId: 's1',
          properties: { note: 'x\ud800', plays: 1 },
          context: { locale: 'zh\udfff' },
        },
        { type: 'identify', userId: 'v\ud800', traits: { name: 'n\udc00' }, messageId: 's2' },
        {
          type: 'track',
          userId: 'u',
          event: 'Order Completed',
          properties: { revenue: 1e20 },
          messageId: 's3',
        },
        {
          type: 'track',
          userId: 'u',
          event: 'Order Completed',
          properties: { total: -1e15 },
          messageId: 's4',
        },
        {
          type: 'track',
          userId: 'u',
          event: 'Order Completed',
          properties: { revenue: 99_999_999_999_999.98 },
          messageId: 's5',
        },
        { type: 'track', userId: 'u', event: 'late', timestamp: 1_764_000_000_123.75, messageId: 's6' },
      ],
    });
    const response = await post('/v1/batch', body, { key: writeKey });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ accepted: 4, quarantined: 2 });
    expect(response.json.errors.map((e: { index: number; message: string }) => [e.index, e.message])).toEqual(
      [
        [2, expect.stringContaining('"properties.revenue"')],
        [3, expect.stringContaining('"properties.total"')],
      ],
    );
    const rows = await eventsOf(projectId);
    expect(t.server.writer.stats().lastError).toBeUndefined();
    const byId = new Map(rows.map((r) => [r.message_id, r]));
    expect([...byId.keys()].sort()).toEqual(['s1', 's2', 's5', 's6']);
    expect(byId.get('s6')?.timestamp).toBe('2025-11-24 16:00:00.123');
    expect(byId.get('s1')).toMatchObject({ event: 'a\ufffdb', user_id: 'u\ufffd', locale: 'zh\ufffd' });
    expect(byId.get('s2')).toMatchObject({ user_id: 'v\ufffd' });
    expect(byId.get('s5')?.revenue).toBeCloseTo(99_999_999_999_999.98, 1);
    const identities = await t.server.facts.query<{ distinct_id: string }>(
      'SELECT distinct_id FROM identities FINAL WHERE project_id = {project:String} ORDER BY distinct_id',
      { project: projectId },
    );
    expect(identities.map((r) => r.distinct_id)).toEqual(expect.arrayContaining(['u\ufffd', 'v\ufffd']));
    expect((await quarantined(projectId)).map((q) => q.reason_code)).toEqual([
      'invalid_field',
      'invalid_field',
    ]);
  });

  it('stores a batch that backfills more than a hundred months of history', async () => {
    const { projectId, writeKey } = await t.newProject('backfill');
    const batch = Array.from({ length: 150 }, (_, i) => ({
      type: 'track',
      userId: 'u',
      event: 'old',
      messageId: `b${i}`,
      timestamp: new Date(Date.UTC(2005, i, 15)).toISOString(),
    }));
    const response = await post('/v1/batch', { batch }, { key: writeKey });
    expect(response.json).toMatchObject({ accepted: 150, quarantined: 0 });
    expect(await eventsOf(projectId)).toHaveLength(150);
    expect(t.server.writer.stats().lastError).toBeUndefined();
  });

  it('answers 400, not a crash, for a body nested a hundred thousand levels deep', async () => {
    const response = await post('/v1/batch', `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(response.status).toBe(400);
  });
});

describe('collection API: rate limits', () => {
  it('answers 429 with Retry-After over a key rate limit', async () => {
    const { source } = await createSource(t.server.metadata, {
      projectId: t.projectId,
      name: 'limited',
      kind: 'server',
    });
    const limited = await createWriteKey(t.server.metadata, source.id, { rateLimitPerSecond: 2 });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 8; i += 1) {
      const r = await fetch(`${t.url}/v1/track`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basicAuth(limited.key) },
        body: JSON.stringify({ userId: 'u', event: 'e' }),
      });
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get('retry-after');
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
      }
    }
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});

describe('identity through the API', () => {
  it('counts anonymous events before identify for the identified person', async () => {
    const { projectId, writeKey } = await t.newProject('identity');
    await post(
      '/v1/track',
      { anonymousId: 'anon-7', event: 'product_view', messageId: 'i1' },
      { key: writeKey },
    );
    await post(
      '/v1/identify',
      { anonymousId: 'anon-7', userId: 'user-7', traits: { name: '王' }, messageId: 'i2' },
      { key: writeKey },
    );
    await post(
      '/v1/track',
      { userId: 'user-7', event: 'order_completed', messageId: 'i3' },
      { key: writeKey },
    );
    await t.settle();
    const rows = await t.server.facts.query<{ person: string; n: number }>(
      `SELECT ids.person_id AS person, count() AS n
       FROM events AS e FINAL
       INNER JOIN (
         SELECT distinct_id, argMax(person_id, version) AS person_id
         FROM identities WHERE project_id = {p:String} GROUP BY distinct_id
       ) AS ids ON ids.distinct_id = e.distinct_id
       WHERE e.project_id = {p:String}
       GROUP BY person`,
      { p: projectId },
    );
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]!.n)).toBe(3);
  });
});

describe('operations', () => {
  it('answers health, readiness and the OpenAPI document of every route', async () => {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true });
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    for (const path of [
      '/v1/track',
      '/v1/identify',
      '/v1/page',
      '/v1/screen',
      '/v1/group',
      '/v1/alias',
      '/v1/batch',
      '/healthz',
      '/readyz',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });
});
