import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisContext } from '../../src/analyze/analysis.js';
import { pathsAnalysis } from '../../src/analyze/paths.js';
import { projectContext } from '../../src/analyze/query/scope.js';
import { PulseloopError } from '../../src/errors/registry.js';
import {
  type AnalyticsFixture,
  type FixtureEvent,
  openAnalyticsFixture,
} from '../support/analytics-fixture.js';

// Project time zone Asia/Shanghai. `at(m)` is m minutes after 10:00 on 1 March 2025 in Shanghai.
let fx: AnalyticsFixture;
let context: AnalysisContext;
const at = (minutes: number) => Date.parse('2025-03-01T02:00:00Z') + minutes * 60_000;
const visit = (distinct_id: string, events: [string, number][]): FixtureEvent[] =>
  events.map(([event, minutes]) => ({ event, distinct_id, at: at(minutes) }));

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
  context = {
    facts: fx.facts,
    metadata: fx.metadata,
    project: await projectContext(fx.metadata, fx.projectId),
  };
  await fx.events([
    // u1: list twice in a row collapses → home list item cart (depth 3 cuts pay).
    ...visit('u1', [
      ['home', 0],
      ['list', 1],
      ['list', 2],
      ['item', 3],
      ['cart', 4],
      ['pay', 5],
    ]),
    // u2: cart comes 43 minutes after item: a new session, so the path ends at item.
    ...visit('u2', [
      ['home', 0],
      ['list', 1],
      ['item', 2],
      ['cart', 45],
    ]),
    // u3: list before home is not part of the path after home.
    ...visit('u3', [
      ['list', 0],
      ['home', 1],
      ['search', 2],
    ]),
    // u4: home alone (with a property the other starts lack).
    { event: 'home', distinct_id: 'u4', at: at(0), properties: { src: 'ad' } },
    // u5: home on 2 March (Shanghai): outside the range.
    ...visit('u5', [
      ['home', 24 * 60],
      ['list', 24 * 60 + 1],
    ]),
    // u6: home and list anonymously, item after identify: one person, one path.
    ...visit('anon-6', [
      ['home', 0],
      ['list', 1],
    ]),
    ...visit('user-6', [['item', 2]]),
    // u7: two sessions, each with a start: two paths.
    ...visit('u7', [
      ['home', 0],
      ['list', 1],
      ['home', 100],
      ['search', 101],
    ]),
    // u8: list and home at the same millisecond: the start sorts first, so the path is home → list.
    ...visit('u8', [
      ['list', 0],
      ['home', 0],
    ]),
    // d1: lands 23:59 on 1 March in Shanghai; its next event falls on 2 March, after the range.
    { event: 'landing', distinct_id: 'd1', at: '2025-03-01T15:59:00Z' },
    { event: 'list', distinct_id: 'd1', at: '2025-03-01T16:05:00Z' },
    // d2: lands 00:01 on 2 March in Shanghai (still 1 March in UTC): outside the range.
    { event: 'landing', distinct_id: 'd2', at: '2025-03-01T16:01:00Z' },
    { event: 'item', distinct_id: 'd2', at: '2025-03-01T16:02:00Z' },
    // v1: page views named by their path.
    { event: '$pageview', distinct_id: 'v1', at: at(0), page_path: '/' },
    { event: '$pageview', distinct_id: 'v1', at: at(1), page_path: '/p/1' },
    { event: 'buy', distinct_id: 'v1', at: at(2) },
  ]);
  await fx.identities([
    { distinct_id: 'anon-6', person_id: 'P6' },
    { distinct_id: 'user-6', person_id: 'P6', id_type: 'user' },
  ]);
  await fx.persons([{ person_id: 'P6', traits: JSON.stringify({ vip: true }) }]);
});
afterAll(() => fx.close());

const run = (body: Record<string, unknown>) => pathsAnalysis.run(context, pathsAnalysis.parse(body));
const base = { dateRange: { from: '2025-03-01', to: '2025-03-01' }, start: { event: 'home' }, depth: 3 };

describe('paths after a start event', () => {
  it('counts the top paths per session, collapsing repeats and cutting at the depth', async () => {
    const result = await run(base);
    // u1, u2, u3, u4, P6, u7 ×2, u8 = 8 paths.
    expect(result.total).toBe(8);
    expect(result.topPaths.map((p) => [p.path, p.count])).toEqual([
      [['home', 'list'], 2], // u7, u8
      [['home', 'list', 'item'], 2], // u2, P6
      [['home', 'search'], 2], // u3, u7
      [['home'], 1], // u4
      [['home', 'list', 'item', 'cart'], 1], // u1
    ]);
    expect(result.topPaths[0]?.share).toBe(2 / 8);
  });

  it('answers Sankey nodes and links, and drop-offs per step', async () => {
    const result = await run(base);
    expect(result.nodes).toEqual([
      { id: '1:home', name: 'home', step: 1, value: 8 },
      { id: '2:list', name: 'list', step: 2, value: 5 },
      { id: '2:search', name: 'search', step: 2, value: 2 },
      { id: '3:item', name: 'item', step: 3, value: 3 },
      { id: '4:cart', name: 'cart', step: 4, value: 1 },
    ]);
    expect(result.links).toEqual(
      expect.arrayContaining([
        { source: '1:home', target: '2:list', value: 5 },
        { source: '1:home', target: '2:search', value: 2 },
        { source: '2:list', target: '3:item', value: 3 },
        { source: '3:item', target: '4:cart', value: 1 },
      ]),
    );
    expect(result.links).toHaveLength(4);
    expect(result.steps).toEqual([
      { step: 1, paths: 8, dropped: 1 },
      { step: 2, paths: 7, dropped: 4 },
      { step: 3, paths: 3, dropped: 2 },
      { step: 4, paths: 1, dropped: 1 },
    ]);
  });

  it('merges the nodes beyond the top ones of a step into $other', async () => {
    const result = await run({ ...base, nodesPerStep: 1 });
    expect(result.nodes.filter((n) => n.step === 2)).toEqual([
      { id: '2:list', name: 'list', step: 2, value: 5 },
      { id: '2:$other', name: '$other', step: 2, value: 2 },
    ]);
    expect(result.links).toContainEqual({ source: '1:home', target: '2:$other', value: 2 });
  });

  it('keeps repeats when asked, and a shorter depth', async () => {
    const repeats = await run({ ...base, collapseRepeats: false });
    expect(repeats.topPaths.map((p) => p.path)).toContainEqual(['home', 'list', 'list', 'item']);
    const short = await run({ ...base, depth: 1 });
    expect(short.topPaths.map((p) => [p.path, p.count])).toEqual([
      [['home', 'list'], 5],
      [['home', 'search'], 2],
      [['home'], 1],
    ]);
  });

  it('ends paths at the time window from the start', async () => {
    const result = await run({ ...base, windowSeconds: 150 });
    // u1 keeps home, list (1 min), list (2 min); item at 3 min is beyond 150 s.
    expect(result.nodes.find((n) => n.id === '4:cart')).toBeUndefined();
    expect(result.topPaths.find((p) => p.path[0] === 'home' && p.count === 3)?.path).toEqual([
      'home',
      'list',
    ]);
  });

  it('reads only included events, never excluded ones', async () => {
    const included = await run({ ...base, includeEvents: ['search'] });
    expect(new Set(included.nodes.map((n) => n.name))).toEqual(new Set(['home', 'search']));
    const excluded = await run({ ...base, excludeEvents: ['list'] });
    expect(excluded.nodes.some((n) => n.name === 'list')).toBe(false);
    expect(excluded.topPaths.map((p) => p.path)).toContainEqual(['home', 'item', 'cart', 'pay']);
  });

  it('filters the start event; a missing property does not match', async () => {
    const result = await run({
      ...base,
      start: { event: 'home', filters: [{ field: 'properties.src', op: 'eq', value: 'ad' }] },
    });
    expect(result.topPaths).toEqual([{ path: ['home'], count: 1, share: 1 }]);
  });

  it('filters the start event on person traits', async () => {
    const result = await run({
      ...base,
      start: { event: 'home', filters: [{ field: 'person.vip', op: 'eq', value: true }] },
    });
    expect(result.topPaths).toEqual([{ path: ['home', 'list', 'item'], count: 1, share: 1 }]);
  });

  it('names page views by their page path', async () => {
    const result = await run({
      ...base,
      start: { event: '$pageview', filters: [{ field: 'page_path', op: 'eq', value: '/' }] },
      pagePaths: true,
    });
    expect(result.topPaths).toEqual([{ path: ['/', '/p/1', 'buy'], count: 1, share: 1 }]);
  });

  it('takes start events by days in the project time zone; later events may follow after the range', async () => {
    const result = await run({ ...base, start: { event: 'landing' } });
    expect(result.topPaths).toEqual([{ path: ['landing', 'list'], count: 1, share: 1 }]);
  });

  it('applies query filters to every event', async () => {
    const result = await run({ ...base, filters: [{ field: 'event', op: 'neq', value: 'search' }] });
    expect(result.nodes.some((n) => n.name === 'search')).toBe(false);
    // u3 (home, search) and u7's second session (home, search) end at home.
    expect(result.topPaths.find((p) => p.path.length === 1)).toEqual({
      path: ['home'],
      count: 3,
      share: 3 / 8,
    });
  });

  it('answers an empty range with no paths', async () => {
    const result = await run({ ...base, dateRange: { from: '2024-01-01', to: '2024-01-31' } });
    expect(result).toEqual({ total: 0, nodes: [], links: [], topPaths: [], steps: [] });
  });
});

describe('paths before an event', () => {
  it('ends every path at the last start of the session, numbering it as the last step', async () => {
    const result = await run({ ...base, start: { event: 'item' }, direction: 'before', depth: 2 });
    // u1 (list list collapsed), u2 and P6 all reach item through home → list.
    expect(result.topPaths).toEqual([{ path: ['home', 'list', 'item'], count: 3, share: 1 }]);
    expect(result.nodes.map((n) => n.id)).toEqual(['1:home', '2:list', '3:item']);
    expect(result.steps).toEqual([
      { step: 1, paths: 3, dropped: 3 },
      { step: 2, paths: 3, dropped: 0 },
      { step: 3, paths: 3, dropped: 0 },
    ]);
  });
});

describe('paths query validation', () => {
  const fieldOf = (body: unknown) => {
    try {
      pathsAnalysis.parse(body);
    } catch (error) {
      expect(error).toBeInstanceOf(PulseloopError);
      return (error as PulseloopError).details.field;
    }
    throw new Error('expected an error');
  };

  it('names the wrong field', () => {
    expect(fieldOf({ ...base, depth: 11 })).toBe('depth');
    expect(fieldOf({ ...base, start: {} })).toBe('start.event');
    expect(fieldOf({ ...base, direction: 'sideways' })).toBe('direction');
    expect(fieldOf({ ...base, excludeEvents: ['home'] })).toBe('excludeEvents');
    expect(fieldOf({ ...base, includeEvents: ['a', 5] })).toBe('includeEvents[1]');
    expect(fieldOf({ ...base, start: { event: 'home', filters: [{ field: 'platform', op: 'nope' }] } })).toBe(
      'start.filters[0].op',
    );
  });
});
