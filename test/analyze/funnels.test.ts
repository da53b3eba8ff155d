import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AnalysisContext } from '../../src/analyze/analysis.js';
import { funnelsAnalysis, periodComplete, zonedToday } from '../../src/analyze/funnels.js';
import { projectContext } from '../../src/analyze/query/scope.js';
import { PulseloopError } from '../../src/errors/registry.js';
import { type AnalyticsFixture, openAnalyticsFixture } from '../support/analytics-fixture.js';
import { daysBackFrom } from '../support/project-days.js';

// The project is in Asia/Shanghai (UTC+8). Times below are UTC; comments give Shanghai time where
// the day matters. Every expected number is worked out by hand in the comments next to the data.
let fx: AnalyticsFixture;
let context: AnalysisContext;

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
  context = {
    facts: fx.facts,
    metadata: fx.metadata,
    project: await projectContext(fx.metadata, fx.projectId),
  };
});
afterAll(() => fx.close());
beforeEach(() => fx.clear());

const run = (body: Record<string, unknown>) => funnelsAnalysis.run(context, funnelsAnalysis.parse(body));
const counts = (result: { steps: { count: number }[] }) => result.steps.map((s) => s.count);
const steps = (...events: string[]) => events.map((event) => ({ event }));
const MARCH_1 = { from: '2025-03-01', to: '2025-03-01' };
/** UTC time `minutes` after 2025-03-01T02:00Z (10:00 in Shanghai, 1 March). */
const at = (minutes: number, seconds = 0) =>
  Date.parse('2025-03-01T02:00:00Z') + minutes * 60_000 + seconds * 1000;

describe('an ordered funnel', () => {
  beforeEach(async () => {
    await fx.events([
      // p1: views anonymously, identifies, then adds to cart (+10 min) and buys (+30 min): 3 steps.
      { event: 'view', distinct_id: 'anon-1', at: at(0) },
      { event: 'cart', distinct_id: 'user-1', at: at(10) },
      { event: 'buy', distinct_id: 'user-1', at: at(30) },
      // p2: view and cart at the very same millisecond: ties count in step order, 2 steps.
      { event: 'view', distinct_id: 'p2', at: at(60) },
      { event: 'cart', distinct_id: 'p2', at: at(60) },
      // p3: cart before view does not count: 1 step.
      { event: 'cart', distinct_id: 'p3', at: at(120) },
      { event: 'view', distinct_id: 'p3', at: at(125) },
      // p4: cart 25 h after the view, outside the 1-day window: 1 step.
      { event: 'view', distinct_id: 'p4', at: at(180) },
      { event: 'cart', distinct_id: 'p4', at: at(180 + 25 * 60) },
      // p5: all three steps at the same millisecond: 3 steps, 0 s between them.
      { event: 'buy', distinct_id: 'p5', at: at(240) },
      { event: 'cart', distinct_id: 'p5', at: at(240) },
      { event: 'view', distinct_id: 'p5', at: at(240) },
      // noise: other events and another person's lone buy.
      { event: 'other', distinct_id: 'p2', at: at(61) },
      { event: 'buy', distinct_id: 'p6', at: at(10) },
    ]);
    await fx.identities([
      { distinct_id: 'anon-1', person_id: 'P1' },
      { distinct_id: 'user-1', person_id: 'P1', id_type: 'user' },
    ]);
  });

  const query = { dateRange: MARCH_1, steps: steps('view', 'cart', 'buy'), windowSeconds: 86_400 };

  it('counts each person once at the furthest step, with conversion from previous and first', async () => {
    const result = await run(query);
    // view: p1 p2 p3 p4 p5 = 5; cart: p1 p2 p5 = 3; buy: p1 p5 = 2.
    expect(result.steps).toMatchObject([
      {
        step: 1,
        event: 'view',
        count: 5,
        conversionFromPrevious: 1,
        conversionFromFirst: 1,
        droppedFromPrevious: 0,
      },
      {
        step: 2,
        count: 3,
        conversionFromPrevious: 3 / 5,
        conversionFromFirst: 3 / 5,
        droppedFromPrevious: 2,
      },
      {
        step: 3,
        count: 2,
        conversionFromPrevious: 2 / 3,
        conversionFromFirst: 2 / 5,
        droppedFromPrevious: 1,
      },
    ]);
  });

  it('times the steps: average and median seconds from the previous step', async () => {
    const [view, cart, buy] = (await run(query)).steps;
    expect(view?.avgSecondsFromPrevious).toBeNull();
    // view→cart: p1 600 s, p2 0 s, p5 0 s → average 200, median 0.
    expect(cart?.avgSecondsFromPrevious).toBe(200);
    expect(cart?.medianSecondsFromPrevious).toBe(0);
    // cart→buy: p1 1200 s, p5 0 s → average 600, median (interpolated) 600.
    expect(buy?.avgSecondsFromPrevious).toBe(600);
    expect(buy?.medianSecondsFromPrevious).toBe(600);
  });

  it('histograms the time to convert from the first to the last step', async () => {
    const { timeToConvert } = await run(query);
    // p1 1800 s → bucket [1800, 3600); p5 0 s → bucket [0, 60).
    expect(timeToConvert).toMatchObject({ fromStep: 1, toStep: 3, averageSeconds: 900, medianSeconds: 900 });
    const filled = timeToConvert.buckets.filter((b) => b.count > 0);
    expect(filled).toEqual([
      { fromSeconds: 0, toSeconds: 60, count: 1 },
      { fromSeconds: 1800, toSeconds: 3600, count: 1 },
    ]);
    // Buckets stop below the window; the last one is open.
    expect(timeToConvert.buckets.at(-1)).toEqual({ fromSeconds: 43_200, toSeconds: null, count: 0 });

    const custom = await run({
      ...query,
      timeToConvert: { fromStep: 2, toStep: 3, bucketsSeconds: [1, 1000] },
    });
    // cart→buy: p5 0 s → [0, 1); p1 1200 s → [1000, ∞).
    expect(custom.timeToConvert.buckets.map((b) => b.count)).toEqual([1, 0, 1]);
  });

  it('lists the persons who dropped at a step, a page at a time', async () => {
    const atCart = await run({ ...query, dropped: { step: 2 } });
    expect(atCart.dropped).toEqual({ step: 2, total: 2, limit: 1000, offset: 0, persons: ['p3', 'p4'] });
    const page = await run({ ...query, dropped: { step: 2, limit: 1, offset: 1 } });
    expect(page.dropped?.persons).toEqual(['p4']);
    const atBuy = await run({ ...query, dropped: { step: 3 } });
    expect(atBuy.dropped?.persons).toEqual(['p2']);
  });

  it('counts events sent before identify for the merged person', async () => {
    const result = await run({ ...query, dropped: { step: 2 } });
    // Without the identity mapping, anon-1 would have dropped at cart and user-1 never entered.
    expect(result.dropped?.persons).not.toContain('anon-1');
    expect(result.steps[2]?.count).toBe(2);
  });

  it('answers an empty range with zeros and a gap-free, empty series', async () => {
    const result = await run({ ...query, dateRange: { from: '2024-01-01', to: '2024-01-03' } });
    expect(counts(result)).toEqual([0, 0, 0]);
    expect(result.steps[1]).toMatchObject({ conversionFromPrevious: 0, avgSecondsFromPrevious: null });
    expect(result.conversionOverTime.periods).toEqual([
      { period: '2024-01-01', entered: 0, converted: 0, conversionRate: null, complete: true },
      { period: '2024-01-02', entered: 0, converted: 0, conversionRate: null, complete: true },
      { period: '2024-01-03', entered: 0, converted: 0, conversionRate: null, complete: true },
    ]);
    expect(result.timeToConvert.averageSeconds).toBeNull();
  });
});

describe('the date range', () => {
  beforeEach(async () => {
    await fx.events([
      // q1: views 23:59 on 1 March (Shanghai), adds to cart 00:30 on 2 March, after the range: 2 steps.
      { event: 'view', distinct_id: 'q1', at: '2025-03-01T15:59:00Z' },
      { event: 'cart', distinct_id: 'q1', at: '2025-03-01T16:30:00Z' },
      // q2: views 00:01 on 2 March in Shanghai (still 1 March in UTC): enters on 2 March.
      { event: 'view', distinct_id: 'q2', at: '2025-03-01T16:01:00Z' },
      // q3: views at 00:00 on 1 March in Shanghai (28 February in UTC): enters on 1 March.
      { event: 'view', distinct_id: 'q3', at: '2025-02-28T16:00:00Z' },
      // q4: views 23:59:59 on 28 February in Shanghai: before the range, and its cart does not enter.
      { event: 'view', distinct_id: 'q4', at: '2025-02-28T15:59:59Z' },
      { event: 'cart', distinct_id: 'q4', at: '2025-02-28T16:10:00Z' },
    ]);
  });

  it('bounds entry into step 1 by days in the project time zone; later steps may follow after it', async () => {
    const result = await run({ dateRange: MARCH_1, steps: steps('view', 'cart') });
    // Entered on 1 March (Shanghai): q1, q3. q1 converts after the range ends.
    expect(counts(result)).toEqual([2, 1]);
  });

  it('splits conversion over time by entry day, or by week from Monday', async () => {
    const daily = await run({
      dateRange: { from: '2025-03-01', to: '2025-03-02' },
      steps: steps('view', 'cart'),
    });
    expect(daily.conversionOverTime.periods).toEqual([
      { period: '2025-03-01', entered: 2, converted: 1, conversionRate: 0.5, complete: true },
      { period: '2025-03-02', entered: 1, converted: 0, conversionRate: 0, complete: true },
    ]);
    // 28 February, 1 and 2 March 2025 are a Friday, a Saturday and a Sunday: all in the week of
    // Monday 24 February (q1, q2, q3, q4 enter; q1 and q4 convert). 3 March starts the next week.
    const weekly = await run({
      dateRange: { from: '2025-02-28', to: '2025-03-03' },
      steps: steps('view', 'cart'),
      conversionOverTime: { granularity: 'week' },
    });
    expect(weekly.conversionOverTime.periods).toEqual([
      { period: '2025-02-24', entered: 4, converted: 2, conversionRate: 0.5, complete: true },
      { period: '2025-03-03', entered: 0, converted: 0, conversionRate: null, complete: true },
    ]);
  });
});

describe('periods whose entrants are still within the window', () => {
  it('marks the days whose entrants have not all had the whole window by today as not final', async () => {
    // Days in Shanghai, counted back from today there; entries at 12:00 Shanghai (04:00 UTC).
    const day = daysBackFrom('Asia/Shanghai');
    const noon = (back: number) => `${day(back)}T04:00:00Z`;
    await fx.events([
      { event: 'view', distinct_id: 'r1', at: noon(4) },
      { event: 'cart', distinct_id: 'r1', at: noon(3) },
      { event: 'view', distinct_id: 'r2', at: noon(2) },
      { event: 'view', distinct_id: 'r3', at: noon(1) },
    ]);
    // A 2-day window: the last entrant of the day 3 days ago (at its end) had until the start of
    // today: final; of 2 days ago, until the start of tomorrow: not yet.
    const result = await run({
      dateRange: { from: day(4), to: day(0) },
      steps: steps('view', 'cart'),
      windowSeconds: 2 * 86_400,
    });
    expect(result.conversionOverTime.periods.map((p) => [p.period, p.entered, p.complete])).toEqual([
      [day(4), 1, true],
      [day(3), 0, true],
      [day(2), 1, false],
      [day(1), 1, false],
      [day(0), 0, false],
    ]);
    // By week: a week is final once its last day in the range is.
    const weekly = await run({
      dateRange: { from: day(4), to: day(3) },
      steps: steps('view', 'cart'),
      windowSeconds: 2 * 86_400,
      conversionOverTime: { granularity: 'week' },
    });
    expect(weekly.conversionOverTime.periods.every((p) => p.complete)).toBe(true);
    const lastWeek = await run({
      dateRange: { from: day(4), to: day(2) },
      steps: steps('view', 'cart'),
      windowSeconds: 2 * 86_400,
      conversionOverTime: { granularity: 'week' },
    });
    expect(lastWeek.conversionOverTime.periods.at(-1)?.complete).toBe(false);
  });
});

describe('when a period is final', () => {
  const daily = (to: string, windowSeconds: number) => ({
    conversionOverTime: { granularity: 'day' as const },
    dateRange: { from: '2026-03-01', to },
    windowSeconds,
  });

  it('counts the window in hours across a daylight-saving change, not in calendar days', () => {
    // New York moves its clocks forward on Sunday 8 March 2026: that day has 23 hours. The last
    // entrant of 6 March (at midnight, 05:00 UTC on the 7th) with a 2-day window has until 05:00 UTC
    // on the 9th, 01:00 in New York: at 12:00 UTC on the 9th, 6 March is not final yet.
    const monday = zonedToday('America/New_York', new Date('2026-03-09T12:00:00Z'));
    expect(periodComplete('2026-03-06', daily('2026-03-31', 2 * 86_400), monday)).toBe(false);
    expect(periodComplete('2026-03-05', daily('2026-03-31', 2 * 86_400), monday)).toBe(true);
    // Without the change, the same day is final at the start of the 9th (Shanghai keeps its clock).
    const shanghai = zonedToday('Asia/Shanghai', new Date('2026-03-09T12:00:00Z'));
    expect(periodComplete('2026-03-06', daily('2026-03-31', 2 * 86_400), shanghai)).toBe(true);
  });

  it("ends a period's entries at the end of the range, and an hour's window a day later", () => {
    const today = zonedToday('Asia/Shanghai', new Date('2026-03-10T12:00:00+08:00'));
    // A week from Monday 2 March, the range ending on Wednesday the 4th: its last entrants came on
    // the 4th, and their 5-day window ended at the start of the 10th.
    const weekly = {
      ...daily('2026-03-04', 5 * 86_400),
      conversionOverTime: { granularity: 'week' as const },
    };
    expect(periodComplete('2026-03-02', weekly, today)).toBe(true);
    expect(periodComplete('2026-03-02', { ...weekly, windowSeconds: 5 * 86_400 + 1 }, today)).toBe(false);
    // One hour: yesterday's last entrant (at midnight) had until 01:00 today.
    expect(periodComplete('2026-03-09', daily('2026-03-31', 3_600), today)).toBe(false);
    expect(periodComplete('2026-03-08', daily('2026-03-31', 3_600), today)).toBe(true);
  });
});

describe('order modes', () => {
  beforeEach(async () => {
    const t = (minutes: number) => at(minutes);
    await fx.events([
      // s1: A B A C — sequential 3; strict: A→B then A interrupts → 2; any: 3.
      ...['A', 'B', 'A', 'C'].map((event, i) => ({ event, distinct_id: 's1', at: t(i) })),
      // s2: A C B — sequential 2 (C comes before B); strict: C interrupts A→B → 1; any: 3.
      ...['A', 'C', 'B'].map((event, i) => ({ event, distinct_id: 's2', at: t(i) })),
      // s3: B C A — sequential 1; strict 1; any: 3 (entry B, then C and A).
      ...['B', 'C', 'A'].map((event, i) => ({ event, distinct_id: 's3', at: t(i) })),
      // s4: A Z B — Z is no step of the funnel, so strict still reaches 2; sequential 2; any 2.
      ...['A', 'Z', 'B'].map((event, i) => ({ event, distinct_id: 's4', at: t(i) })),
    ]);
  });

  it.each([
    ['sequential', [4, 3, 1]],
    ['strict', [4, 2, 0]],
    ['any', [4, 4, 3]],
  ])('%s order', async (order, expected) => {
    expect(counts(await run({ dateRange: MARCH_1, steps: steps('A', 'B', 'C'), order }))).toEqual(expected);
  });
});

describe('exclusions and time limits between steps', () => {
  it('stops an attempt at an exclusion event inside its span; another entry may still convert', async () => {
    const t = (minutes: number) => at(minutes);
    await fx.events([
      // e1: A X B C — X between steps 1 and 2 → stops at 1.
      ...['A', 'X', 'B', 'C'].map((event, i) => ({ event, distinct_id: 'e1', at: t(i) })),
      // e2: A B X C — X after step 2, outside the span → 3.
      ...['A', 'B', 'X', 'C'].map((event, i) => ({ event, distinct_id: 'e2', at: t(i) })),
      // e3: A X A B — the first attempt stops, the second (from the later A) reaches 2.
      ...['A', 'X', 'A', 'B'].map((event, i) => ({ event, distinct_id: 'e3', at: t(i) })),
      // e4: X at the same millisecond as A sorts after it, so it is inside the span → 1.
      { event: 'A', distinct_id: 'e4', at: t(0) },
      { event: 'X', distinct_id: 'e4', at: t(0) },
      { event: 'B', distinct_id: 'e4', at: t(1) },
    ]);
    const result = await run({
      dateRange: MARCH_1,
      steps: steps('A', 'B', 'C'),
      exclusions: [{ event: 'X', fromStep: 1, toStep: 2 }],
    });
    expect(counts(result)).toEqual([4, 2, 1]);
  });

  it('applies the minimum time between steps and a per-step maximum', async () => {
    await fx.events([
      // m1: B after 30 s is too soon (minimum 60 s); B after 90 s counts; C 110 s later → 3.
      { event: 'A', distinct_id: 'm1', at: at(0) },
      { event: 'B', distinct_id: 'm1', at: at(0, 30) },
      { event: 'B', distinct_id: 'm1', at: at(0, 90) },
      { event: 'C', distinct_id: 'm1', at: at(0, 200) },
      // m2: only a too-soon B → 1.
      { event: 'A', distinct_id: 'm2', at: at(0) },
      { event: 'B', distinct_id: 'm2', at: at(0, 30) },
      // w1: B 700 s after A, beyond step 2's 600 s → 1.
      { event: 'A', distinct_id: 'w1', at: at(0) },
      { event: 'B', distinct_id: 'w1', at: at(0, 700) },
      // w2: from the first A, B is too late; from the second A (200 s), 500 s → 2.
      { event: 'A', distinct_id: 'w2', at: at(0) },
      { event: 'A', distinct_id: 'w2', at: at(0, 200) },
      { event: 'B', distinct_id: 'w2', at: at(0, 700) },
    ]);
    const result = await run({
      dateRange: MARCH_1,
      steps: [{ event: 'A' }, { event: 'B', withinSeconds: 600 }, { event: 'C' }],
      minSecondsBetweenSteps: 60,
      dropped: { step: 2 },
    });
    expect(counts(result)).toEqual([4, 2, 1]);
    expect(result.dropped?.persons).toEqual(['m2', 'w1']);
    // m1 took 90 s to B and w2 500 s.
    expect(result.steps[1]?.avgSecondsFromPrevious).toBe(295);
  });
});

describe('filters and breakdown', () => {
  beforeEach(async () => {
    await fx.events([
      // b1: spring, converts (B with price 20).
      { event: 'A', distinct_id: 'b1', at: at(0), properties: { campaign: 'spring' }, platform: 'web' },
      { event: 'B', distinct_id: 'b1', at: at(1), properties: { price: 20 } },
      // b2: spring, B with price 5 fails the step filter.
      { event: 'A', distinct_id: 'b2', at: at(0), properties: { campaign: 'spring' }, platform: 'web' },
      { event: 'B', distinct_id: 'b2', at: at(1), properties: { price: 5 } },
      // b3: no campaign property at all; B without price fails the filter.
      { event: 'A', distinct_id: 'b3', at: at(0), platform: 'app' },
      { event: 'B', distinct_id: 'b3', at: at(1) },
      // b4: summer on step 1; the breakdown comes from step 1, not from B's "autumn".
      { event: 'A', distinct_id: 'b4', at: at(0), properties: { campaign: 'summer' }, platform: 'app' },
      { event: 'B', distinct_id: 'b4', at: at(1), properties: { price: '30', campaign: 'autumn' } },
      // b5: first attempt (winter) goes nowhere within the window; the later one (spring) converts.
      { event: 'A', distinct_id: 'b5', at: at(-100 * 60), properties: { campaign: 'winter' } },
      { event: 'A', distinct_id: 'b5', at: at(0), properties: { campaign: 'spring' } },
      { event: 'B', distinct_id: 'b5', at: at(1), properties: { price: 99 } },
    ]);
  });

  const query = {
    dateRange: MARCH_1,
    steps: [{ event: 'A' }, { event: 'B', filters: [{ field: 'properties.price', op: 'gte', value: 10 }] }],
    windowSeconds: 3600,
  };

  it('applies per-step filters; a missing property does not match', async () => {
    expect(counts(await run(query))).toEqual([5, 3]);
    const webOnly = await run({
      ...query,
      steps: [{ event: 'A', filters: [{ field: 'platform', op: 'eq', value: 'web' }] }, query.steps[1]],
    });
    expect(counts(webOnly)).toEqual([2, 1]);
  });

  it('breaks down by the step-1 value of the furthest attempt, grouping the rest as $other', async () => {
    const all = await run({ ...query, breakdown: { field: 'properties.campaign' } });
    // spring: b1 ✓, b2 ✗, b5 ✓; summer: b4 ✓; missing (''): b3 ✗.
    expect(all.breakdown?.values.map((v) => [v.value, counts(v)])).toEqual([
      ['spring', [3, 2]],
      ['', [1, 0]],
      ['summer', [1, 1]],
    ]);
    const top1 = await run({
      ...query,
      breakdown: { field: 'properties.campaign', limit: 1 },
      dropped: { step: 2, breakdownValue: '$other' },
    });
    expect(top1.breakdown?.values.map((v) => [v.value, counts(v)])).toEqual([
      ['spring', [3, 2]],
      ['$other', [2, 1]],
    ]);
    expect(top1.dropped).toMatchObject({ total: 1, persons: ['b3'] });
  });
});

describe('person traits', () => {
  it('breaks down and filters by person traits', async () => {
    await fx.events([
      { event: 'A', distinct_id: 'g1', at: at(0) },
      { event: 'B', distinct_id: 'g1', at: at(1) },
      { event: 'A', distinct_id: 'g2', at: at(0) },
      { event: 'A', distinct_id: 'g3', at: at(0) },
      { event: 'B', distinct_id: 'g3', at: at(1) },
    ]);
    await fx.persons([{ person_id: 'g1', traits: JSON.stringify({ tier: 'gold' }) }]);
    const byTier = await run({ dateRange: MARCH_1, steps: steps('A', 'B'), breakdown: 'person.tier' });
    // gold: g1 converts; no trait (''): g2 does not, g3 does.
    expect(byTier.breakdown?.values.map((v) => [v.value, counts(v)])).toEqual([
      ['', [2, 1]],
      ['gold', [1, 1]],
    ]);
    const goldOnly = await run({
      dateRange: MARCH_1,
      steps: [{ event: 'A', filters: [{ field: 'person.tier', op: 'eq', value: 'gold' }] }, { event: 'B' }],
    });
    expect(counts(goldOnly)).toEqual([1, 1]);
  });
});

describe('long funnels', () => {
  it('follows 40 steps, beyond windowFunnel’s 32', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `s${i + 1}`);
    await fx.events([
      ...names.map((event, i) => ({ event, distinct_id: 'long', at: at(i) })),
      ...names.slice(0, 35).map((event, i) => ({ event, distinct_id: 'shorter', at: at(i) })),
    ]);
    const result = await run({ dateRange: MARCH_1, steps: steps(...names) });
    expect(result.steps[34]?.count).toBe(2);
    expect(result.steps[35]?.count).toBe(1);
    expect(result.steps[39]?.count).toBe(1);
  });
});

describe('query validation', () => {
  const fieldOf = (body: unknown) => {
    try {
      funnelsAnalysis.parse(body);
    } catch (error) {
      expect(error).toBeInstanceOf(PulseloopError);
      return (error as PulseloopError).details.field;
    }
    throw new Error('expected an error');
  };
  const base = { dateRange: MARCH_1, steps: steps('A', 'B') };

  it('names the wrong field', () => {
    expect(fieldOf({ ...base, steps: [{ event: 'A' }, { event: '' }] })).toBe('steps[1].event');
    expect(fieldOf({ ...base, steps: [{ event: 'A' }] })).toBe('steps');
    expect(
      fieldOf({
        ...base,
        steps: [{ event: 'A' }, { event: 'B', filters: [{ field: 'x', op: 'eq', value: 1 }] }],
      }),
    ).toBe('steps[1].filters[0].field');
    expect(fieldOf({ ...base, steps: [{ event: 'A', withinSeconds: 5 }, { event: 'B' }] })).toBe(
      'steps[0].withinSeconds',
    );
    expect(fieldOf({ ...base, order: 'random' })).toBe('order');
    expect(fieldOf({ ...base, order: 'any', minSecondsBetweenSteps: 5 })).toBe('minSecondsBetweenSteps');
    expect(fieldOf({ ...base, exclusions: [{ event: 'X', fromStep: 2, toStep: 2 }] })).toBe(
      'exclusions[0].fromStep',
    );
    expect(fieldOf({ ...base, breakdown: { field: 'nope' } })).toBe('breakdown.field');
    expect(fieldOf({ ...base, dropped: { step: 2, limit: 10_001 } })).toBe('dropped.limit');
    expect(fieldOf({ ...base, dropped: { step: 1 } })).toBe('dropped.step');
    expect(fieldOf({ ...base, steps: Array.from({ length: 65 }, () => ({ event: 'A' })) })).toBe('steps');
    expect(fieldOf({ ...base, dateRange: { from: '2025-02-30', to: '2025-03-01' } })).toBe('dateRange.from');
  });
});
