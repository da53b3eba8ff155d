import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

/*
 * The content analyses through a real server: two Douyin videos on 2025-03-01, one of them
 * re-imported with corrected numbers, and one comment.
 *   V1: 20 s, #茶, 1000 plays, 60 interactions, completion 0.6, published 2025-03-01 08:00 Shanghai
 *   V2: 90 s, #tea, 400 plays (first export said 100), 20 interactions, completion 0.25
 */

let ts: TestServer;
const dateRange = { from: '2025-03-01', to: '2025-03-01' };

function statsRow(projectId: string, row: Record<string, unknown>) {
  return {
    project_id: projectId,
    platform: 'douyin',
    account_id: 'dy_main',
    date: '2025-03-01',
    content_type: 'video',
    published_at: Date.parse('2025-03-01T00:00:00Z'),
    updated_at: Date.parse('2025-03-02T02:00:00Z'),
    ...row,
  };
}

beforeAll(async () => {
  ts = await startTestServer();
  const rows = [
    statsRow(ts.projectId, {
      content_id: 'V1',
      title: '冷泡茶',
      duration_seconds: 20,
      tags: ['#茶'],
      plays: 1000,
      likes: 40,
      comments: 10,
      shares: 5,
      favourites: 5,
      completion_rate: 0.6,
    }),
    statsRow(ts.projectId, {
      content_id: 'V2',
      title: '茶山',
      duration_seconds: 90,
      tags: ['#tea'],
      plays: 100,
      likes: 1,
      completion_rate: 0.9,
    }),
  ];
  const corrected = statsRow(ts.projectId, {
    content_id: 'V2',
    title: '茶山',
    duration_seconds: 90,
    tags: ['#tea'],
    plays: 400,
    likes: 20,
    completion_rate: 0.25,
    updated_at: Date.parse('2025-03-03T02:00:00Z'),
  });
  const facts = ts.server.facts;
  await facts.insertJsonEachRow('content_stats', rows.map((r) => JSON.stringify(r)).join('\n'));
  await facts.insertJsonEachRow('content_stats', JSON.stringify(corrected));
  await facts.insertJsonEachRow(
    'comments',
    JSON.stringify({
      project_id: ts.projectId,
      platform: 'douyin',
      content_id: 'V1',
      comment_id: 'k1',
      text: '好喝',
      created_at: Date.parse('2025-03-01T04:00:00Z'),
      sentiment: 'positive',
      updated_at: Date.parse('2025-03-01T04:00:00Z'),
    }),
  );
}, 60_000);

afterAll(() => ts.close());

async function post(kind: string, body: unknown) {
  const response = await ts.api(`/api/v1/projects/${ts.projectId}/analyses/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the assertions below check the shape of the answer
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe('content analyses over HTTP', () => {
  it('lists the content analyses with their names in both languages', async () => {
    const response = await fetch(`${ts.url}/api/v1/analyses`);
    const { analyses } = (await response.json()) as { analyses: { kind: string; zh: string }[] };
    const kinds = analyses.map((a) => a.kind);
    for (const kind of [
      'content_leaderboard',
      'content_post',
      'content_topics',
      'content_timing',
      'content_compare',
      'content_length',
    ]) {
      expect(kinds).toContain(kind);
    }
    expect(analyses.find((a) => a.kind === 'content_leaderboard')?.zh).toBe('内容排行榜');
  });

  it('serves the leaderboard sorted by completion rate, counting the re-import once', async () => {
    const { status, body } = await post('content_leaderboard', {
      dateRange,
      sort: { by: 'completion_rate', direction: 'desc' },
    });
    expect(status).toBe(200);
    expect(body.result.total).toBe(2);
    expect(body.result.rows.map((r: { contentId: string }) => r.contentId)).toEqual(['V1', 'V2']);
    expect(body.result.rows[1].metrics).toMatchObject({ plays: 400, likes: 20, completion_rate: 0.25 });
  });

  it('answers 400 naming the field for an unknown sort metric, in English and Chinese', async () => {
    const { status, body } = await post('content_leaderboard', { dateRange, sort: { by: 'virality' } });
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_query');
    expect(body.error.details.field).toBe('sort.by');
    expect(body.error.message).toContain('sort.by');
    expect(body.error.message_zh).toContain('sort.by');
  });

  it('serves one post with its comments, and 404 for a post the platform never reported', async () => {
    const ok = await post('content_post', { platform: 'douyin', contentId: 'V1', dateRange });
    expect(ok.status).toBe(200);
    expect(ok.body.result.totals.interactions).toBe(60);
    expect(ok.body.result.comments.sentiment.positive).toBe(1);
    const missing = await post('content_post', { platform: 'weibo', contentId: 'V1', dateRange });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('content_not_found');
    const bad = await post('content_post', { platform: 'douyin', dateRange });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe('contentId');
  });

  it('serves topics, posting time, comparison and length buckets, each naming its wrong field', async () => {
    const topics = await post('content_topics', { dateRange });
    expect(topics.body.result.rows.map((r: { tag: string }) => r.tag)).toEqual(['#茶', '#tea']);
    expect((await post('content_topics', { dateRange, sort: { by: 'heat' } })).body.error.details.field).toBe(
      'sort.by',
    );

    const timing = await post('content_timing', { dateRange });
    // Both went up at 08:00 on Saturday 2025-03-01 in Shanghai (00:00 UTC).
    expect(timing.body.result.cells).toMatchObject([{ weekday: 6, hour: 8, posts: 2, plays: 1400 }]);
    expect(
      (await post('content_timing', { dateRange: { from: '2025-03-01' } })).body.error.details.field,
    ).toBe('dateRange.to');

    const compare = await post('content_compare', { dateRange, by: 'account' });
    expect(compare.body.result.rows).toMatchObject([{ platform: 'douyin', accountId: 'dy_main', posts: 2 }]);
    expect((await post('content_compare', { dateRange, by: 'region' })).body.error.details.field).toBe('by');

    const length = await post('content_length', { dateRange });
    const completion = length.body.result.buckets.map(
      (b: { metrics: { completion_rate: number | null } }) => b.metrics.completion_rate,
    );
    expect(completion).toEqual([null, 0.6, null, 0.25, null]);
    expect((await post('content_length', { dateRange, edges: [10, -5] })).body.error.details.field).toBe(
      'edges[1]',
    );
  });
});
