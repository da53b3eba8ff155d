import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse } from '../support/analysis-api.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Which platforms have which facts in a range (the dashboard's global platform filter offers
// these). Project time zone Asia/Shanghai; the range is 2025-03-03..04 local time.
let t: TestServer;

const event = (platform: string, at: string) =>
  JSON.stringify({
    project_id: t.projectId,
    message_id: randomUUID(),
    type: 'track',
    event: 'open',
    distinct_id: 'x',
    platform,
    timestamp: Date.parse(at),
    received_at: Date.parse(at),
  });

beforeAll(async () => {
  t = await startTestServer();
  const facts = t.server.facts;
  await facts.insertJsonEachRow(
    'events',
    [
      event('web', '2025-03-03T00:10:00+08:00'),
      event('web', '2025-03-03T00:10:00+08:00'),
      event('douyin', '2025-03-04T23:59:00+08:00'),
      // 03-05 00:30 local is still 03-04 in UTC: outside the range in the project's time zone.
      event('bilibili', '2025-03-05T00:30:00+08:00'),
      event('', '2025-03-03T12:00:00+08:00'),
    ].join('\n'),
  );
  await facts.insertJsonEachRow(
    'content_stats',
    [
      {
        project_id: t.projectId,
        platform: 'douyin',
        account_id: 'a',
        content_id: 'v1',
        date: '2025-03-04',
        plays: 10,
      },
      {
        project_id: t.projectId,
        platform: 'kuaishou',
        account_id: 'a',
        content_id: 'v2',
        date: '2025-03-02',
        plays: 5,
      },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  await facts.insertJsonEachRow(
    'ad_spend',
    JSON.stringify({
      project_id: t.projectId,
      date: '2025-03-03',
      platform: 'douyin',
      campaign_id: 'c',
      cost: 100,
    }),
  );
  await facts.insertJsonEachRow(
    'orders',
    JSON.stringify({
      project_id: t.projectId,
      order_id: 'o1',
      platform: 'tmall',
      created_at: Date.parse('2025-03-03T09:00:00+08:00'),
      amount: 99,
    }),
  );
});
afterAll(() => t.close());

describe('platforms with data', () => {
  it('lists each platform once with the kinds of facts it has inside the range', async () => {
    const { status, body } = await analyse<{ result: { platforms: unknown[] } }>(t, 'platforms', {
      dateRange: { from: '2025-03-03', to: '2025-03-04' },
    });
    expect(status).toBe(200);
    expect(body.result.platforms).toEqual([
      { platform: 'douyin', facts: ['events', 'content', 'ads'] },
      { platform: 'tmall', facts: ['orders'] },
      { platform: 'web', facts: ['events'] },
    ]);
  });

  it('answers an empty list for a range without data', async () => {
    const { body } = await analyse<{ result: { platforms: unknown[] } }>(t, 'platforms', {
      dateRange: { from: '2024-01-01', to: '2024-01-31' },
    });
    expect(body.result.platforms).toEqual([]);
  });

  it('names the wrong field of a bad range', async () => {
    const { status, body } = await analyse<{ error: { field?: string } }>(t, 'platforms', {
      dateRange: { from: '2025-03-04', to: 'yesterday' },
    });
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toContain('dateRange.to');
  });
});
