import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunnelResult } from '../../src/analyze/funnels.js';
import type { PathsResult } from '../../src/analyze/paths.js';
import { analyse as analyseOver, insertTrackedEvents } from '../support/analysis-api.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface Answer {
  result: FunnelResult & PathsResult;
  error: { code: string; message: string; message_zh: string; details: { field: string } };
}

// Funnels and paths through a real server (chdb + SQLite on an ephemeral port). Fixture (Shanghai
// time, 3 March 2025): a views 10:00, adds to cart 10:05, buys 10:20; b views 11:00 and adds to
// cart 11:00 (same instant); c only views 12:00.
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
  await insertTrackedEvents(t, [
    ['view', 'a', '2025-03-03T10:00:00+08:00'],
    ['cart', 'a', '2025-03-03T10:05:00+08:00'],
    ['buy', 'a', '2025-03-03T10:20:00+08:00'],
    ['view', 'b', '2025-03-03T11:00:00+08:00'],
    ['cart', 'b', '2025-03-03T11:00:00+08:00'],
    ['view', 'c', '2025-03-03T12:00:00+08:00'],
  ]);
});
afterAll(() => t.close());

const analyse = (kind: string, body: unknown) => analyseOver<Answer>(t, kind, body);

const dateRange = { from: '2025-03-03', to: '2025-03-03' };

describe('funnels and paths over HTTP', () => {
  it('lists both kinds with their Chinese names', async () => {
    const { analyses } = (await (await fetch(`${t.url}/api/v1/analyses`)).json()) as {
      analyses: { kind: string; zh: string }[];
    };
    expect(analyses.find((a) => a.kind === 'funnels')?.zh).toBe('漏斗分析');
    expect(analyses.find((a) => a.kind === 'paths')?.zh).toBe('路径分析');
  });

  it('answers a funnel', async () => {
    const { status, body } = await analyse('funnels', {
      dateRange,
      steps: [{ event: 'view' }, { event: 'cart' }, { event: 'buy' }],
      dropped: { step: 2 },
    });
    expect(status).toBe(200);
    // view: a b c; cart: a b; buy: a. a took 300 s to cart, b 0 s → average 150.
    expect(body.result.steps.map((s) => (s as { count: number }).count)).toEqual([3, 2, 1]);
    expect(body.result.steps[1]?.avgSecondsFromPrevious).toBe(150);
    expect(body.result.conversionOverTime.periods).toEqual([
      { period: '2025-03-03', entered: 3, converted: 1, conversionRate: 1 / 3, complete: true },
    ]);
    expect(body.result.dropped).toMatchObject({ step: 2, total: 1, persons: ['c'] });
  });

  it('answers 400 naming the wrong step field, in both languages', async () => {
    const { status, body } = await analyse('funnels', {
      dateRange,
      steps: [{ event: 'view' }, { event: 42 }],
    });
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_query');
    expect(body.error.details.field).toBe('steps[1].event');
    expect(body.error.message).toContain('steps[1].event');
    expect(body.error.message_zh).toContain('steps[1].event');
    // The free-text detail is translated too, not only the template around it.
    expect(body.error.message).toContain('expected an event name');
    expect(body.error.message_zh).toBe('查询的 "steps[1].event" 无效：必须是事件名');
  });

  it('answers paths', async () => {
    const { status, body } = await analyse('paths', { dateRange, start: { event: 'view' }, depth: 2 });
    expect(status).toBe(200);
    // a: view cart buy; b: view cart (at the same instant the start sorts first); c: view.
    expect(body.result.topPaths).toEqual([
      { path: ['view'], count: 1, share: 1 / 3 },
      { path: ['view', 'cart'], count: 1, share: 1 / 3 },
      { path: ['view', 'cart', 'buy'], count: 1, share: 1 / 3 },
    ]);
    const bad = await analyse('paths', { dateRange, start: { event: 'view' }, depth: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe('depth');
  });
});
