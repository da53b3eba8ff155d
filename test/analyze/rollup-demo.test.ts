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

// A small demo world written after the migrations: the demo writer inserts into `events` directly
// (INSERT … SELECT from its staging table), and the rollup's view must see those inserts.
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
