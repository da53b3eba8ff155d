import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisContext } from '../../src/analyze/analysis.js';
import { contentCompare } from '../../src/analyze/content/compare.js';
import { contentLeaderboard } from '../../src/analyze/content/leaderboard.js';
import { contentLength } from '../../src/analyze/content/length.js';
import { contentPost } from '../../src/analyze/content/post.js';
import { contentTiming } from '../../src/analyze/content/timing.js';
import { contentTopics } from '../../src/analyze/content/topics.js';
import { projectContext } from '../../src/analyze/query/scope.js';
import { trends } from '../../src/analyze/trends.js';
import { PulseloopError } from '../../src/errors/registry.js';
import type { CommentRow, ContentStatsRow } from '../../src/store/facts/rows.js';
import { type AnalyticsFixture, openAnalyticsFixture } from '../support/analytics-fixture.js';

/*
 * The fixture world (project time zone Asia/Shanghai, range 2025-03-01 … 2025-03-03):
 *
 * post  platform/account      type   length  tags          published (Shanghai)   days: plays/likes/comments/shares/favs/completion/watch/followers
 * A     douyin/dy_main        video  20 s    #茶 #tea      Sat 03-01 00:30        03-01: 1000/50/10/20/20/0.5/12/5   03-02: 3000/90/30/30/30/0.3/8/10
 * B     douyin/dy_second      video  90 s    #茶           Sun 03-02 10:00        03-02: 4000/100/20/40/40/0.2/30/8
 * C     weibo/wb_main         image  0       #tea          Sun 03-02 00:01        03-03: 500/10/5/5/5/0/0/2
 *       (C is published 2025-03-01T16:01Z: still Saturday 16h in UTC)
 * D     weibo/wb_main         video  200 s   (none)        unknown                03-01: 0 plays, −1 follower
 * E     douyin/dy_main        video  30 s    #茶           —                      02-20 only (outside the range)
 *
 * A's 03-02 row is imported twice: first with wrong numbers (plays 9999), then corrected by a newer
 * export; the whole of A is then imported again unchanged. Only the newest row of a day counts.
 */

let fx: AnalyticsFixture;
let context: AnalysisContext;

const insertStats = (rows: StatsRow[]) =>
  fx.insert(
    'content_stats',
    rows.map((row) => ({ project_id: fx.projectId, ...row })),
  );
const range = { from: '2025-03-01', to: '2025-03-03' };

type StatsRow = Omit<ContentStatsRow, 'project_id'>;

/** A statistics row with neutral defaults (the project is added on insert). */
function stats(row: Partial<StatsRow> & Pick<StatsRow, 'content_id' | 'date'>): StatsRow {
  return {
    platform: 'douyin',
    account_id: 'dy_main',
    title: `Post ${row.content_id}`,
    content_type: 'video',
    published_at: null,
    duration_seconds: 0,
    tags: [],
    impressions: 0,
    plays: 0,
    unique_viewers: 0,
    likes: 0,
    comments: 0,
    shares: 0,
    favourites: 0,
    completion_rate: 0,
    avg_watch_seconds: 0,
    followers_gained: 0,
    profile_visits: 0,
    source_id: 'fixture',
    updated_at: Date.parse('2025-03-05T00:00:00Z'),
    ...row,
  };
}

const A = {
  content_id: 'A',
  duration_seconds: 20,
  tags: ['#茶', '#tea'],
  published_at: Date.parse('2025-02-28T16:30:00Z'),
};
const aDay1 = stats({
  ...A,
  date: '2025-03-01',
  plays: 1000,
  likes: 50,
  comments: 10,
  shares: 20,
  favourites: 20,
  completion_rate: 0.5,
  avg_watch_seconds: 12,
  followers_gained: 5,
});
const aDay2 = stats({
  ...A,
  date: '2025-03-02',
  plays: 3000,
  likes: 90,
  comments: 30,
  shares: 30,
  favourites: 30,
  completion_rate: 0.3,
  avg_watch_seconds: 8,
  followers_gained: 10,
});

function comment(row: Partial<CommentRow> & Pick<CommentRow, 'comment_id' | 'created_at'>): CommentRow {
  return {
    project_id: fx.projectId,
    platform: 'douyin',
    content_id: 'A',
    parent_id: '',
    author_id: `author-${row.comment_id}`,
    author_name: `Author ${row.comment_id}`,
    text: `text ${row.comment_id}`,
    like_count: 0,
    language: 'zh',
    sentiment: '',
    sentiment_score: 0,
    source_id: 'fixture',
    updated_at: row.created_at + 1000,
    ...row,
  };
}

beforeAll(async () => {
  fx = await openAnalyticsFixture('Asia/Shanghai');
  context = {
    facts: fx.facts,
    metadata: fx.metadata,
    project: await projectContext(fx.metadata, fx.projectId),
  };
  // A wrong first export of A's second day, replaced by a newer one below.
  await insertStats([{ ...aDay2, plays: 9999, likes: 999, updated_at: Date.parse('2025-03-03T00:00:00Z') }]);
  await insertStats([
    aDay1,
    aDay2,
    stats({
      content_id: 'B',
      account_id: 'dy_second',
      date: '2025-03-02',
      duration_seconds: 90,
      tags: ['#茶'],
      published_at: Date.parse('2025-03-02T02:00:00Z'),
      plays: 4000,
      likes: 100,
      comments: 20,
      shares: 40,
      favourites: 40,
      completion_rate: 0.2,
      avg_watch_seconds: 30,
      followers_gained: 8,
    }),
    stats({
      content_id: 'C',
      platform: 'weibo',
      account_id: 'wb_main',
      content_type: 'image_post',
      date: '2025-03-03',
      tags: ['#tea'],
      published_at: Date.parse('2025-03-01T16:01:00Z'),
      plays: 500,
      likes: 10,
      comments: 5,
      shares: 5,
      favourites: 5,
      followers_gained: 2,
    }),
    stats({
      content_id: 'D',
      platform: 'weibo',
      account_id: 'wb_main',
      date: '2025-03-01',
      duration_seconds: 200,
      followers_gained: -1,
    }),
    stats({ content_id: 'E', date: '2025-02-20', duration_seconds: 30, tags: ['#茶'], plays: 70_000 }),
  ]);
  // The same export of A once more, unchanged: replaces itself.
  await insertStats([aDay1, aDay2]);

  await fx.insert('comments', [
    comment({ comment_id: 'c1', created_at: Date.parse('2025-03-01T03:00:00Z'), sentiment: 'positive' }),
    // 23:59 on 03-02 in Shanghai: inside the range.
    comment({ comment_id: 'c2', created_at: Date.parse('2025-03-02T15:59:00Z'), sentiment: 'negative' }),
    // 00:00 on 03-04 in Shanghai (still 03-03 in UTC): outside the range.
    comment({ comment_id: 'c3', created_at: Date.parse('2025-03-03T16:00:00Z'), sentiment: 'neutral' }),
    // Imported before its sentiment was labelled, then again with it.
    comment({ comment_id: 'c4', created_at: Date.parse('2025-03-02T10:00:00Z'), sentiment: '' }),
    // Same post id on another platform: not this post.
    comment({ comment_id: 'c5', created_at: Date.parse('2025-03-02T10:00:00Z'), platform: 'weibo' }),
  ]);
  await fx.insert('comments', [
    comment({
      comment_id: 'c4',
      created_at: Date.parse('2025-03-02T10:00:00Z'),
      sentiment: 'neutral',
      updated_at: Date.parse('2025-03-06T00:00:00Z'),
    }),
  ]);

  // Tracked plays of A: anon-1 (identified later as user-1, person P1) twice, anon-2 once without
  // a completion property; one play the evening before the range (Shanghai) and one of another post.
  await fx.events([
    {
      event: 'video_played',
      distinct_id: 'anon-1',
      at: '2025-03-01T05:00:00Z',
      platform: 'douyin',
      content_id: 'A',
      properties: { completion: 0.5 },
    },
    {
      event: 'video_played',
      distinct_id: 'user-1',
      at: '2025-03-02T05:00:00Z',
      platform: 'douyin',
      content_id: 'A',
      properties: { completion: 1 },
    },
    {
      event: 'video_played',
      distinct_id: 'anon-2',
      at: '2025-03-02T06:00:00Z',
      platform: 'douyin',
      content_id: 'A',
    },
    {
      event: 'video_played',
      distinct_id: 'anon-3',
      at: '2025-02-28T15:00:00Z',
      platform: 'douyin',
      content_id: 'A',
      properties: { completion: 0.1 },
    },
    {
      event: 'video_played',
      distinct_id: 'anon-3',
      at: '2025-03-02T06:00:00Z',
      platform: 'douyin',
      content_id: 'B',
      properties: { completion: 0.1 },
    },
  ]);
  await fx.identities([
    { distinct_id: 'anon-1', person_id: 'P1' },
    { distinct_id: 'user-1', person_id: 'P1', id_type: 'user' },
  ]);
}, 60_000);

afterAll(() => fx.close());

const leaderboard = (body: Record<string, unknown>) =>
  contentLeaderboard.run(context, contentLeaderboard.parse({ dateRange: range, ...body }));

describe('content leaderboard', () => {
  it('sums each post over the range and computes ratios from the sums', async () => {
    const { rows, total } = await leaderboard({});
    expect(total).toBe(4);
    const a = rows.find((r) => r.contentId === 'A');
    expect(a).toMatchObject({
      platform: 'douyin',
      accountId: 'dy_main',
      title: 'Post A',
      contentType: 'video',
      durationSeconds: 20,
      tags: ['#茶', '#tea'],
      publishedAt: '2025-02-28T16:30:00.000Z',
    });
    // Re-imports count once: plays 1000 + 3000, interactions 100 + 180.
    expect(a?.metrics).toMatchObject({
      plays: 4000,
      likes: 140,
      comments: 40,
      shares: 50,
      favourites: 50,
      interactions: 280,
      followers_gained: 15,
    });
    expect(a?.metrics.interaction_rate).toBeCloseTo(280 / 4000, 12);
    // Plays-weighted completion: (0.5·1000 + 0.3·3000) / 4000 = 0.35, not the daily mean 0.4.
    expect(a?.metrics.completion_rate).toBeCloseTo(0.35, 12);
    expect(a?.metrics.share_rate).toBeCloseTo(50 / 4000, 12);
    // (12·1000 + 8·3000) / 4000 = 9 seconds
    expect(a?.metrics.avg_watch_seconds).toBeCloseTo(9, 12);
  });

  it('answers null, not NaN, for ratios of a post without plays and for completion of an image post', async () => {
    const { rows } = await leaderboard({});
    const d = rows.find((r) => r.contentId === 'D');
    expect(d?.metrics).toMatchObject({
      plays: 0,
      interaction_rate: null,
      completion_rate: null,
      share_rate: null,
      avg_watch_seconds: null,
      followers_gained: -1,
      heat_index: 0,
    });
    const c = rows.find((r) => r.contentId === 'C');
    expect(c?.metrics.completion_rate).toBeNull();
    expect(c?.metrics.interaction_rate).toBeCloseTo(25 / 500, 12);
  });

  it('breaks ties by platform, account and content id, in both directions', async () => {
    // A and B both have 4000 plays; D has none and B, C share an interaction rate of 0.05.
    expect((await leaderboard({})).rows.map((r) => r.contentId)).toEqual(['A', 'B', 'C', 'D']);
    const ascending = await leaderboard({ sort: { by: 'plays', direction: 'asc' } });
    expect(ascending.rows.map((r) => r.contentId)).toEqual(['D', 'C', 'A', 'B']);
    const byRate = await leaderboard({ sort: { by: 'interaction_rate' } });
    expect(byRate.rows.map((r) => r.contentId)).toEqual(['A', 'B', 'C', 'D']);
    // Nulls sort last whichever the direction.
    const byRateAsc = await leaderboard({ sort: { by: 'interaction_rate', direction: 'asc' } });
    expect(byRateAsc.rows.map((r) => r.contentId)).toEqual(['B', 'C', 'A', 'D']);
    // Newest first by publishing time; D has none.
    const byPublished = await leaderboard({ sort: { by: 'published_at' } });
    expect(byPublished.rows.map((r) => r.contentId)).toEqual(['B', 'C', 'A', 'D']);
    const oldest = await leaderboard({ sort: { by: 'published_at', direction: 'asc' } });
    expect(oldest.rows.map((r) => r.contentId)).toEqual(['A', 'C', 'B', 'D']);
  });

  it('computes the heat index per platform, unaffected by the other filters', async () => {
    const { rows } = await leaderboard({ sort: { by: 'heat_index' } });
    const heat = Object.fromEntries(rows.map((r) => [r.contentId, r.metrics.heat_index]));
    // A leads Douyin in plays (tied), interactions and shares: 100·(0.40 + 0.30 + 0.15 + 0.15·0.35).
    expect(heat.A).toBeCloseTo(90.25, 2);
    const b = 0.4 + (0.3 * Math.log(201)) / Math.log(281) + (0.15 * Math.log(41)) / Math.log(51) + 0.15 * 0.2;
    expect(heat.B).toBeCloseTo(100 * b, 2);
    // C leads Weibo in everything and has no completion: 100·0.85 / 0.85.
    expect(heat.C).toBe(100);
    expect(rows.map((r) => r.contentId)).toEqual(['C', 'A', 'B', 'D']);
    const tagged = await leaderboard({ filters: { tags: ['#tea'] }, sort: { by: 'heat_index' } });
    expect(tagged.rows.map((r) => [r.contentId, r.metrics.heat_index])).toEqual([
      ['C', 100],
      ['A', heat.A],
    ]);
  });

  it('filters by platform, account, type, tags, publishing day in the project time zone and plays', async () => {
    const ids = async (filters: unknown) =>
      (await leaderboard({ filters })).rows.map((r) => r.contentId).sort();
    expect(await ids({ platforms: ['weibo'] })).toEqual(['C', 'D']);
    expect(await ids({ accounts: ['dy_second', 'wb_main'] })).toEqual(['B', 'C', 'D']);
    expect(await ids({ contentTypes: ['image_post'] })).toEqual(['C']);
    expect(await ids({ tags: ['#茶', '#tea'] })).toEqual(['A']);
    expect(await ids({ minPlays: 1000 })).toEqual(['A', 'B']);
    // C went up at 00:01 on 03-02 in Shanghai (03-01 in UTC); A at 00:30 on 03-01 (02-28 in UTC).
    expect(await ids({ published: { from: '2025-03-02', to: '2025-03-02' } })).toEqual(['B', 'C']);
    expect(await ids({ published: { from: '2025-03-01', to: '2025-03-01' } })).toEqual(['A']);
  });

  it('pages through the sorted posts and reports the total', async () => {
    expect(await leaderboard({ limit: 2, offset: 1 })).toMatchObject({
      total: 4,
      rows: [{ contentId: 'B' }, { contentId: 'C' }],
    });
    expect(await leaderboard({ limit: 2, offset: 10 })).toEqual({ total: 4, rows: [] });
  });

  it('answers an empty range with no posts', async () => {
    expect(
      await contentLeaderboard.run(
        context,
        contentLeaderboard.parse({ dateRange: { from: '2024-01-01', to: '2024-01-31' } }),
      ),
    ).toEqual({ total: 0, rows: [] });
  });

  it('names the wrong field of a bad query', () => {
    const fieldOf = (body: unknown) => {
      try {
        contentLeaderboard.parse(body);
      } catch (error) {
        expect(error).toBeInstanceOf(PulseloopError);
        return (error as PulseloopError).details.field;
      }
      throw new Error('expected an error');
    };
    expect(fieldOf({ dateRange: range, sort: { by: 'plays; DROP TABLE events' } })).toBe('sort.by');
    expect(fieldOf({ dateRange: range, sort: { by: 'plays', direction: 'up' } })).toBe('sort.direction');
    expect(fieldOf({ dateRange: range, limit: 0 })).toBe('limit');
    expect(fieldOf({ dateRange: range, filters: { tags: 'x' } })).toBe('filters.tags');
    expect(fieldOf({ dateRange: range, filters: { colour: ['red'] } })).toBe('filters.colour');
    expect(
      fieldOf({ dateRange: range, filters: { published: { from: '2025-13-01', to: '2025-03-01' } } }),
    ).toBe('filters.published.from');
    expect(fieldOf({})).toBe('dateRange');
  });
});

describe('an empty range', () => {
  it('gives every analysis empty results, not errors or NaN', async () => {
    const dateRange = { from: '2024-01-01', to: '2024-01-31' };
    expect(await contentTopics.run(context, contentTopics.parse({ dateRange }))).toEqual({
      total: 0,
      rows: [],
    });
    expect(await contentCompare.run(context, contentCompare.parse({ dateRange }))).toEqual({ rows: [] });
    const timing = await contentTiming.run(context, contentTiming.parse({ dateRange }));
    expect(timing.cells).toEqual([]);
    expect(timing.byHour.every((h) => h.posts === 0 && h.interaction_rate === null)).toBe(true);
    const length = await contentLength.run(context, contentLength.parse({ dateRange }));
    expect(length.buckets.map((b) => [b.posts, b.metrics.plays, b.metrics.completion_rate])).toEqual(
      Array.from({ length: 5 }, () => [0, 0, null]),
    );
  });
});

describe('one post', () => {
  const post = (body: Record<string, unknown>) =>
    contentPost.run(
      context,
      contentPost.parse({ platform: 'douyin', contentId: 'A', dateRange: range, ...body }),
    );

  it('draws daily curves over every day of the range and the totals', async () => {
    const result = await post({});
    expect(result.post).toMatchObject({ accountId: 'dy_main', title: 'Post A', durationSeconds: 20 });
    expect(result.daily).toEqual([
      { date: '2025-03-01', plays: 1000, interactions: 100, completion_rate: 0.5, followers_gained: 5 },
      { date: '2025-03-02', plays: 3000, interactions: 180, completion_rate: 0.3, followers_gained: 10 },
      { date: '2025-03-03', plays: 0, interactions: 0, completion_rate: null, followers_gained: 0 },
    ]);
    expect(result.totals).toMatchObject({ plays: 4000, interactions: 280, followers_gained: 15 });
    expect(result.totals.completion_rate).toBeCloseTo(0.35, 12);
  });

  it('counts comments of the range by sentiment, newest first, cut at midnight in Shanghai', async () => {
    const { comments } = await post({ comments: 2 });
    // c1, c2, c4 (once, labelled neutral by its newer import); c3 is after midnight, c5 on Weibo.
    expect(comments.total).toBe(3);
    expect(comments.sentiment).toEqual({ positive: 1, neutral: 1, negative: 1, unknown: 0 });
    expect(comments.latest.map((c) => [c.commentId, c.sentiment])).toEqual([
      ['c2', 'negative'],
      ['c4', 'neutral'],
    ]);
  });

  it('counts tracked plays per person, with plays before identify counting for the merged person', async () => {
    const { tracked } = await post({});
    // anon-1 and user-1 are one person; anon-2 has no completion; anon-3 played before the range.
    expect(tracked).toEqual({ plays: 3, viewers: 2, avgCompletion: 0.75 });
  });

  it('shows zeros for a range without statistics and answers 404 for an unknown post', async () => {
    const empty = await post({ dateRange: { from: '2024-01-01', to: '2024-01-02' } });
    expect(empty.totals).toMatchObject({ plays: 0, interaction_rate: null, completion_rate: null });
    expect(empty.daily.map((d) => d.plays)).toEqual([0, 0]);
    expect(empty.comments.total).toBe(0);
    await expect(post({ contentId: 'nope' })).rejects.toMatchObject({
      code: 'content_not_found',
      status: 404,
    });
  });
});

describe('topics', () => {
  it('counts each post once under every tag, with the median plays per post', async () => {
    const { rows, total } = await contentTopics.run(context, contentTopics.parse({ dateRange: range }));
    expect(total).toBe(2);
    expect(rows.map((r) => [r.tag, r.posts, r.median_plays, r.metrics.plays])).toEqual([
      // #茶: A (4000) and B (4000); E is outside the range.
      ['#茶', 2, 4000, 8000],
      // #tea: A (4000) and C (500); the median of two posts is their mean.
      ['#tea', 2, 2250, 4500],
    ]);
    expect(rows[0]?.metrics.interaction_rate).toBeCloseTo(480 / 8000, 12);
    expect(rows[1]?.metrics.interaction_rate).toBeCloseTo(305 / 4500, 12);
    // Completion of #tea comes from A alone: C is an image post.
    expect(rows[1]?.metrics.completion_rate).toBeCloseTo(0.35, 12);
    const byMedian = await contentTopics.run(
      context,
      contentTopics.parse({ dateRange: range, sort: { by: 'median_plays', direction: 'asc' } }),
    );
    expect(byMedian.rows.map((r) => r.tag)).toEqual(['#tea', '#茶']);
  });
});

describe('posting time', () => {
  it('groups posts by weekday and hour of publishing in Shanghai time', async () => {
    const result = await contentTiming.run(context, contentTiming.parse({ dateRange: range }));
    // A: Saturday 00:30; C: Sunday 00:01 (Saturday 16:01 in UTC); B: Sunday 10:00; D: unknown.
    expect(result.cells.map((c) => [c.weekday, c.hour, c.posts, c.plays])).toEqual([
      [6, 0, 1, 4000],
      [7, 0, 1, 500],
      [7, 10, 1, 4000],
    ]);
    expect(result.withoutPublishTime).toBe(1);
    const sunday = result.byWeekday[6];
    expect(sunday).toMatchObject({ weekday: 7, posts: 2, plays: 4500, avg_plays_per_post: 2250 });
    expect(sunday?.interaction_rate).toBeCloseTo(225 / 4500, 12);
    expect(result.byHour[0]).toMatchObject({ hour: 0, posts: 2, plays: 4500, interactions: 305 });
    expect(result.byWeekday[0]).toMatchObject({ posts: 0, avg_plays_per_post: null, interaction_rate: null });
  });
});

describe('platform and account comparison', () => {
  it('sums posts, plays and follower growth per platform', async () => {
    const { rows } = await contentCompare.run(context, contentCompare.parse({ dateRange: range }));
    expect(
      rows.map((r) => [r.platform, r.posts, r.published, r.metrics.plays, r.metrics.followers_gained]),
    ).toEqual([
      ['douyin', 2, 2, 8000, 23],
      // D has no publishing time, so only C counts as published in the range.
      ['weibo', 2, 1, 500, 1],
    ]);
    expect(rows[0]?.share_of_plays).toBeCloseTo(8000 / 8500, 12);
    expect(rows[0]?.metrics.completion_rate).toBeCloseTo((500 + 900 + 800) / 8000, 12);
    const popular = await contentCompare.run(
      context,
      contentCompare.parse({ dateRange: range, filters: { minPlays: 1000 } }),
    );
    expect(popular.rows.map((r) => [r.platform, r.posts])).toEqual([['douyin', 2]]);
  });

  it('splits a platform by account, ties in plays ordered by account', async () => {
    const { rows } = await contentCompare.run(
      context,
      contentCompare.parse({ dateRange: range, by: 'account' }),
    );
    expect(rows.map((r) => [r.platform, r.accountId, r.metrics.plays])).toEqual([
      ['douyin', 'dy_main', 4000],
      ['douyin', 'dy_second', 4000],
      ['weibo', 'wb_main', 500],
    ]);
  });
});

describe('completion by video length', () => {
  it('buckets videos by length with plays-weighted completion; empty buckets have no rate', async () => {
    const { buckets } = await contentLength.run(context, contentLength.parse({ dateRange: range }));
    expect(buckets.map((b) => [b.label, b.posts, b.metrics.plays, b.metrics.completion_rate])).toEqual([
      ['<15s', 0, 0, null],
      ['15–30s', 1, 4000, 0.35],
      ['30–60s', 0, 0, null],
      ['60–180s', 1, 4000, 0.2],
      // D is 200 s long but was never played.
      ['180s+', 1, 0, null],
    ]);
  });

  it('rejects edges that do not increase', () => {
    expect(() => contentLength.parse({ dateRange: range, edges: [30, 15] })).toThrow(/edges\[1\]/);
  });
});

describe('one definition everywhere', () => {
  it('gives the same completion rate and watch time in trends as in the content analyses, image posts left out', async () => {
    const totals = await trends.run(
      context,
      trends.parse({
        metrics: ['completion_rate', 'avg_watch_time', 'plays'],
        dateRange: range,
        granularity: 'total',
      }),
    );
    const total = (metric: string) => totals.totals.find((t) => t.metric === metric)?.value;
    // A: 1000 × 0.5 + 3000 × 0.3, B: 4000 × 0.2 over the videos' 8,000 plays; C (image, 500 plays) adds nothing.
    expect(total('plays')).toBe(8500);
    expect(total('completion_rate')).toBeCloseTo((500 + 900 + 800) / 8000, 12);
    expect(total('avg_watch_time')).toBeCloseTo((1000 * 12 + 3000 * 8 + 4000 * 30) / 8000, 12);
    const { rows } = await contentCompare.run(context, contentCompare.parse({ dateRange: range }));
    const douyin = rows.find((r) => r.platform === 'douyin')!;
    expect(douyin.metrics.completion_rate).toBeCloseTo(total('completion_rate')!, 12);
    expect(douyin.metrics.avg_watch_seconds).toBeCloseTo(total('avg_watch_time')!, 12);
  });
});
