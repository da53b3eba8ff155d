import { describe, expect, it } from 'vitest';
import type { RetryEvent } from '../../src/collect/connectors/http.js';
import { addConnectorInstance, getCheckpoint } from '../../src/collect/connectors/instances.js';
import { activeJob, listJobs } from '../../src/collect/connectors/jobs.js';
import {
  runDueSyncJobs,
  type SyncDeps,
  syncJobKey,
  syncNow,
  syncStream,
} from '../../src/collect/connectors/sync.js';
import { PulseloopError } from '../../src/errors/registry.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { makeAdReport } from './fake-platforms.js';
import { connectorWorldForFile } from './setup.js';

// 2025-03-08 12:00 in Asia/Shanghai: the report runs up to yesterday, 2025-03-07.
const NOW = new Date('2025-03-08T04:00:00Z');

const world = connectorWorldForFile();

function deps(overrides: Partial<SyncDeps> = {}): SyncDeps {
  const base = world.deps(NOW);
  return { ...base, env: { ...base.env, WRONG: 'expired-token' }, ...overrides };
}

async function addDouyin(
  projectId: string,
  credentials: { env: string } | { token: string } = { env: 'DY_TOKEN' },
) {
  return addConnectorInstance(world.stores.metadata, {
    projectId,
    connector: 'douyin',
    name: `dy-${Math.random().toString(36).slice(2, 8)}`,
    config: { openId: world.fake.douyin.openId, count: 20, baseUrl: world.fake.url },
    credentials: 'token' in credentials ? { ...credentials, keyring: world.keyring } : credentials,
  });
}

interface AdSpendRead {
  date: string;
  campaign_id: string;
  ad_group_id: string;
  ad_group_name: string;
  impressions: number;
  clicks: number;
  spend: number;
  conversions: number;
}

async function adSpendOf(projectId: string): Promise<AdSpendRead[]> {
  return world.stores.facts.query<AdSpendRead>(
    `SELECT toString(date) AS date, campaign_id, ad_group_id, ad_group_name, impressions, clicks,
            toFloat64(spend) AS spend, conversions
     FROM ad_spend FINAL WHERE project_id = {project:String}
     ORDER BY date, ad_group_id`,
    { project: projectId },
  );
}

function expectedAdSpend(): AdSpendRead[] {
  return world.fake.oceanEngine.rows
    .map((r) => ({
      date: r.stat_datetime.slice(0, 10),
      campaign_id: r.campaign_id,
      ad_group_id: r.ad_id,
      ad_group_name: r.ad_name,
      impressions: r.show,
      clicks: r.click,
      spend: r.cost,
      conversions: r.convert,
    }))
    .sort((a, b) => (a.date + a.ad_group_id).localeCompare(b.date + b.ad_group_id));
}

async function rawCount(table: string, projectId: string): Promise<number> {
  const [row] = await world.stores.facts.query<{ n: number }>(
    `SELECT count() AS n FROM ${table} WHERE project_id = {project:String}`,
    { project: projectId },
  );
  return Number(row?.n);
}

/** A facts engine that "dies" right after its n-th insert into `table` succeeded. */
function crashingAfterInsert(engine: FactsEngine, table: string, n: number): FactsEngine {
  let inserts = 0;
  return {
    ...engine,
    async insertJsonEachRow(target, rows, options) {
      await engine.insertJsonEachRow(target, rows, options);
      if (target === table && ++inserts === n) throw new Error('process killed between write and checkpoint');
    },
  };
}

describe('Ocean Engine ad report connector', () => {
  it('lands every row of every page of every day in ad_spend, ids exact to the last digit', async () => {
    const projectId = await world.stores.newProject();
    const instance = await world.addOceanEngine(projectId);
    const report = await syncStream(deps(), instance, 'ad_report');

    expect(report).toMatchObject({ resumed: false, pages: 21, rows: 175, quarantined: 0 });
    expect(await adSpendOf(projectId)).toEqual(expectedAdSpend());
    const requested = world.fake.requests.map(
      (r) => `${r.query.start_date}/${r.query.end_date}#${r.query.page}`,
    );
    expect(requested.slice(0, 4)).toEqual([
      '2025-03-01/2025-03-01#1',
      '2025-03-01/2025-03-01#2',
      '2025-03-01/2025-03-01#3',
      '2025-03-02/2025-03-02#1',
    ]);
    expect(
      world.fake.requests.every(
        (r) => r.query.advertiser_id === world.fake.oceanEngine.advertiserId && r.query.page_size === '10',
      ),
    ).toBe(true);
    const checkpoint = await getCheckpoint(world.stores.metadata, instance.id, 'ad_report');
    expect(checkpoint).toMatchObject({ inProgress: false, pagesWritten: 21, rowsWritten: 175 });
  });

  it('resumes a run killed between writing a page and checkpointing it without gaps or duplicates', async () => {
    const projectId = await world.stores.newProject();
    const instance = await world.addOceanEngine(projectId);
    const crash = syncStream(
      deps({ facts: crashingAfterInsert(world.stores.facts, 'ad_spend', 8) }),
      instance,
      'ad_report',
    );
    await expect(crash).rejects.toThrow(/killed/);

    // The checkpoint still points at the 8th page (2025-03-03 page 2), whose rows are already stored.
    const stopped = await getCheckpoint<{ date: string; page: number }>(
      world.stores.metadata,
      instance.id,
      'ad_report',
    );
    expect(stopped).toMatchObject({ inProgress: true, pagesWritten: 7 });
    expect(stopped?.state.cursor).toMatchObject({ date: '2025-03-03', page: 2 });
    expect(await rawCount('ad_spend', projectId)).toBe(70);

    const resumed = await syncStream(deps(), instance, 'ad_report');
    expect(resumed).toMatchObject({ resumed: true, pages: 14, rows: 115 });
    // Page 8 was read and written twice; the replacing table (read with FINAL) holds each natural key once.
    expect(await adSpendOf(projectId)).toEqual(expectedAdSpend());
    const pagesRead = world.fake.requests.map((r) => `${r.query.start_date}#${r.query.page}`);
    expect(pagesRead.filter((p) => p === '2025-03-03#2')).toHaveLength(2);
    expect(new Set(pagesRead).size).toBe(21);
  });

  it('re-reads the last days on the next run (the platform corrects them) and adds the new day once', async () => {
    const projectId = await world.stores.newProject();
    const instance = await world.addOceanEngine(projectId, { config: { lookbackDays: 3 } });
    await syncStream(deps(), instance, 'ad_report');
    world.fake.oceanEngine.rows = makeAdReport('2025-03-01', 8, 25);
    world.fake.oceanEngine.rows[world.fake.oceanEngine.rows.length - 30]!.cost = 999.5; // a corrected figure on 03-07
    world.fake.requests.length = 0;

    const nextDay = new Date(NOW.getTime() + 86_400_000);
    await syncStream(deps({ now: () => nextDay }), instance, 'ad_report');
    expect(new Set(world.fake.requests.map((r) => r.query.start_date))).toEqual(
      new Set(['2025-03-06', '2025-03-07', '2025-03-08']),
    );
    expect(await adSpendOf(projectId)).toEqual(expectedAdSpend());
  });

  it('retries "too many requests" (40100) and 5xx answers with back-off that grows', async () => {
    const projectId = await world.stores.newProject();
    const instance = await world.addOceanEngine(projectId);
    world.fake.oceanEngine.faults.push(
      { kind: 'rate_limit' },
      { kind: 'http_500' },
      { kind: 'http_503' },
      { kind: 'rate_limit' },
    );
    const retries: RetryEvent[] = [];
    await syncStream(deps({ onRetry: (e) => retries.push(e) }), instance, 'ad_report');

    expect(retries.map((r) => r.reason)).toEqual([
      expect.stringMatching(/^code 40100/),
      'HTTP 500',
      'HTTP 503',
      expect.stringMatching(/^code 40100/),
    ]);
    const delays = retries.map((r) => r.delayMs);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(delays[3]).toBeGreaterThanOrEqual(4 * delays[0]!);
    // The waits really happened: the fake saw the attempts of the first page that far apart.
    const times = world.fake.requests.slice(0, 5).map((r) => r.at);
    for (let i = 1; i < 5; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(delays[i - 1]! - 2);
    expect(await adSpendOf(projectId)).toEqual(expectedAdSpend());
  });

  it("waits at least as long as a 429 answer's Retry-After asks", async () => {
    const projectId = await world.stores.newProject();
    const instance = await world.addOceanEngine(projectId);
    world.fake.oceanEngine.faults.push({ kind: 'http_429', retryAfterSeconds: 1 });
    const retries: RetryEvent[] = [];
    await syncStream(deps({ onRetry: (e) => retries.push(e) }), instance, 'ad_report');
    expect(retries).toEqual([{ retry: 1, delayMs: 1_000, reason: 'HTTP 429' }]);
    expect(world.fake.requests[1]!.at - world.fake.requests[0]!.at).toBeGreaterThanOrEqual(995);
  });

  it('gives up after the last attempt, keeps the checkpoint and re-queues the job for later', async () => {
    const projectId = await world.stores.newProject();
    const instance = await world.addOceanEngine(projectId);
    world.fake.onRequest = (record, n) => {
      // From the 4th request on, the platform only answers "too frequent".
      if (n >= 4) world.fake.oceanEngine.faults.push({ kind: 'rate_limit' });
      void record;
    };
    const outcome = await syncNow(
      deps({ backoff: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 100 } }),
      instance,
      'ad_report',
    );
    expect(outcome.status).toBe('retrying');
    if (outcome.status === 'succeeded') throw new Error('unreachable');
    expect((outcome.error as PulseloopError).code).toBe('connector_retries_exhausted');
    expect(outcome.job).toMatchObject({ status: 'queued', attempts: 1 });
    expect(outcome.job.nextRunAt > new Date().toISOString()).toBe(true);
    expect(await getCheckpoint(world.stores.metadata, instance.id, 'ad_report')).toMatchObject({
      inProgress: true,
      pagesWritten: 3,
    });
  });

  it('stops at once with a clear error in both languages when the token is refused, and never retries it', async () => {
    const projectId = await world.stores.newProject();
    const instance = await world.addOceanEngine(projectId, { tokenEnv: 'WRONG' });
    const outcome = await syncNow(deps(), instance, 'ad_report');
    expect(outcome.status).toBe('failed');
    if (outcome.status === 'succeeded') throw new Error('unreachable');
    const error = outcome.error as PulseloopError;
    expect(error.code).toBe('connector_bad_credentials');
    expect(error.message).toContain('Ocean Engine API refused the access token');
    expect(error.message).toContain('40102');
    expect(error.zh).toContain('巨量引擎接口拒绝了连接器');
    expect(error.zh).toContain('访问令牌');
    expect(world.fake.requests).toHaveLength(1);
    expect(outcome.job).toMatchObject({ status: 'failed', attempts: 1 });
    expect(outcome.job.lastError).toContain('connector_bad_credentials');
    expect(await activeJob(world.stores.metadata, syncJobKey(instance.id, 'ad_report'))).toBeUndefined();
    expect(await runDueSyncJobs(deps())).toEqual([]);
    expect(world.fake.requests).toHaveLength(1);
  });

  it('quarantines a row the platform sends with an unreadable figure and keeps the others', async () => {
    const projectId = await world.stores.newProject();
    const instance = await world.addOceanEngine(projectId);
    (world.fake.oceanEngine.rows[3] as unknown as Record<string, unknown>).cost = 'n/a';
    const report = await syncStream(deps(), instance, 'ad_report');
    expect(report).toMatchObject({ rows: 174, quarantined: 1 });
    const quarantined = await world.stores.facts.query<Record<string, string>>(
      `SELECT origin, source_id, reason_code, field, reason FROM quarantine FINAL WHERE project_id = {project:String}`,
      { project: projectId },
    );
    expect(quarantined).toEqual([
      {
        origin: 'connector',
        source_id: instance.id,
        reason_code: 'connector_row_invalid',
        field: 'cost',
        reason: 'The Ocean Engine API returned a row with an invalid "cost": "n/a" is not an amount.',
      },
    ]);
  });

  it("keeps to the stream's rate limit", async () => {
    const projectId = await world.stores.newProject();
    const instance = await world.addOceanEngine(projectId);
    world.fake.oceanEngine.rows = makeAdReport('2025-03-01', 7, 5); // one page a day: 7 requests
    await syncStream(deps({ rateLimitPerSecond: 20 }), instance, 'ad_report');
    const times = world.fake.requests.map((r) => r.at);
    expect(times).toHaveLength(7);
    // 20 requests a second: the client starts them 50 ms apart (arrival times jitter by a few ms).
    expect(times[6]! - times[0]!).toBeGreaterThanOrEqual(6 * 50 - 10);
  });

  it("schedules the next run after the stream's interval once a run succeeds", async () => {
    const projectId = await world.stores.newProject();
    const instance = await world.addOceanEngine(projectId);
    const before = Date.now();
    const outcome = await syncNow(deps(), instance, 'ad_report');
    expect(outcome.status).toBe('succeeded');
    const jobs = await listJobs(world.stores.metadata, { singletonKeyPrefix: syncJobKey(instance.id, '') });
    expect(jobs.map((j) => j.status).sort()).toEqual(['queued', 'succeeded']);
    const next = jobs.find((j) => j.status === 'queued')!;
    expect(Date.parse(next.nextRunAt) - before).toBeGreaterThanOrEqual(6 * 3600_000 - 1000);
    expect(await runDueSyncJobs(deps())).toEqual([]);
  });
});

describe('Douyin video list connector', () => {
  interface StatsRead {
    content_id: string;
    date: string;
    title: string;
    plays: number;
    likes: number;
    comments: number;
    shares: number;
    published_at: string;
  }

  async function statsOf(projectId: string): Promise<StatsRead[]> {
    return world.stores.facts.query<StatsRead>(
      `SELECT content_id, toString(date) AS date, title, plays, likes, comments, shares,
              toString(published_at) AS published_at
       FROM content_stats FINAL WHERE project_id = {project:String} ORDER BY content_id`,
      { project: projectId },
    );
  }

  function expectedStats(): StatsRead[] {
    return world.fake.douyin.videos
      .map((v) => ({
        content_id: v.item_id,
        date: '2025-03-08',
        title: v.title,
        plays: v.statistics.play_count,
        likes: v.statistics.digg_count,
        comments: v.statistics.comment_count,
        shares: v.statistics.share_count,
        published_at: new Date(v.create_time * 1000).toISOString().replace('T', ' ').replace('Z', ''),
      }))
      .sort((a, b) => a.content_id.localeCompare(b.content_id));
  }

  it('follows cursor and has_more through every page and snapshots each video for the sync day', async () => {
    const projectId = await world.stores.newProject();
    const instance = await addDouyin(projectId, { token: world.fake.douyin.token });
    const report = await syncStream(deps(), instance, 'video_list');
    expect(report).toMatchObject({ pages: 3, rows: 45 });
    expect(world.fake.requests.map((r) => r.query.cursor)).toEqual([
      '0',
      String(world.fake.douyin.videos[19]!.create_time * 1000),
      String(world.fake.douyin.videos[39]!.create_time * 1000),
    ]);
    expect(await statsOf(projectId)).toEqual(expectedStats());

    // A second run the same day replaces that day's numbers instead of adding rows.
    for (const video of world.fake.douyin.videos) video.statistics.play_count += 100;
    await syncStream(deps(), instance, 'video_list');
    expect(await statsOf(projectId)).toEqual(expectedStats());
  });

  it('retries the documented "too frequent" code 28003018 and reports an expired token as bad credentials', async () => {
    const projectId = await world.stores.newProject();
    const good = await addDouyin(projectId);
    world.fake.douyin.faults.push({ kind: 'rate_limit' }, { kind: 'http_429' });
    const retries: RetryEvent[] = [];
    await syncStream(deps({ onRetry: (e) => retries.push(e) }), good, 'video_list');
    expect(retries.map((r) => r.reason)).toEqual([expect.stringMatching(/^error_code 28003018/), 'HTTP 429']);
    // The client's own wording of the code has a Chinese text; a bare status has none to translate.
    expect(retries.map((r) => r.reasonZh)).toEqual([expect.stringMatching(/^错误码 28003018/), undefined]);
    expect(await statsOf(projectId)).toEqual(expectedStats());

    const expired = await addDouyin(projectId, { token: 'act.expired' });
    const outcome = await syncNow(deps(), expired, 'video_list');
    expect(outcome.status).toBe('failed');
    if (outcome.status === 'succeeded') throw new Error('unreachable');
    expect(outcome.error).toBeInstanceOf(PulseloopError);
    expect((outcome.error as PulseloopError).details).toMatchObject({ platform: 'Douyin', code: 28001008 });
  });

  it('names the platform as people know it when its gateway refuses a request', async () => {
    const projectId = await world.stores.newProject();
    const instance = await addDouyin(projectId);
    world.fake.douyin.faults.push({ kind: 'http_403' });
    const outcome = await syncNow(deps(), instance, 'video_list');
    if (outcome.status === 'succeeded') throw new Error('a refused request must fail the sync');
    const error = outcome.error as PulseloopError;
    expect(error.code).toBe('connector_api_error');
    expect(error.message).toContain('The Douyin API answered with an error (code HTTP 403');
    expect(error.zh).toContain('抖音接口返回错误（错误码 HTTP 403');
  });
});

describe('connector settings', () => {
  it('refuses unknown connectors, invalid settings and missing credentials with clear errors', async () => {
    const projectId = await world.stores.newProject();
    const base = { projectId, name: 'x', credentials: { env: 'OE_TOKEN' } };
    await expect(
      addConnectorInstance(world.stores.metadata, { ...base, connector: 'myspace', config: {} }),
    ).rejects.toMatchObject({
      code: 'connector_unknown',
    });
    await expect(
      addConnectorInstance(world.stores.metadata, {
        ...base,
        connector: 'oceanengine',
        config: { advertiserId: '12', startDate: '1 March' },
      }),
    ).rejects.toMatchObject({
      code: 'connector_invalid_config',
      message: expect.stringContaining('startDate'),
      zh: expect.stringMatching(/配置无效：startDate：/),
    });
    const instance = await world.addOceanEngine(projectId, { tokenEnv: 'NOT_SET' });
    await expect(syncStream(deps(), instance, 'ad_report')).rejects.toMatchObject({
      code: 'connector_credentials_missing',
      message: expect.stringContaining('NOT_SET'),
      zh: expect.stringContaining('没有可用的凭证：环境变量 NOT_SET 未设置。'),
    });
  });
});
