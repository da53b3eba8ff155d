import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoWorld } from '../../src/demo/index.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { openHttpEngine } from '../../src/store/facts/http-engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import { type ClickHouseHttpFront, startClickHouseHttpFront } from '../support/clickhouse-http-front.js';

// The demo writes its staging rows in RowBinary, expands them with one INSERT … SELECT per month into a
// load table, attaches its parts to `events` and fills the hourly rollup from the staged visits: the same
// payloads and SQL must work on a ClickHouse server reached over HTTP (here the test front).
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-demo-http-'));
let front: ClickHouseHttpFront;
let engine: FactsEngine;

beforeAll(async () => {
  front = await startClickHouseHttpFront({ dataDir });
  engine = await openHttpEngine({ url: front.url, database: 'pulseloop_demo_http' });
  await migrateFacts(engine);
});

afterAll(async () => {
  await engine?.close();
  await front?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the demo world on a ClickHouse server over HTTP', () => {
  it('stores every event, person and order it reports, with their rollup, and drops its work tables', async () => {
    const summary = await generateDemoWorld(engine, { projectId: 'demo_http', seed: 3, scale: 0.01 });
    const count = async (table: string) =>
      Number(
        (
          await engine.query<{ n: number }>(
            `SELECT count() AS n FROM ${table} FINAL WHERE project_id = {p:String}`,
            { p: 'demo_http' },
          )
        )[0]?.n,
      );
    expect(summary.counts.events).toBeGreaterThan(5_000);
    expect(await count('events')).toBe(summary.counts.events);
    expect(await count('persons')).toBe(summary.counts.persons);
    expect(await count('orders')).toBe(summary.counts.orders);
    // Payloads reach their events: identify calls carry the person's traits, and the orders'
    // revenue on order_completed events adds up to the orders table's amounts.
    const [identify] = await engine.query<{ n: number; props: string }>(
      `SELECT count() AS n, any(properties) AS props FROM events
       WHERE project_id = {p:String} AND event = '$identify'`,
      { p: 'demo_http' },
    );
    expect(Number(identify?.n)).toBeGreaterThan(0);
    expect(JSON.parse(identify?.props ?? '{}')).toHaveProperty('nickname');
    const [revenue] = await engine.query<{ events: number; orders: number }>(
      `SELECT
         (SELECT sum(revenue) FROM events FINAL WHERE project_id = {p:String} AND event = 'order_completed') AS events,
         (SELECT sum(amount) FROM orders FINAL WHERE project_id = {p:String}) AS orders`,
      { p: 'demo_http' },
    );
    expect(Number(revenue?.orders)).toBeGreaterThan(0);
    expect(Number(revenue?.events)).toBeCloseTo(Number(revenue?.orders), 2);
    const [rollup] = await engine.query<{ n: number }>(
      'SELECT sum(events) AS n FROM event_rollup_hourly WHERE project_id = {p:String}',
      { p: 'demo_http' },
    );
    expect(Number(rollup?.n)).toBe(summary.counts.events);
    const workTables = await engine.query(
      "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'demo\\_%'",
    );
    expect(workTables).toEqual([]);
  });
});
