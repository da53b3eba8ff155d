import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisContext } from '../../src/analyze/analysis.js';
import { lifecycleAnalysis } from '../../src/analyze/lifecycle.js';
import { PERIODS, periodIndexOfDate, periodIndexSql, periodStart } from '../../src/analyze/periods.js';
import { stickinessAnalysis } from '../../src/analyze/stickiness.js';
import { PulseloopError } from '../../src/errors/registry.js';
import { type AnalyticsFixture, openAnalyticsFixture } from '../support/analytics-fixture.js';

// Times in Shanghai time (+08:00); event `open`. a1 and u1 are one person, P1.
//  P1: a1 opens Saturday 03-01 (before identify), u1 opens 03-03, 03-04, 03-06.
//  b:  opens 03-03 23:30 and 03-04 00:10 (03-03 16:10 in UTC).
//  c:  first opens ever on 03-05, twice at the same instant.
//  d:  opens only on Sunday 03-02.
//  e:  opens Sunday 03-09 23:30 and Monday 03-10 00:30 (Sunday 16:30 in UTC).
let fx: AnalyticsFixture;

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
  await fx.identities([
    { distinct_id: 'a1', person_id: 'P1' },
    { distinct_id: 'u1', person_id: 'P1', id_type: 'user' },
  ]);
  const open = (distinct_id: string, at: string) => ({ event: 'open', distinct_id, at });
  await fx.events([
    open('a1', '2025-03-01T10:00:00+08:00'),
    open('u1', '2025-03-03T09:00:00+08:00'),
    open('u1', '2025-03-04T09:00:00+08:00'),
    open('u1', '2025-03-06T09:00:00+08:00'),
    open('b', '2025-03-03T23:30:00+08:00'),
    open('b', '2025-03-04T00:10:00+08:00'),
    open('c', '2025-03-05T12:00:00+08:00'),
    open('c', '2025-03-05T12:00:00+08:00'),
    open('d', '2025-03-02T12:00:00+08:00'),
    open('e', '2025-03-09T23:30:00+08:00'),
    open('e', '2025-03-10T00:30:00+08:00'),
    { event: 'other', distinct_id: 'z', at: '2025-03-04T12:00:00+08:00' },
  ]);
});

afterAll(() => fx.close());

const context = (timeZone = 'Asia/Shanghai'): AnalysisContext => ({
  facts: fx.facts,
  metadata: fx.metadata,
  project: { projectId: fx.projectId, timeZone, currency: 'CNY' },
});
const DAYS = { from: '2025-03-03', to: '2025-03-06' };

describe('period numbering', () => {
  it('starts weeks on Monday and round-trips days, weeks and months', () => {
    expect(periodStart('week', periodIndexOfDate('week', '2025-03-09'))).toBe('2025-03-03');
    expect(periodStart('week', periodIndexOfDate('week', '2025-03-10'))).toBe('2025-03-10');
    expect(periodStart('month', periodIndexOfDate('month', '2025-12-31'))).toBe('2025-12-01');
    expect(periodIndexOfDate('month', '2026-01-01') - periodIndexOfDate('month', '2025-12-31')).toBe(1);
    expect(periodStart('day', periodIndexOfDate('day', '2024-02-29'))).toBe('2024-02-29');
  });

  it('numbers periods the same in SQL as in TypeScript, for random instants in several time zones', async () => {
    const instants = fc.sample(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) }), 200);
    for (const timeZone of ['Asia/Shanghai', 'UTC', 'America/New_York']) {
      const rows = await fx.facts.query<{
        ms: number;
        day: number;
        week: number;
        month: number;
        date: string;
      }>(
        `SELECT ms, ${PERIODS.map((p) => `${periodIndexSql(p, 'ts')} AS ${p}`).join(', ')},
                toString(toDate(ts, {tz:String})) AS date
         FROM (SELECT arrayJoin({instants:Array(Int64)}) AS ms, fromUnixTimestamp64Milli(ms, 'UTC') AS ts)`,
        { instants, tz: timeZone },
      );
      for (const row of rows) {
        const local = new Intl.DateTimeFormat('en-CA', { timeZone }).format(new Date(Number(row.ms)));
        expect(row.date).toBe(local);
        for (const period of PERIODS) {
          expect(Number(row[period]), `${period} of ${local}`).toBe(periodIndexOfDate(period, local));
          expect(periodStart(period, Number(row[period])) <= local).toBe(true);
        }
      }
    }
  });
});

describe('stickiness', () => {
  const stickiness = (body: Record<string, unknown>, timeZone?: string) =>
    stickinessAnalysis.run(
      context(timeZone),
      stickinessAnalysis.parse({ dateRange: DAYS, event: { event: 'open' }, ...body }),
    );

  it('counts persons by number of active Shanghai days', async () => {
    const result = await stickiness({});
    // c 1 day (two opens at one instant), b 2 days (23:30 and 00:10), P1 3 days; d is outside.
    expect(result.values.map((v) => v.persons)).toEqual([1, 1, 1, 0]);
    expect(result.persons).toBe(3);
    expect(result.averageDays).toBe(2);
    expect(result.values[2]?.share).toBeCloseTo(1 / 3);
  });

  it('sees b active on one day only in UTC', async () => {
    const result = await stickiness({}, 'UTC');
    expect(result.values.map((v) => v.persons)).toEqual([2, 0, 1, 0]);
  });

  it('answers an empty range with one zero per day and an unknown event with no persons', async () => {
    const empty = await stickiness({ dateRange: { from: '2024-01-01', to: '2024-01-03' } });
    expect(empty.values.map((v) => v.persons)).toEqual([0, 0, 0]);
    expect(empty.averageDays).toBe(0);
    const unknown = await stickiness({ event: { event: 'never_sent' } });
    expect(unknown.persons).toBe(0);
  });
});

describe('lifecycle', () => {
  const lifecycle = (body: Record<string, unknown>, timeZone?: string) =>
    lifecycleAnalysis.run(
      context(timeZone),
      lifecycleAnalysis.parse({ dateRange: DAYS, event: { event: 'open' }, ...body }),
    );
  const row = (n: number, r: number, s: number, d: number) => ({
    new: n,
    returning: r,
    resurrecting: s,
    dormant: d,
  });

  it('classifies persons per day as new, returning, resurrecting and dormant', async () => {
    const result = await lifecycle({});
    expect(result.periods).toEqual([
      // 03-03: b new; P1 back after 03-01 (resurrecting); d was active 03-02 (dormant).
      { period: '2025-03-03', ...row(1, 0, 1, -1) },
      // 03-04: P1 and b again (b's 00:10 is 03-04 in Shanghai).
      { period: '2025-03-04', ...row(0, 2, 0, 0) },
      // 03-05: c new; P1 and b gone quiet.
      { period: '2025-03-05', ...row(1, 0, 0, -2) },
      // 03-06: P1 resurrects; c dormant.
      { period: '2025-03-06', ...row(0, 0, 1, -1) },
    ]);
  });

  it('cuts days at UTC midnight for a UTC project', async () => {
    const result = await lifecycle({}, 'UTC');
    expect(result.periods[1]).toEqual({ period: '2025-03-04', ...row(0, 1, 0, -1) });
  });

  it('puts a Sunday 23:30 event in its own week and a Monday 00:30 in the next', async () => {
    const weekly = await lifecycle({ period: 'week', dateRange: { from: '2025-03-03', to: '2025-03-16' } });
    // Week of 03-03: b, c, e new; P1 returning (active the week before, on 03-01); d dormant.
    // Week of 03-10: e returning (Monday 00:30); P1, b, c dormant.
    expect(weekly.periods).toEqual([
      { period: '2025-03-03', ...row(3, 1, 0, -1) },
      { period: '2025-03-10', ...row(0, 1, 0, -3) },
    ]);
    const utc = await lifecycle(
      { period: 'week', dateRange: { from: '2025-03-03', to: '2025-03-16' } },
      'UTC',
    );
    expect(utc.periods[1]).toEqual({ period: '2025-03-10', ...row(0, 0, 0, -4) });
  });

  it('answers an empty range with zero rows per period', async () => {
    const result = await lifecycle({ dateRange: { from: '2024-01-01', to: '2024-01-02' } });
    expect(result.periods).toEqual([
      { period: '2024-01-01', ...row(0, 0, 0, 0) },
      { period: '2024-01-02', ...row(0, 0, 0, 0) },
    ]);
  });

  it('names the wrong field', () => {
    const fieldOf = (body: Record<string, unknown>) => {
      try {
        lifecycleAnalysis.parse({ dateRange: DAYS, event: 'open', ...body });
      } catch (error) {
        expect(error).toBeInstanceOf(PulseloopError);
        return (error as PulseloopError).details.field;
      }
      return 'no error';
    };
    expect(fieldOf({ period: 'quarter' })).toBe('period');
    expect(
      fieldOf({ event: { event: 'open', filters: [{ field: 'platform', op: 'gt', value: 'x' }] } }),
    ).toBe('event.filters[0].value');
    expect(fieldOf({ dateRange: { from: '2025-03-03', to: '2026-05-01' } })).toBe('dateRange');
  });
});
