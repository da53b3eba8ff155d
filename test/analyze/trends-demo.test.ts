import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetricsQuery } from '../../src/analyze/metrics/query.js';
import { BUILT_IN_CATALOGUE } from '../../src/analyze/metrics/resolve.js';
import { runMetricsQuery } from '../../src/analyze/metrics/run.js';
import { type DemoSummary, generateDemoWorld } from '../../src/demo/index.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';

// One small demo world (as test/demo/world.test.ts builds it); trends must recover its planted truths.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-trends-demo-'));
const project = { projectId: 'demo_trends', timeZone: 'Asia/Shanghai', currency: 'CNY' };
let facts: FactsEngine;
let world: DemoSummary;

beforeAll(async () => {
  facts = await openChdbEngine(dataDir, 'pulseloop_trends_demo');
  await migrateFacts(facts);
  world = await generateDemoWorld(facts, { projectId: project.projectId, seed: 11, scale: 0.05 });
}, 180_000);

afterAll(async () => {
  await facts?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const run = (body: unknown) =>
  runMetricsQuery({ facts, project, catalogue: BUILT_IN_CATALOGUE }, parseMetricsQuery(body));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Distance from the median in robust standard deviations (1.4826 × median absolute deviation). */
function robustZ(values: number[], x: number): number {
  const m = median(values);
  const mad = median(values.map((v) => Math.abs(v - m)));
  return (x - m) / (1.4826 * mad);
}

describe('trends on the demo world', () => {
  it('shows the planted anomalous day in daily page views by platform and UTM source', async () => {
    // The viral Weibo video sends visitors to the web shop: the (web, weibo) series spikes that day.
    const anomaly = world.truth.anomaly;
    const { platform, utm_source } = anomaly.metric.filter;
    const started = performance.now();
    const result = await run({
      metrics: ['pageviews'],
      dimensions: ['platform', 'utm_source'],
      dateRange: { from: world.startDate, to: world.endDate },
      breakdownLimit: 100,
    });
    const tookMs = performance.now() - started;
    const series = result.series.find((s) => s.breakdown?.join() === `${platform},${utm_source}`)!;
    const values = series.points.map((p) => p.value ?? 0);
    const spike = series.points.find((p) => p.t === anomaly.date)!.value!;
    const z = robustZ(values, spike);
    console.info(
      `anomaly ${anomaly.date}: ${spike} page views, robust z ${z.toFixed(1)}, query ${tookMs.toFixed(0)} ms`,
    );
    expect(z).toBeGreaterThan(3);
    expect(Math.max(...values)).toBe(spike);
    // Other sources of some volume have no spike that day.
    for (const other of result.series.filter((s) => s !== series && s.breakdown?.[0] !== '$other')) {
      const otherValues = other.points.map((p) => p.value ?? 0);
      const day = other.points.find((p) => p.t === anomaly.date)!.value ?? 0;
      if (median(otherValues) >= 20)
        expect(robustZ(otherValues, day), other.breakdown!.join()).toBeLessThan(3);
    }
  });

  it('breaks totals down consistently: the top platforms and $other add up to the total count', async () => {
    const result = await run({
      metrics: ['events'],
      dimensions: ['platform'],
      dateRange: { from: world.startDate, to: world.endDate },
      granularity: 'week',
      breakdownLimit: 2,
    });
    expect(result.series).toHaveLength(3);
    const sum = result.series.reduce((total, s) => total + (s.total ?? 0), 0);
    expect(sum).toBe(result.totals[0]!.value);
    const [row] = await facts.query<{ n: number }>(
      'SELECT count() AS n FROM events FINAL WHERE project_id = {p:String}',
      { p: project.projectId },
    );
    expect(result.totals[0]!.value).toBe(Number(row!.n));
  });

  it('computes completion rate as Σ completed plays ÷ Σ video plays, as hand-written SQL does', async () => {
    const result = await run({
      metrics: ['completion_rate'],
      dateRange: { from: world.startDate, to: world.endDate },
      granularity: 'total',
    });
    const [row] = await facts.query<{ rate: number }>(
      // Videos only: the demo's image notes report no completion and must not dilute the rate.
      `SELECT sumIf(completion_rate * plays, duration_seconds > 0) / sumIf(plays, duration_seconds > 0) AS rate
       FROM content_stats FINAL
       WHERE project_id = {p:String} AND date BETWEEN toDate({from:String}) AND toDate({to:String})`,
      { p: project.projectId, from: world.startDate, to: world.endDate },
    );
    expect(result.totals[0]!.value).toBeCloseTo(row!.rate, 9);
    expect(row!.rate).toBeGreaterThan(0);
  });
});
