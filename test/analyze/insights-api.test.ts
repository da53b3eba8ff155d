import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
}, 60_000);

afterAll(() => t?.close());

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  // As the project's owner (t.api adds the token); a header given here wins.
  const response = await t.api(path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

const api = (path: string) => `/api/v1/projects/${t.projectId}${path}`;

async function track(event: string, anonymousId: string, timestamp: string) {
  const response = await call(
    'POST',
    '/v1/track',
    { event, anonymousId, timestamp, properties: {} },
    { authorization: basicAuth(t.writeKey) },
  );
  expect(response.status).toBe(200);
}

const query = {
  metrics: ['pageviews', 'events'],
  dateRange: { from: '2025-03-01', to: '2025-03-02' },
};

describe('trends through the API with the result cache', () => {
  it('serves a second identical query from the cache and drops it when events arrive in its range', async () => {
    await track('$pageview', 'visitor-1', '2025-03-01T02:00:00Z');
    await track('$pageview', 'visitor-1', '2025-03-02T02:00:00Z');
    await t.settle();

    const first = await call('POST', api('/analyses/trends'), query);
    expect(first.status).toBe(200);
    expect(first.json.meta.cached).toBe(false);
    expect(first.json.result.totals[0]).toMatchObject({ metric: 'pageviews', value: 2 });

    // Same query, keys in another order: the same canonical query.
    const second = await call('POST', api('/analyses/trends'), {
      dateRange: { to: '2025-03-02', from: '2025-03-01' },
      metrics: ['pageviews', 'events'],
    });
    expect(second.json.meta.cached).toBe(true);
    expect(second.json.result).toEqual(first.json.result);

    // An event of the same visitor far outside the range leaves the cached result alone.
    await track('$pageview', 'visitor-1', '2025-06-01T02:00:00Z');
    await t.settle();
    expect((await call('POST', api('/analyses/trends'), query)).json.meta.cached).toBe(true);

    // An event inside the range changes the result.
    await track('$pageview', 'visitor-1', '2025-03-02T03:00:00Z');
    await t.settle();
    const third = await call('POST', api('/analyses/trends'), query);
    expect(third.json.meta.cached).toBe(false);
    expect(third.json.result.totals[0]).toMatchObject({ metric: 'pageviews', value: 3 });
    const points = third.json.result.series[0].points;
    expect(points).toEqual([
      { t: '2025-03-01', value: 1 },
      { t: '2025-03-02', value: 2 },
    ]);
  });

  it('answers 400 naming the wrong field', async () => {
    const bad = await call('POST', api('/analyses/trends'), { ...query, dimensions: ['colour'] });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'invalid_query', details: { field: 'dimensions[0]' } });
    expect(bad.json.error.message_zh).toContain('dimensions[0]');
    expect(bad.json.error.message).toContain('unknown dimension "colour"');
    expect(bad.json.error.message_zh).toContain('未知维度 "colour"');
    expect(bad.json.error.message_zh).not.toContain('unknown dimension');
    const notApplicable = await call('POST', api('/analyses/trends'), {
      ...query,
      metrics: ['plays'],
      dimensions: ['region'],
    });
    expect(notApplicable.status).toBe(400);
    expect(notApplicable.json.error.details.field).toBe('dimensions[0]');
    const unknownMetric = await call('POST', api('/analyses/trends'), {
      ...query,
      metrics: ['pageviews', 'nope'],
    });
    expect(unknownMetric.json.error.details.field).toBe('metrics[1]');
  });
});

describe('metrics catalogue and custom metrics', () => {
  it('lists every metric with names in both languages, unit, dimensions and table', async () => {
    const { status, json } = await call('GET', api('/metrics'));
    expect(status).toBe(200);
    const byId = Object.fromEntries(json.metrics.map((m: { id: string }) => [m.id, m]));
    expect(byId.interaction_rate).toMatchObject({
      zh: '互动率',
      unit: 'ratio',
      format: 'percent',
      tables: ['content_stats'],
      higherIsBetter: true,
    });
    expect(byId.interaction_rate.dimensions).toContain('platform');
    expect(byId.interaction_rate.dimensions).not.toContain('region');
    expect(byId.dau.tables).toEqual(['events']);
    for (const id of [
      'ctr',
      'cvr',
      'cpm',
      'cpc',
      'cpa',
      'roas',
      'roi',
      'gmv',
      'aov',
      'nps',
      'd7_retention',
    ]) {
      expect(byId[id], id).toBeDefined();
    }
  });

  it('adds a custom metric without code and queries it; a bad formula is a 400 naming the field', async () => {
    const saved = await call('PUT', api('/metrics/pageviews_per_event'), {
      en: 'Page views per event',
      zh: '每事件浏览量',
      definition: { type: 'formula', expression: 'pageviews / events' },
    });
    expect(saved.status).toBe(200);
    expect(saved.json.metric).toMatchObject({ id: 'pageviews_per_event', unit: 'ratio' });
    const result = await call('POST', api('/analyses/trends'), {
      ...query,
      metrics: ['pageviews_per_event'],
      granularity: 'total',
    });
    expect(result.json.result.totals[0].value).toBe(1);

    const bad = await call('PUT', api('/metrics/broken'), {
      en: 'Broken',
      definition: { type: 'formula', expression: 'pageviews / (events' },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({
      code: 'invalid_metric',
      details: { field: 'definition.expression' },
    });
    expect(bad.json.error.message).toContain('missing ")" at 19');
    expect(bad.json.error.message_zh).toBe('指标定义的 "definition.expression" 无效：位置 19 处缺少 ")"');
    const shape = await call('PUT', api('/metrics/broken'), {
      en: 'Broken',
      definition: { type: 'sql', text: '1' },
    });
    expect(shape.status).toBe(400);

    expect((await call('DELETE', api('/metrics/pageviews_per_event'))).status).toBe(204);
    const gone = await call('POST', api('/analyses/trends'), { ...query, metrics: ['pageviews_per_event'] });
    expect(gone.json.error.details.field).toBe('metrics[0]');
  });
});

describe('saved insights and dashboards', () => {
  it('saves, runs, lists, updates and deletes insights and dashboards', async () => {
    const created = await call('POST', api('/insights'), { name: 'Daily page views', kind: 'trends', query });
    expect(created.status).toBe(201);
    const id = created.json.insight.id;
    expect(created.json.insight.query.granularity).toBe('day');

    const results = await call('GET', api(`/insights/${id}/results`));
    expect(results.json.result.totals[0]).toMatchObject({ metric: 'pageviews', value: 3 });

    const dashboard = await call('POST', api('/dashboards'), {
      name: 'Traffic',
      tiles: [{ insightId: id, x: 0, y: 0, w: 6, h: 4 }],
    });
    expect(dashboard.status).toBe(201);
    const dashboardId = dashboard.json.dashboard.id;
    const badTile = await call('POST', api('/dashboards'), {
      name: 'Broken',
      tiles: [{ insightId: 'missing', x: 0, y: 0, w: 6, h: 4 }],
    });
    expect(badTile.json.error).toMatchObject({
      code: 'invalid_insight',
      details: { field: 'tiles[0].insightId' },
    });

    const renamed = await call('PUT', api(`/insights/${id}`), { name: 'Page views', kind: 'trends', query });
    expect(renamed.json.insight.name).toBe('Page views');
    const badQuery = await call('PUT', api(`/insights/${id}`), {
      name: 'x',
      kind: 'trends',
      query: { ...query, granularity: 'year' },
    });
    expect(badQuery.json.error.details.field).toBe('query.granularity');
    // The query's own error, carried into the insight's error in both languages.
    expect(badQuery.json.error.message_zh).toBe(
      '看板或洞察的 "query.granularity" 无效：必须是 hour、day、week、month、total 之一',
    );
    expect((await call('GET', api('/insights'))).json.insights).toHaveLength(1);

    expect((await call('DELETE', api(`/insights/${id}`))).status).toBe(204);
    expect((await call('GET', api(`/insights/${id}`))).status).toBe(404);
    // Deleting the insight removed its tile.
    expect((await call('GET', api(`/dashboards/${dashboardId}`))).json.dashboard.tiles).toEqual([]);
    expect((await call('DELETE', api(`/dashboards/${dashboardId}`))).status).toBe(204);
    expect((await call('GET', api('/dashboards'))).json.dashboards).toEqual([]);
  });

  it('keeps projects apart', async () => {
    const other = await t.newProject('Other brand');
    await call('POST', api('/insights'), { name: 'Mine', kind: 'trends', query });
    const theirs = await call('GET', `/api/v1/projects/${other.projectId}/insights`);
    expect(theirs.json.insights).toEqual([]);
    // The first project's token does not open the other project at all.
    const crossed = await call(
      'GET',
      `/api/v1/projects/${other.projectId}/insights`,
      undefined,
      t.authHeaders(),
    );
    expect([crossed.status, crossed.json.error.code]).toEqual([404, 'unknown_project']);
  });
});
