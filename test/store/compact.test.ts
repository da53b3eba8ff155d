import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactFacts } from '../../src/store/facts/compact.js';
import { type AnalyticsFixture, openAnalyticsFixture } from '../support/analytics-fixture.js';

let fx: AnalyticsFixture;
beforeAll(async () => {
  fx = await openAnalyticsFixture();
});
afterAll(() => fx.close());

const parts = async () =>
  fx.facts.query<{ partition_id: string; parts: number }>(
    `SELECT partition_id, count() AS parts FROM system.parts
     WHERE database = currentDatabase() AND table = 'events' AND active GROUP BY partition_id ORDER BY partition_id`,
  );

describe('compacting the facts store', () => {
  it('leaves one part per partition and the same answers, re-deliveries still counted once', async () => {
    // Three inserts into two months, one of them a re-delivery of the same event.
    const event = { event: 'view', distinct_id: 'a', at: '2025-03-01T10:00:00Z', message_id: 'm1' };
    await fx.events([event, { event: 'view', distinct_id: 'b', at: '2025-04-02T10:00:00Z' }]);
    await fx.events([event]);
    await fx.events([{ event: 'view', distinct_id: 'c', at: '2025-03-05T10:00:00Z' }]);
    const count = async () =>
      Number((await fx.facts.query<{ n: string }>('SELECT count() AS n FROM events FINAL'))[0]?.n);
    expect(await count()).toBe(3);
    expect((await parts()).some((p) => Number(p.parts) > 1)).toBe(true);

    const report = await compactFacts(fx.facts);
    expect(report.find((r) => r.table === 'events')?.partitions).toBe(1);
    expect((await parts()).map((p) => Number(p.parts))).toEqual([1, 1]);
    expect(await count()).toBe(3);
    expect(Number((await fx.facts.query<{ n: string }>('SELECT count() AS n FROM events'))[0]?.n)).toBe(3);
  });
});
