import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { projectContext } from '../../src/analyze/query/scope.js';
import {
  parseViralityQuery,
  runVirality,
  shareDegrees,
  type ViralityResult,
} from '../../src/analyze/virality.js';
import { PulseloopError } from '../../src/errors/registry.js';
import { type AnalyticsFixture, openAnalyticsFixture } from '../support/analytics-fixture.js';

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
