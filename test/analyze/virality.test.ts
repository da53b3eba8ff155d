import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { projectContext } from '../../src/analyze/query/scope.js';
import {
  parseViralityQuery,
  runVirality,
  shareDegrees,
  type TopSharer,
  type ViralityResult,
} from '../../src/analyze/virality.js';
import { PulseloopError } from '../../src/errors/registry.js';
import type { FactsEngine, QueryParams } from '../../src/store/facts/engine.js';
import {
  type AnalyticsFixture,
  type FixtureEvent,
  openAnalyticsFixture,
} from '../support/analytics-fixture.js';
import { recordingAnswerSizes } from '../support/answer-sizes.js';

let fx: AnalyticsFixture;

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
});
afterAll(() => fx.close());
beforeEach(() => fx.clear());

const MARCH = { from: '2025-03-01', to: '2025-03-31' };

async function virality(body: Record<string, unknown> = {}): Promise<ViralityResult> {
  const project = await projectContext(fx.metadata, fx.projectId);
  return runVirality(
    { facts: fx.facts, metadata: fx.metadata, project },
    parseViralityQuery({ dateRange: MARCH, ...body }),
  );
}

const share = (sender: string, at: string) => ({
  event: 'content_shared',
  distinct_id: sender,
  sharer_id: sender,
  at,
  session_id: `${sender}-share-${at}`,
});
const arrive = (visitor: string, sharer: string, at: string) => ({
  event: '$pageview',
  distinct_id: visitor,
  sharer_id: sharer,
  channel: 'share',
  at,
  session_id: `${visitor}-arrive-${at}`,
});
const seen = (person: string, at: string) => ({
  event: '$pageview',
  distinct_id: person,
  at,
  channel: 'direct',
});
const order = (person: string, at: string, revenue: number) => ({
  event: 'order_completed',
  distinct_id: person,
  at,
  revenue,
});

/*
 * A (anonymous "a-anon", later identified as "a-user") shares on Mar 2; B arrives through A's link
 * (new) and orders 50; C arrives twice through A's link but was seen on Feb 20 (not new; an order
 * of C before arriving does not count). B shares; D arrives through B's link (new, 2nd degree); D
 * shares; E arrives through D's (new, 3rd degree) and orders 30. A opens their own link: ignored.
 *   S = 3 sharers (A, B, D), 3 shares; V = 5 share visits (B 1, C 2, D 1, E 1); invited 4; new 3.
 *   i = 5/3, c = 3/5, K = 1. Converted: B and E → 2/4 = 0.5; revenue 80.
 *   Degrees: B 1, C 1, D 2, E 3.
 */
const WORLD = [
  seen('a-anon', '2025-03-01T10:00:00+08:00'),
  share('a-anon', '2025-03-02T10:00:00+08:00'),
  arrive('B', 'a-anon', '2025-03-02T12:00:00+08:00'),
  order('B', '2025-03-03T12:00:00+08:00', 50),
  seen('C', '2025-02-20T12:00:00+08:00'),
  order('C', '2025-02-25T12:00:00+08:00', 999),
  arrive('C', 'a-anon', '2025-03-03T12:00:00+08:00'),
  arrive('C', 'a-anon', '2025-03-04T12:00:00+08:00'),
  share('B', '2025-03-04T13:00:00+08:00'),
  arrive('D', 'B', '2025-03-05T12:00:00+08:00'),
  share('D', '2025-03-05T13:00:00+08:00'),
  arrive('E', 'D', '2025-03-06T12:00:00+08:00'),
  order('E', '2025-03-06T12:30:00+08:00', 30),
  arrive('a-user', 'a-anon', '2025-03-07T12:00:00+08:00'),
];

async function identifyA() {
  await fx.identities([
    { distinct_id: 'a-anon', person_id: 'A' },
    { distinct_id: 'a-user', person_id: 'A', id_type: 'user' },
  ]);
}

describe('virality and sharing', () => {
  it('computes K, share depth, share conversion and top sharers as by hand', async () => {
    await fx.events(WORLD);
    await identifyA();
    const result = await virality();
    expect(result).toMatchObject({
      sharers: 3,
      shares: 3,
      shareVisits: 5,
      invitedPersons: 4,
      newPersons: 3,
      visitsPerSharer: 1.666667,
      newPersonRate: 0.6,
      viralCoefficient: 1,
      convertedPersons: 2,
      conversions: 2,
      revenue: 80,
      shareConversionRate: 0.5,
      depth: { degree1: 2, degree2: 1, degree3Plus: 1, maxDegree: 3 },
    });
    // A (the link sent before identify counts for person A) brought 3 visits of 2 persons, 1 new, B's order;
    // D and B brought one new person each; D's brought an order, so D ranks before B.
    expect(result.topSharers).toEqual([
      { person: 'A', shares: 1, visits: 3, persons: 2, newPersons: 1, conversions: 1, revenue: 50 },
      { person: 'D', shares: 1, visits: 1, persons: 1, newPersons: 1, conversions: 1, revenue: 30 },
      { person: 'B', shares: 1, visits: 1, persons: 1, newPersons: 1, conversions: 0, revenue: 0 },
    ]);
  });

  it('counts a re-delivered share visit or order (same message id) once', async () => {
    const visitRow = { ...arrive('Y', 'S', '2025-03-10T12:00:00+08:00'), message_id: 'm-visit' };
    const orderRow = { ...order('Y', '2025-03-10T12:30:00+08:00', 15), message_id: 'm-order' };
    await fx.events([share('S', '2025-03-10T10:00:00+08:00'), visitRow, orderRow]);
    await fx.events([visitRow, orderRow]);
    const result = await virality();
    expect(result).toMatchObject({
      shareVisits: 1,
      invitedPersons: 1,
      newPersons: 1,
      conversions: 1,
      revenue: 15,
    });
  });

  it('keeps share visits in the range by the project’s days', async () => {
    await fx.events([
      share('S', '2025-03-31T10:00:00+08:00'),
      // 00:10 on April 1 in Shanghai: outside March.
      arrive('X', 'S', '2025-03-31T16:10:00Z'),
    ]);
    const result = await virality();
    expect(result).toMatchObject({ sharers: 1, shareVisits: 0, invitedPersons: 0, viralCoefficient: 0 });
  });

  it('answers an empty range with zeros and null ratios', async () => {
    const result = await virality();
    expect(result).toMatchObject({
      sharers: 0,
      shareVisits: 0,
      viralCoefficient: null,
      newPersonRate: null,
      shareConversionRate: null,
      topSharers: [],
      depth: { degree1: 0, degree2: 0, degree3Plus: 0, maxDegree: 0 },
    });
  });

  it('gives a person the degree of their first share visit; a later visit through someone else changes nothing', () => {
    const degrees = shareDegrees(
      new Map([
        ['B', { sharer: 'A', firstAt: 1 }],
        ['C', { sharer: 'B', firstAt: 2 }],
        // A arrives later through C's link: A was a root when it invited B, so B stays 1st degree.
        ['A', { sharer: 'C', firstAt: 3 }],
      ]),
    );
    expect(Object.fromEntries(degrees)).toEqual({ B: 1, C: 2, A: 3 });
  });

  it.each([
    [{ limit: 0 }, 'limit'],
    [{ shareEvent: '' }, 'shareEvent'],
    [{ dateRange: { from: '2025-03-02', to: '2025-03-01' } }, 'dateRange'],
  ])('names the wrong field of %j', (body, field) => {
    try {
      parseViralityQuery({ dateRange: MARCH, ...body });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PulseloopError);
      expect((error as PulseloopError).details.field).toBe(field);
    }
  });
});

/** The engine, recording the longest array bound as a query parameter. */
function recordingArrayParams(engine: FactsEngine): { engine: FactsEngine; longestArray(): number } {
  let longest = 0;
  return {
    engine: {
      ...engine,
      query<Row>(sql: string, params?: QueryParams) {
        for (const value of Object.values(params ?? {})) {
          if (Array.isArray(value)) longest = Math.max(longest, value.length);
        }
        return engine.query<Row>(sql, params);
      },
    },
    longestArray: () => longest,
  };
}

/*
 * 20,000 invited persons in share chains hundreds deep, each invited by a root sharer or an earlier
 * invited person; some also come through a second sharer, through their own link (ignored), through
 * two sharers at the same instant (the smaller id wins), were seen before March (not new), order
 * before (not counted) or after their arrival, or arrive under an anonymous id identified later.
 * Roots are named `root-n` and `Root-n` so that equal sharers are ordered as localeCompare does.
 */
describe('virality with many invited persons', () => {
  const INVITED = 20_000;
  const ROOTS = 40;
  const LIMIT = 60;
  const START = Date.parse('2025-03-02T00:00:00Z');
  const root = (r: number) => (r % 2 === 0 ? `root-${r}` : `Root-${r}`);
  const invitedPerson = (i: number) => (i % 2 === 0 ? `p-${i}` : `P-${i}`);
  const firstSharerOf = (i: number) =>
    i < ROOTS || i % 500 === 0 ? root(i % ROOTS) : invitedPerson(i - 1 - ((i * 7919) % Math.min(i, 25)));

  interface Visit {
    visitor: string;
    sharer: string;
    at: number;
  }

  function world(): { events: FixtureEvent[]; visits: Visit[]; anonymous: Map<string, string> } {
    const events: FixtureEvent[] = [];
    const visits: Visit[] = [];
    const anonymous = new Map<string, string>();
    const visit = (visitor: string, distinctId: string, sharer: string, at: number, session: string) => {
      events.push({
        event: '$pageview',
        distinct_id: distinctId,
        sharer_id: sharer,
        channel: 'share',
        at,
        session_id: session,
      });
      visits.push({ visitor, sharer, at });
    };
    for (let r = 0; r < ROOTS; r++) {
      events.push({
        event: 'content_shared',
        distinct_id: root(r),
        sharer_id: root(r),
        at: START - 1000 * (r + 1),
      });
    }
    for (let i = 0; i < INVITED; i++) {
      const person = invitedPerson(i);
      const at = START + i * 60_000;
      const distinctId = i % 13 === 0 ? `anon-${i}` : person;
      if (i % 13 === 0) anonymous.set(distinctId, person);
      visit(person, distinctId, firstSharerOf(i), at, `arrive-${i}`);
      if (i % 4 === 0) visit(person, person, root((i + 1) % ROOTS), at + 3_600_000, `again-${i}`);
      if (i % 97 === 0) visit(person, person, 'a-early-bird', at, `tie-${i}`);
      if (i % 11 === 0) visit(person, person, person, at + 120_000, `own-${i}`);
      if (i % 5 === 0)
        events.push({ event: '$pageview', distinct_id: person, at: Date.parse('2025-02-10T00:00:00Z') + i });
      if (i % 6 === 0)
        events.push({
          event: 'order_completed',
          distinct_id: person,
          at: at + 30_000,
          revenue: (i % 100) + 0.25,
        });
      if (i % 10 === 0)
        events.push({ event: 'order_completed', distinct_id: person, at: at - 30_000, revenue: 7 });
      if (i % 2 === 0)
        events.push({ event: 'content_shared', distinct_id: person, sharer_id: person, at: at + 10_000 });
    }
    return { events, visits, anonymous };
  }

  /** The analysis computed the straightforward way: every edge and person in memory. */
  function expectedResult(
    events: readonly FixtureEvent[],
    visits: readonly Visit[],
    anonymous: Map<string, string>,
  ): ViralityResult {
    const personOf = (distinctId: string) => anonymous.get(distinctId) ?? distinctId;
    const edges = new Map<string, { visitor: string; sharer: string; visits: number; firstAt: number }>();
    for (const v of visits) {
      if (v.visitor === v.sharer) continue;
      const key = `${v.visitor} ${v.sharer}`;
      const edge = edges.get(key) ?? { visitor: v.visitor, sharer: v.sharer, visits: 0, firstAt: v.at };
      edge.visits += 1;
      edge.firstAt = Math.min(edge.firstAt, v.at);
      edges.set(key, edge);
    }
    const firstEdges = new Map<string, { sharer: string; firstAt: number }>();
    for (const e of edges.values()) {
      const known = firstEdges.get(e.visitor);
      if (!known || e.firstAt < known.firstAt || (e.firstAt === known.firstAt && e.sharer < known.sharer)) {
        firstEdges.set(e.visitor, { sharer: e.sharer, firstAt: e.firstAt });
      }
    }
    const firstSeen = new Map<string, number>();
    const sharesBy = new Map<string, number>();
    const ordersBy = new Map<string, FixtureEvent[]>();
    for (const e of events) {
      const person = personOf(e.distinct_id);
      firstSeen.set(person, Math.min(firstSeen.get(person) ?? Infinity, Number(e.at)));
      if (e.event === 'content_shared') sharesBy.set(person, (sharesBy.get(person) ?? 0) + 1);
      if (e.event === 'order_completed') ordersBy.set(person, [...(ordersBy.get(person) ?? []), e]);
    }
    const rows = new Map<string, TopSharer>();
    const row = (person: string) => {
      const known = rows.get(person);
      if (known) return known;
      const fresh = {
        person,
        shares: sharesBy.get(person) ?? 0,
        visits: 0,
        persons: 0,
        newPersons: 0,
        conversions: 0,
        revenue: 0,
      };
      rows.set(person, fresh);
      return fresh;
    };
    let shareVisits = 0;
    for (const e of edges.values()) {
      row(e.sharer).visits += e.visits;
      row(e.sharer).persons += 1;
      shareVisits += e.visits;
    }
    let newPersons = 0;
    let convertedPersons = 0;
    let conversions = 0;
    let revenue = 0;
    for (const [visitor, first] of firstEdges) {
      const orders = (ordersBy.get(visitor) ?? []).filter((e) => Number(e.at) >= first.firstAt);
      const sharer = row(first.sharer);
      if ((firstSeen.get(visitor) ?? 0) >= first.firstAt) {
        newPersons++;
        sharer.newPersons++;
      }
      if (orders.length > 0) convertedPersons++;
      conversions += orders.length;
      sharer.conversions += orders.length;
      for (const order of orders) {
        revenue += order.revenue ?? 0;
        sharer.revenue += order.revenue ?? 0;
      }
    }
    const depth = { degree1: 0, degree2: 0, degree3Plus: 0, maxDegree: 0 };
    for (const d of shareDegrees(firstEdges).values()) {
      if (d === 1) depth.degree1++;
      else if (d === 2) depth.degree2++;
      else depth.degree3Plus++;
      depth.maxDegree = Math.max(depth.maxDegree, d);
    }
    const sharers = sharesBy.size;
    const shares = [...sharesBy.values()].reduce((a, b) => a + b, 0);
    const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1e6) / 1e6 : null);
    return {
      sharers,
      shares,
      shareVisits,
      invitedPersons: firstEdges.size,
      newPersons,
      visitsPerSharer: ratio(shareVisits, sharers),
      newPersonRate: ratio(newPersons, shareVisits),
      viralCoefficient: ratio(newPersons, sharers),
      convertedPersons,
      conversions,
      revenue: Math.round(revenue * 100) / 100,
      shareConversionRate: ratio(convertedPersons, firstEdges.size),
      depth,
      topSharers: [...rows.values()]
        .sort(
          (a, b) =>
            b.newPersons - a.newPersons ||
            b.visits - a.visits ||
            b.conversions - a.conversions ||
            a.person.localeCompare(b.person),
        )
        .slice(0, LIMIT)
        .map((r) => ({ ...r, revenue: Math.round(r.revenue * 100) / 100 })),
    };
  }

  it('answers in a few rows with no bound list of persons, as the in-memory computation does', async () => {
    const { events, visits, anonymous } = world();
    await fx.events(events);
    await fx.identities([...anonymous].map(([distinct_id, person_id]) => ({ distinct_id, person_id })));
    const answers = recordingAnswerSizes(fx.facts);
    const arrays = recordingArrayParams(answers.engine);
    const project = await projectContext(fx.metadata, fx.projectId);
    const result = await runVirality(
      { facts: arrays.engine, metadata: fx.metadata, project },
      parseViralityQuery({ dateRange: MARCH, limit: LIMIT }),
    );
    expect(answers.largestAnswer()).toBeLessThanOrEqual(LIMIT + 1);
    expect(arrays.longestArray()).toBeLessThanOrEqual(1);

    const expected = expectedResult(events, visits, anonymous);
    // The world is what it should be: deep chains, ties among top sharers, all kinds of persons.
    expect(expected.invitedPersons).toBe(INVITED);
    expect(expected.depth.maxDegree).toBeGreaterThan(100);
    expect(expected.newPersons).toBeLessThan(INVITED);
    expect(result).toEqual(expected);
  }, 120_000);
});
