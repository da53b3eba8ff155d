import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LtvResult, parseLtvQuery, runLtv } from '../../src/analyze/ltv.js';
import { projectContext } from '../../src/analyze/query/scope.js';
import { PulseloopError } from '../../src/errors/registry.js';
import { type AnalyticsFixture, openAnalyticsFixture } from '../support/analytics-fixture.js';
import { daysBackFrom } from '../support/project-days.js';

// LTV by weekly acquisition cohort (Monday weeks in Asia/Shanghai) and first-touch channel.
let fx: AnalyticsFixture;

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
});
afterAll(() => fx.close());
beforeEach(() => fx.clear());

const range = { from: '2025-03-03', to: '2025-03-16' }; // two Monday weeks

async function ltv(body: Record<string, unknown> = {}): Promise<LtvResult> {
  const project = await projectContext(fx.metadata, fx.projectId);
  const query = parseLtvQuery({
    dateRange: range,
    periods: 3,
    revenue: { source: 'event', event: 'purchase' },
    ...body,
  });
  return runLtv({ facts: fx.facts, metadata: fx.metadata, project }, query);
}

const seen = (person: string, at: string, channel = '') => ({
  event: '$pageview',
  distinct_id: person,
  at,
  channel,
});
const buy = (person: string, at: string, revenue: number) => ({
  event: 'purchase',
  distinct_id: person,
  at,
  revenue,
});

/*
 * P1: first seen Mon 2025-03-03 00:30 Shanghai (Sunday in UTC) via paid_social;
 *     buys 100 (Mar 4, week 0), 50 (Mar 12, week 1), 30 (Mar 25, week 3).
 * P2: first seen Mar 5 via paid_social; never buys.
 * P3: first seen Mar 6 with no channel, then a kol visit → first touch kol; buys 40 on Mar 6.
 * P4: first seen Mar 11 via kol (cohort 03-10); buys 20 on Mon Mar 17 (week 1).
 * P5: first seen Feb 20 (before the range): not acquired, its purchase is ignored.
 * P6: first seen Mar 12 with no channel at all: "(none)".
 */
const WORLD = [
  seen('P1', '2025-03-03T00:30:00+08:00', 'paid_social'),
  buy('P1', '2025-03-04T10:00:00+08:00', 100),
  buy('P1', '2025-03-12T10:00:00+08:00', 50),
  buy('P1', '2025-03-25T10:00:00+08:00', 30),
  seen('P2', '2025-03-05T10:00:00+08:00', 'paid_social'),
  seen('P3', '2025-03-06T09:00:00+08:00'),
  seen('P3', '2025-03-06T09:30:00+08:00', 'kol'),
  buy('P3', '2025-03-06T10:00:00+08:00', 40),
  seen('P4', '2025-03-11T10:00:00+08:00', 'kol'),
  buy('P4', '2025-03-17T10:00:00+08:00', 20),
  seen('P5', '2025-02-20T10:00:00+08:00', 'kol'),
  buy('P5', '2025-03-05T10:00:00+08:00', 999),
  seen('P6', '2025-03-12T10:00:00+08:00'),
];

describe('LTV by acquisition cohort and channel', () => {
  it('accumulates revenue per acquired person by week since the cohort’s week', async () => {
    await fx.events(WORLD);
    const result = await ltv();
    const cell = (cohort: string, channel: string) =>
      result.cohorts.find((c) => c.cohort === cohort && c.channel === channel);
    expect(result.cohorts.map((c) => `${c.cohort} ${c.channel} ${c.persons}`)).toEqual([
      '2025-03-03 kol 1',
      '2025-03-03 paid_social 2',
      '2025-03-10 (none) 1',
      '2025-03-10 kol 1',
    ]);
    // paid_social, week of Mar 3: two persons; revenue by week [100, 50, 0, 30] → LTV [50, 75, 75, 90].
    expect(cell('2025-03-03', 'paid_social')).toMatchObject({
      revenue: [100, 50, 0, 30],
      ltv: [50, 75, 75, 90],
    });
    expect(cell('2025-03-03', 'kol')).toMatchObject({ revenue: [40, 0, 0, 0], ltv: [40, 40, 40, 40] });
    expect(cell('2025-03-10', 'kol')).toMatchObject({ revenue: [0, 20, 0, 0], ltv: [0, 20, 20, 20] });
    // kol over both cohorts: (40 + 0) / 2 = 20 after week 0, (40 + 20) / 2 = 30 after week 1.
    const kol = result.channels.find((c) => c.channel === 'kol')!;
    expect(kol).toMatchObject({ persons: 2, ltv: [20, 30, 30, 30], revenue: [40, 20, 0, 0] });
  });

  it('averages a channel over the periods that have ended: this week does not pull its line down', async () => {
    const day = daysBackFrom('Asia/Shanghai');
    // A joins three weeks ago and buys 100 that day; B joins today and buys 10 so far.
    await fx.events([
      seen('A', `${day(21)}T10:00:00+08:00`, 'kol'),
      buy('A', `${day(21)}T11:00:00+08:00`, 100),
      seen('B', `${day(0)}T00:00:01+08:00`, 'kol'),
      buy('B', `${day(0)}T00:00:02+08:00`, 10),
    ]);
    const result = await ltv({ dateRange: { from: day(21), to: day(0) } });
    expect(result.cohorts.map((c) => [c.persons, c.ltv, c.ended])).toEqual([
      [1, [100, 100, 100, 100], 3],
      [1, [10, null, null, null], 0],
    ]);
    // Week 0 of the channel: A's only (B's week is in progress), not (100 + 10) / 2.
    expect(result.channels[0]).toMatchObject({
      channel: 'kol',
      persons: 2,
      ltv: [100, 100, 100, null],
      ended: 3,
    });
  });

  it('divides LTV by acquisition cost from the channel’s spend; no spend gives null', async () => {
    await fx.events(WORLD);
    const spend = (date: string, channel: string, amount: number) => ({
      project_id: fx.projectId,
      date,
      platform: 'douyin',
      campaign_id: `c-${date}`,
      channel,
      spend: amount,
      currency: 'CNY',
      updated_at: Date.now(),
    });
    await fx.insert('ad_spend', [
      spend('2025-03-04', 'paid_social', 60),
      spend('2025-03-11', 'paid_social', 40),
    ]);
    const result = await ltv();
    // Cohort of Mar 3: spend 60 / 2 persons = CAC 30; ROI = LTV 90 / 30 = 3.
    const cohort = result.cohorts.find((c) => c.cohort === '2025-03-03' && c.channel === 'paid_social')!;
    expect(cohort).toMatchObject({ spend: 60, acquisitionCost: 30, roi: 3 });
    // The channel over the range: spend 100 / 2 persons = 50; ROI = 90 / 50 = 1.8.
    const channel = result.channels.find((c) => c.channel === 'paid_social')!;
    expect(channel).toMatchObject({ spend: 100, acquisitionCost: 50, roi: 1.8 });
    const kol = result.channels.find((c) => c.channel === 'kol')!;
    expect(kol).toMatchObject({ spend: null, acquisitionCost: null, roi: null });
  });

  it('puts a person first seen just after midnight in Shanghai in that day’s week, not the UTC one', async () => {
    await fx.events([seen('P1', '2025-03-03T00:30:00+08:00', 'paid_social')]);
    const result = await ltv();
    expect(result.cohorts.map((c) => c.cohort)).toEqual(['2025-03-03']);
  });

  it('maps events before identify to the person and groups by month when asked', async () => {
    await fx.events([
      seen('anon-1', '2025-03-03T10:00:00+08:00', 'kol'),
      buy('user-1', '2025-04-02T10:00:00+08:00', 70),
    ]);
    await fx.identities([
      { distinct_id: 'anon-1', person_id: 'PX' },
      { distinct_id: 'user-1', person_id: 'PX', id_type: 'user' },
    ]);
    const result = await ltv({ period: 'month', periods: 1 });
    expect(result.cohorts).toHaveLength(1);
    expect(result.cohorts[0]).toMatchObject({
      cohort: '2025-03-01',
      channel: 'kol',
      persons: 1,
      ltv: [0, 70],
    });
  });

  it('answers an empty range with no cohorts', async () => {
    const result = await ltv();
    expect(result).toMatchObject({ cohorts: [], channels: [] });
  });

  it.each([
    [{ period: 'day' }, 'period'],
    [{ periods: -1 }, 'periods'],
    [{ dimension: 'city' }, 'dimension'],
    [{ revenue: { source: 'event' } }, 'revenue.event'],
  ])('names the wrong field of %j', (body, field) => {
    try {
      parseLtvQuery({ dateRange: range, ...body });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PulseloopError);
      expect((error as PulseloopError).details.field).toBe(field);
    }
  });
});
