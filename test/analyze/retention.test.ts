import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_BREAKDOWN_VALUES,
  type RetentionResult,
  retentionAnalysis,
} from '../../src/analyze/retention.js';
import { PulseloopError } from '../../src/errors/registry.js';
import {
  type AnalyticsFixture,
  type FixtureEvent,
  openAnalyticsFixture,
} from '../support/analytics-fixture.js';
import { recordingAnswerSizes } from '../support/answer-sizes.js';
import { daysBackFrom } from '../support/project-days.js';

// Times are written in Shanghai time (+08:00). Range 2025-03-03 (Monday) … 2025-03-05, daily.
//  P1: anon a1 opens 03-03 10:00 (before identify; merged into P1 with user u1), u1 opens 03-04 09:00
//      and 03-06 09:00, buys 03-05.                              → cohort 03-03, active offsets 0, 1, 3
//  P2: opens 03-03 23:30 and 03-04 00:10 (still 03-03 in UTC).   → cohort 03-03, offsets 0, 1
//  P3: opens twice at the same instant 03-04 12:00, again 03-05 08:00 on the app. → cohort 03-04, 0, 1
//  P4: opens 03-01 (before the range), 03-03 and 03-05.          → first ever before the range
//  P5: opens Sunday 03-09 23:30 and Monday 03-10 00:30 (Sunday 16:30 in UTC).
let fx: AnalyticsFixture;

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
  await fx.events([
    { event: 'open', distinct_id: 'a1', at: '2025-03-03T10:00:00+08:00', platform: 'douyin' },
    { event: 'open', distinct_id: 'u1', at: '2025-03-04T09:00:00+08:00', platform: 'web' },
    { event: 'buy', distinct_id: 'u1', at: '2025-03-05T09:00:00+08:00', platform: 'web' },
    { event: 'open', distinct_id: 'u1', at: '2025-03-06T09:00:00+08:00', platform: 'web' },
    { event: 'open', distinct_id: 'b', at: '2025-03-03T23:30:00+08:00', platform: 'web' },
    { event: 'open', distinct_id: 'b', at: '2025-03-04T00:10:00+08:00', platform: 'web' },
    { event: 'open', distinct_id: 'c', at: '2025-03-04T12:00:00+08:00', platform: 'web' },
    { event: 'open', distinct_id: 'c', at: '2025-03-04T12:00:00+08:00', platform: 'web' },
    { event: 'open', distinct_id: 'c', at: '2025-03-05T08:00:00+08:00', platform: 'app' },
    { event: 'open', distinct_id: 'd', at: '2025-03-01T12:00:00+08:00', platform: 'web' },
    { event: 'open', distinct_id: 'd', at: '2025-03-03T12:00:00+08:00', platform: 'web' },
    { event: 'open', distinct_id: 'd', at: '2025-03-05T12:00:00+08:00', platform: 'web' },
    { event: 'open', distinct_id: 'e', at: '2025-03-09T23:30:00+08:00', platform: 'web' },
    { event: 'open', distinct_id: 'e', at: '2025-03-10T00:30:00+08:00', platform: 'web' },
  ]);
  await fx.identities([
    { distinct_id: 'a1', person_id: 'P1' },
    { distinct_id: 'u1', person_id: 'P1', id_type: 'user' },
  ]);
  await fx.persons([{ person_id: 'P1', traits: JSON.stringify({ tier: 'gold' }) }]);
});

afterAll(() => fx.close());

async function retention(
  body: Record<string, unknown>,
  timeZone = 'Asia/Shanghai',
): Promise<RetentionResult> {
  const query = retentionAnalysis.parse({
    dateRange: { from: '2025-03-03', to: '2025-03-05' },
    startEvent: { event: 'open' },
    periods: 3,
    ...body,
  });
  return retentionAnalysis.run(
    {
      facts: fx.facts,
      metadata: fx.metadata,
      project: { projectId: fx.projectId, timeZone, currency: 'CNY' },
    },
    query,
  );
}

const valuesOf = (r: { cohorts: { cohort: string; values: number[] }[] }) =>
  Object.fromEntries(r.cohorts.map((c) => [c.cohort, c.values]));

describe('retention', () => {
  it('counts first-time cohorts per Shanghai day, with events before identify and a 23:30/00:10 pair', async () => {
    const result = await retention({ cohortType: 'first_time' });
    // 03-03: P1, P2 (P4 started on 03-01). Day 1: P1 and P2 (00:10 is 03-04 in Shanghai); day 3: P1.
    // 03-04: P3 (its two same-instant opens count once); day 1: P3.
    expect(valuesOf(result)).toEqual({
      '2025-03-03': [2, 2, 0, 1],
      '2025-03-04': [1, 1, 0, 0],
      '2025-03-05': [0, 0, 0, 0],
    });
    expect(result.cohorts[0]?.rates).toEqual([1, 1, 0, 0.5]);
    // Weighted average: (2 + 1 + 0) persons, returned 3, 0, 1 → rates 1, 1, 0, 1/3.
    expect(result.average.size).toBe(3);
    expect(result.average.values).toEqual([3, 3, 0, 1]);
    expect(result.average.rates).toEqual([1, 1, 0, 1 / 3]);
  });

  it('cuts days at UTC midnight when the project is in UTC', async () => {
    const result = await retention({ cohortType: 'first_time' }, 'UTC');
    // P2's two opens are both on 03-03 in UTC, so only P1 returns on day 1.
    expect(valuesOf(result)['2025-03-03']).toEqual([2, 1, 0, 1]);
  });

  it('counts later periods too in unbounded mode', async () => {
    const result = await retention({ cohortType: 'first_time', mode: 'unbounded' });
    // P1 came back on day 3, so it also counts as retained on days 1 and 2.
    expect(valuesOf(result)['2025-03-03']).toEqual([2, 2, 1, 1]);
    expect(valuesOf(result)['2025-03-04']).toEqual([1, 1, 0, 0]);
  });

  it('forms cohorts from the first start inside the range, or from every start', async () => {
    const inRange = await retention({ cohortType: 'first_in_range' });
    // P4 joins 03-03 (its 03-01 open is outside the range) and returns on day 2.
    expect(valuesOf(inRange)['2025-03-03']).toEqual([3, 2, 1, 1]);
    const recurring = await retention({ cohortType: 'recurring' });
    // 03-04 cohort: P1, P2, P3; P3 returns on 03-05, P1 on 03-06. 03-05 cohort: P3, P4 (P1 bought only).
    expect(valuesOf(recurring)).toEqual({
      '2025-03-03': [3, 2, 1, 1],
      '2025-03-04': [3, 1, 1, 0],
      '2025-03-05': [2, 0, 0, 0],
    });
  });

  it('uses another return event and filters on it', async () => {
    const bought = await retention({ returnEvent: { event: 'buy' } });
    expect(valuesOf(bought)['2025-03-03']).toEqual([2, 0, 1, 0]);
    const onApp = await retention({
      returnEvent: { event: 'open', filters: [{ field: 'platform', op: 'eq', value: 'app' }] },
    });
    expect(valuesOf(onApp)['2025-03-03']).toEqual([2, 0, 0, 0]);
    expect(valuesOf(onApp)['2025-03-04']).toEqual([1, 1, 0, 0]);
    const anyEvent = await retention({ returnEvent: { event: null } });
    // Any event: P1's purchase on 03-05 now counts on day 2.
    expect(valuesOf(anyEvent)['2025-03-03']).toEqual([2, 2, 1, 1]);
  });

  it('breaks cohorts down by a field of the first start event, missing values as empty', async () => {
    const result = await retention({ breakdown: 'platform' });
    const byValue = Object.fromEntries((result.breakdowns ?? []).map((b) => [b.value, valuesOf(b)]));
    expect(byValue.douyin?.['2025-03-03']).toEqual([1, 1, 0, 1]);
    expect(byValue.web?.['2025-03-03']).toEqual([1, 1, 0, 0]);
    expect(byValue.web?.['2025-03-04']).toEqual([1, 1, 0, 0]);
    // Recurring cohorts take the value of each period's earliest start: P1 is douyin on 03-03, web on 03-04.
    const recurring = await retention({ cohortType: 'recurring', breakdown: 'platform' });
    const perPlatform = Object.fromEntries((recurring.breakdowns ?? []).map((b) => [b.value, valuesOf(b)]));
    expect(perPlatform.douyin?.['2025-03-03']).toEqual([1, 1, 0, 1]);
    expect(perPlatform.app?.['2025-03-05']).toEqual([1, 0, 0, 0]);
    expect(perPlatform.web).toEqual({
      '2025-03-03': [2, 1, 1, 0],
      '2025-03-04': [3, 1, 1, 0],
      '2025-03-05': [1, 0, 0, 0],
    });
    // A person trait: P1 is gold (its anonymous first open included), P2 and P3 have no tier.
    const tiers = await retention({ breakdown: 'person.tier' });
    const byTier = Object.fromEntries((tiers.breakdowns ?? []).map((b) => [b.value, valuesOf(b)]));
    expect(byTier.gold?.['2025-03-03']).toEqual([1, 1, 0, 1]);
    expect(byTier['']?.['2025-03-03']).toEqual([1, 1, 0, 0]);
    expect(byTier['']?.['2025-03-04']).toEqual([1, 1, 0, 0]);
    expect(valuesOf(tiers)).toEqual(valuesOf(result));
    const missing = await retention({ breakdown: 'properties.campaign' });
    expect(missing.breakdowns?.map((b) => [b.value, b.average.size])).toEqual([['', 3]]);
  });

  it('puts a Sunday 23:30 Shanghai event in its own week and Monday 00:30 in the next', async () => {
    const weekly = await retention({
      period: 'week',
      periods: 1,
      dateRange: { from: '2025-03-03', to: '2025-03-09' },
    });
    // Week of 03-03: P1, P2, P3, P5; only P5 is active in the week of 03-10 (Monday 00:30).
    expect(valuesOf(weekly)).toEqual({ '2025-03-03': [4, 1] });
    const utc = await retention(
      { period: 'week', periods: 1, dateRange: { from: '2025-03-03', to: '2025-03-09' } },
      'UTC',
    );
    expect(valuesOf(utc)).toEqual({ '2025-03-03': [4, 0] });
  });

  it('answers an empty range with empty cohorts and zero rates', async () => {
    const result = await retention({ dateRange: { from: '2024-01-01', to: '2024-01-02' } });
    expect(valuesOf(result)).toEqual({ '2024-01-01': [0, 0, 0, 0], '2024-01-02': [0, 0, 0, 0] });
    expect(result.average).toEqual({ size: 0, values: [0, 0, 0, 0], rates: [0, 0, 0, 0] });
  });

  it('lists only the periods that have begun for recent cohorts', async () => {
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
    const result = await retention({ dateRange: { from: today, to: today } });
    expect(result.cohorts.map((c) => c.values.length)).toEqual([1]);
    expect(result.average.values).toHaveLength(1);
  });

  it("marks today's period as in progress and leaves it out of the average", async () => {
    // Days in Shanghai counted back from today; 'visit' events of the persons f, g, h at noon there.
    const day = daysBackFrom('Asia/Shanghai');
    const visit = (id: string, back: number) => ({
      event: 'visit',
      distinct_id: id,
      at: `${day(back)}T12:00:00+08:00`,
    });
    // f starts 2 days ago and comes back yesterday and today; g starts yesterday and comes back
    // today; h starts today.
    await fx.events([
      visit('f', 2),
      visit('f', 1),
      visit('f', 0),
      visit('g', 1),
      visit('g', 0),
      visit('h', 0),
    ]);
    const result = await retention({
      dateRange: { from: day(2), to: day(0) },
      startEvent: { event: 'visit' },
    });
    expect(result.cohorts.map((c) => [c.cohort, c.values, c.ended])).toEqual([
      [day(2), [1, 1, 1], 2],
      [day(1), [1, 1], 1],
      [day(0), [1], 0],
    ]);
    // Period 1 has ended for f's cohort only: g's return today would count as a whole period's.
    expect(result.average).toEqual({ size: 3, values: [3, 1], rates: [1, 1] });
    // Unbounded ("in period k or later"), f's return today counts in its periods 1 and 2: no value of
    // a cohort is final before its last period (3 here) has ended.
    const unbounded = await retention({
      dateRange: { from: day(2), to: day(0) },
      startEvent: { event: 'visit' },
      mode: 'unbounded',
    });
    expect(unbounded.cohorts.map((c) => [c.cohort, c.values, c.ended])).toEqual([
      [day(2), [1, 1, 1], 0],
      [day(1), [1, 1], 0],
      [day(0), [1], 0],
    ]);
    expect(unbounded.average).toEqual({ size: 3, values: [3], rates: [1] });
  });

  it('names the wrong field of a bad query', () => {
    const fieldOf = (body: Record<string, unknown>) => {
      try {
        retentionAnalysis.parse({
          dateRange: { from: '2025-03-03', to: '2025-03-05' },
          startEvent: 'open',
          ...body,
        });
      } catch (error) {
        expect(error).toBeInstanceOf(PulseloopError);
        return (error as PulseloopError).details.field;
      }
      return 'no error';
    };
    expect(fieldOf({ periods: 91 })).toBe('periods');
    expect(fieldOf({ period: 'year' })).toBe('period');
    expect(fieldOf({ mode: 'sometimes' })).toBe('mode');
    expect(fieldOf({ cohortType: 'first' })).toBe('cohortType');
    expect(fieldOf({ breakdown: 'nope' })).toBe('breakdown');
    expect(fieldOf({ startEvent: { event: '' } })).toBe('startEvent.event');
    expect(fieldOf({ returnEvent: { event: 'buy', filters: [{ field: 'platform', op: 'like' }] } })).toBe(
      'returnEvent.filters[0].op',
    );
    expect(fieldOf({})).toBe('no error');
  });
});

/*
 * Many breakdown values (an id-like property: one value per person), in April with its own event so
 * the March fixture above is untouched. 18 values are large (30 … 13 persons); five tie at 5 persons
 * and differ in case and accents, so the 20th place is decided by the tie-break (localeCompare:
 * apple, Apple, ärger, zed, Zed; byte order would keep Apple and Zed); the rest are one person each.
 * Person i starts on day i % 3 of 04-07 … 04-09 and comes back 1 day later when i is even, 2 days
 * later when i is a multiple of 5.
 */
describe('retention broken down by many values', () => {
  const DAYS = ['2025-04-07', '2025-04-08', '2025-04-09'];
  const UNIQUE_VALUES = 30_000;

  function breakdownValues(): string[] {
    const values: string[] = [];
    for (let k = 0; k < 18; k++) for (let n = 0; n < 30 - k; n++) values.push(`common-${k}`);
    for (const tied of ['zed', 'Zed', 'apple', 'Apple', 'ärger'])
      for (let n = 0; n < 5; n++) values.push(tied);
    for (let i = 0; i < UNIQUE_VALUES; i++) values.push(`id-${i}`);
    return values;
  }

  /** Per value, per cohort day: [persons, returned on day 1, returned on day 2]. */
  function expectedCounts(values: readonly string[]): Map<string, Record<string, number[]>> {
    const byValue = new Map<string, Record<string, number[]>>();
    values.forEach((value, i) => {
      const table = byValue.get(value) ?? Object.fromEntries(DAYS.map((day) => [day, [0, 0, 0]]));
      const counts = table[DAYS[i % 3] as string] as number[];
      counts[0] = (counts[0] ?? 0) + 1;
      if (i % 2 === 0) counts[1] = (counts[1] ?? 0) + 1;
      if (i % 5 === 0) counts[2] = (counts[2] ?? 0) + 1;
      byValue.set(value, table);
    });
    return byValue;
  }

  function sumTables(tables: Record<string, number[]>[]): Record<string, number[]> {
    return Object.fromEntries(
      DAYS.map((day) => [day, [0, 1, 2].map((k) => tables.reduce((sum, t) => sum + (t[day]?.[k] ?? 0), 0))]),
    );
  }

  it('ranks the values in ClickHouse: bounded answers, the same tables as ranking every value', async () => {
    const values = breakdownValues();
    const at = (day: string, daysLater: number) =>
      Date.parse(`${day}T12:00:00+08:00`) + daysLater * 86_400_000;
    const events: FixtureEvent[] = [];
    values.forEach((ref, i) => {
      const day = DAYS[i % 3] as string;
      const distinct_id = `many-${i}`;
      events.push({ event: 'visit', distinct_id, at: at(day, 0), properties: { ref } });
      if (i % 2 === 0)
        events.push({ event: 'visit', distinct_id, at: at(day, 1), properties: { ref: 'later' } });
      if (i % 5 === 0)
        events.push({ event: 'visit', distinct_id, at: at(day, 2), properties: { ref: 'later' } });
    });
    await fx.events(events);

    const recorded = recordingAnswerSizes(fx.facts);
    const result = await retentionAnalysis.run(
      {
        facts: recorded.engine,
        metadata: fx.metadata,
        project: { projectId: fx.projectId, timeZone: 'Asia/Shanghai', currency: 'CNY' },
      },
      retentionAnalysis.parse({
        dateRange: { from: DAYS[0], to: DAYS[2] },
        startEvent: { event: 'visit' },
        periods: 2,
        breakdown: 'properties.ref',
      }),
    );
    // At most the kept values and the remainder per cohort, not one row per value.
    expect(recorded.largestAnswer()).toBeLessThanOrEqual(DAYS.length * (MAX_BREAKDOWN_VALUES + 1));

    // The straightforward computation: rank every value in JavaScript, sum the rest into $other.
    const byValue = expectedCounts(values);
    const sizeOf = (table: Record<string, number[]>) =>
      DAYS.reduce((sum, day) => sum + (table[day]?.[0] ?? 0), 0);
    const ranked = [...byValue.entries()].sort(
      (a, b) => sizeOf(b[1]) - sizeOf(a[1]) || a[0].localeCompare(b[0]),
    );
    const kept = ranked.slice(0, MAX_BREAKDOWN_VALUES);
    const expected = [
      ...kept.map(([value, table]) => ({ value, cohorts: table })),
      { value: '$other', cohorts: sumTables(ranked.slice(MAX_BREAKDOWN_VALUES).map(([, table]) => table)) },
    ];
    expect(kept.slice(-2).map(([value]) => value)).toEqual(['apple', 'Apple']);
    expect((result.breakdowns ?? []).map((b) => ({ value: b.value, cohorts: valuesOf(b) }))).toEqual(
      expected,
    );
    expect(valuesOf(result)).toEqual(sumTables([...byValue.values()]));
    expect(result.average.size).toBe(values.length);
  }, 60_000);
});
