import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heatmapAnalysis } from '../../src/analyze/activity.js';
import type { AnalysisContext } from '../../src/analyze/analysis.js';
import { distributionAnalysis } from '../../src/analyze/distribution.js';
import { intervalAnalysis } from '../../src/analyze/interval.js';
import { PulseloopError } from '../../src/errors/registry.js';
import { type AnalyticsFixture, openAnalyticsFixture } from '../support/analytics-fixture.js';

// Heatmap, distribution and interval on one small fixture; times are Shanghai time (+08:00).
// Anonymous id a1 and user u1 are one person, P1 (a1's events were sent before the identify).
let fx: AnalyticsFixture;

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
  await fx.identities([
    { distinct_id: 'a1', person_id: 'P1' },
    { distinct_id: 'u1', person_id: 'P1', id_type: 'user' },
  ]);
  await fx.events([
    // Heatmap, 2025-03-09 (Sunday) … 03-12.
    { event: 'view', distinct_id: 'a1', at: '2025-03-09T23:30:00+08:00', platform: 'web' },
    { event: 'view', distinct_id: 'b', at: '2025-03-10T00:30:00+08:00', platform: 'app' },
    { event: 'view', distinct_id: 'b', at: '2025-03-10T00:30:00+08:00', platform: 'app' },
    { event: 'view', distinct_id: 'u1', at: '2025-03-10T00:45:00+08:00', platform: 'web' },
    { event: 'buy', distinct_id: 'u1', at: '2025-03-12T20:15:00+08:00', platform: 'web' },
    // Distribution, 2025-04-06 … 04-11.
    { event: 'play', distinct_id: 'a1', at: '2025-04-09T10:00:00+08:00', properties: { watch_seconds: 30 } },
    {
      event: 'play',
      distinct_id: 'u1',
      at: '2025-04-10T10:00:00+08:00',
      properties: { watch_seconds: '45' },
    },
    { event: 'play', distinct_id: 'u1', at: '2025-04-11T10:00:00+08:00' },
    { event: 'play', distinct_id: 'b', at: '2025-04-10T10:00:00+08:00', properties: { watch_seconds: 5 } },
    { event: 'play', distinct_id: 'c', at: '2025-04-10T12:00:00+08:00' },
    { event: 'play', distinct_id: 'c', at: '2025-04-10T12:00:00+08:00' },
    { event: 'play', distinct_id: 'd', at: '2025-04-05T23:59:00+08:00', properties: { watch_seconds: 99 } },
    { event: 'play', distinct_id: 'd', at: '2025-04-06T00:01:00+08:00', properties: { watch_seconds: 2000 } },
    // Interval, 2025-05-09 … 05-11.
    { event: 'signup', distinct_id: 'a1', at: '2025-05-09T10:00:00+08:00' },
    { event: 'order', distinct_id: 'u1', at: '2025-05-09T12:30:00+08:00' },
    { event: 'signup', distinct_id: 'b', at: '2025-05-10T08:00:00+08:00' },
    { event: 'order', distinct_id: 'b', at: '2025-05-10T08:00:00+08:00' },
    { event: 'signup', distinct_id: 'c', at: '2025-05-10T09:00:00+08:00' },
    { event: 'signup', distinct_id: 'c', at: '2025-05-11T09:00:00+08:00' },
    { event: 'order', distinct_id: 'c', at: '2025-05-11T21:00:00+08:00' },
    { event: 'signup', distinct_id: 'd', at: '2025-05-11T09:00:00+08:00' },
    { event: 'order', distinct_id: 'e', at: '2025-05-09T09:00:00+08:00' },
    { event: 'signup', distinct_id: 'e', at: '2025-05-09T10:00:00+08:00' },
  ]);
});

afterAll(() => fx.close());

const context = (timeZone = 'Asia/Shanghai'): AnalysisContext => ({
  facts: fx.facts,
  metadata: fx.metadata,
  project: { projectId: fx.projectId, timeZone, currency: 'CNY' },
});

const MARCH = { from: '2025-03-09', to: '2025-03-12' };
const APRIL = { from: '2025-04-06', to: '2025-04-11' };
const MAY = { from: '2025-05-09', to: '2025-05-11' };

function fieldOf(parse: (body: unknown) => unknown, body: unknown): string {
  try {
    parse(body);
  } catch (error) {
    expect(error).toBeInstanceOf(PulseloopError);
    return String((error as PulseloopError).details.field);
  }
  return 'no error';
}

describe('activity heatmap', () => {
  const heatmap = (body: Record<string, unknown>, timeZone?: string) =>
    heatmapAnalysis.run(context(timeZone), heatmapAnalysis.parse({ dateRange: MARCH, ...body }));

  it('places a Sunday 23:30 event on Sunday and Monday 00:30 on Monday, in Shanghai time', async () => {
    const result = await heatmap({ events: ['view', 'buy'] });
    expect(result.values[6]?.[23]).toBe(1); // Sunday 23h
    expect(result.values[0]?.[0]).toBe(3); // Monday 0h: b twice at the same instant, u1 once
    expect(result.values[2]?.[20]).toBe(1); // Wednesday 20h
    expect(result.total).toBe(5);
    expect(result.peak).toEqual({ weekday: 0, hour: 0, value: 3 });
    expect(result.values.flat().reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('moves the same events to Sunday afternoon for a UTC project', async () => {
    const result = await heatmap({ events: ['view'] }, 'UTC');
    expect(result.values[6]?.[15]).toBe(1); // 23:30 +08 = 15:30 UTC
    expect(result.values[6]?.[16]).toBe(3); // 00:30 / 00:45 +08 = Sunday 16h UTC
    expect(result.values[0]?.[0]).toBe(0);
  });

  it('counts unique persons, events before identify for the merged person', async () => {
    const result = await heatmap({ measure: 'persons', events: ['view', 'buy'] });
    expect(result.values[0]?.[0]).toBe(2); // b and P1
    expect(result.total).toBe(2); // P1 (a1 + u1) and b over the range
  });

  it('applies filters and event selection, and answers an empty range with zeros', async () => {
    const app = await heatmap({ filters: [{ field: 'platform', op: 'eq', value: 'app' }] });
    expect(app.total).toBe(2);
    const buys = await heatmap({ events: ['buy'] });
    expect(buys.total).toBe(1);
    const empty = await heatmap({ dateRange: { from: '2024-01-01', to: '2024-01-07' } });
    expect(empty.values.flat().every((v) => v === 0)).toBe(true);
    expect(empty.peak).toBeNull();
  });

  it('names the wrong field', () => {
    expect(fieldOf(heatmapAnalysis.parse, { dateRange: MARCH, measure: 'clicks' })).toBe('measure');
    expect(fieldOf(heatmapAnalysis.parse, { dateRange: MARCH, events: [''] })).toBe('events[0]');
    expect(fieldOf(heatmapAnalysis.parse, { dateRange: MARCH, filters: [{ field: 'x', op: 'eq' }] })).toBe(
      'filters[0].field',
    );
  });
});

describe('frequency distribution', () => {
  const distribution = (body: Record<string, unknown>) =>
    distributionAnalysis.run(
      context(),
      distributionAnalysis.parse({ dateRange: APRIL, event: { event: 'play' }, ...body }),
    );

  it('counts plays per person: P1 3 (before and after identify), c 2 (same instant), b and d 1', async () => {
    const result = await distribution({ maxCount: 4 });
    expect(result.buckets.map((b) => [b.label, b.persons])).toEqual([
      ['1', 2],
      ['2', 1],
      ['3', 1],
      ['4+', 0],
    ]);
    // Counts 1, 1, 2, 3: mean 7/4; median halfway between 1 and 2; p90 at position 2.7 → 2.7.
    expect(result.stats.persons).toBe(4);
    expect(result.stats.mean).toBeCloseTo(1.75);
    expect(result.stats.median).toBeCloseTo(1.5);
    expect(result.stats.p90).toBeCloseTo(2.7);
  });

  it('folds the tail into N+ and takes custom edges', async () => {
    const tail = await distribution({ maxCount: 2 });
    expect(tail.buckets.map((b) => [b.label, b.persons])).toEqual([
      ['1', 2],
      ['2+', 2],
    ]);
    const custom = await distribution({ buckets: [1, 3] });
    expect(custom.buckets.map((b) => [b.label, b.persons])).toEqual([
      ['1–2', 3],
      ['3+', 1],
    ]);
  });

  it('sums a numeric property per person and counts persons without it as missing', async () => {
    const result = await distribution({ property: { field: 'properties.watch_seconds' } });
    // P1 30 + "45" = 75, b 5, d 2000 (its 99 fell on the day before the range), c has no value.
    expect(result.property?.buckets.map((b) => [b.label, b.persons])).toEqual([
      ['0–1', 0],
      ['1–10', 1],
      ['10–100', 1],
      ['100–1000', 0],
      ['1000–10000', 1],
      ['10000+', 0],
    ]);
    expect(result.property?.missing).toBe(1);
    expect(result.property?.stats.persons).toBe(3);
    expect(result.property?.stats.sum).toBe(2080);
    expect(result.property?.stats.median).toBe(75);
  });

  it('answers an empty range with empty buckets', async () => {
    const result = await distribution({ dateRange: { from: '2024-01-01', to: '2024-01-02' }, maxCount: 2 });
    expect(result.buckets.map((b) => b.persons)).toEqual([0, 0]);
    expect(result.stats).toEqual({ persons: 0, mean: 0, median: 0, p90: 0 });
  });

  it('names the wrong field', () => {
    const base = { dateRange: APRIL, event: 'play' };
    expect(fieldOf(distributionAnalysis.parse, { ...base, buckets: [1, 1] })).toBe('buckets[1]');
    expect(fieldOf(distributionAnalysis.parse, { ...base, maxCount: 0 })).toBe('maxCount');
    expect(fieldOf(distributionAnalysis.parse, { ...base, property: { field: 'bogus' } })).toBe(
      'property.field',
    );
    expect(fieldOf(distributionAnalysis.parse, { dateRange: APRIL })).toBe('event');
  });
});

describe('interval between events', () => {
  const interval = (body: Record<string, unknown>) =>
    intervalAnalysis.run(
      context(),
      intervalAnalysis.parse({ dateRange: MAY, fromEvent: 'signup', toEvent: 'order', ...body }),
    );

  it('measures from the first signup to the next order after it', async () => {
    const result = await interval({ unit: 'hour' });
    // P1 2.5 h (signup as a1 before identify), b 0 h (same instant), c 36 h from its first signup;
    // d never ordered, e ordered only before signing up.
    expect(result.persons).toBe(5);
    expect(result.converted).toBe(3);
    expect(result.stats.mean).toBeCloseTo(38.5 / 3);
    expect(result.stats.median).toBeCloseTo(2.5);
    expect(result.stats.p90).toBeCloseTo(29.3); // position 1.8 of [0, 2.5, 36]
    expect(result.buckets.filter((b) => b.persons > 0).map((b) => b.label)).toEqual(['0–1', '2–4', '24–48']);
  });

  it('drops orders outside the window', async () => {
    const result = await interval({ unit: 'hour', windowDays: 1 });
    expect(result.converted).toBe(2);
  });

  it('takes the next occurrence when both events are the same', async () => {
    const result = await intervalAnalysis.run(
      context(),
      intervalAnalysis.parse({ dateRange: MARCH, fromEvent: 'view', toEvent: 'view', unit: 'minute' }),
    );
    // P1: Sunday 23:30 → Monday 00:45 = 75 min; b: two views at the same instant = 0 min.
    expect(result.persons).toBe(2);
    expect(result.converted).toBe(2);
    expect(result.stats.mean).toBeCloseTo(37.5);
  });

  it('answers an empty range with zeros', async () => {
    const result = await interval({ dateRange: { from: '2024-01-01', to: '2024-01-02' } });
    expect(result).toMatchObject({ persons: 0, converted: 0, stats: { mean: 0, median: 0, p90: 0 } });
  });

  it('names the wrong field', () => {
    const base = { dateRange: MAY, fromEvent: 'signup', toEvent: 'order' };
    expect(fieldOf(intervalAnalysis.parse, { ...base, unit: 'week' })).toBe('unit');
    expect(fieldOf(intervalAnalysis.parse, { ...base, windowDays: 400 })).toBe('windowDays');
    expect(fieldOf(intervalAnalysis.parse, { ...base, toEvent: { event: 5 } })).toBe('toEvent.event');
  });
});
