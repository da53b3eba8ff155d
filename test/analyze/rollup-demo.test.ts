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

// A small demo world written after the migrations: the demo writer attaches its events to `events`
// from a load table (which the rollup's view does not see) and fills the rollup from its staged visits,
// so the rollup must come out exactly as the view would have made it.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-rollup-demo-'));
const project = { projectId: 'demo_rollup', timeZone: 'Asia/Shanghai', currency: 'CNY' };
let facts: FactsEngine;
let world: DemoSummary;
const seen: string[] = [];

beforeAll(async () => {
  facts = await openChdbEngine(dataDir, 'pulseloop_rollup_demo');
  await migrateFacts(facts);
  world = await generateDemoWorld(facts, { projectId: project.projectId, seed: 5, scale: 0.05 });
}, 180_000);

afterAll(async () => {
  await facts?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const recording = () =>
  ({
    ...facts,
    query: (sql: string, params?: Record<string, unknown>) => {
      seen.push(sql);
      return facts.query(sql, params);
    },
  }) as FactsEngine;

const run = (body: unknown, rollups: boolean) =>
  runMetricsQuery({ facts: recording(), project, catalogue: BUILT_IN_CATALOGUE }, parseMetricsQuery(body), {
    rollups,
  });

describe('hourly event rollup on the demo world', () => {
  it('holds, per event and day, exactly the counts and revenue of events FINAL', async () => {
    const by = (table: string, time: string, measure: string) =>
      facts.query(
        `SELECT event, toDate(${time}) AS day, ${measure} FROM ${table} WHERE project_id = {p:String}
         GROUP BY event, day ORDER BY event, day`,
        { p: project.projectId },
      );
    const rollup = await by(
      'event_rollup_hourly',
      'hour',
      'sum(events) AS n, toString(sum(revenue)) AS revenue',
    );
    const events = await by(
      'events FINAL',
      'timestamp',
      'count() AS n, toString(toDecimal128(sum(revenue), 4)) AS revenue',
    );
    expect(events.length).toBeGreaterThan(100);
    expect(rollup).toEqual(events);
  });

  it('holds, per hour and every rollup column, exactly the counts and revenue of events FINAL', async () => {
    const key = 'event, hour, platform, channel, utm_source, utm_medium, device_type, country';
    const [compared] = await facts.query<{ keys: number; differing: number; events: number }>(
      `SELECT count() AS keys, countIf(r.n != e.n OR r.revenue != e.revenue) AS differing, sum(e.n) AS events
       FROM (SELECT ${key}, sum(events) AS n, toDecimal128(sum(revenue), 4) AS revenue
             FROM event_rollup_hourly WHERE project_id = {p:String} GROUP BY ${key}) AS r
       FULL OUTER JOIN
            (SELECT event, toStartOfHour(timestamp) AS hour, platform, channel, utm_source, utm_medium,
               device_type, country, count() AS n, toDecimal128(sum(revenue), 4) AS revenue
             FROM events FINAL WHERE project_id = {p:String} GROUP BY ${key}) AS e
       USING (${key})
       SETTINGS join_use_nulls = 1`,
      { p: project.projectId },
    );
    expect(Number(compared?.events)).toBe(world.counts.events);
    expect(Number(compared?.keys)).toBeGreaterThan(10_000);
    expect(Number(compared?.differing)).toBe(0);
  });

  it('leaves no work table of the run behind', async () => {
    const tables = await facts.query<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'demo\\_%'`,
    );
    expect(tables).toEqual([]);
  });

  it('answers trends exactly as raw events do', async () => {
    const dateRange = { from: world.startDate, to: world.endDate };
    for (const body of [
      { metrics: ['pageviews'], dimensions: ['platform', 'utm_source'], dateRange, breakdownLimit: 100 },
      {
        metrics: ['events'],
        dimensions: ['event'],
        dateRange,
        granularity: 'week',
        compare: 'previous_period',
      },
      { metrics: ['event_revenue', 'signups'], dimensions: ['channel'], dateRange, breakdownLimit: 3 },
      {
        metrics: ['pageviews'],
        filters: [{ field: 'device_type', op: 'eq', value: 'mobile' }],
        dateRange,
        granularity: 'month',
      },
    ]) {
      seen.length = 0;
      const rolled = await run(body, true);
      expect(seen.some((sql) => sql.includes('FROM event_rollup_hourly AS e'))).toBe(true);
      expect(seen.some((sql) => sql.includes('FROM events AS e FINAL'))).toBe(false);
      const raw = await run(body, false);
      expect(rolled).toEqual(raw);
      expect(rolled.totals[0]?.value).toBeGreaterThan(0);
    }
  });
});
