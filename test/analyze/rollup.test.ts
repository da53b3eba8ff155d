import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue, saveCustomMetric } from '../../src/analyze/metrics/custom.js';
import { parseMetricsQuery } from '../../src/analyze/metrics/query.js';
import { BUILT_IN_CATALOGUE, type Catalogue } from '../../src/analyze/metrics/resolve.js';
import { type MetricsResult, runMetricsQuery } from '../../src/analyze/metrics/run.js';
import { type ProjectContext, projectContext } from '../../src/analyze/query/scope.js';
import { compileTrends } from '../../src/analyze/trends.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { hourAlignedZone, rebuildEventRollup } from '../../src/store/facts/rollups.js';
import { FACTS_MIGRATIONS } from '../../src/store/facts/schema.js';
import { type AnalyticsFixture, openAnalyticsFixture } from '../support/analytics-fixture.js';

let fx: AnalyticsFixture;
let project: ProjectContext;

// Every statement the engine runs, to tell which table answered.
const seen: string[] = [];
let recording: FactsEngine;

const range = { from: '2025-03-01', to: '2025-03-03' };

async function trend(body: Record<string, unknown>, rollups = true, at: ProjectContext = project) {
  const query = parseMetricsQuery(body);
  const catalogue: Catalogue = await loadCatalogue(fx.metadata, fx.projectId, query.metrics);
  return runMetricsQuery({ facts: recording, project: at, catalogue }, query, { rollups });
}

/** Runs a query from the rollup and from raw events; returns both and which tables were read. */
async function both(body: Record<string, unknown>, at: ProjectContext = project) {
  seen.length = 0;
  const rolled = await trend(body, true, at);
  const readRollup = seen.some((sql) => sql.includes('FROM event_rollup_hourly AS e'));
  const readEvents = seen.some((sql) => sql.includes('FROM events AS e FINAL'));
  const raw = await trend(body, false, at);
  return { rolled, raw, readRollup, readEvents };
}

const valuesOf = (result: MetricsResult, breakdown: string[] | null) =>
  result.series.find((s) => JSON.stringify(s.breakdown) === JSON.stringify(breakdown));

/** The rollup's rows next to the same grouping of `events FINAL`, for the project. */
async function rollupVersusEvents() {
  const key = 'event, hour, platform, channel, utm_source, utm_medium, device_type, country';
  const rollup = await fx.facts.query(
    `SELECT ${key}, sum(events) AS n, toString(sum(revenue)) AS r FROM event_rollup_hourly
     WHERE project_id = {p:String} GROUP BY ${key} HAVING n > 0 ORDER BY ${key}`,
    { p: fx.projectId },
  );
  const events = await fx.facts.query(
    `SELECT event, toStartOfHour(timestamp) AS hour, platform, channel, utm_source, utm_medium, device_type,
       country, count() AS n, toString(toDecimal128(sum(revenue), 4)) AS r
     FROM events FINAL WHERE project_id = {p:String} GROUP BY ${key} ORDER BY ${key}`,
    { p: fx.projectId },
  );
  return { rollup, events };
}

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
  project = await projectContext(fx.metadata, fx.projectId);
  recording = {
    ...fx.facts,
    query: (sql, params) => {
      seen.push(sql);
      return fx.facts.query(sql, params);
    },
  } as FactsEngine;
  await fx.events([
    // Shanghai is UTC+8: 15:59Z is 23:59 on 1 March, 16:01Z is 00:01 on 2 March.
    {
      event: '$pageview',
      distinct_id: 'a',
      at: '2025-03-01T15:59:00Z',
      platform: 'web',
      channel: 'organic_social',
      utm_source: 'weibo',
    },
    { event: '$pageview', distinct_id: 'a', at: '2025-03-01T16:01:00Z', platform: 'web', channel: 'direct' },
    // Two page views at the same millisecond count twice.
    { event: '$pageview', distinct_id: 'b', at: '2025-03-02T03:00:00Z', platform: 'weibo', channel: 'kol' },
    { event: '$pageview', distinct_id: 'c', at: '2025-03-02T03:00:00Z', platform: 'app', channel: 'direct' },
    { event: '$pageview', distinct_id: 'd', at: '2025-03-03T10:00:00Z', platform: 'douyin', channel: 'kol' },
    { event: '$pageview', distinct_id: 'd', at: '2025-03-03T11:00:00Z', platform: 'douyin', channel: 'kol' },
    {
      event: 'order_completed',
      distinct_id: 'b',
      at: '2025-03-02T05:00:00Z',
      platform: 'web',
      revenue: 99.5,
    },
    {
      event: 'order_completed',
      distinct_id: 'c',
      at: '2025-03-03T05:00:00Z',
      platform: 'app',
      revenue: 0.25,
    },
    // The previous period of 1–3 March is 26–28 February.
    { event: '$pageview', distinct_id: 'e', at: '2025-02-27T02:00:00Z', platform: 'web', channel: 'direct' },
    // In one UTC hour: 23:45 on 1 March and 00:15 on 2 March in Kolkata (UTC+5:30); both 2 March in Shanghai.
    { event: 'probe', distinct_id: 'k', at: '2025-03-01T18:15:00Z', platform: 'web' },
    { event: 'probe', distinct_id: 'k', at: '2025-03-01T18:45:00Z', platform: 'web' },
  ]);
}, 60_000);

afterAll(async () => {
  await fx?.close();
});

describe('hourly event rollup', () => {
  it('is filled by the view on every insert into events, as events FINAL groups them', async () => {
    const { rollup, events } = await rollupVersusEvents();
    expect(events.length).toBeGreaterThan(5);
    expect(rollup).toEqual(events);
  });

  it('serves page views by platform with top N, $other and the previous period (hand-computed)', async () => {
    const { rolled, raw, readRollup, readEvents } = await both({
      metrics: ['pageviews'],
      dimensions: ['platform'],
      dateRange: range,
      granularity: 'day',
      breakdownLimit: 2,
      compare: 'previous_period',
    });
    expect(readRollup).toBe(true);
    expect(readEvents).toBe(false);
    // Local days: web 1 March (23:59) and 2 March (00:01); weibo and app 2 March; douyin twice 3 March.
    // Totals web 2, douyin 2, weibo 1, app 1: the top two are douyin and web (a tie, by name), the rest $other.
    expect(rolled.series.map((s) => s.breakdown)).toEqual([['douyin'], ['web'], ['$other']]);
    expect(valuesOf(rolled, ['douyin'])?.points.map((p) => p.value)).toEqual([0, 0, 2]);
    expect(valuesOf(rolled, ['web'])?.points.map((p) => p.value)).toEqual([1, 1, 0]);
    expect(valuesOf(rolled, ['$other'])?.points.map((p) => p.value)).toEqual([0, 2, 0]);
    // 26–28 February: one web page view; nothing for douyin or the rest.
    expect(valuesOf(rolled, ['web'])?.previousTotal).toBe(1);
    expect(valuesOf(rolled, ['douyin'])?.previousTotal).toBe(0);
    expect(rolled.totals).toEqual([{ metric: 'pageviews', value: 6, previousValue: 1, changePercent: 500 }]);
    expect(rolled).toEqual(raw);
  });

  it('equals raw events for hours, weeks, months, totals, filters, two dimensions, revenue and custom counts', async () => {
    await saveCustomMetric(fx.metadata, fx.projectId, {
      id: 'kol_pageviews',
      en: 'KOL page views',
      definition: {
        type: 'event',
        event: '$pageview',
        aggregation: 'count',
        filters: [{ field: 'channel', op: 'eq', value: 'kol' }],
      },
    });
    const bodies: Record<string, unknown>[] = [
      { metrics: ['pageviews'], dateRange: range, granularity: 'hour' },
      { metrics: ['events', 'pageviews'], dimensions: ['event'], dateRange: range, granularity: 'week' },
      { metrics: ['events'], dimensions: ['platform', 'channel'], dateRange: range, granularity: 'month' },
      { metrics: ['pageviews'], dimensions: ['channel'], dateRange: range, granularity: 'total' },
      {
        metrics: ['pageviews', 'event_revenue'],
        dimensions: ['platform'],
        filters: [{ field: 'platform', op: 'in', value: ['web', 'app'] }],
        dateRange: range,
        compare: 'previous_period',
      },
      { metrics: ['kol_pageviews'], dimensions: ['platform'], dateRange: range },
    ];
    for (const body of bodies) {
      const { rolled, raw, readRollup, readEvents } = await both(body);
      expect({ body, readRollup, readEvents }).toEqual({ body, readRollup: true, readEvents: false });
      expect(rolled).toEqual(raw);
    }
    // Revenue: 99.5 on 2 March (web), 0.25 on 3 March (app); the filter keeps both platforms.
    const revenue = await trend({ metrics: ['event_revenue'], dateRange: range });
    expect(revenue.series[0]?.points.map((p) => p.value)).toEqual([0, 99.5, 0.25]);
    // KOL page views: weibo on 2 March, douyin twice on 3 March.
    const kol = await trend({ metrics: ['kol_pageviews'], dateRange: range });
    expect(kol.series[0]?.points.map((p) => p.value)).toEqual([0, 1, 2]);
  });

  it('leaves to raw events what it cannot answer: persons, properties, other columns', async () => {
    for (const body of [
      { metrics: ['active_persons'], dateRange: range },
      { metrics: ['pageviews'], dimensions: ['properties.plan'], dateRange: range },
      { metrics: ['pageviews'], filters: [{ field: 'region', op: 'eq', value: 'x' }], dateRange: range },
    ]) {
      const { rolled, raw, readRollup } = await both(body);
      expect(readRollup).toBe(false);
      expect(rolled).toEqual(raw);
    }
  });

  it('reads raw events in a time zone with a half-hour offset (Asia/Kolkata)', async () => {
    expect(hourAlignedZone('Asia/Shanghai', '2025-01-01', '2025-12-31')).toBe(true);
    expect(hourAlignedZone('Europe/Berlin', '2025-01-01', '2025-12-31')).toBe(true);
    expect(hourAlignedZone('Asia/Kolkata', '2025-03-01', '2025-03-03')).toBe(false);
    expect(hourAlignedZone('Asia/Kathmandu', '2025-03-01', '2025-03-03')).toBe(false);
    expect(hourAlignedZone('Australia/Adelaide', '2025-03-01', '2025-03-03')).toBe(false);
    // +11 in summer, +10:30 in winter.
    expect(hourAlignedZone('Australia/Lord_Howe', '2025-01-01', '2025-01-31')).toBe(false);
    expect(hourAlignedZone('America/New_York', '2025-01-01', '2025-12-31')).toBe(true);
    const kolkata = { ...project, timeZone: 'Asia/Kolkata' };
    const body = {
      metrics: ['events'],
      filters: [{ field: 'event', op: 'eq', value: 'probe' }],
      dateRange: { from: '2025-03-01', to: '2025-03-02' },
    };
    expect(compileTrends(kolkata, body).statements.every((s) => !s.rollup)).toBe(true);
    const { rolled, readRollup } = await both(body, kolkata);
    expect(readRollup).toBe(false);
    // 18:15Z is 23:45 on 1 March in Kolkata, 18:45Z is 00:15 on 2 March: one each, though one UTC hour.
    expect(rolled.series[0]?.points.map((p) => p.value)).toEqual([1, 1]);
    // In Shanghai both are 2 March (02:15 and 02:45), and the rollup answers.
    const shanghai = await both(body);
    expect(shanghai.readRollup).toBe(true);
    expect(shanghai.rolled.series[0]?.points.map((p) => p.value)).toEqual([0, 2]);
  });

  it('stores an insert repeated with its deduplication token once, in events and in the rollup', async () => {
    const row = JSON.stringify({
      project_id: fx.projectId,
      message_id: 'm-token',
      type: 'track',
      event: 'token_probe',
      timestamp: Date.parse('2025-03-02T06:00:00Z'),
      received_at: Date.parse('2025-03-02T06:00:00Z'),
      distinct_id: 't',
      platform: 'web',
    });
    await fx.facts.insertJsonEachRow('events', row, { deduplicationToken: 'rollup-test-token' });
    await fx.facts.insertJsonEachRow('events', row, { deduplicationToken: 'rollup-test-token' });
    const body = {
      metrics: ['events'],
      filters: [{ field: 'event', op: 'eq', value: 'token_probe' }],
      dateRange: range,
    };
    const { rolled, raw, readRollup, readEvents } = await both(body);
    // The rollup itself answered (its guard held): the view's insert was dropped as a duplicate too.
    expect({ readRollup, readEvents }).toEqual({ readRollup: true, readEvents: false });
    expect(rolled.totals[0]?.value).toBe(1);
    expect(rolled).toEqual(raw);
  });

  it('checks its own project when another project lost rows the rollup still counts', async () => {
    const body = { metrics: ['pageviews'], dimensions: ['platform'], dateRange: range };
    await fx.insert('events', [
      {
        project_id: 'another_project',
        message_id: 'other-1',
        type: 'page',
        event: '$pageview',
        timestamp: Date.parse('2025-03-02T01:00:00Z'),
        received_at: Date.parse('2025-03-02T01:00:00Z'),
        distinct_id: 'z',
        platform: 'web',
      },
    ]);
    await fx.facts.command(
      `ALTER TABLE events DELETE WHERE project_id = 'another_project' SETTINGS mutations_sync = 2`,
    );
    // The months' totals now differ (the rollup keeps the deleted row); this project's own counts do not.
    const run = await both(body);
    expect({ readRollup: run.readRollup, readEvents: run.readEvents }).toEqual({
      readRollup: true,
      readEvents: false,
    });
    expect(run.rolled).toEqual(run.raw);
  });

  it('falls back to raw events when rows were deleted or merged away, and serves again after a rebuild', async () => {
    const body = { metrics: ['pageviews'], dimensions: ['platform'], dateRange: range };
    // Erasure deletes person d's events: the view never sees it.
    await fx.facts.command(
      `ALTER TABLE events DELETE WHERE project_id = {p:String} AND distinct_id = 'd' SETTINGS mutations_sync = 2`,
      { p: fx.projectId },
    );
    let run = await both(body);
    expect(run.readEvents).toBe(true);
    expect(run.rolled.totals[0]?.value).toBe(4);
    expect(run.rolled).toEqual(run.raw);

    // A copy of b's page view re-delivered outside the dedupe window, then folded by a merge.
    const copy = await fx.facts.query<Record<string, unknown>>(
      `SELECT * FROM events WHERE project_id = {p:String} AND distinct_id = 'b' AND event = '$pageview'`,
      { p: fx.projectId },
    );
    await fx.facts.insertJsonEachRow('events', JSON.stringify(copy[0]));
    await fx.facts.command('OPTIMIZE TABLE events FINAL');
    run = await both(body);
    expect(run.readEvents).toBe(true);
    expect(run.rolled.totals[0]?.value).toBe(4);
    expect(run.rolled).toEqual(run.raw);

    // A lightweight delete only masks rows: part metadata still counts them, the guards must not.
    await fx.facts.command(
      `DELETE FROM events WHERE project_id = {p:String} AND distinct_id = 'c' AND event = '$pageview'`,
      { p: fx.projectId },
    );
    run = await both(body);
    expect(run.readEvents).toBe(true);
    expect(run.rolled.totals[0]?.value).toBe(3);
    expect(run.rolled).toEqual(run.raw);

    await rebuildEventRollup(fx.facts, fx.projectId);
    const { rollup, events } = await rollupVersusEvents();
    expect(rollup).toEqual(events);
    run = await both(body);
    expect(run.readRollup).toBe(true);
    expect(run.readEvents).toBe(false);
    expect(run.rolled).toEqual(run.raw);
  });

  it('backfills an empty rollup once in the migration, and never twice', async () => {
    const backfill = FACTS_MIGRATIONS.find((m) => m.version === 2)!.statements[1]!;
    expect(backfill).toMatch(/^INSERT INTO event_rollup_hourly/);
    await fx.facts.command('TRUNCATE TABLE event_rollup_hourly');
    await fx.facts.command(backfill);
    const once = await rollupVersusEvents();
    expect(once.rollup).toEqual(once.events);
    await fx.facts.command(backfill);
    const twice = await rollupVersusEvents();
    expect(twice.rollup).toEqual(once.events);
  });
});

describe('compiled SQL for additive metrics', () => {
  it('is one GROUP BY without GROUPING SETS or a top-N scan, and FINAL without cross-partition merges', () => {
    const body = { metrics: ['events'], dimensions: ['event'], dateRange: range };
    const [raw] = compileTrends(project, body, BUILT_IN_CATALOGUE, { rollups: false }).statements;
    expect(raw?.shape).toBe('groups');
    expect(raw?.sql).not.toMatch(/GROUPING SETS|top AS|\[toString/);
    expect(raw?.sql).toMatch(
      /GROUP BY bucket, b0\nSETTINGS do_not_merge_across_partitions_select_final = 1$/,
    );
    const [rolled] = compileTrends(project, body).statements;
    expect(rolled?.sql).toMatch(/FROM event_rollup_hourly AS e/);
    expect(rolled?.rollup?.fallback.sql).toBe(raw?.sql);
    // The first guard compares whole UTC months (partitions) around the range, a day of margin each side.
    const [winter] = compileTrends(project, {
      ...body,
      dateRange: { from: '2024-12-01', to: '2025-01-31' },
    }).statements;
    expect(Object.values(winter?.rollup?.guards[0]?.params ?? {})).toContainEqual([
      '202411',
      '202412',
      '202501',
      '202502',
    ]);
    // Distinct persons keep the exact SQL: top N in a CTE and totals through GROUPING SETS.
    const [persons] = compileTrends(project, { ...body, metrics: ['active_persons'] }).statements;
    expect(persons?.shape).toBe('totals');
    expect(persons?.sql).toMatch(/GROUPING SETS/);
  });
});
