import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AttributionResult, runAttribution } from '../../src/analyze/attribution/index.js';
import { parseAttributionQuery } from '../../src/analyze/attribution/query.js';
import { shapleyByConversions, shapleyValues } from '../../src/analyze/attribution/shapley.js';
import { projectContext } from '../../src/analyze/query/scope.js';
import { PulseloopError } from '../../src/errors/registry.js';
import { type AnalyticsFixture, openAnalyticsFixture } from '../support/analytics-fixture.js';

// Hand-computed attribution on tiny journeys. Project time zone Asia/Shanghai (UTC+8); times below
// are written in +08:00 so the days read as the project sees them.
let fx: AnalyticsFixture;

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
});
afterAll(() => fx.close());
beforeEach(() => fx.clear());

const MARCH = { from: '2025-03-01', to: '2025-03-31' };

/** A visit: one pageview in its own session carrying a channel. */
function visit(person: string, channel: string, at: string, extra: Record<string, string> = {}) {
  return {
    event: '$pageview',
    distinct_id: person,
    at,
    channel,
    session_id: `${person}-${channel}-${at}`,
    ...extra,
  };
}
function purchase(person: string, at: string, revenue: number) {
  return { event: 'purchase', distinct_id: person, at, revenue, session_id: `${person}-buy-${at}` };
}

async function attribute(body: Record<string, unknown>): Promise<AttributionResult> {
  const project = await projectContext(fx.metadata, fx.projectId);
  const query = parseAttributionQuery({
    dateRange: MARCH,
    conversion: { source: 'event', event: 'purchase' },
    ...body,
  });
  return runAttribution({ facts: fx.facts, metadata: fx.metadata, project }, query);
}

/** { value: [conversions, revenue] } of one model, rounded for comparison. */
function credits(result: AttributionResult, model: string): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const row of result.rows) {
    const c = row.models[model as keyof typeof row.models]!;
    if (c.conversions !== 0) out[row.value] = [round(c.conversions, 4), round(c.revenue, 2)];
  }
  return out;
}
const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * Five journeys:
 *   A: paid_social (Mar 1 12:00) → email (Mar 3 12:00) → direct (Mar 5 12:00) → purchase 100 (Mar 5 12:00)
 *   B: kol (Mar 2 10:00) → purchase 50 (Mar 2 11:00)
 *   C: paid_social (Mar 4 12:00) → email (Mar 6 12:00) → purchase 200 (Mar 6 12:00)
 *   D: paid_social (Mar 7) → no purchase
 *   E: email (Mar 8) → no purchase
 * A's direct visit and C's email visit happen at the very time of the purchase: they count.
 */
const FIVE_JOURNEYS = [
  visit('A', 'paid_social', '2025-03-01T12:00:00+08:00'),
  visit('A', 'email', '2025-03-03T12:00:00+08:00'),
  visit('A', 'direct', '2025-03-05T12:00:00+08:00'),
  purchase('A', '2025-03-05T12:00:00+08:00', 100),
  visit('B', 'kol', '2025-03-02T10:00:00+08:00'),
  purchase('B', '2025-03-02T11:00:00+08:00', 50),
  visit('C', 'paid_social', '2025-03-04T12:00:00+08:00'),
  visit('C', 'email', '2025-03-06T12:00:00+08:00'),
  purchase('C', '2025-03-06T12:00:00+08:00', 200),
  visit('D', 'paid_social', '2025-03-07T12:00:00+08:00'),
  visit('E', 'email', '2025-03-08T12:00:00+08:00'),
];

describe('rule-based models', () => {
  it('credit first, last, last non-direct, linear and position-based touches as computed by hand', async () => {
    await fx.events(FIVE_JOURNEYS);
    const result = await attribute({});
    expect(result.totals).toMatchObject({
      conversions: 3,
      revenue: 350,
      attributedConversions: 3,
      unattributedConversions: 0,
      journeys: 5,
      distinctPaths: 5,
    });
    // First touch: A → paid_social (100), B → kol (50), C → paid_social (200).
    expect(credits(result, 'first_touch')).toEqual({ paid_social: [2, 300], kol: [1, 50] });
    // Last touch: A → direct, B → kol, C → email.
    expect(credits(result, 'last_touch')).toEqual({ direct: [1, 100], kol: [1, 50], email: [1, 200] });
    // Last non-direct: A's direct is passed over for email.
    expect(credits(result, 'last_non_direct')).toEqual({ kol: [1, 50], email: [2, 300] });
    // Linear: A gives 1/3 to each of its three (33.33 each), C 1/2 to each of its two (100 each).
    expect(credits(result, 'linear')).toEqual({
      paid_social: [0.8333, 133.33],
      email: [0.8333, 133.33],
      direct: [0.3333, 33.33],
      kol: [1, 50],
    });
    // Position-based: A 40/20/40, C (two touches) 50/50, B (one touch) 100 %.
    expect(credits(result, 'position_based')).toEqual({
      paid_social: [0.9, 140],
      email: [0.7, 120],
      direct: [0.4, 40],
      kol: [1, 50],
    });
    // Journeys touching each value, converting or not.
    const email = result.rows.find((r) => r.value === 'email')!;
    expect([email.journeys, email.convertingJourneys]).toEqual([3, 2]);
  });

  it('weighs touches by time decay with the given half-life', async () => {
    await fx.events(FIVE_JOURNEYS);
    const result = await attribute({ halfLifeDays: 2 });
    // Half-life 2 days. A: ages 4, 2, 0 days → 1/4, 1/2, 1 → normalised 1/7, 2/7, 4/7.
    // C: ages 2, 0 → 1/2, 1 → 1/3, 2/3. B: 1.
    // paid_social = 1/7 + 1/3 = 0.47619, revenue 100/7 + 200/3 = 80.95
    // email = 2/7 + 2/3 = 0.95238, revenue 200/7 + 400/3 = 161.90
    // direct = 4/7 = 0.57143, revenue 400/7 = 57.14
    expect(credits(result, 'time_decay')).toEqual({
      paid_social: [0.4762, 80.95],
      email: [0.9524, 161.9],
      direct: [0.5714, 57.14],
      kol: [1, 50],
    });
  });
});

describe('Markov chain removal effect', () => {
  // Chain over the five journeys (start → … → conversion | null):
  //   start → paid_social 3/5, kol 1/5, email 1/5
  //   paid_social → email 2/3, null 1/3;  email → direct 1/3, conversion 1/3, null 1/3
  //   direct → conversion 1;  kol → conversion 1
  // P(conv): x_direct = x_kol = 1, x_email = 2/3, x_paid_social = 4/9,
  //          start = 3/5·4/9 + 1/5·1 + 1/5·2/3 = 27/45 = 0.6 (3 of 5 journeys).
  it('drop: a journey reaching a removed channel ends there (the classic removal effect)', async () => {
    await fx.events(FIVE_JOURNEYS);
    const result = await attribute({ markovRemoval: 'drop' });
    // Without paid_social: 1/5 + 1/5·2/3 = 1/3 → RE = 1 − (1/3)/0.6 = 4/9
    // Without email: x_email = 0, x_paid_social = 0 → 1/5 → RE = 2/3
    // Without direct: x_email = 1/3, x_paid_social = 2/9 → 0.4 → RE = 1/3
    // Without kol: 3/5·4/9 + 1/5·2/3 = 0.4 → RE = 1/3
    // Σ RE = 16/9; credits = RE / Σ RE × 3 conversions (× 350 revenue):
    //   paid_social 0.75 (87.5), email 1.125 (131.25), direct 0.5625 (65.63), kol 0.5625 (65.63)
    const re = Object.fromEntries(result.rows.map((r) => [r.value, round(r.removalEffect!, 4)]));
    expect(re).toEqual({ paid_social: 0.4444, email: 0.6667, direct: 0.3333, kol: 0.3333 });
    expect(credits(result, 'markov')).toEqual({
      paid_social: [0.75, 87.5],
      email: [1.125, 131.25],
      direct: [0.5625, 65.63],
      kol: [0.5625, 65.63],
    });
  });

  it('skip (default): a removed channel’s touches are passed over, losing only the conversions straight after them', async () => {
    await fx.events(FIVE_JOURNEYS);
    const result = await attribute({});
    // Skip paid_social: it never converts directly, its other transitions are unchanged → RE = 0.
    // Skip email: email → direct 1/2, null 1/2 (renormalised) → x_email = 1/2, x_paid_social = 1/3
    //   → start = 3/5·1/3 + 1/5 + 1/5·1/2 = 0.5 → RE = 1/6
    // Skip direct: nothing left after it → x_direct = 0 → x_email = 1/3 → start = 0.4 → RE = 1/3
    // Skip kol: x_kol = 0 → start = 0.4 → RE = 1/3
    // Σ RE = 5/6 → email 0.6 (70), direct 1.2 (140), kol 1.2 (140), paid_social 0.
    expect(credits(result, 'markov')).toEqual({ email: [0.6, 70], direct: [1.2, 140], kol: [1.2, 140] });
  });
});

describe('Shapley value', () => {
  // Journeys: a → c → purchase 10; b → purchase 30; c (no purchase); a (no purchase).
  const THREE_CHANNELS = [
    visit('P1', 'a', '2025-03-10T09:00:00+08:00'),
    visit('P1', 'c', '2025-03-10T10:00:00+08:00'),
    purchase('P1', '2025-03-10T11:00:00+08:00', 10),
    visit('P2', 'b', '2025-03-11T09:00:00+08:00'),
    purchase('P2', '2025-03-11T10:00:00+08:00', 30),
    visit('P3', 'c', '2025-03-12T09:00:00+08:00'),
    visit('P4', 'a', '2025-03-13T09:00:00+08:00'),
  ];

  it('standard formulation: v(S) = conversions of journeys whose set lies in S, i.e. an equal split per journey', async () => {
    await fx.events(THREE_CHANNELS);
    const result = await attribute({ shapleyValue: 'conversions', models: ['shapley'] });
    // {a, c} converts once (10): 1/2 each; {b} once (30).
    expect(credits(result, 'shapley')).toEqual({ a: [0.5, 5], b: [1, 30], c: [0.5, 5] });
  });

  it('over the Markov chain: v(S) = P(conversion) with the channels outside S skipped', async () => {
    await fx.events(THREE_CHANNELS);
    const result = await attribute({ models: ['shapley'] });
    // Chain: start → a 2/4, b 1/4, c 1/4; a → c 1/2, null 1/2; c → conv 1/2, null 1/2; b → conv 1.
    // v(∅) = 0, v(a) = 0, v(b) = 1/4, v(c) = 2/4·1/2·1/2 + 1/4·1/2 = 1/4, v(ab) = 1/4, v(ac) = 1/4,
    // v(bc) = 1/2, v(abc) = 1/2. Every marginal of a is 0; b and c add 1/4 in every order.
    // φ = (0, 1/4, 1/4) → 2 conversions: b 1, c 1; revenue 40: b 20, c 20.
    expect(credits(result, 'shapley')).toEqual({ b: [1, 20], c: [1, 20] });
  });

  it('the closed form of the standard game equals the exact Shapley value over all coalitions', () => {
    // Journeys with sets {0,1} ×3, {1,2} ×2, {0,1,2} ×1, {2} ×4 (channels x=0, y=1, z=2).
    const sets: [number, number][] = [
      [0b011, 3],
      [0b110, 2],
      [0b111, 1],
      [0b100, 4],
    ];
    const exact = shapleyValues(3, (mask) =>
      sets.reduce((sum, [set, n]) => ((set & mask) === set ? sum + n : sum), 0),
    );
    const names = ['x', 'y', 'z'];
    const groups = sets.map(([set, n]) => ({
      path: names.filter((_, i) => set & (1 << i)),
      conversions: n,
      revenue: n,
      nonConversions: 0,
      decayCredit: [],
      decayRevenue: [],
    }));
    const closed = shapleyByConversions(groups);
    // x = 3/2 + 1/3, y = 3/2 + 1 + 1/3, z = 1 + 1/3 + 4
    expect(exact.map((v) => round(v, 6))).toEqual([1.833333, 2.833333, 5.333333]);
    names.forEach((name, i) => {
      expect(closed.get(name)!.conversions).toBeCloseTo(exact[i]!, 9);
    });
  });

  it('gives the Markov and Shapley models the same two-channel answer as computed by hand', async () => {
    // a → b → purchase; a (none); b → purchase; b (none).
    await fx.events([
      visit('Q1', 'a', '2025-03-10T09:00:00+08:00'),
      visit('Q1', 'b', '2025-03-10T10:00:00+08:00'),
      purchase('Q1', '2025-03-10T11:00:00+08:00', 10),
      visit('Q2', 'a', '2025-03-11T09:00:00+08:00'),
      visit('Q3', 'b', '2025-03-12T09:00:00+08:00'),
      purchase('Q3', '2025-03-12T10:00:00+08:00', 10),
      visit('Q4', 'b', '2025-03-13T09:00:00+08:00'),
    ]);
    // start → a 1/2, b 1/2; a → b 1/2, null 1/2; b → conv 2/3, null 1/3.
    // P = 1/2·1/2·2/3 + 1/2·2/3 = 1/2. v(a) = 0 (b skipped ends in null), v(b) = 1/2 (skipping a
    // changes nothing) → φ_a = 0, φ_b = 1/2: b takes both conversions in Shapley and skip-Markov.
    const skip = await attribute({ models: ['markov', 'shapley'] });
    expect(credits(skip, 'markov')).toEqual({ b: [2, 20] });
    expect(credits(skip, 'shapley')).toEqual({ b: [2, 20] });
    // Drop: without a → 1/2·2/3 = 1/3 → RE_a = 1/3; without b → 0 → RE_b = 1; a = 2·(1/3)/(4/3) = 0.5.
    const drop = await attribute({ models: ['markov'], markovRemoval: 'drop' });
    expect(credits(drop, 'markov')).toEqual({ a: [0.5, 5], b: [1.5, 15] });
  });
});

describe('journeys', () => {
  it('counts touches within the lookback only; older ones leave a conversion unattributed', async () => {
    await fx.events([
      // 30 days before the purchase exactly: inside the window.
      visit('L1', 'kol', '2025-03-01T12:00:00+08:00'),
      purchase('L1', '2025-03-31T12:00:00+08:00', 10),
      // 30 days and one second before: outside.
      visit('L2', 'email', '2025-03-01T11:59:59+08:00'),
      purchase('L2', '2025-03-31T12:00:00+08:00', 20),
    ]);
    const result = await attribute({ models: ['last_touch'] });
    expect(result.totals).toMatchObject({
      conversions: 2,
      revenue: 30,
      attributedConversions: 1,
      unattributedConversions: 1,
      unattributedRevenue: 20,
    });
    expect(credits(result, 'last_touch')).toEqual({ kol: [1, 10] });
    // The lookback reaches before the range: a touch on Feb 20 counts for a purchase on Mar 2.
    await fx.events([
      visit('L3', 'sms', '2025-02-20T12:00:00+08:00'),
      purchase('L3', '2025-03-02T12:00:00+08:00', 5),
    ]);
    expect(credits(await attribute({ models: ['last_touch'] }), 'last_touch')).toEqual({
      kol: [1, 10],
      sms: [1, 5],
    });
  });

  it('orders touches with the same time by value, and counts a touch at the conversion’s time', async () => {
    await fx.events([
      visit('T1', 'kol', '2025-03-10T12:00:00+08:00'),
      visit('T1', 'email', '2025-03-10T12:00:00+08:00'),
      purchase('T1', '2025-03-10T12:00:00+08:00', 10),
    ]);
    const result = await attribute({ models: ['first_touch', 'last_touch'] });
    expect(credits(result, 'first_touch')).toEqual({ email: [1, 10] });
    expect(credits(result, 'last_touch')).toEqual({ kol: [1, 10] });
  });

  it('takes a visit’s channel from its first event, not from the pages after it', async () => {
    await fx.events([
      { ...visit('V1', 'paid_social', '2025-03-10T12:00:00+08:00'), session_id: 's1' },
      { ...visit('V1', 'direct', '2025-03-10T12:01:00+08:00'), session_id: 's1' },
      { ...purchase('V1', '2025-03-10T12:02:00+08:00', 10), session_id: 's1', channel: 'direct' },
    ]);
    const result = await attribute({ models: ['last_touch'] });
    expect(credits(result, 'last_touch')).toEqual({ paid_social: [1, 10] });
    expect(result.totals.journeys).toBe(1);
  });

  it('credits touches sent before identify to the person who later buys', async () => {
    await fx.events([
      visit('anon-9', 'kol', '2025-03-10T09:00:00+08:00'),
      purchase('user-9', '2025-03-12T09:00:00+08:00', 80),
    ]);
    await fx.identities([
      { distinct_id: 'anon-9', person_id: 'P9' },
      { distinct_id: 'user-9', person_id: 'P9', id_type: 'user' },
    ]);
    const result = await attribute({ models: ['first_touch'] });
    expect(credits(result, 'first_touch')).toEqual({ kol: [1, 80] });
  });

  it('cuts the range at midnight in the project time zone', async () => {
    await fx.events([
      visit('Z1', 'kol', '2025-03-31T10:00:00+08:00'),
      // 00:30 on April 1 in Shanghai (still March 31 in UTC): outside the range.
      purchase('Z1', '2025-03-31T16:30:00Z', 10),
    ]);
    const result = await attribute({ models: ['last_touch'] });
    expect(result.totals.conversions).toBe(0);
    expect(result.rows.find((r) => r.value === 'kol')?.convertingJourneys ?? 0).toBe(0);
  });

  it('counts only the first conversion of each person when asked', async () => {
    await fx.events([
      visit('F1', 'kol', '2025-03-10T09:00:00+08:00'),
      purchase('F1', '2025-03-10T10:00:00+08:00', 10),
      visit('F1', 'email', '2025-03-15T09:00:00+08:00'),
      purchase('F1', '2025-03-15T10:00:00+08:00', 20),
    ]);
    const all = await attribute({ models: ['last_touch'] });
    expect(credits(all, 'last_touch')).toEqual({ kol: [1, 10], email: [1, 20] });
    const first = await attribute({ models: ['last_touch'], count: 'first' });
    expect(credits(first, 'last_touch')).toEqual({ kol: [1, 10] });
    expect(first.totals).toMatchObject({ conversions: 1, revenue: 10 });
  });

  it('counts a re-delivered event (same message id) once', async () => {
    const touch = { ...visit('R1', 'kol', '2025-03-10T09:00:00+08:00'), message_id: 'm-touch' };
    const buy = { ...purchase('R1', '2025-03-10T10:00:00+08:00', 10), message_id: 'm-buy' };
    await fx.events([touch, buy]);
    await fx.events([touch, buy]);
    const result = await attribute({ models: ['linear'] });
    expect(result.totals).toMatchObject({ conversions: 1, revenue: 10, journeys: 1 });
    expect(credits(result, 'linear')).toEqual({ kol: [1, 10] });
  });

  it('filters touches by event columns and by person traits', async () => {
    await fx.events([
      visit('G1', 'kol', '2025-03-10T09:00:00+08:00', { platform: 'douyin' }),
      visit('G1', 'email', '2025-03-11T09:00:00+08:00', { platform: 'web' }),
      purchase('G1', '2025-03-12T09:00:00+08:00', 10),
      visit('G2', 'sms', '2025-03-10T09:00:00+08:00', { platform: 'web' }),
      purchase('G2', '2025-03-12T09:00:00+08:00', 20),
    ]);
    await fx.identities([{ distinct_id: 'G1', person_id: 'G1' }]);
    await fx.persons([{ person_id: 'G1', traits: JSON.stringify({ tier: 'vip' }) }]);
    const web = await attribute({
      models: ['last_touch'],
      touch: { filters: [{ field: 'platform', op: 'eq', value: 'web' }] },
    });
    expect(credits(web, 'last_touch')).toEqual({ email: [1, 10], sms: [1, 20] });
    // Only G1 is a vip: G2's touches are filtered out, so its purchase is unattributed.
    const vip = await attribute({
      models: ['first_touch'],
      touch: { filters: [{ field: 'person.tier', op: 'eq', value: 'vip' }] },
    });
    expect(credits(vip, 'first_touch')).toEqual({ kol: [1, 10] });
    expect(vip.totals).toMatchObject({ conversions: 2, unattributedConversions: 1 });
  });

  it('answers an empty range with zero totals and no rows', async () => {
    const result = await attribute({});
    expect(result.rows).toEqual([]);
    expect(result.totals).toMatchObject({ conversions: 0, revenue: 0, journeys: 0, distinctPaths: 0 });
  });

  it('can credit another dimension (utm_source) and read conversions from paid orders', async () => {
    await fx.events([
      visit('anon-o', 'paid_social', '2025-03-10T09:00:00+08:00', { utm_source: 'douyin' }),
      visit('anon-o', 'direct', '2025-03-11T09:00:00+08:00'),
    ]);
    await fx.identities([
      { distinct_id: 'anon-o', person_id: 'PO' },
      { distinct_id: 'user-o', person_id: 'PO', id_type: 'user' },
    ]);
    const order = (id: string, status: string, amount: number) => ({
      project_id: fx.projectId,
      order_id: id,
      distinct_id: 'user-o',
      created_at: Date.parse('2025-03-12T09:00:00+08:00'),
      paid_at: Date.parse('2025-03-12T09:01:00+08:00'),
      status,
      amount,
      currency: 'CNY',
      updated_at: Date.now(),
    });
    await fx.insert('orders', [order('o1', 'paid', 99), order('o2', 'refunded', 500)]);
    const result = await attribute({ conversion: { source: 'orders' }, touch: { dimension: 'utm_source' } });
    // The direct visit has no utm_source, so it is no touch in this dimension; the refund is no conversion.
    expect(result.totals).toMatchObject({ conversions: 1, revenue: 99 });
    expect(credits(result, 'last_touch')).toEqual({ douyin: [1, 99] });
  });
});

describe('spend, ROI and ROAS', () => {
  it('joins credited revenue with spend per channel; no spend gives null, never Infinity', async () => {
    await fx.events(FIVE_JOURNEYS);
    const spend = (date: string, channel: string, amount: number) => ({
      project_id: fx.projectId,
      date,
      platform: 'douyin',
      campaign_id: `c-${channel}-${date}`,
      channel,
      spend: amount,
      currency: 'CNY',
      updated_at: Date.now(),
    });
    await fx.insert('ad_spend', [
      spend('2025-03-01', 'paid_social', 100),
      spend('2025-03-20', 'paid_social', 50),
      spend('2025-04-01', 'paid_social', 1000), // outside the range
      spend('2025-03-05', 'kol', 0),
    ]);
    const result = await attribute({ models: ['first_touch'] });
    const row = (value: string) => result.rows.find((r) => r.value === value)!;
    // paid_social: first-touch revenue 300, spend 150 → ROI (300 − 150)/150 = 1, ROAS 2.
    expect(row('paid_social').spend).toBe(150);
    expect(row('paid_social').models.first_touch).toMatchObject({ revenue: 300, roi: 1, roas: 2 });
    // kol: spend 0 → no ratio; email: no spend row at all.
    expect(row('kol').models.first_touch).toMatchObject({ roi: null, roas: null });
    expect(row('email').spend).toBeNull();
    expect(row('email').models.first_touch).toMatchObject({ revenue: 0, roi: null, roas: null });
    expect(result.totals.spend).toBe(150);
  });
});

describe('many values', () => {
  it('keeps the 14 most travelled values and folds the rest, with their spend, into "(other)"', async () => {
    const campaigns = Array.from({ length: 16 }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
    const rows = campaigns.flatMap((campaign, i) => {
      // c01..c14 have two buying persons each, c15 and c16 one.
      const persons = i < 14 ? [`${campaign}-x`, `${campaign}-y`] : [`${campaign}-x`];
      return persons.flatMap((person) => [
        visit(person, 'paid_social', '2025-03-10T09:00:00+08:00', { campaign_id: campaign }),
        purchase(person, '2025-03-10T10:00:00+08:00', 10),
      ]);
    });
    await fx.events(rows);
    const spend = (campaign: string, amount: number) => ({
      project_id: fx.projectId,
      date: '2025-03-10',
      platform: 'douyin',
      campaign_id: campaign,
      channel: 'paid_social',
      spend: amount,
      currency: 'CNY',
      updated_at: Date.now(),
    });
    await fx.insert('ad_spend', [spend('c01', 40), spend('c15', 10), spend('c16', 5), spend('c99', 1)]);
    const result = await attribute({
      touch: { dimension: 'campaign_id' },
      models: ['last_touch', 'shapley'],
    });
    expect(result.rows).toHaveLength(15);
    const other = result.rows.find((r) => r.value === '(other)')!;
    // c15 and c16 (one buyer each) plus c99, which has spend but no touch: 10 + 5 + 1.
    expect(other).toMatchObject({ journeys: 2, spend: 16 });
    expect(other.models.last_touch).toMatchObject({ conversions: 2, revenue: 20, roas: 1.25 });
    const c01 = result.rows.find((r) => r.value === 'c01')!;
    // Each journey has one touch: every model gives it the whole conversion. ROI = (20 − 40) / 40.
    expect(c01.models.shapley).toMatchObject({ conversions: 2, revenue: 20, roi: -0.5, roas: 0.5 });
    expect(result.totals.spend).toBe(56);
  });
});

describe('query validation', () => {
  it.each([
    [{ touch: { dimension: 'utm_medium' } }, 'touch.dimension'],
    [{ lookbackDays: 0 }, 'lookbackDays'],
    [{ halfLifeDays: 'seven' }, 'halfLifeDays'],
    [{ models: ['first_touch', 'magic'] }, 'models[1]'],
    [{ conversion: { source: 'event' } }, 'conversion.event'],
    [
      { conversion: { source: 'event', event: 'x', filters: [{ field: 'nope', op: 'eq', value: 1 }] } },
      'conversion.filters[0].field',
    ],
    [{ count: 'last' }, 'count'],
    [{ markovRemoval: 'maybe' }, 'markovRemoval'],
    [{ dateRange: { from: '2025-03-01' } }, 'dateRange.to'],
  ])('names the wrong field of %j', (body, field) => {
    try {
      parseAttributionQuery({ dateRange: MARCH, ...body });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PulseloopError);
      expect((error as PulseloopError).details.field).toBe(field);
    }
  });
});
