import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/govern/audit.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Breakdown exports withhold rows that describe fewer than k persons and can add Laplace noise to
// person counts. Fixture: 7 persons on the web (2 events each), 2 persons in the app, and content
// statistics (platform aggregates, no person behind them).
let t: TestServer;
const dateRange = { from: '2025-03-03', to: '2025-03-04' };

beforeAll(async () => {
  t = await startTestServer();
  const event = (platform: string, person: string) =>
    JSON.stringify({
      project_id: t.projectId,
      message_id: randomUUID(),
      type: 'track',
      event: 'open',
      distinct_id: person,
      platform,
      timestamp: Date.parse('2025-03-03T12:00:00+08:00'),
      received_at: Date.parse('2025-03-03T12:00:00+08:00'),
    });
  const rows = [
    ...Array.from({ length: 7 }, (_, i) => [event('web', `w${i}`), event('web', `w${i}`)]).flat(),
    event('app', 'a1'),
    event('app', 'a2'),
  ];
  await t.server.facts.insertJsonEachRow('events', rows.join('\n'));
  await t.server.facts.insertJsonEachRow(
    'content_stats',
    ['douyin', 'kuaishou']
      .map((platform, i) =>
        JSON.stringify({
          project_id: t.projectId,
          platform,
          account_id: 'a',
          content_id: `v${i}`,
          date: '2025-03-03',
          plays: 3 + i,
        }),
      )
      .join('\n'),
  );
});
afterAll(() => t.close());

async function exportBreakdown(body: unknown) {
  const response = await t.api(`/api/v1/projects/${t.projectId}/exports/breakdown`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const type = response.headers.get('content-type') ?? '';
  // biome-ignore lint/suspicious/noExplicitAny: the answer is checked field by field
  const answer: any = type.includes('json') ? await response.json() : await response.text();
  return { status: response.status, answer };
}

describe('privacy-safe breakdown exports', () => {
  it('withholds the numbers of rows with fewer than k persons and keeps the rest exact', async () => {
    const { status, answer } = await exportBreakdown({
      query: { metrics: ['events'], dimensions: ['platform'], dateRange },
    });
    expect(status).toBe(200);
    expect(answer.k).toBe(5);
    expect(answer.metrics.map((m: { id: string }) => m.id)).toEqual(['events', 'active_persons']);
    const byPlatform = Object.fromEntries(answer.rows.map((r: { values: string[] }) => [r.values[0], r]));
    expect(byPlatform.web).toEqual({ values: ['web'], metrics: [14, 7], persons: 7, suppressed: false });
    expect(byPlatform.app).toEqual({
      values: ['app'],
      metrics: [null, null],
      persons: null,
      suppressed: true,
    });
    expect(answer.suppressedRows).toBe(1);
  });

  it('follows the k asked for', async () => {
    const { answer } = await exportBreakdown({
      query: { metrics: ['events'], dimensions: ['platform'], dateRange },
      k: 8,
    });
    expect(answer.rows.every((r: { suppressed: boolean }) => r.suppressed)).toBe(true);
  });

  it('never suppresses platform aggregates, which describe no person', async () => {
    const { answer } = await exportBreakdown({
      query: { metrics: ['plays'], dimensions: ['platform'], dateRange },
    });
    expect(answer.metrics.map((m: { id: string }) => m.id)).toEqual(['plays']);
    const plays = Object.fromEntries(
      answer.rows.map((r: { values: string[]; metrics: number[] }) => [r.values[0], r.metrics[0]]),
    );
    expect(plays).toEqual({ douyin: 3, kuaishou: 4 });
    expect(answer.suppressedRows).toBe(0);
  });

  it('adds reproducible Laplace noise to person counts for a chosen epsilon', async () => {
    const body = {
      query: { metrics: ['events'], dimensions: ['platform'], dateRange },
      epsilon: 0.5,
      seed: 42,
    };
    const first = await exportBreakdown(body);
    const again = await exportBreakdown(body);
    expect(again.answer.rows).toEqual(first.answer.rows);
    const web = first.answer.rows.find((r: { values: string[] }) => r.values[0] === 'web');
    expect(Number.isInteger(web.persons)).toBe(true);
    expect(web.persons).toBeGreaterThanOrEqual(0);
    // Event counts are not person counts: they stay exact.
    expect(web.metrics[0]).toBe(14);
    expect(first.answer.epsilon).toBe(0.5);
  });

  it('answers CSV with empty cells where numbers are withheld, and records the export in the audit log', async () => {
    const { status, answer } = await exportBreakdown({
      query: { metrics: ['events'], dimensions: ['platform'], dateRange },
      format: 'csv',
    });
    expect(status).toBe(200);
    const lines = (answer as string).trim().split('\n');
    expect(lines[0]).toBe('platform,events,active_persons,persons,suppressed');
    expect(lines).toContain('web,14,7,7,false');
    expect(lines).toContain('app,,,,true');
    const { entries } = await listAudit(t.server.metadata, {
      projectId: t.projectId,
      action: 'data.export',
      limit: 50,
    });
    expect(entries.length).toBeGreaterThan(0);
    expect(entries[0]!.details).toMatchObject({
      metrics: ['events', 'active_persons'],
      suppressedRows: 1,
      k: 5,
    });
  });

  it('names what is wrong in a bad request', async () => {
    const noDimension = await exportBreakdown({ query: { metrics: ['events'], dateRange } });
    expect(noDimension.status).toBe(400);
    expect(JSON.stringify(noDimension.answer)).toContain('query.dimensions');
    expect(noDimension.answer.error.message_zh).toContain('按维度分组导出时至少需要一个维度');
    const badK = await exportBreakdown({
      query: { metrics: ['events'], dimensions: ['platform'], dateRange },
      k: 1,
    });
    expect(badK.status).toBe(400);
    const badMetric = await exportBreakdown({
      query: { metrics: ['nope'], dimensions: ['platform'], dateRange },
    });
    expect(badMetric.status).toBe(400);
    expect(JSON.stringify(badMetric.answer)).toContain('nope');
  });
});
