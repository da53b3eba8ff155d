import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnalysisContext } from '../src/analyze/analysis.js';
import { findAnalysis } from '../src/analyze/registry.js';
import { compileTrends } from '../src/analyze/trends.js';
import { loadConfig } from '../src/config/config.js';
import { openFactsEngine } from '../src/store/facts/open.js';
import { openMetadataStore } from '../src/store/metadata/open.js';
import { listProjects } from '../src/store/metadata/projects.js';
import { loadEventsIntoPg, openPg, PG_ANALYSES, type PgRange } from './analytics-pg.js';
import { CLI_ENTRY } from './server-process.js';

/**
 * The analytics targets of issue 4 on a demo world of about 10M events: each analysis through its
 * own `run` (what the API calls), the same analyses as hand-written SQL on PostgreSQL with the same
 * events, and the query compiler's SQL against hand-written ClickHouse SQL for the same trend.
 */

export interface AnalyticsRow {
  metric: string;
  value: string;
  target: string;
  met: boolean;
}

/** Median of `runs` timed calls after one warm-up, in milliseconds. */
async function time(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Medians of `runs` timed calls of `a` and `b` taken in turn, after one warm-up of each, in milliseconds. */
async function timeAlternately(
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  runs: number,
): Promise<[number, number]> {
  await a();
  await b();
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < runs; i++) {
    for (const [k, fn] of [a, b].entries()) {
      const started = performance.now();
      await fn();
      times[k]!.push(performance.now() - started);
    }
  }
  const median = (list: number[]) => list.sort((x, y) => x - y)[Math.floor(list.length / 2)]!;
  return [median(times[0]), median(times[1])];
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export async function benchAnalytics(options: {
  log: (line: string) => void;
  scale?: number;
}): Promise<AnalyticsRow[]> {
  const { log } = options;
  const scale = options.scale ?? Number(process.env.BENCH_ANALYTICS_SCALE ?? 2);
  const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-bench-analytics-'));
  try {
    log(`building the demo world at scale ${scale}`);
    execFileSync(process.execPath, [CLI_ENTRY, 'demo', '--no-serve', '--scale', String(scale)], {
      env: { ...process.env, PULSELOOP_DATA: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const config = loadConfig({ PULSELOOP_DATA: dataDir });
    const facts = await openFactsEngine(config);
    const metadata = await openMetadataStore(config);
    const demo = (await listProjects(metadata)).find((p) => p.name.startsWith('Demo'));
    if (!demo) throw new Error('the demo project is missing');
    const project = { projectId: demo.id, timeZone: demo.timeZone, currency: demo.currency };
    const context: AnalysisContext = { facts, metadata, project };
    const [stats] = await facts.query<{ events: string; last: number }>(
      `SELECT count() AS events, toUnixTimestamp(max(timestamp)) * 1000 AS last FROM events WHERE project_id = {p:String}`,
      { p: demo.id },
    );
    const events = Number(stats?.events ?? 0);
    const last = Number(stats?.last ?? 0);
    const to = day(last);
    const last30 = { from: day(last - 29 * 86_400_000), to };
    const last90 = { from: day(last - 89 * 86_400_000), to };
    log(`${events.toLocaleString('en-US')} events; analyses over ${last30.from} … ${to}`);

    const QUERIES: Record<
      string,
      { kind: string; body: unknown; target: number; pg: keyof typeof PG_ANALYSES; range: typeof last30 }
    > = {
      'Trends (90 days, daily, page views by platform)': {
        kind: 'trends',
        body: { metrics: ['pageviews'], dimensions: ['platform'], dateRange: last90, granularity: 'day' },
        target: 300,
        pg: 'trends',
        range: last90,
      },
      '4-step funnel (30 days, 7-day window)': {
        kind: 'funnels',
        body: {
          dateRange: last30,
          steps: [
            { event: 'product_viewed' },
            { event: 'add_to_cart' },
            { event: 'checkout_started' },
            { event: 'order_completed' },
          ],
          windowSeconds: 7 * 86_400,
        },
        target: 1500,
        pg: 'funnel',
        range: last30,
      },
      '30-day retention (daily cohorts, any event)': {
        kind: 'retention',
        body: {
          dateRange: last30,
          startEvent: null,
          returnEvent: null,
          period: 'day',
          periods: 30,
          cohortType: 'first_in_range',
        },
        target: 1500,
        pg: 'retention',
        range: last30,
      },
      'Paths after a page view (depth 4)': {
        kind: 'paths',
        body: { dateRange: last30, start: { event: '$pageview' }, direction: 'after', depth: 4 },
        target: 2000,
        pg: 'paths',
        range: last30,
      },
      'Attribution, all eight models (orders, 30-day lookback)': {
        kind: 'attribution',
        body: { dateRange: last30, conversion: { source: 'orders' }, touch: { dimension: 'channel' } },
        target: 3000,
        pg: 'attribution',
        range: last30,
      },
    };

    const pg = await openPg();
    log('loading the same events into PostgreSQL');
    const pgRows = await loadEventsIntoPg(pg, facts, demo.id, log);
    log(`PostgreSQL holds ${pgRows.toLocaleString('en-US')} events`);

    const rows: AnalyticsRow[] = [];
    for (const [label, q] of Object.entries(QUERIES)) {
      const analysis = findAnalysis(q.kind);
      if (!analysis) {
        rows.push({
          metric: label,
          value: `analysis "${q.kind}" is not registered`,
          target: `≤ ${q.target} ms`,
          met: false,
        });
        continue;
      }
      const query = analysis.parse(q.body);
      const ms = await time(() => analysis.run(context, query));
      const pgRange: PgRange = { projectId: demo.id, timeZone: demo.timeZone, ...q.range };
      const pgMs = await time(() => PG_ANALYSES[q.pg]!(pg, pgRange), 2);
      log(`${label}: ${ms.toFixed(0)} ms; PostgreSQL ${pgMs.toFixed(0)} ms`);
      rows.push({
        metric: label,
        value: `${ms.toFixed(0)} ms (PostgreSQL, hand-written SQL: ${pgMs.toFixed(0)} ms = ${(pgMs / ms).toFixed(1)}× slower)`,
        target: `≤ ${(q.target / 1000).toFixed(1)} s`,
        met: ms <= q.target,
      });
    }

    // The compiler against hand-written SQL for the same daily trend, on the same engine. Like for like:
    // both read raw `events FINAL` (rollups: false; the rollup is measured in the trends row above), and
    // both answer one count per (day, event) — the compiled query also ranks the top N and folds "$other"
    // in the same statement (window functions over the grouped rows), which the hand-written SQL skips.
    // Both set do_not_merge_across_partitions_select_final (rows FINAL folds share a partition).
    const trendBody = { metrics: ['events'], dimensions: ['event'], dateRange: last90, granularity: 'day' };
    const compiled = compileTrends(project, trendBody, undefined, { rollups: false });
    const handSql = `SELECT toString(toDate(timestamp, {tz:String})) AS bucket, event, count() AS events
      FROM events FINAL
      WHERE project_id = {project:String}
        AND timestamp >= toDateTime64({from:String}, 3, {tz:String})
        AND timestamp < toDateTime64({until:String}, 3, {tz:String})
      GROUP BY bucket, event ORDER BY bucket, event
      SETTINGS do_not_merge_across_partitions_select_final = 1`;
    const handParams = {
      project: demo.id,
      tz: demo.timeZone,
      from: last90.from,
      until: day(Date.parse(`${last90.to}T00:00:00Z`) + 86_400_000),
    };
    // Interleaved (compiled, hand-written, compiled, …) so that background merges and the host's
    // other load fall on both alike; the medians are compared.
    const [compiledMs, handMs] = await timeAlternately(
      () => Promise.all(compiled.statements.map((s) => facts.query(s.sql, s.params))),
      () => facts.query(handSql, handParams),
      9,
    );
    const overhead = compiledMs / handMs - 1;
    rows.push({
      metric: 'Query compiler overhead (90-day daily events by event name: compiled SQL vs hand-written SQL)',
      value: `${compiledMs.toFixed(0)} ms vs ${handMs.toFixed(0)} ms (${overhead >= 0 ? '+' : ''}${(overhead * 100).toFixed(0)} %)`,
      target: '≤ 20 %',
      met: overhead <= 0.2,
    });
    rows.push({
      metric: 'Data set',
      value: `${events.toLocaleString('en-US')} events (demo world, scale ${scale})`,
      target: '10M events',
      met: events >= 9_500_000,
    });
    await pg.end();
    await metadata.close();
    await facts.close();
    return rows;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
