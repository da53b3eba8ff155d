import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisContext } from '../../src/analyze/analysis.js';
import { funnelsAnalysis } from '../../src/analyze/funnels.js';
import { pathsAnalysis } from '../../src/analyze/paths.js';
import { projectContext } from '../../src/analyze/query/scope.js';
import { type DemoSummary, generateDemoWorld } from '../../src/demo/index.js';
import { type AnalyticsFixture, openAnalyticsFixture } from '../support/analytics-fixture.js';

// The shop funnel and paths on a small demo world (scale 0.05), checked against SQL written by
// hand without the analysis code.
let fx: AnalyticsFixture;
let context: AnalysisContext;
let world: DemoSummary;

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
  context = {
    facts: fx.facts,
    metadata: fx.metadata,
    project: await projectContext(fx.metadata, fx.projectId),
  };
  world = await generateDemoWorld(fx.facts, { projectId: fx.projectId, seed: 11, scale: 0.05 });
}, 180_000);
afterAll(() => fx.close());

const SHOP = ['product_viewed', 'add_to_cart', 'checkout_started', 'order_completed'];

/** Resolved persons by hand: latest identity mapping, else the event's person id, else the sender. */
const HAND_PERSONS = `
  WITH ids AS (
    SELECT distinct_id, argMax(person_id, version) AS person_id FROM identities
    WHERE project_id = {p:String} GROUP BY distinct_id HAVING argMax(is_deleted, version) = 0
  )
  SELECT if(ids.person_id != '', ids.person_id, if(e.person_id != '', e.person_id, e.distinct_id)) AS person,
    e.event AS event, e.timestamp AS timestamp
  FROM events AS e FINAL LEFT JOIN ids ON ids.distinct_id = e.distinct_id
  WHERE e.project_id = {p:String} AND e.event IN {events:Array(String)}`;

describe('the shop funnel on the demo world', () => {
  it('is monotone non-increasing, converts some persons, and counts step 1 as hand-written SQL does', async () => {
    const dateRange = { from: world.startDate, to: world.endDate };
    const started = performance.now();
    const result = await funnelsAnalysis.run(
      context,
      funnelsAnalysis.parse({
        dateRange,
        steps: SHOP.map((event) => ({ event })),
        windowSeconds: 7 * 86_400,
      }),
    );
    const tookMs = performance.now() - started;
    const counts = result.steps.map((s) => s.count);
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeLessThanOrEqual(counts[i - 1] as number);
    expect(counts[3]).toBeGreaterThan(0);
    expect(counts[3]).toBeLessThan(counts[0] as number);

    const [hand] = await fx.facts.query<{ viewers: number }>(
      `SELECT uniqExact(person) AS viewers FROM (${HAND_PERSONS})
       WHERE toDate(timestamp, 'Asia/Shanghai') BETWEEN toDate({from:String}) AND toDate({to:String})`,
      { p: fx.projectId, events: ['product_viewed'], ...dateRange },
    );
    expect(counts[0]).toBe(Number(hand?.viewers));

    // windowFunnel reaches the same levels for a sequential funnel with one window: every level
    // found from a step-1 event inside the range.
    const [levels] = await fx.facts.query<{ levels: number[] }>(
      `SELECT [countIf(level >= 1), countIf(level >= 2), countIf(level >= 3), countIf(level >= 4)] AS levels
       FROM (
         SELECT person, windowFunnel(7 * 86400)(toDateTime(timestamp),
           event = 'product_viewed' AND toDate(timestamp, 'Asia/Shanghai') <= toDate({to:String}),
           event = 'add_to_cart', event = 'checkout_started', event = 'order_completed') AS level
         FROM (${HAND_PERSONS}) WHERE timestamp >= toDateTime64({from:String}, 3, 'Asia/Shanghai')
         GROUP BY person
       )`,
      { p: fx.projectId, events: SHOP, ...dateRange },
    );
    expect(counts).toEqual(levels?.levels.map(Number));
    console.info(
      `shop funnel on ${world.counts.events} demo events: ${counts.join(' → ')} in ${tookMs.toFixed(0)} ms`,
    );
  });

  it('finds paths after product_viewed that include add_to_cart', async () => {
    const started = performance.now();
    const result = await pathsAnalysis.run(
      context,
      pathsAnalysis.parse({
        dateRange: { from: world.startDate, to: world.endDate },
        start: { event: 'product_viewed' },
        depth: 4,
      }),
    );
    const tookMs = performance.now() - started;
    expect(result.total).toBeGreaterThan(0);
    expect(result.nodes.find((n) => n.step === 1)).toMatchObject({
      name: 'product_viewed',
      value: result.total,
    });
    expect(result.links.some((l) => l.target.endsWith(':add_to_cart'))).toBe(true);
    // Every link's value is at most its source node's value.
    const value = new Map(result.nodes.map((n) => [n.id, n.value]));
    for (const link of result.links) expect(link.value).toBeLessThanOrEqual(value.get(link.source) as number);
    console.info(
      `paths on ${world.counts.events} demo events: ${result.total} paths in ${tookMs.toFixed(0)} ms`,
    );
  });
});
