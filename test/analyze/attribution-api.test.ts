import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

/*
 * Attribution, LTV and virality through a real server (chdb + SQLite), on a few rows:
 *   P1: paid_social visit (Mar 1) → kol visit (Mar 2) → order_completed 100 (Mar 2)
 *   P2: kol visit (Mar 3), no order
 */

let ts: TestServer;
const dateRange = { from: '2025-03-01', to: '2025-03-31' };

beforeAll(async () => {
  ts = await startTestServer();
  const event = (distinctId: string, name: string, at: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      project_id: ts.projectId,
      message_id: `${distinctId}-${name}-${at}`,
      type: 'track',
      event: name,
      timestamp: Date.parse(at),
      received_at: Date.parse(at),
      distinct_id: distinctId,
      session_id: `${distinctId}-${at}`,
      ...extra,
    });
  await ts.server.facts.insertJsonEachRow(
    'events',
    [
      event('P1', '$pageview', '2025-03-01T10:00:00+08:00', { channel: 'paid_social' }),
      event('P1', '$pageview', '2025-03-02T10:00:00+08:00', { channel: 'kol' }),
      event('P1', 'order_completed', '2025-03-02T11:00:00+08:00', {
        channel: 'kol',
        revenue: 100,
        session_id: 'P1-2025-03-02T10:00:00+08:00',
      }),
      event('P2', '$pageview', '2025-03-03T10:00:00+08:00', { channel: 'kol' }),
    ].join('\n'),
  );
}, 60_000);

afterAll(() => ts.close());

async function post(kind: string, body: unknown) {
  const response = await ts.api(`/api/v1/projects/${ts.projectId}/analyses/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the assertions below check the shape of the answer
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe('attribution over HTTP', () => {
  it('serves every model side by side per channel', async () => {
    const { status, body } = await post('attribution', {
      dateRange,
      conversion: { source: 'event', event: 'order_completed' },
    });
    expect(status).toBe(200);
    expect(body.result.totals).toMatchObject({ conversions: 1, revenue: 100, journeys: 2 });
    const kol = body.result.rows.find((r: { value: string }) => r.value === 'kol');
    const paid = body.result.rows.find((r: { value: string }) => r.value === 'paid_social');
    expect(kol.models.last_touch).toMatchObject({ conversions: 1, revenue: 100, roi: null });
    expect(paid.models.first_touch).toMatchObject({ conversions: 1, revenue: 100 });
    expect(kol.models.linear.conversions).toBe(0.5);
    expect(Object.keys(kol.models)).toEqual([
      'first_touch',
      'last_touch',
      'last_non_direct',
      'linear',
      'time_decay',
      'position_based',
      'markov',
      'shapley',
    ]);
  });

  it('answers 400 naming the wrong field, in English and Chinese', async () => {
    const { status, body } = await post('attribution', { dateRange, touch: { dimension: 'utm_medium' } });
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_query');
    expect(body.error.details.field).toBe('touch.dimension');
    expect(body.error.message).toContain('touch.dimension');
    expect(body.error.message_zh).toContain('touch.dimension');
  });
});

describe('LTV over HTTP', () => {
  it('serves cohorts by acquisition week and first-touch channel', async () => {
    const { status, body } = await post('ltv', {
      dateRange,
      periods: 1,
      revenue: { source: 'event', event: 'order_completed' },
    });
    expect(status).toBe(200);
    // P1 first seen Sat Mar 1 (week of Feb 24) via paid_social, buys 100 in that week.
    expect(body.result.cohorts).toContainEqual(
      expect.objectContaining({ cohort: '2025-02-24', channel: 'paid_social', persons: 1, ltv: [100, 100] }),
    );
  });

  it('answers 400 naming the wrong field', async () => {
    const { status, body } = await post('ltv', { dateRange, period: 'fortnight' });
    expect(status).toBe(400);
    expect(body.error.details.field).toBe('period');
    expect(body.error.message_zh).toContain('period');
  });
});

describe('virality over HTTP', () => {
  it('serves the sharing report', async () => {
    const { status, body } = await post('virality', { dateRange });
    expect(status).toBe(200);
    expect(body.result).toMatchObject({ sharers: 0, shareVisits: 0, viralCoefficient: null });
  });

  it('answers 400 naming the wrong field', async () => {
    const { status, body } = await post('virality', { dateRange, limit: 'all' });
    expect(status).toBe(400);
    expect(body.error.details.field).toBe('limit');
  });
});
