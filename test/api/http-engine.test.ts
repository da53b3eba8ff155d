import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClickHouseHttpFront, startClickHouseHttpFront } from '../support/clickhouse-http-front.js';
import { basicAuth, startTestServer, type TestServer } from '../support/server.js';

// Ingestion writes events to the log and the store in RowBinary: the same bytes must reach a
// ClickHouse server over HTTP (here the test front) when CLICKHOUSE_URL is set.
const dir = mkdtempSync(join(tmpdir(), 'pulseloop-ingest-http-'));
let front: ClickHouseHttpFront;
let t: TestServer;

beforeAll(async () => {
  front = await startClickHouseHttpFront({ dataDir: join(dir, 'clickhouse') });
  t = await startTestServer(
    { clickhouseUrl: front.url, clickhouseDatabase: 'pulseloop_ingest_http' },
    join(dir, 'server'),
  );
});

afterAll(async () => {
  await t?.close();
  await front?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('collection into a ClickHouse server over HTTP', () => {
  it('stores every column of the events a batch carries, and their people', async () => {
    expect(t.server.facts.kind).toBe('http');
    const batch = [
      {
        type: 'track',
        userId: 'u-1',
        event: '下单成功',
        messageId: 'h1',
        timestamp: '2026-11-30T08:00:00.123Z',
        properties: { revenue: 19.99, currency: 'cny', 备注: '第一单 "quoted"' },
        context: { locale: 'zh-CN', campaign: { source: 'douyin', medium: 'paid_social', name: '双11' } },
      },
      { type: 'identify', userId: 'u-1', traits: { nickname: '小明' }, messageId: 'h2' },
      {
        type: 'page',
        anonymousId: 'a-1',
        name: 'Home',
        properties: { url: 'https://shop.example/p?x=1' },
        messageId: 'h3',
      },
    ];
    const response = await fetch(`${t.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(t.writeKey) },
      body: JSON.stringify({ batch }),
    });
    expect(await response.json()).toMatchObject({ accepted: 3, quarantined: 0 });
    await t.settle();
    expect(t.server.writer.stats().lastError).toBeUndefined();
    const rows = await t.server.facts.query<Record<string, unknown>>(
      `SELECT message_id, event, toString(timestamp) AS time, revenue, currency, utm_campaign, channel,
         locale, page_path, properties
       FROM events FINAL WHERE project_id = {p:String} ORDER BY message_id`,
      { p: t.projectId },
    );
    expect(rows).toMatchObject([
      {
        message_id: 'h1',
        event: '下单成功',
        time: '2026-11-30 08:00:00.123',
        revenue: 19.99,
        currency: 'CNY',
        utm_campaign: '双11',
        channel: 'paid_social',
        locale: 'zh-CN',
      },
      { message_id: 'h2', event: '$identify' },
      { message_id: 'h3', event: '$pageview', page_path: '/p' },
    ]);
    expect(JSON.parse(String(rows[0]!.properties))).toMatchObject({ 备注: '第一单 "quoted"' });
    const people = await t.server.facts.query<{ distinct_id: string }>(
      'SELECT distinct_id FROM identities FINAL WHERE project_id = {p:String} ORDER BY distinct_id',
      { p: t.projectId },
    );
    expect(people.map((p) => p.distinct_id)).toEqual(expect.arrayContaining(['u-1', 'a-1']));
  });
});

describe('identity over HTTP', () => {
  const api = async (path: string, body?: unknown) => {
    const response = await t.api(`/api/v1/projects/${t.projectId}${path}`, {
      ...(body !== undefined && {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: checked field by field
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it('lists conflicts with their state, decides one and merges two persons, as on the embedded engine', async () => {
    for (const body of [
      { userId: 'owner-h', anonymousId: 'tablet-h' },
      { userId: 'guest-h', anonymousId: 'tablet-h' },
      { userId: 'shop-h' },
      { userId: 'app-h' },
    ]) {
      expect((await t.collect('/v1/identify', body)).status).toBe(200);
    }
    await t.settle();
    const open = await api('/identity/conflicts?status=open');
    expect(open.status).toBe(200);
    expect(open.body).toMatchObject({ total: 1, open: 1, conflicts: [{ distinctId: 'guest-h', times: 1 }] });

    const kept = await api('/identity/conflicts/decision', {
      distinctId: 'guest-h',
      otherDistinctId: 'tablet-h',
      decision: 'kept_apart',
    });
    expect(kept.status).toBe(200);
    expect((await api('/identity/conflicts?status=open')).body).toMatchObject({ total: 1, open: 0 });

    const merged = await api('/persons/merge', { into: 'shop-h', from: 'app-h' });
    expect(merged.status).toBe(200);
    const identity = await api('/persons/app-h/identity');
    expect(identity.body.personId).toBe(merged.body.personId);
    expect(identity.body.history).toMatchObject([{ kind: 'merge', reasonCode: 'manual' }]);

    // The persons of today: the merged pair is one person, paged with the total, and only those
    // who did an event when asked.
    // Yesterday to tomorrow: today in the project's time zone, whatever the hour in UTC.
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const range = `from=${day(-1)}&to=${day(1)}`;
    const all = await api(`/persons?${range}`);
    expect(all.status).toBe(200);
    const users = all.body.persons.map((p: { userIds: string[] }) => [...p.userIds].sort().join('+'));
    expect(users).toEqual(expect.arrayContaining(['owner-h', 'guest-h', 'app-h+shop-h']));
    expect(users.filter((u: string) => u.includes('shop-h'))).toHaveLength(1);
    const page = await api(`/persons?${range}&limit=2&offset=1&sort=events`);
    expect(page.body.total).toBe(all.body.persons.length);
    expect(page.body.persons).toHaveLength(2);
    expect((await api(`/persons?${range}&event=$identify&platform=nowhere`)).body).toEqual({
      total: 0,
      persons: [],
    });
  });
});
