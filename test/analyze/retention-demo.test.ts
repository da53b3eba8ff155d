import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heatmapAnalysis } from '../../src/analyze/activity.js';
import type { AnalysisContext } from '../../src/analyze/analysis.js';
import { lifecycleAnalysis } from '../../src/analyze/lifecycle.js';
import { retentionAnalysis } from '../../src/analyze/retention.js';
import { stickinessAnalysis } from '../../src/analyze/stickiness.js';
import { type DemoSummary, generateDemoWorld } from '../../src/demo/index.js';
import { type AnalyticsFixture, openAnalyticsFixture } from '../support/analytics-fixture.js';

// The planted truths of a small demo world (scale 0.05): people drift away over the weeks after
// their first visit, and activity follows a daily rhythm with an evening peak at 20–22 h.
let fx: AnalyticsFixture;
let world: DemoSummary;
let context: AnalysisContext;

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
  world = await generateDemoWorld(fx.facts, { projectId: fx.projectId, seed: 7, scale: 0.05 });
  context = {
    facts: fx.facts,
    metadata: fx.metadata,
    project: { projectId: fx.projectId, timeZone: 'Asia/Shanghai', currency: 'CNY' },
  };
}, 180_000);

afterAll(() => fx?.close());

/** The first `days` days of the world. */
function firstDays(days: number) {
  const to = new Date(Date.parse(`${world.startDate}T00:00:00Z`) + (days - 1) * 86_400_000);
  return { from: world.startDate, to: to.toISOString().slice(0, 10) };
}

describe('activity analyses on the demo world', () => {
  it('shows retention rates between 0 and 1 that decline from day 1 to day 7', async () => {
    const query = retentionAnalysis.parse({
      dateRange: firstDays(30),
      startEvent: { event: null },
      returnEvent: { event: null },
      period: 'day',
      periods: 7,
    });
    const result = await retentionAnalysis.run(context, query);
    expect(result.average.size).toBeGreaterThan(500);
    const rates = result.average.rates;
    expect(rates).toHaveLength(8);
    for (const rate of rates) expect(rate).toBeGreaterThanOrEqual(0);
    for (const rate of rates) expect(rate).toBeLessThanOrEqual(1);
    expect(rates[1]).toBeGreaterThan(0);
    expect(rates[7]).toBeLessThan(rates[1] as number);
    for (const cohort of result.cohorts) {
      expect(cohort.values.every((v) => v <= cohort.size)).toBe(true);
    }
    // Unbounded retention never falls below bounded, and never rises from one period to the next.
    const unbounded = await retentionAnalysis.run(context, { ...query, mode: 'unbounded' });
    unbounded.average.rates.forEach((rate, k) => {
      expect(rate).toBeGreaterThanOrEqual(rates[k] as number);
      if (k > 0) expect(rate).toBeLessThanOrEqual(unbounded.average.rates[k - 1] as number);
    });
  });

  it('shows the evening peak: more events at 20–22 h than at 3–5 h', async () => {
    const result = await heatmapAnalysis.run(
      context,
      heatmapAnalysis.parse({ dateRange: { from: world.startDate, to: world.endDate } }),
    );
    const hours = (from: number, to: number) =>
      result.values.reduce((sum, day) => sum + day.slice(from, to + 1).reduce((a, b) => a + b, 0), 0);
    expect(hours(20, 22)).toBeGreaterThan(5 * hours(3, 5));
    expect(result.peak?.hour).toBeGreaterThanOrEqual(19);
    expect(result.values.flat().reduce((a, b) => a + b, 0)).toBe(result.total);
  });

  it('keeps stickiness and lifecycle consistent with the number of active persons', async () => {
    const range = firstDays(14);
    const stickiness = await stickinessAnalysis.run(
      context,
      stickinessAnalysis.parse({ dateRange: range, event: null }),
    );
    expect(stickiness.values[0]?.persons).toBeGreaterThan(stickiness.values[6]?.persons ?? 0);
    const lifecycle = await lifecycleAnalysis.run(
      context,
      lifecycleAnalysis.parse({ dateRange: range, event: null, period: 'day' }),
    );
    // On the world's first day everyone is new; afterwards some persons return or fall dormant.
    expect(lifecycle.periods[0]).toMatchObject({ returning: 0, resurrecting: 0, dormant: 0 });
    expect(lifecycle.periods[0]?.new).toBeGreaterThan(0);
    expect(lifecycle.periods.slice(1).some((p) => p.returning > 0 && p.dormant < 0)).toBe(true);
  });
});
