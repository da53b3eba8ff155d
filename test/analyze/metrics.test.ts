import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCustomMetric } from '../../src/analyze/metrics/custom.js';
import { evaluateFormula, parseFormula } from '../../src/analyze/metrics/formula.js';
import type { MetricsResult } from '../../src/analyze/metrics/run.js';
import { projectContext } from '../../src/analyze/query/scope.js';
import { compileTrends, trends } from '../../src/analyze/trends.js';
import { PulseloopError } from '../../src/errors/registry.js';
import { type AnalyticsFixture, openAnalyticsFixture } from '../support/analytics-fixture.js';

let fx: AnalyticsFixture;

const contentRow = (row: Record<string, unknown>) => ({
  project_id: fx.projectId,
  account_id: 'acct-1',
  title: '',
  content_type: 'video',
  duration_seconds: 30,
  tags: [],
  impressions: 0,
  unique_viewers: 0,
  comments: 0,
  shares: 0,
  favourites: 0,
  completion_rate: 0,
  avg_watch_seconds: 0,
  followers_gained: 0,
  profile_visits: 0,
  source_id: 's',
  updated_at: Date.now(),
  ...row,
});

const orderRow = (row: Record<string, unknown>) => ({
  project_id: fx.projectId,
  person_id: '',
  platform: 'web',
  shop_id: 'shop',
  status: 'paid',
  currency: 'CNY',
  item_count: 1,
  items: '[]',
  coupon: '',
  channel: 'direct',
  source_id: 's',
  updated_at: Date.now(),
  ...row,
});

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
  await fx.events([
    // 23:59 on 1 March and 00:01 on 2 March in Shanghai (UTC+8): two different local days.
    { event: '$pageview', distinct_id: 'anon-1', at: '2025-03-01T15:59:00Z', platform: 'web' },
    { event: '$pageview', distinct_id: 'anon-1', at: '2025-03-01T16:01:00Z', platform: 'web' },
    { event: '$pageview', distinct_id: 'anon-2', at: '2025-03-02T03:00:00Z', platform: 'weibo' },
    // Two events at the same millisecond count twice.
    { event: 'signed_up', distinct_id: 'user-1', at: '2025-03-02T03:00:00Z', platform: 'web' },
    { event: 'signed_up', distinct_id: 'user-9', at: '2025-03-02T03:00:00Z', platform: 'web' },
    // NPS in April: scores 10, 9, 7, 3 count; a missing score and another survey do not.
    ...[10, 9, 7, 3].map((score, i) => ({
      event: 'survey_answered',
      distinct_id: `nps-${i}`,
      at: '2025-04-10T04:00:00Z',
      properties: { survey_id: 'nps', score },
    })),
    {
      event: 'survey_answered',
      distinct_id: 'nps-x',
      at: '2025-04-10T04:00:00Z',
      properties: { survey_id: 'nps' },
    },
    {
      event: 'survey_answered',
      distinct_id: 'nps-y',
      at: '2025-04-10T04:00:00Z',
      properties: { survey_id: 'csat', score: 10 },
    },
    // Videos in May: watch seconds 10 and 30; one play without the property.
    {
      event: 'video_played',
      distinct_id: 'v-1',
      at: '2025-05-01T04:00:00Z',
      properties: { watch_seconds: 10 },
    },
    {
      event: 'video_played',
      distinct_id: 'v-1',
      at: '2025-05-01T05:00:00Z',
      properties: { watch_seconds: 30 },
    },
    { event: 'video_played', distinct_id: 'v-2', at: '2025-05-01T06:00:00Z', properties: {} },
  ]);
  // anon-1 identified as user-1 later: its page views belong to P1.
  await fx.identities([
    { distinct_id: 'anon-1', person_id: 'P1' },
    { distinct_id: 'user-1', person_id: 'P1', id_type: 'user' },
  ]);
  await fx.insert('content_stats', [
    // 1 March: douyin c1 (20 interactions / 100 plays) and c2 (30 / 300): rate 50/400 = 0.125, not (0.2+0.1)/2.
    contentRow({
      platform: 'douyin',
      content_id: 'c1',
      date: '2025-03-01',
      plays: 100,
      likes: 10,
      comments: 5,
      shares: 3,
      favourites: 2,
      followers_gained: 10,
    }),
    contentRow({ platform: 'douyin', content_id: 'c2', date: '2025-03-01', plays: 300, likes: 30 }),
    // 2 March: weibo has likes but no plays (rate: no data), bilibili 5 / 50.
    contentRow({ platform: 'weibo', content_id: 'c3', date: '2025-03-02', plays: 0, likes: 4 }),
    contentRow({
      platform: 'bilibili',
      content_id: 'c4',
      date: '2025-03-02',
      plays: 50,
      likes: 5,
      followers_gained: 5,
    }),
    // Before the range: 100 followers gained on douyin (the opening balance of the follower count).
    contentRow({ platform: 'douyin', content_id: 'c1', date: '2025-02-01', plays: 0, followers_gained: 100 }),
  ]);
  await fx.insert('ad_spend', [
    {
      project_id: fx.projectId,
      date: '2025-03-01',
      platform: 'douyin',
      account_id: 'a',
      campaign_id: 'A',
      campaign_name: 'A',
      ad_group_id: 'g',
      ad_group_name: 'g',
      creative_id: 'cr1',
      creative_name: '',
      channel: 'paid_social',
      impressions: 1000,
      clicks: 50,
      spend: 100,
      currency: 'CNY',
      conversions: 5,
      conversion_revenue: 300,
      source_id: 's',
      updated_at: Date.now(),
    },
    {
      project_id: fx.projectId,
      date: '2025-03-01',
      platform: 'douyin',
      account_id: 'a',
      campaign_id: 'B',
      campaign_name: 'B',
      ad_group_id: 'g',
      ad_group_name: 'g',
      creative_id: 'cr2',
      creative_name: '',
      channel: 'paid_social',
      impressions: 0,
      clicks: 0,
      spend: 0,
      currency: 'CNY',
      conversions: 0,
      conversion_revenue: 0,
      source_id: 's',
      updated_at: Date.now(),
    },
  ]);
  await fx.insert('orders', [
    // P1 (through two distinct ids) orders on 1 and 2 March; anon-2 on 2 March; a cancelled order never counts.
    orderRow({ order_id: 'o1', distinct_id: 'anon-1', created_at: '2025-03-01T02:00:00Z', amount: 100 }),
    orderRow({ order_id: 'o2', distinct_id: 'user-1', created_at: '2025-03-02T02:00:00Z', amount: 50 }),
    orderRow({ order_id: 'o3', distinct_id: 'anon-2', created_at: '2025-03-02T05:00:00Z', amount: 30 }),
    orderRow({
      order_id: 'o4',
      distinct_id: 'x',
      created_at: '2025-03-02T05:00:00Z',
      amount: 999,
      status: 'cancelled',
    }),
  ]);
}, 60_000);

afterAll(() => fx?.close());

async function run(body: Record<string, unknown>): Promise<MetricsResult> {
  const project = await projectContext(fx.metadata, fx.projectId);
  return trends.run({ facts: fx.facts, metadata: fx.metadata, project }, trends.parse(body));
}

const seriesOf = (result: MetricsResult, metric: string, breakdown: string[] | null = null) =>
  result.series.find((s) => s.metric === metric && JSON.stringify(s.breakdown) === JSON.stringify(breakdown));
const pointsOf = (result: MetricsResult, metric: string, breakdown: string[] | null = null) =>
  Object.fromEntries(seriesOf(result, metric, breakdown)!.points.map((p) => [p.t, p.value]));
const totalOf = (result: MetricsResult, metric: string) =>
  result.totals.find((t) => t.metric === metric)!.value;

function fieldOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PulseloopError);
    return (error as PulseloopError).details.field;
  }
  throw new Error('expected an error');
}

async function asyncFieldOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PulseloopError);
    return (error as PulseloopError).details.field;
  }
  throw new Error('expected an error');
}

describe('metric formulas', () => {
  it('parses + − × ÷ with precedence and parentheses', () => {
    const value = (text: string) => evaluateFormula(parseFormula(text), (id) => ({ a: 6, b: 3 })[id] ?? null);
    expect(value('a + b * 2')).toBe(12);
    expect(value('(a + b) × 2')).toBe(18);
    expect(value('a ÷ b − 1')).toBe(1);
    expect(value('-a + 10')).toBe(4);
  });

  it('gives null, not Infinity, for a division by zero or a missing value', () => {
    expect(evaluateFormula(parseFormula('a / 0'), () => 1)).toBeNull();
    expect(evaluateFormula(parseFormula('a / b'), (id) => (id === 'a' ? 1 : null))).toBeNull();
  });

  it('rejects anything but arithmetic over metric ids', () => {
    expect(() => parseFormula('plays; DROP TABLE events')).toThrow(/unexpected character/);
    expect(() => parseFormula('plays +')).toThrow(/ends/);
    expect(() => parseFormula('(plays')).toThrow(/missing/);
  });
});

describe('trends over hand-computed fixtures', () => {
  it('cuts days at Shanghai midnight and fills empty days with zeros', async () => {
    const result = await run({ metrics: ['pageviews'], dateRange: { from: '2025-03-01', to: '2025-03-03' } });
    expect(result.buckets).toEqual(['2025-03-01', '2025-03-02', '2025-03-03']);
    expect(pointsOf(result, 'pageviews')).toEqual({ '2025-03-01': 1, '2025-03-02': 2, '2025-03-03': 0 });
    expect(totalOf(result, 'pageviews')).toBe(3);
  });

  it('cuts hours in the project time zone', async () => {
    const result = await run({
      metrics: ['pageviews'],
      dateRange: { from: '2025-03-02', to: '2025-03-02' },
      granularity: 'hour',
    });
    expect(result.buckets).toHaveLength(24);
    const points = pointsOf(result, 'pageviews');
    expect(points['2025-03-02 00:00']).toBe(1);
    expect(points['2025-03-02 11:00']).toBe(1);
    expect(Object.values(points).reduce((a, b) => (a ?? 0) + (b ?? 0), 0)).toBe(2);
  });

  it('counts events at the same millisecond and distinct persons after identify', async () => {
    const result = await run({
      metrics: ['signups', 'active_persons', 'dau', 'mau', 'stickiness'],
      dateRange: { from: '2025-03-01', to: '2025-03-02' },
      granularity: 'total',
    });
    expect(totalOf(result, 'signups')).toBe(2);
    // P1 (anon-1 + user-1), anon-2, user-9.
    expect(totalOf(result, 'active_persons')).toBe(3);
    // Person-days: 1 March {P1}, 2 March {P1, anon-2, user-9} = 4 over 2 days.
    expect(totalOf(result, 'dau')).toBe(2);
    expect(totalOf(result, 'mau')).toBe(3);
    expect(totalOf(result, 'stickiness')).toBeCloseTo(2 / 3, 10);
  });

  it('computes ratios from summed components, never as an average of ratios', async () => {
    const result = await run({
      metrics: ['interaction_rate', 'interactions', 'plays'],
      dateRange: { from: '2025-03-01', to: '2025-03-02' },
    });
    expect(pointsOf(result, 'interaction_rate')['2025-03-01']).toBeCloseTo(50 / 400, 12);
    expect(pointsOf(result, 'interaction_rate')['2025-03-02']).toBeCloseTo(9 / 50, 12);
    expect(totalOf(result, 'interaction_rate')).toBeCloseTo(59 / 450, 12);
    expect(totalOf(result, 'interactions')).toBe(59);
  });

  it('keeps the top N breakdown values and sums the rest into $other; 0 plays gives null', async () => {
    const all = await run({
      metrics: ['interaction_rate'],
      dimensions: ['platform'],
      dateRange: { from: '2025-03-01', to: '2025-03-02' },
    });
    expect(all.series.map((s) => s.breakdown)).toEqual([['douyin'], ['bilibili'], ['weibo']]);
    expect(pointsOf(all, 'interaction_rate', ['weibo'])['2025-03-02']).toBeNull();
    const top1 = await run({
      metrics: ['interaction_rate'],
      dimensions: ['platform'],
      dateRange: { from: '2025-03-01', to: '2025-03-02' },
      breakdownLimit: 1,
    });
    expect(top1.series.map((s) => s.breakdown)).toEqual([['douyin'], ['$other']]);
    // $other on 2 March: (4 + 5) / (0 + 50); on 1 March nothing: no data.
    expect(pointsOf(top1, 'interaction_rate', ['$other'])).toEqual({
      '2025-03-01': null,
      '2025-03-02': 9 / 50,
    });
    expect(seriesOf(top1, 'interaction_rate', ['$other'])!.total).toBeCloseTo(9 / 50, 12);
    expect(totalOf(top1, 'interaction_rate')).toBeCloseTo(59 / 450, 12);
  });

  it('compares with the previous period', async () => {
    const result = await run({
      metrics: ['plays', 'completion_rate'],
      dateRange: { from: '2025-03-02', to: '2025-03-02' },
      compare: 'previous_period',
    });
    expect(result.previousRange).toEqual({ from: '2025-03-01', to: '2025-03-01' });
    const plays = result.totals.find((t) => t.metric === 'plays')!;
    expect(plays).toMatchObject({ value: 50, previousValue: 400, changePercent: -87.5 });
    // No completions recorded: 0 / 50 = 0 now, 0 / 400 before: change of 0 from 0 is unknown.
    expect(result.totals.find((t) => t.metric === 'completion_rate')).toMatchObject({
      value: 0,
      previousValue: 0,
      changePercent: null,
    });
  });

  it('computes ad metrics and gives null where a campaign has no impressions', async () => {
    const result = await run({
      metrics: ['ctr', 'cpc', 'cpm', 'cpa', 'roas', 'roi'],
      dimensions: ['campaign'],
      dateRange: { from: '2025-03-01', to: '2025-03-01' },
      granularity: 'total',
    });
    expect(result.totals.map((t) => t.value)).toEqual([0.05, 2, 100, 20, 3, 2]);
    expect(seriesOf(result, 'ctr', ['B'])!.total).toBeNull();
  });

  it('computes orders, buyers, repurchase, AOV and new vs returning buyers per resolved person', async () => {
    const result = await run({
      metrics: ['orders', 'gmv', 'buyers', 'repurchase_rate', 'aov', 'new_buyers', 'returning_buyers'],
      dateRange: { from: '2025-03-01', to: '2025-03-02' },
    });
    expect(result.totals.map((t) => t.value)).toEqual([3, 180, 2, 0.5, 60, 2, 0]);
    expect(pointsOf(result, 'new_buyers')).toEqual({ '2025-03-01': 1, '2025-03-02': 1 });
    expect(pointsOf(result, 'returning_buyers')).toEqual({ '2025-03-01': 0, '2025-03-02': 1 });
  });

  it('counts followers as a running total from the first day of data', async () => {
    const result = await run({
      metrics: ['followers', 'follower_growth'],
      dateRange: { from: '2025-03-01', to: '2025-03-02' },
    });
    expect(pointsOf(result, 'followers')).toEqual({ '2025-03-01': 110, '2025-03-02': 115 });
    expect(totalOf(result, 'followers')).toBe(115);
    expect(totalOf(result, 'follower_growth')).toBe(15);
  });

  it('computes NPS from survey answers, ignoring missing scores and other surveys', async () => {
    const result = await run({
      metrics: ['nps', 'nps_responses'],
      dateRange: { from: '2025-04-10', to: '2025-04-10' },
      granularity: 'total',
    });
    // (2 promoters − 1 detractor) / 4 responses.
    expect(totalOf(result, 'nps')).toBe(25);
    expect(totalOf(result, 'nps_responses')).toBe(4);
  });

  it('answers an empty range with zeros and null ratios', async () => {
    const result = await run({
      metrics: ['pageviews', 'interaction_rate'],
      dateRange: { from: '2024-01-01', to: '2024-01-03' },
    });
    expect(pointsOf(result, 'pageviews')).toEqual({ '2024-01-01': 0, '2024-01-02': 0, '2024-01-03': 0 });
    expect(totalOf(result, 'interaction_rate')).toBeNull();
  });

  it('computes D1 retention of new persons', async () => {
    const result = await run({
      metrics: ['new_persons', 'd1_retention'],
      dateRange: { from: '2025-03-01', to: '2025-03-02' },
    });
    // P1 first seen 1 March and back on 2 March; anon-2 and user-9 first seen 2 March, never back.
    expect(pointsOf(result, 'new_persons')).toEqual({ '2025-03-01': 1, '2025-03-02': 2 });
    expect(pointsOf(result, 'd1_retention')).toEqual({ '2025-03-01': 1, '2025-03-02': 0 });
    expect(totalOf(result, 'd1_retention')).toBeCloseTo(1 / 3, 12);
  });

  it('runs custom metrics: formulas over metrics and aggregations over event properties', async () => {
    await saveCustomMetric(fx.metadata, fx.projectId, {
      id: 'likes_per_thousand_plays',
      en: 'Likes per 1000 plays',
      definition: { type: 'formula', expression: 'likes / plays × 1000' },
    });
    await saveCustomMetric(fx.metadata, fx.projectId, {
      id: 'avg_watch',
      en: 'Average watch seconds',
      definition: {
        type: 'event',
        event: 'video_played',
        aggregation: 'avg',
        property: 'properties.watch_seconds',
      },
    });
    await saveCustomMetric(fx.metadata, fx.projectId, {
      id: 'long_watchers',
      en: 'Persons watching over 20 s',
      definition: {
        type: 'event',
        event: 'video_played',
        aggregation: 'uniq_persons',
        filters: [{ field: 'properties.watch_seconds', op: 'gt', value: 20 }],
      },
    });
    const march = await run({
      metrics: ['likes_per_thousand_plays'],
      dateRange: { from: '2025-03-01', to: '2025-03-01' },
      granularity: 'total',
    });
    expect(totalOf(march, 'likes_per_thousand_plays')).toBe(100);
    const may = await run({
      metrics: ['avg_watch', 'long_watchers'],
      dateRange: { from: '2025-05-01', to: '2025-05-01' },
      granularity: 'total',
    });
    // The play without watch_seconds is left out of the average: (10 + 30) / 2.
    expect(totalOf(may, 'avg_watch')).toBe(20);
    expect(totalOf(may, 'long_watchers')).toBe(1);
    const empty = await run({ metrics: ['avg_watch'], dateRange: { from: '2025-05-02', to: '2025-05-02' } });
    expect(totalOf(empty, 'avg_watch')).toBeNull();
  });

  it('rejects custom metrics that are not well formed, naming the field', async () => {
    const save = (definition: unknown) =>
      asyncFieldOf(
        saveCustomMetric(fx.metadata, fx.projectId, { id: 'bad_one', en: 'Bad', definition } as never),
      );
    expect(await save({ type: 'formula', expression: 'plays / nothing_here' })).toBe('definition.expression');
    expect(await save({ type: 'formula', expression: 'bad_one + 1' })).toBe('definition.expression');
    expect(await save({ type: 'event', event: 'x', aggregation: 'sum' })).toBe('definition.property');
    expect(
      await save({
        type: 'event',
        event: 'x',
        aggregation: 'count',
        filters: [{ field: 'nope', op: 'eq', value: 1 }],
      }),
    ).toBe('definition.filters[0].field');
  });
});

describe('query validation names the wrong field', () => {
  const range = { from: '2025-03-01', to: '2025-03-02' };

  it('rejects a malformed query', () => {
    expect(fieldOf(() => trends.parse({ metrics: [], dateRange: range }))).toBe('metrics');
    expect(
      fieldOf(() => trends.parse({ metrics: ['plays'], dateRange: { from: '2025-3-1', to: '2025-03-02' } })),
    ).toBe('dateRange.from');
    expect(fieldOf(() => trends.parse({ metrics: ['plays'], dateRange: range, granularity: 'year' }))).toBe(
      'granularity',
    );
    expect(
      fieldOf(() => trends.parse({ metrics: ['plays'], dateRange: range, dimensions: ['colour'] })),
    ).toBe('dimensions[0]');
    expect(fieldOf(() => trends.parse({ metrics: ['plays'], dateRange: range, breakdownLimit: 0 }))).toBe(
      'breakdownLimit',
    );
  });

  it('rejects dimensions, filters and granularities a metric does not take', async () => {
    expect(await asyncFieldOf(run({ metrics: ['pageviews', 'nope'], dateRange: range }))).toBe('metrics[1]');
    expect(
      await asyncFieldOf(
        run({ metrics: ['pageviews', 'plays'], dimensions: ['platform', 'region'], dateRange: range }),
      ),
    ).toBe('dimensions[1]');
    expect(
      await asyncFieldOf(
        run({ metrics: ['ctr'], filters: [{ field: 'region', op: 'eq', value: 'x' }], dateRange: range }),
      ),
    ).toBe('filters[0].field');
    expect(await asyncFieldOf(run({ metrics: ['plays'], granularity: 'hour', dateRange: range }))).toBe(
      'granularity',
    );
  });

  it('calls a breakdown 分组 in Chinese, as the dashboard does', async () => {
    const refused = await run({ metrics: ['plays'], dimensions: ['region'], dateRange: range }).catch(
      (error: unknown) => error as PulseloopError,
    );
    expect(refused).toBeInstanceOf(PulseloopError);
    expect((refused as PulseloopError).zh).toContain('指标 "plays"（metrics[0]）不能按 "region" 分组');
  });
});

describe('compiled SQL', () => {
  it('binds every value and compiles without running', async () => {
    const project = await projectContext(fx.metadata, fx.projectId);
    const hostile = "x' OR 1=1 --";
    const compiled = compileTrends(project, {
      metrics: ['pageviews'],
      dimensions: ['platform'],
      filters: [{ field: 'platform', op: 'eq', value: hostile }],
      dateRange: range(),
    });
    expect(compiled.sql).not.toContain(hostile);
    expect(Object.values(compiled.params)).toContain(hostile);
    const rows = await fx.facts.query(compiled.sql, compiled.params);
    expect(rows.every((r) => (r as { m0: number }).m0 === 0)).toBe(true);
  });
});

function range() {
  return { from: '2025-03-01', to: '2025-03-02' };
}
