import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

// The real client libraries, unchanged, pointed at a real server: what users will do.
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

async function eventsOf(projectId: string) {
  await t.settle();
  return t.server.facts.query<{
    type: string;
    event: string;
    distinct_id: string;
    utm_campaign: string;
    properties: string;
  }>(
    'SELECT type, event, distinct_id, utm_campaign, properties FROM events FINAL WHERE project_id = {p:String} ORDER BY timestamp, event',
    { p: projectId },
  );
}

describe('client libraries', () => {
  it('@segment/analytics-node delivers track, identify, page and alias calls that show up in queries', async () => {
    const { projectId, writeKey } = await t.newProject('segment sdk');
    const analytics = new Analytics({ writeKey, host: t.url, flushAt: 10, flushInterval: 50, maxRetries: 2 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    analytics.page({
      anonymousId: 'seg-anon',
      name: 'Landing',
      properties: { url: 'https://shop.example.com/?utm_campaign=spring' },
    });
    analytics.identify({
      anonymousId: 'seg-anon',
      userId: 'seg-user',
      traits: { email: 'li@example.com', plan: 'vip' },
    });
    analytics.track({
      userId: 'seg-user',
      event: 'order_completed',
      properties: { revenue: 268, currency: 'CNY' },
    });
    analytics.alias({ userId: 'seg-user', previousId: 'seg-anon' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);
    const events = await eventsOf(projectId);
    expect(events.map((e) => e.event).sort()).toEqual([
      '$alias',
      '$identify',
      '$pageview',
      'order_completed',
    ]);
    expect(events.find((e) => e.event === 'order_completed')).toMatchObject({ distinct_id: 'seg-user' });
  });

  it('@rudderstack/rudder-sdk-node delivers gzip-compressed batches that show up in queries', async () => {
    const { projectId, writeKey } = await t.newProject('rudderstack sdk');
    const client = new RudderAnalytics(writeKey, {
      dataPlaneUrl: t.url,
      flushAt: 5,
      flushInterval: 50,
      logLevel: 'error',
    });
    for (let i = 0; i < 12; i += 1) {
      client.track({
        anonymousId: 'rs-anon',
        event: 'video_play',
        properties: { content_id: `v${i}`, platform: 'douyin' },
        context: { campaign: { name: 'launch' } },
      });
    }
    client.identify({ anonymousId: 'rs-anon', userId: 'rs-user', traits: { phone: '13800138000' } });
    await client.flush();
    const deadline = performance.now() + 10_000;
    let events = await eventsOf(projectId);
    while (events.length < 13 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      events = await eventsOf(projectId);
    }
    expect(events.filter((e) => e.event === 'video_play')).toHaveLength(12);
    expect(events.filter((e) => e.event === '$identify')).toHaveLength(1);
    expect(events.every((e) => e.event !== 'video_play' || e.utm_campaign === 'launch')).toBe(true);
    // The phone number joins identities as a keyed hash (governance is on by default), never in plain
    // text and never as an unkeyed hash that a list of phone numbers would reverse.
    const identities = await t.server.facts.query<{ distinct_id: string }>(
      'SELECT distinct_id FROM identities WHERE project_id = {p:String}',
      { p: projectId },
    );
    expect(identities.map((i) => i.distinct_id).join()).not.toContain('13800138000');
    expect(identities.some((i) => i.distinct_id.startsWith('phone_k:'))).toBe(true);
    expect(identities.some((i) => i.distinct_id.startsWith('phone:'))).toBe(false);
  });
});
