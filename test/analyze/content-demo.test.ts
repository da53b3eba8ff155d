import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisContext } from '../../src/analyze/analysis.js';
import { contentCompare } from '../../src/analyze/content/compare.js';
import { contentLeaderboard } from '../../src/analyze/content/leaderboard.js';
import { contentLength } from '../../src/analyze/content/length.js';
import { projectContext } from '../../src/analyze/query/scope.js';
import { completionForDuration } from '../../src/demo/content.js';
import { type DemoSummary, generateDemoWorld } from '../../src/demo/index.js';
import { type AnalyticsFixture, openAnalyticsFixture } from '../support/analytics-fixture.js';

// A small demo world (scale 0.05; content_stats does not shrink with the scale), generated once.
let fx: AnalyticsFixture;
let context: AnalysisContext;
let world: DemoSummary;

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
  world = await generateDemoWorld(fx.facts, { projectId: fx.projectId, seed: 7, scale: 0.05 });
  context = {
    facts: fx.facts,
    metadata: fx.metadata,
    project: await projectContext(fx.metadata, fx.projectId),
  };
}, 180_000);

afterAll(() => fx?.close());

const wholeWorld = () => ({ from: world.truth.dateRange.startDate, to: world.truth.dateRange.endDate });

describe('content analyses on the demo world', () => {
  it('recovers the planted truth: completion falls with video length', async () => {
    const { buckets } = await contentLength.run(context, contentLength.parse({ dateRange: wholeWorld() }));
    const rates = buckets.map((b) => b.metrics.completion_rate);
    expect(buckets.every((b) => b.posts > 0)).toBe(true);
    for (let i = 1; i < rates.length; i++) expect(rates[i]!).toBeLessThanOrEqual(rates[i - 1]!);
    // The ground truth's formula: 0.1 + 0.8·exp(−length / 75 s), so under 15 s ≥ completion at 15 s
    // and 180 s+ ≤ completion at 180 s, before per-post noise (±12 %).
    const { floor } = world.truth.content.completionModel;
    expect(rates[0]!).toBeGreaterThan(completionForDuration(15) * 0.9);
    expect(rates[4]!).toBeLessThan(completionForDuration(180) * 1.1);
    expect(rates[4]!).toBeGreaterThan(floor * 0.8);
  });

  it('puts the planted viral Weibo video on top of the anomalous day, hottest on Weibo', async () => {
    const day = { from: world.truth.anomaly.date, to: world.truth.anomaly.date };
    const top = await contentLeaderboard.run(context, contentLeaderboard.parse({ dateRange: day, limit: 3 }));
    expect(top.rows[0]?.contentId).toBe(world.truth.anomaly.viralContentId);
    expect(top.rows[0]?.platform).toBe('weibo');
    const weibo = await contentLeaderboard.run(
      context,
      contentLeaderboard.parse({
        dateRange: day,
        filters: { platforms: ['weibo'] },
        sort: { by: 'heat_index' },
      }),
    );
    expect(weibo.rows[0]?.contentId).toBe(world.truth.anomaly.viralContentId);
  });

  it('adds up per platform to the plays of the whole table', async () => {
    const { rows } = await contentCompare.run(context, contentCompare.parse({ dateRange: wholeWorld() }));
    const [total] = await fx.facts.query<{ plays: number }>(
      `SELECT sum(plays) AS plays FROM content_stats FINAL
       WHERE project_id = {project:String} AND date >= {from:Date} AND date <= {to:Date}`,
      { project: fx.projectId, ...wholeWorld() },
    );
    expect(rows.reduce((sum, r) => sum + (r.metrics.plays ?? 0), 0)).toBe(Number(total?.plays));
    expect(rows.map((r) => r.platform).sort()).toEqual(
      ['bilibili', 'douyin', 'kuaishou', 'wechat_channels', 'weibo', 'xiaohongshu'].sort(),
    );
  });
});
