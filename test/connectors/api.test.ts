import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listJobs } from '../../src/collect/connectors/jobs.js';
import { collectDb } from '../../src/collect/connectors/tables.js';
import { listAudit } from '../../src/govern/audit.js';
import type { Role } from '../../src/govern/permissions.js';
import { createApiToken } from '../../src/govern/tokens.js';
import { createUser, setProjectRole } from '../../src/govern/users.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type FakePlatforms, holdRequests, makeVideos, startFakePlatforms } from './fake-platforms.js';

// The connector routes on a real server (chdb + SQLite) whose syncs call the local fake Douyin and
// Ocean Engine. The server's schedule keeps no timer here (PULSELOOP_CONNECTOR_POLL_SECONDS=0): every
// sync runs because "sync now" started a round.

const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-connector-api-'));
let t: TestServer;
let fake: FakePlatforms;
let projectB: string;
const tokens: Partial<Record<Role | 'ownerB', string>> = {};

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field in the tests
  body: any;
  text: string;
}

async function call(
  method: string,
  path: string,
  options: { as?: Role | 'ownerB' | 'nobody'; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const who = options.as ?? 'owner';
  if (who !== 'nobody') headers.authorization = `Bearer ${tokens[who]}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${t.url}${path}`, {
    method,
    headers,
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {}, text };
}

const connectorsOf = (projectId: string) => `/api/v1/projects/${projectId}/connectors`;
let counter = 0;

/** Connects the fake Douyin account to project A (as its owner unless said otherwise). */
function addDouyin(options: { token?: string; tokenEnv?: string; as?: Role } = {}) {
  return call('POST', connectorsOf(t.projectId), {
    as: options.as ?? 'owner',
    body: {
      connector: 'douyin',
      name: `抖音主账号 ${++counter}`,
      config: { openId: fake.douyin.openId, baseUrl: fake.url },
      ...(options.tokenEnv ? { tokenEnv: options.tokenEnv } : { token: options.token ?? fake.douyin.token }),
    },
  });
}

async function statusOf(instanceId: string, projectId = t.projectId) {
  const list = await call('GET', connectorsOf(projectId));
  expect(list.status).toBe(200);
  return list.body.connectors.find((c: { id: string }) => c.id === instanceId);
}

const streamState = async (instanceId: string) => (await statusOf(instanceId))?.streams[0].state;

/**
 * The project's videos in the facts store. Every account here is the one fake Douyin account, so the
 * rows of a later sync replace the same videos' rows of an earlier one: counted per project, not per
 * connector.
 */
async function contentStatsRows(): Promise<number> {
  const [row] = await t.server.facts.query<{ n: number }>(
    'SELECT count() AS n FROM content_stats FINAL WHERE project_id = {p:String}',
    { p: t.projectId },
  );
  return Number(row?.n);
}

beforeAll(async () => {
  fake = await startFakePlatforms();
  t = await startTestServer({ connectorPollSeconds: 0 }, dataDir);
  tokens.owner = t.ownerToken;
  const b = await t.newProject('Other brand');
  projectB = b.projectId;
  tokens.ownerB = b.token;
  for (const role of ['admin', 'marketer', 'viewer'] as const) {
    const user = await createUser(t.server.metadata, {
      email: `${role}@connectors.example.com`,
      password: 'connector api password',
    });
    await setProjectRole(t.server.metadata, t.projectId, user.id, role);
    tokens[role] = (
      await createApiToken(t.server.metadata, {
        userId: user.id,
        projectId: t.projectId,
        role,
        readOnly: false,
        name: role,
      })
    ).token;
  }
}, 60_000);

afterAll(async () => {
  await t?.close();
  await fake?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  fake.douyin.videos = makeVideos(45);
  fake.douyin.faults.length = 0;
  fake.onRequest = undefined;
});

describe('the connector catalogue', () => {
  it('names every connector in both languages with its streams and the settings it needs', async () => {
    const answer = await call('GET', '/api/v1/connectors');
    expect(answer.status).toBe(200);
    const oceanEngine = answer.body.connectors.find((c: { id: string }) => c.id === 'oceanengine');
    expect(oceanEngine).toMatchObject({
      platform: 'oceanengine',
      name: { en: 'Ocean Engine ad report', zh: '巨量引擎广告报表' },
      streams: [{ name: 'ad_report', table: 'ad_spend', scheduleIntervalSeconds: 6 * 3600 }],
    });
    const fields = Object.fromEntries(oceanEngine.configFields.map((f: { name: string }) => [f.name, f]));
    expect(fields.advertiserId).toMatchObject({
      type: 'string',
      required: true,
      label: { en: 'Advertiser ID', zh: '广告主 ID' },
    });
    expect(fields.lookbackDays).toMatchObject({ type: 'integer', required: false, default: 3, maximum: 30 });
    const douyin = answer.body.connectors.find((c: { id: string }) => c.id === 'douyin');
    expect(douyin.configFields.filter((f: { required: boolean }) => f.required)).toMatchObject([
      { name: 'openId' },
    ]);
  });

  it('is for signed-in callers only', async () => {
    expect((await call('GET', '/api/v1/connectors', { as: 'nobody' })).status).toBe(401);
  });
});

describe('connecting an account', () => {
  it('stores the token encrypted and never answers it, and lists the first sync as queued', async () => {
    const added = await addDouyin();
    expect(added.status, added.text).toBe(201);
    expect(added.text).not.toContain(fake.douyin.token);
    const id = added.body.connector.id as string;

    const listed = await call('GET', connectorsOf(t.projectId));
    expect(listed.text).not.toContain(fake.douyin.token);
    expect(await statusOf(id)).toMatchObject({
      connector: 'douyin',
      platform: 'douyin',
      config: { openId: fake.douyin.openId, baseUrl: fake.url, count: 20 },
      credentials: { source: 'stored' },
      streams: [{ name: 'video_list', state: 'queued', lastSuccessAt: null, lastError: null }],
    });

    const [instance] = await collectDb(t.server.metadata)
      .selectFrom('connector_instances')
      .select('credentials_ref')
      .where('id', '=', id)
      .execute();
    const secretId = instance!.credentials_ref.replace(/^secret:/, '');
    const secret = await collectDb(t.server.metadata)
      .selectFrom('connector_secrets')
      .select('value')
      .where('id', '=', secretId)
      .executeTakeFirstOrThrow();
    expect(secret.value).toMatch(/^enc:v1:/);
    expect(secret.value).not.toContain(fake.douyin.token);

    const { entries } = await listAudit(t.server.metadata, {
      projectId: t.projectId,
      action: 'connector.add',
    });
    expect(entries[0]).toMatchObject({
      targetId: id,
      details: { connector: 'douyin', credentials: 'stored' },
    });
    expect(JSON.stringify(entries)).not.toContain(fake.douyin.token);
  });

  it('says whether the environment variable of env credentials is set on the server', async () => {
    const added = await addDouyin({ tokenEnv: 'PULSELOOP_TEST_TOKEN_NOBODY_SET' });
    expect(added.status, added.text).toBe(201);
    expect(added.body.connector.credentials).toEqual({
      source: 'env',
      variable: 'PULSELOOP_TEST_TOKEN_NOBODY_SET',
      set: false,
    });
  });

  it('refuses bad input with 400 naming the field, and a name already used with 409', async () => {
    const post = (body: unknown) => call('POST', connectorsOf(t.projectId), { body });
    const noAdvertiser = await post({
      connector: 'oceanengine',
      name: 'no advertiser',
      config: { startDate: '2025-03-01' },
      tokenEnv: 'OE_TOKEN',
    });
    expect([noAdvertiser.status, noAdvertiser.body.error.code]).toEqual([400, 'connector_invalid_config']);
    expect(noAdvertiser.body.error.message).toContain('advertiserId');

    const noToken = await post({ connector: 'douyin', name: 'no token', config: { openId: 'x' } });
    expect([noToken.status, noToken.body.error.code]).toEqual([400, 'invalid_request']);
    expect(noToken.body.error.message).toContain('token');

    const badEnv = await post({
      connector: 'douyin',
      name: 'bad env',
      config: { openId: 'x' },
      tokenEnv: '1 A',
    });
    expect(badEnv.status).toBe(400);
    expect(badEnv.body.error.message).toContain('tokenEnv');

    const unknown = await post({ connector: 'weibo', name: 'w', tokenEnv: 'W' });
    expect([unknown.status, unknown.body.error.code]).toEqual([400, 'connector_unknown']);

    const first = await addDouyin();
    const again = await post({
      connector: 'douyin',
      name: first.body.connector.name,
      config: { openId: 'y' },
      tokenEnv: 'DY',
    });
    expect([again.status, again.body.error.code]).toEqual([409, 'connector_name_taken']);
    expect(again.body.error.message_zh).toContain('已有名为');
  });
});

describe('sync now', () => {
  it('runs the sync at once: the rows land in the facts store and the stream shows succeeded', async () => {
    const id = (await addDouyin()).body.connector.id as string;
    const before = new Date().toISOString();
    const queued = await call('POST', `${connectorsOf(t.projectId)}/${id}/sync`);
    expect(queued.status, queued.text).toBe(202);
    expect(queued.body.jobs).toMatchObject([{ stream: 'video_list', status: 'queued' }]);

    await expect.poll(() => streamState(id), { timeout: 20_000, interval: 100 }).toBe('succeeded');
    expect(await contentStatsRows()).toBe(45);
    const [stream] = (await statusOf(id)).streams;
    expect(stream.lastSuccessAt >= before).toBe(true);
    expect(stream.nextRunAt > new Date().toISOString()).toBe(true);
    expect(stream).toMatchObject({
      attempts: 1,
      lastError: null,
      lastRun: { pages: 3, rows: 45, inProgress: false },
    });
    expect(fake.requests.some((r) => r.outcome === 'bad token')).toBe(false);
  });

  it('shows a refused token as failed, with the reason in both languages', async () => {
    const id = (await addDouyin({ token: 'act.expired-token' })).body.connector.id as string;
    expect((await call('POST', `${connectorsOf(t.projectId)}/${id}/sync`, { body: {} })).status).toBe(202);

    await expect.poll(() => streamState(id), { timeout: 20_000, interval: 100 }).toBe('failed');
    const [stream] = (await statusOf(id)).streams;
    expect(stream.lastSuccessAt).toBeNull();
    expect(stream.nextRunAt).toBeNull();
    expect(stream.lastError.code).toBe('connector_bad_credentials');
    expect(stream.lastError.message).toContain('refused the access token');
    expect(stream.lastError.message).toContain('28001008');
    expect(stream.lastError.messageZh).toContain('访问令牌');
    expect(stream.lastRun).toBeNull();
  });

  it('answers 409 while a sync of the stream is running, and 400 for a stream the connector lacks', async () => {
    const id = (await addDouyin()).body.connector.id as string;
    const held = holdRequests(fake);
    try {
      expect((await call('POST', `${connectorsOf(t.projectId)}/${id}/sync`)).status).toBe(202);
      await held.requested;
      expect(await streamState(id)).toBe('running');
      const busy = await call('POST', `${connectorsOf(t.projectId)}/${id}/sync`, {
        body: { stream: 'video_list' },
      });
      expect([busy.status, busy.body.error.code]).toEqual([409, 'connector_sync_running']);
      // The worker's host and process id stay inside the server.
      expect(JSON.stringify(busy.body)).not.toContain(hostname());
      const removing = await call('DELETE', `${connectorsOf(t.projectId)}/${id}`);
      expect([removing.status, removing.body.error.code]).toEqual([409, 'connector_sync_running']);
    } finally {
      held.release();
    }
    await expect.poll(() => streamState(id), { timeout: 20_000, interval: 100 }).toBe('succeeded');

    const unknown = await call('POST', `${connectorsOf(t.projectId)}/${id}/sync`, {
      body: { stream: 'ad_report' },
    });
    expect([unknown.status, unknown.body.error.code]).toEqual([400, 'invalid_request']);
    expect(unknown.body.error.message).toContain('video_list');
  });
});

describe('who may do what', () => {
  it('lets a viewer see the connectors but not add, sync or remove one', async () => {
    const id = (await addDouyin()).body.connector.id as string;
    expect((await call('GET', connectorsOf(t.projectId), { as: 'viewer' })).status).toBe(200);
    for (const [method, path] of [
      ['POST', connectorsOf(t.projectId)],
      ['POST', `${connectorsOf(t.projectId)}/${id}/sync`],
      ['DELETE', `${connectorsOf(t.projectId)}/${id}`],
    ] as const) {
      const answer = await call(method, path, {
        as: 'viewer',
        body: method === 'POST' ? { connector: 'douyin', name: 'v', tokenEnv: 'V' } : undefined,
      });
      expect([answer.status, answer.body.error?.code], `${method} ${path}`).toEqual([403, 'forbidden']);
    }
  });

  it('lets a marketer sync now but not add or remove an account (credentials are for owners and admins)', async () => {
    const id = (await addDouyin({ as: 'admin' })).body.connector.id as string;
    const added = await addDouyin({ as: 'marketer' });
    expect([added.status, added.body.error.code]).toEqual([403, 'forbidden']);
    expect((await call('POST', `${connectorsOf(t.projectId)}/${id}/sync`, { as: 'marketer' })).status).toBe(
      202,
    );
    const removed = await call('DELETE', `${connectorsOf(t.projectId)}/${id}`, { as: 'marketer' });
    expect([removed.status, removed.body.error.code]).toEqual([403, 'forbidden']);
    await expect.poll(() => streamState(id), { timeout: 20_000, interval: 100 }).toBe('succeeded');
  });

  it("never lets one project see, sync or remove another project's account", async () => {
    const id = (await addDouyin()).body.connector.id as string;
    const listB = await call('GET', connectorsOf(projectB), { as: 'ownerB' });
    expect(listB.status).toBe(200);
    expect(listB.text).not.toContain(id);
    // B's owner names A's connector under B's project: not found there.
    for (const [method, suffix] of [
      ['POST', '/sync'],
      ['DELETE', ''],
    ] as const) {
      const crossed = await call(method, `${connectorsOf(projectB)}/${id}${suffix}`, { as: 'ownerB' });
      expect([crossed.status, crossed.body.error.code], method).toEqual([404, 'not_found']);
    }
    // And A's credentials do not open B's project at all.
    const intoB = await call('GET', connectorsOf(projectB));
    expect([intoB.status, intoB.body.error.code]).toEqual([404, 'unknown_project']);
    expect(await statusOf(id)).toBeDefined();
  });
});

describe('removing an account', () => {
  it('takes a new token for an account whose token was refused, keeping the account, and the sync then succeeds', async () => {
    const id = (await addDouyin({ token: 'act.expired-token' })).body.connector.id as string;
    await call('POST', `${connectorsOf(t.projectId)}/${id}/sync`);
    await expect.poll(() => streamState(id), { timeout: 20_000, interval: 100 }).toBe('failed');
    const db = collectDb(t.server.metadata);
    const refOf = async () =>
      (
        await db
          .selectFrom('connector_instances')
          .select('credentials_ref')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).credentials_ref;
    const oldRef = await refOf();

    const path = `${connectorsOf(t.projectId)}/${id}/credentials`;
    const bad = await call('PUT', path, { body: { token: fake.douyin.token, tokenEnv: 'DY_TOKEN' } });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_request']);
    expect((await call('PUT', path, { as: 'marketer', body: { token: fake.douyin.token } })).status).toBe(
      403,
    );
    const replaced = await call('PUT', path, { body: { token: fake.douyin.token } });
    expect(replaced.status).toBe(200);
    expect(replaced.body.connector).toMatchObject({ id, credentials: { source: 'stored' } });
    expect(replaced.text).not.toContain(fake.douyin.token);
    // The old stored token is gone; the new one is stored encrypted.
    const newRef = await refOf();
    expect(newRef).not.toBe(oldRef);
    const secrets = await db.selectFrom('connector_secrets').select(['id', 'value']).execute();
    expect(secrets.map((r) => `secret:${r.id}`)).not.toContain(oldRef);
    expect(secrets.find((r) => `secret:${r.id}` === newRef)?.value).toMatch(/^enc:v1:/);

    await call('POST', `${connectorsOf(t.projectId)}/${id}/sync`);
    await expect.poll(() => streamState(id), { timeout: 20_000, interval: 100 }).toBe('succeeded');
    const { entries } = await listAudit(t.server.metadata, {
      projectId: t.projectId,
      action: 'connector.credentials',
    });
    expect(entries[0]).toMatchObject({ targetId: id, outcome: 'success' });
    expect(JSON.stringify(entries[0])).not.toContain(fake.douyin.token);
    const elsewhere = await call('PUT', `${connectorsOf(projectB)}/${id}/credentials`, {
      as: 'ownerB',
      body: { token: 'act.x' },
    });
    expect(elsewhere.status).toBe(404);
  });

  it('removes the connector, its stored token and its jobs, and keeps the rows it imported', async () => {
    const id = (await addDouyin()).body.connector.id as string;
    await call('POST', `${connectorsOf(t.projectId)}/${id}/sync`);
    await expect.poll(() => streamState(id), { timeout: 20_000, interval: 100 }).toBe('succeeded');
    const db = collectDb(t.server.metadata);
    const { credentials_ref } = await db
      .selectFrom('connector_instances')
      .select('credentials_ref')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

    const removed = await call('DELETE', `${connectorsOf(t.projectId)}/${id}`);
    expect([removed.status, removed.body]).toEqual([200, { removed: true }]);

    expect(await statusOf(id)).toBeUndefined();
    expect(await listJobs(t.server.metadata, { singletonKeyPrefix: `connector:${id}:` })).toEqual([]);
    const secret = await db
      .selectFrom('connector_secrets')
      .select('id')
      .where('id', '=', credentials_ref.replace(/^secret:/, ''))
      .executeTakeFirst();
    expect(secret).toBeUndefined();
    expect(await contentStatsRows()).toBe(45);
    const again = await call('DELETE', `${connectorsOf(t.projectId)}/${id}`);
    expect([again.status, again.body.error.code]).toEqual([404, 'not_found']);
    const { entries } = await listAudit(t.server.metadata, {
      projectId: t.projectId,
      action: 'connector.remove',
    });
    expect(entries[0]).toMatchObject({ targetId: id, outcome: 'success' });
  });
});
