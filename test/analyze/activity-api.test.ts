import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse as analyseOver, insertTrackedEvents } from '../support/analysis-api.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Retention and the activity analyses through a real server (chdb + SQLite on an ephemeral port).
// Fixture (Shanghai time): x opens 03-03 10:00 and 03-04 21:00; y opens 03-03 21:30 (twice, same
// instant) and buys 03-03 22:00; z opens only 03-04 21:15.
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
  await insertTrackedEvents(t, [
    ['open', 'x', '2025-03-03T10:00:00+08:00'],
    ['open', 'x', '2025-03-04T21:00:00+08:00'],
    ['open', 'y', '2025-03-03T21:30:00+08:00'],
    ['open', 'y', '2025-03-03T21:30:00+08:00'],
    ['buy', 'y', '2025-03-03T22:00:00+08:00'],
    ['open', 'z', '2025-03-04T21:15:00+08:00'],
  ]);
});
afterAll(() => t.close());

const analyse = (kind: string, body: unknown) => analyseOver<Record<string, any>>(t, kind, body);

const dateRange = { from: '2025-03-03', to: '2025-03-04' };

describe('activity analyses over HTTP', () => {
  it('lists every kind with its English and Chinese name', async () => {
    const response = await fetch(`${t.url}/api/v1/analyses`);
    const { analyses } = (await response.json()) as { analyses: { kind: string; zh: string }[] };
    const kinds = analyses.map((a) => a.kind);
    for (const kind of ['retention', 'heatmap', 'distribution', 'interval', 'stickiness', 'lifecycle']) {
      expect(kinds).toContain(kind);
    }
    expect(analyses.find((a) => a.kind === 'retention')?.zh).toBe('留存分析');
  });

  it('refuses an unknown kind, listing the kinds with 、 in Chinese', async () => {
    const { status, body } = await analyse('horoscope', { dateRange });
    expect(status).toBe(400);
    expect(body.error.message_zh).toMatch(
      /^查询的 "kind" 无效：未知的分析 "horoscope"；请使用 \w+(、\w+)+ 之一$/,
    );
    expect(body.error.message).toMatch(/one of \w+(, \w+)+$/);
  });

  it('answers retention', async () => {
    const { status, body } = await analyse('retention', {
      dateRange,
      startEvent: { event: 'open' },
      periods: 1,
    });
    expect(status).toBe(200);
    // 03-03 cohort: x, y; x opens again on 03-04. 03-04 cohort: z.
    expect(body.result.cohorts).toEqual([
      { cohort: '2025-03-03', size: 2, values: [2, 1], rates: [1, 0.5], ended: 2 },
      { cohort: '2025-03-04', size: 1, values: [1, 0], rates: [1, 0], ended: 2 },
    ]);
  });

  it('answers the heatmap', async () => {
    const { status, body } = await analyse('heatmap', { dateRange, events: ['open'] });
    expect(status).toBe(200);
    expect(body.result.values[0][21]).toBe(2); // Monday 21h: y twice
    expect(body.result.values[1][21]).toBe(2); // Tuesday 21h: x and z
    expect(body.result.total).toBe(5);
  });

  it('answers distribution, interval, stickiness and lifecycle', async () => {
    const distribution = await analyse('distribution', { dateRange, event: 'open', maxCount: 2 });
    expect(distribution.body.result.buckets.map((b: { persons: number }) => b.persons)).toEqual([1, 2]);
    const interval = await analyse('interval', {
      dateRange,
      fromEvent: 'open',
      toEvent: 'buy',
      unit: 'minute',
    });
    expect(interval.body.result).toMatchObject({ persons: 3, converted: 1, stats: { median: 30 } });
    const stickiness = await analyse('stickiness', { dateRange, event: 'open' });
    expect(stickiness.body.result.values.map((v: { persons: number }) => v.persons)).toEqual([2, 1]);
    const lifecycle = await analyse('lifecycle', { dateRange, event: 'open' });
    expect(lifecycle.body.result.periods[1]).toEqual({
      period: '2025-03-04',
      new: 1,
      returning: 1,
      resurrecting: 0,
      dormant: -1,
    });
  });

  it('answers 400 naming the wrong field, in English and Chinese', async () => {
    const cases: [string, unknown, string][] = [
      ['retention', { dateRange, startEvent: 'open', periods: 0 }, 'periods'],
      ['heatmap', { dateRange, measure: 'clicks' }, 'measure'],
      ['distribution', { dateRange, event: 'open', buckets: [3, 2] }, 'buckets[1]'],
      ['interval', { dateRange, fromEvent: 'open', toEvent: 'buy', unit: 'fortnight' }, 'unit'],
      [
        'stickiness',
        { dateRange: { from: '2025-02-30', to: '2025-03-04' }, event: 'open' },
        'dateRange.from',
      ],
      [
        'lifecycle',
        { dateRange, event: { event: 'open', filters: [{ field: 'nope', op: 'eq' }] } },
        'event.filters[0].field',
      ],
    ];
    for (const [kind, query, field] of cases) {
      const { status, body } = await analyse(kind, query);
      expect(status, kind).toBe(400);
      expect(body.error.code, kind).toBe('invalid_query');
      expect(body.error.details.field, kind).toBe(field);
      expect(body.error.message, kind).toContain(`"${field}"`);
      expect(body.error.message_zh, kind).toContain(`查询的 "${field}" 无效`);
    }
  });
});
