import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilters } from '../../src/analyze/query/filters.js';
import { SqlParams } from '../../src/analyze/query/params.js';
import {
  bindProject,
  eventSource,
  PERSON_SQL,
  parseDateRange,
  previousPeriod,
  projectContext,
} from '../../src/analyze/query/scope.js';
import { PulseloopError } from '../../src/errors/registry.js';
import { type AnalyticsFixture, openAnalyticsFixture } from '../support/analytics-fixture.js';

let fx: AnalyticsFixture;

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
  await fx.events([
    // 23:59 and 00:01 Shanghai time on either side of midnight of 2025-03-02.
    {
      event: 'view',
      distinct_id: 'anon-1',
      at: '2025-03-01T15:59:00Z',
      platform: 'douyin',
      properties: { price: 39, sku: 'A' },
    },
    {
      event: 'view',
      distinct_id: 'anon-1',
      at: '2025-03-01T16:01:00Z',
      platform: 'douyin',
      properties: { price: '59' },
    },
    { event: 'buy', distinct_id: 'user-1', at: '2025-03-01T16:05:00Z', platform: 'web', revenue: 59 },
    { event: 'view', distinct_id: 'anon-2', at: '2025-03-02T03:00:00Z', platform: 'weibo' },
  ]);
  // anon-1 identified later as user-1: its earlier views belong to person P1.
  await fx.identities([
    { distinct_id: 'anon-1', person_id: 'P1' },
    { distinct_id: 'user-1', person_id: 'P1', id_type: 'user' },
  ]);
  await fx.persons([{ person_id: 'P1', traits: JSON.stringify({ city: '杭州', vip: true }) }]);
});

afterAll(() => fx.close());

async function rows(range: { from: string; to: string }, filters?: unknown) {
  const project = await projectContext(fx.metadata, fx.projectId);
  const params = new SqlParams();
  bindProject(params, project);
  const source = eventSource({ range, filters }, params);
  return fx.facts.query<{ event: string; person: string; day: string }>(
    `WITH ${source.ctes}
     SELECT e.event AS event, ${PERSON_SQL} AS person, toString(toDate(e.timestamp, {tz:String})) AS day
     FROM ${source.from} WHERE ${source.where} ORDER BY e.timestamp`,
    params.values,
  );
}

describe('analysis scope', () => {
  it('cuts days at midnight in the project time zone, not UTC', async () => {
    const first = await rows({ from: '2025-03-01', to: '2025-03-01' });
    expect(first.map((r) => r.day)).toEqual(['2025-03-01']);
    const second = await rows({ from: '2025-03-02', to: '2025-03-02' });
    expect(second.map((r) => r.event)).toEqual(['view', 'buy', 'view']);
  });

  it('maps events sent before identify to the merged person', async () => {
    const all = await rows({ from: '2025-03-01', to: '2025-03-02' });
    expect(all.map((r) => r.person)).toEqual(['P1', 'P1', 'P1', 'anon-2']);
  });

  it('follows the latest mapping of an id, and none once its mapping is deleted', async () => {
    // Separate parts (not merged yet): the map must still take the latest version of each id.
    await fx.identities([{ distinct_id: 'anon-2', person_id: 'P2', version: 1 }]);
    await fx.identities([{ distinct_id: 'anon-2', person_id: 'P3', version: 2 }]);
    const remapped = await rows({ from: '2025-03-02', to: '2025-03-02' });
    expect(remapped.at(-1)?.person).toBe('P3');
    await fx.identities([{ distinct_id: 'anon-2', person_id: 'P3', version: 3, is_deleted: 1 }]);
    const deleted = await rows({ from: '2025-03-02', to: '2025-03-02' });
    expect(deleted.at(-1)?.person).toBe('anon-2');
  });

  it('filters on columns, properties (as text or number) and person traits', async () => {
    const range = { from: '2025-03-01', to: '2025-03-02' };
    expect(await rows(range, [{ field: 'platform', op: 'in', value: ['douyin', 'weibo'] }])).toHaveLength(3);
    expect(await rows(range, [{ field: 'properties.price', op: 'gte', value: 50 }])).toHaveLength(1);
    expect(await rows(range, [{ field: 'properties.price', op: 'eq', value: '39' }])).toHaveLength(1);
    expect(await rows(range, [{ field: 'properties.sku', op: 'is_set' }])).toHaveLength(1);
    expect(await rows(range, [{ field: 'person.city', op: 'eq', value: '杭州' }])).toHaveLength(3);
    expect(await rows(range, [{ field: 'person.vip', op: 'eq', value: true }])).toHaveLength(3);
  });

  it('answers an empty range with no rows', async () => {
    expect(await rows({ from: '2024-01-01', to: '2024-01-31' })).toEqual([]);
  });

  it('keeps hostile values as bound data', async () => {
    const hostile = "x' OR 1=1 --";
    expect(
      await rows({ from: '2025-03-01', to: '2025-03-02' }, [{ field: 'platform', op: 'eq', value: hostile }]),
    ).toEqual([]);
  });
});

describe('query validation names the wrong field', () => {
  const fieldOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(PulseloopError);
      return (error as PulseloopError).details.field;
    }
    throw new Error('expected an error');
  };

  it('rejects unknown fields, operators and bad values', () => {
    const p = new SqlParams();
    expect(fieldOf(() => compileFilters([{ field: 'nope', op: 'eq', value: 1 }], p))).toBe(
      'filters[0].field',
    );
    expect(fieldOf(() => compileFilters([{ field: 'platform', op: 'like', value: 1 }], p))).toBe(
      'filters[0].op',
    );
    expect(fieldOf(() => compileFilters([{ field: 'revenue', op: 'gt', value: 'lots' }], p))).toBe(
      'filters[0].value',
    );
    expect(fieldOf(() => compileFilters([{ field: "properties.a'b", op: 'eq', value: 1 }], p))).toBe(
      'filters[0].field',
    );
    expect(fieldOf(() => compileFilters({}, p))).toBe('filters');
  });

  it('rejects impossible dates and reversed ranges, and computes the previous period', () => {
    expect(fieldOf(() => parseDateRange({ from: '2025-02-30', to: '2025-03-01' }))).toBe('dateRange.from');
    expect(fieldOf(() => parseDateRange({ from: '2025-03-02', to: '2025-03-01' }))).toBe('dateRange');
    expect(previousPeriod({ from: '2025-03-01', to: '2025-03-07' })).toEqual({
      from: '2025-02-22',
      to: '2025-02-28',
    });
  });

  it('answers an unknown project with 404', async () => {
    await expect(projectContext(fx.metadata, 'missing')).rejects.toMatchObject({
      code: 'unknown_project',
      status: 404,
    });
  });
});
