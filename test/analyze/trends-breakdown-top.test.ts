import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetricsQuery } from '../../src/analyze/metrics/query.js';
import { BUILT_IN_CATALOGUE } from '../../src/analyze/metrics/resolve.js';
import { type MetricsResult, runMetricsQuery } from '../../src/analyze/metrics/run.js';
import { type ProjectContext, previousPeriod, projectContext } from '../../src/analyze/query/scope.js';
import { compileTrends } from '../../src/analyze/trends.js';
import {
  type AnalyticsFixture,
  type FixtureEvent,
  openAnalyticsFixture,
} from '../support/analytics-fixture.js';
import { recordingAnswerSizes } from '../support/answer-sizes.js';

/**
 * A breakdown of counts over a high-cardinality dimension (20,000 page URLs): the SQL keeps the top N
 * values and adds up the rest into "$other", so no answer grows with the number of values, and the
 * result is what the runner computed when it read every (bucket, value) row and folded them itself.
 */

let fx: AnalyticsFixture;
let project: ProjectContext;

const VALUES = 20_000;
const DAYS = 14;
const range = { from: '2025-03-01', to: '2025-03-14' };

/** 10:00 in Shanghai (02:00Z) on day `day` (0-based) of March, or of the previous period. */
const march = (day: number) => `2025-03-${String(day + 1).padStart(2, '0')}T02:00:00Z`;
const february = (day: number) => `2025-02-${String(day + 15).padStart(2, '0')}T02:00:00Z`;

/** Page views that make a defined top: totals 30, 28, …, 16 (each value also has one base view). */
const HEAVY = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ url: `/p/${i}`, extra: 29 - 2 * i }));
/** Four values tied at 12 for places 9 to 12: bytes order them Z < a < z < é (locale order would not). */
const TIED = ['/top/é', '/top/z', '/top/a', '/top/Z'];
/** A top value whose text must survive binding as a parameter (the previous period folds by it). */
const AWKWARD = "/q?x='1'&y=\\\"],['";

function pageview(url: string, at: string, i: number, extra: Partial<FixtureEvent> = {}): FixtureEvent {
  return {
    event: '$pageview',
    distinct_id: `d${i % 97}`,
    at,
    page_url: url,
    platform: i % 2 === 0 ? 'web' : 'app',
    utm_source: `s${i % 2500}`,
    properties: { section: `sec${i % 5000}` },
    ...extra,
  };
}

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
  project = await projectContext(fx.metadata, fx.projectId);
  const rows: FixtureEvent[] = [];
  for (let i = 0; i < VALUES; i += 1) rows.push(pageview(`/p/${i}`, march(i % DAYS), i));
  for (const { url, extra } of HEAVY) {
    for (let k = 0; k < extra; k += 1) rows.push(pageview(url, march(k % DAYS), k));
  }
  for (const url of TIED) for (let k = 0; k < 12; k += 1) rows.push(pageview(url, march((k * 5) % DAYS), k));
  for (let k = 0; k < 13; k += 1) rows.push(pageview(AWKWARD, march(k % 3), k));
  // The previous period: the top values and 600 others, which fold into "$other" there too.
  for (let i = 0; i < 600; i += 1) rows.push(pageview(`/p/${i * 7}`, february(i % DAYS), i));
  for (let k = 0; k < 4; k += 1) rows.push(pageview(AWKWARD, february(k), k));
  rows.push(pageview('/top/a', february(2), 1), pageview('/top/é', february(3), 2));
  // Clicks: counted by `events`, never by page views; these values have no page view at all.
  for (let k = 0; k < 60; k += 1)
    rows.push({ ...pageview(`/clicks/${k % 3}`, march(k % DAYS), k), event: 'click' });
  await fx.events(rows);
}, 120_000);

afterAll(async () => {
  await fx?.close();
});

async function trend(body: Record<string, unknown>, rollups = true) {
  const recorded = recordingAnswerSizes(fx.facts);
  const query = parseMetricsQuery(body);
  const result = await runMetricsQuery(
    { facts: recorded.engine, project, catalogue: BUILT_IN_CATALOGUE },
    query,
    { rollups },
  );
  return { result, largestAnswer: recorded.largestAnswer() };
}

// ── What the runner computed before: every (bucket, values) row, ranked and folded in JavaScript ──

const DIMENSION_SQL: Record<string, string> = {
  page_url: 'page_url',
  platform: 'platform',
  utm_source: 'utm_source',
  'properties.section': "JSONExtractString(properties, 'section')",
};
const BUCKET_SQL: Record<string, string> = {
  day: 'toString(toDate(timestamp, {tz:String}))',
  week: 'toString(toMonday(timestamp, {tz:String}))',
  total: "''",
};

interface GroupRow {
  bucket: string;
  values: string[];
  pageviews: number;
  events: number;
}

/** A plain GROUP BY (bucket, values) of page views and events over a range: every value's row. */
async function groupedRows(dimensions: string[], granularity: string, dates: { from: string; to: string }) {
  const values = dimensions.map((d) => DIMENSION_SQL[d]!).join(', ');
  const rows = await fx.facts.query<{ bucket: string; v: string[]; pageviews: string; events: string }>(
    `SELECT ${BUCKET_SQL[granularity]!} AS bucket, [${values}] AS v,
       countIf(event = '$pageview') AS pageviews, count() AS events
     FROM events FINAL
     WHERE project_id = {project:String}
       AND toDate(timestamp, {tz:String}) BETWEEN toDate({from:String}) AND toDate({to:String})
     GROUP BY bucket, v`,
    { project: fx.projectId, tz: project.timeZone, ...dates },
  );
  return rows.map((r) => ({
    bucket: r.bucket,
    values: r.v,
    pageviews: Number(r.pageviews),
    events: Number(r.events),
  }));
}

/** Element by element, strings by their UTF-8 bytes (ClickHouse's order of arrays of strings). */
function byBytes(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i += 1) {
    const order = Buffer.compare(Buffer.from(a[i]!), Buffer.from(b[i]!));
    if (order !== 0) return order;
  }
  return 0;
}

/** The top N by page views over the range, descending, ties by bytes; only values with page views rank. */
function topOf(rows: GroupRow[], limit: number): string[][] {
  const totals = new Map<string, { values: string[]; total: number }>();
  for (const row of rows) {
    const key = JSON.stringify(row.values);
    const entry = totals.get(key) ?? { values: row.values, total: 0 };
    entry.total += row.pageviews;
    totals.set(key, entry);
  }
  const ranked = [...totals.values()].filter((e) => e.total > 0);
  ranked.sort((a, b) => b.total - a.total || byBytes(a.values, b.values));
  return ranked.slice(0, limit).map((e) => e.values);
}

type Measure = 'pageviews' | 'events';

/**
 * Series per metric and breakdown (top values as they are, the rest as ["$other"]), keyed by metric
 * and JSON breakdown, as the runner added them up. A statement of page views alone reads no other
 * event, so values without page views make no row (and no series) then.
 */
function folded(
  rows: GroupRow[],
  previous: GroupRow[],
  top: string[][],
  buckets: string[],
  measures: Measure[],
) {
  const kept = new Set(top.map((v) => JSON.stringify(v)));
  const keyOf = (measure: Measure, values: string[]) =>
    `${measure} ${JSON.stringify(kept.has(JSON.stringify(values)) ? values : ['$other'])}`;
  const read = (row: GroupRow) => measures.includes('events') || row.pageviews > 0;
  const previousTotals = new Map<string, number>();
  for (const row of previous.filter(read)) {
    for (const measure of measures) {
      const key = keyOf(measure, row.values);
      previousTotals.set(key, (previousTotals.get(key) ?? 0) + row[measure]);
    }
  }
  const out: Record<string, { points: number[]; total: number; previousTotal: number }> = {};
  for (const row of rows.filter(read)) {
    for (const measure of measures) {
      const key = keyOf(measure, row.values);
      out[key] ??= { points: buckets.map(() => 0), total: 0, previousTotal: previousTotals.get(key) ?? 0 };
      out[key].points[buckets.indexOf(row.bucket)]! += row[measure];
      out[key].total += row[measure];
    }
  }
  return out;
}

/** The result in the same form as `folded`. */
function seriesOf(result: MetricsResult, compared: boolean) {
  const out: Record<string, { points: number[]; total: number; previousTotal: number }> = {};
  for (const s of result.series) {
    out[`${s.metric} ${JSON.stringify(s.breakdown)}`] = {
      points: s.points.map((p) => p.value ?? Number.NaN),
      total: s.total ?? Number.NaN,
      previousTotal: compared ? (s.previousTotal ?? Number.NaN) : 0,
    };
  }
  return out;
}

/** The trend as the JavaScript fold computed it from every (bucket, value) row of both periods. */
async function expected(
  dimensions: string[],
  granularity: string,
  limit: number,
  measures: Measure[],
  buckets: string[],
) {
  const rows = await groupedRows(dimensions, granularity, range);
  const previous = await groupedRows(dimensions, 'total', previousPeriod(range));
  const top = topOf(rows, limit);
  return { top, rows: rows.length, series: folded(rows, previous, top, buckets, measures) };
}

describe('a trend broken down by a high-cardinality dimension', () => {
  it('answers at most N + 1 rows a day and equals the fold of every (day, value) row', async () => {
    const body = {
      metrics: ['pageviews'],
      dimensions: ['page_url'],
      dateRange: range,
      granularity: 'day',
      breakdownLimit: 11,
      compare: 'previous_period',
    };
    const { result, largestAnswer } = await trend(body);
    const reference = await expected(['page_url'], 'day', 11, ['pageviews'], result.buckets);

    // Every (day, value) row is what the engine used to answer; now the top 11 and "$other" a day.
    expect(reference.rows).toBeGreaterThan(VALUES);
    expect(largestAnswer).toBeLessThanOrEqual((11 + 1) * DAYS);

    // Totals 30 … 16, then 13; of the four tied at 12 the smallest by bytes: "/top/Z", then "/top/a".
    expect(reference.top).toEqual([...HEAVY.map((h) => [h.url]), [AWKWARD], ['/top/Z'], ['/top/a']]);
    expect(result.series.map((s) => s.breakdown)).toEqual([...reference.top, ['$other']]);
    expect(seriesOf(result, true)).toEqual(reference.series);
    const pageviews = Object.values(reference.series).reduce((sum, s) => sum + s.total, 0);
    expect(result.totals[0]?.value).toBe(pageviews);
  });

  it('keeps the same top and "$other" over three dimensions, weeks and two metrics', async () => {
    const dimensions = ['platform', 'page_url', 'properties.section'];
    const body = {
      metrics: ['pageviews', 'events'],
      dimensions,
      dateRange: range,
      granularity: 'week',
      breakdownLimit: 12,
      compare: 'previous_period',
    };
    const { result, largestAnswer } = await trend(body);
    const reference = await expected(dimensions, 'week', 12, ['pageviews', 'events'], result.buckets);
    expect(result.buckets).toEqual(['2025-02-24', '2025-03-03', '2025-03-10']);
    expect(largestAnswer).toBeLessThanOrEqual((12 + 1) * 3);
    expect(seriesOf(result, true)).toEqual(reference.series);
  });

  it('ranks the same from the hourly rollup as from raw events', async () => {
    const body = {
      metrics: ['pageviews'],
      dimensions: ['utm_source'],
      dateRange: range,
      granularity: 'day',
      breakdownLimit: 5,
      compare: 'previous_period',
    };
    expect(compileTrends(project, body).statements[0]?.rollup).toBeDefined();
    const rolled = await trend(body, true);
    const raw = await trend(body, false);
    const reference = await expected(['utm_source'], 'day', 5, ['pageviews'], rolled.result.buckets);
    expect(rolled.largestAnswer).toBeLessThanOrEqual((5 + 1) * DAYS);
    expect(raw.largestAnswer).toBeLessThanOrEqual((5 + 1) * DAYS);
    expect(seriesOf(rolled.result, true)).toEqual(reference.series);
    expect(rolled.result).toEqual(raw.result);
  });

  it('ranks only values the rank aggregate reads: clicks alone never make the top', async () => {
    const { result } = await trend({
      metrics: ['pageviews', 'events'],
      dimensions: ['page_url'],
      filters: [{ field: 'page_url', op: 'in', value: ['/top/a', '/top/z', '/clicks/0', '/clicks/1'] }],
      dateRange: range,
      granularity: 'total',
      breakdownLimit: 3,
    });
    // Two values have page views; the clicks-only ones fold into "$other" (20 clicks each) though a place is free.
    const events = result.series.filter((s) => s.metric === 'events');
    expect(events.map((s) => [s.breakdown, s.total])).toEqual([
      [['/top/a'], 12],
      [['/top/z'], 12],
      [['$other'], 40],
    ]);
  });

  it('reads the facts once for the ranking statement, and binds the top for the others', () => {
    const body = {
      metrics: ['pageviews'],
      dimensions: ['page_url'],
      dateRange: range,
      compare: 'previous_period',
    };
    const [ranking] = compileTrends(project, body).statements;
    expect(ranking?.topN).toBe('ranks');
    expect(ranking?.sql.match(/FROM events AS e FINAL/g)).toHaveLength(1);
    expect(ranking?.sql).toMatch(/dense_rank\(\) OVER/);
  });
});
