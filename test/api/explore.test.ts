import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setAsideRows } from '../../src/collect/set-aside.js';
import { listAudit } from '../../src/govern/audit.js';
import type { Role } from '../../src/govern/permissions.js';
import { createApiToken } from '../../src/govern/tokens.js';
import { createUser, setProjectRole } from '../../src/govern/users.js';
import { ByteSink } from '../../src/lib/byte-sink.js';
import { FactsQueryError } from '../../src/store/facts/engine.js';
import { writeEventBinary } from '../../src/store/facts/event-binary.js';
import { EMPTY_EVENT } from '../support/event-rows.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const send = (path: string, body: unknown, key = t.writeKey) => t.collect(path, body, key);

const api = async (path: string, init?: RequestInit) => {
  const response = await t.api(`/api/v1/projects/${t.projectId}${path}`, init);
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

describe('events explorer', () => {
  it('lists the latest events newest first and shows one in full', async () => {
    const now = Date.now();
    for (const [i, event] of ['First', 'Second', 'Third'].entries()) {
      expect(
        (
          await send('/v1/track', {
            event,
            userId: 'u1',
            timestamp: new Date(now - (3 - i) * 1000).toISOString(),
            properties: { i },
          })
        ).status,
      ).toBe(200);
    }
    await t.settle();
    const { body } = await api('/events?limit=2');
    expect(body.events.map((e: { event: string }) => e.event)).toEqual(['Third', 'Second']);
    const older = await api(`/events?limit=5&before=${body.events[1].timestamp}`);
    expect(older.body.events.map((e: { event: string }) => e.event)).toEqual(['First']);
    const one = await api(`/events/${body.events[0].message_id}`);
    expect(JSON.parse(one.body.event.properties)).toEqual({ i: 2 });
    expect((await api('/events?event=Second')).body.events).toHaveLength(1);
  });

  it('narrows the latest events to the platforms asked for and refuses a malformed platform list', async () => {
    expect((await send('/v1/page', { userId: 'u9', name: 'Home' })).status).toBe(200);
    expect((await send('/v1/screen', { userId: 'u9', name: 'Home screen' })).status).toBe(200);
    await t.settle();
    const app = await api('/events?limit=50&platform=app');
    expect(app.body.events.length).toBeGreaterThan(0);
    expect(new Set(app.body.events.map((e: { platform: string }) => e.platform))).toEqual(new Set(['app']));
    const both = await api('/events?limit=50&platform=app,web');
    expect(new Set(both.body.events.map((e: { platform: string }) => e.platform))).toEqual(
      new Set(['app', 'web']),
    );
    const bad = await api('/events?platform=app,,web');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('platform');
    expect(bad.body.error.message_zh).toBe(
      '查询的 "platform" 无效：必须是以逗号分隔的平台 ID，最多 50 个，每个 1–100 个字符',
    );
  });

  it('shows quarantined events with their reason', async () => {
    const response = await send('/v1/batch', {
      batch: [
        { type: 'track', event: 'Fine', userId: 'u2' },
        { type: 'track', event: 'No id' },
      ],
    });
    expect(response.status).toBe(200);
    await t.settle();
    const { body } = await api('/quarantine');
    expect(body.rows).toHaveLength(1);
    expect(body.rows[0]).toMatchObject({ reason_code: 'missing_id', row_number: 1 });
    // The reason in both languages, for the dashboard to show in its own.
    expect(body.rows[0].reason).toMatch(/userId or an anonymousId/);
    expect(body.rows[0].reason_zh).toMatch(/[\u4e00-\u9fff]/);
    expect(body.byReason).toEqual([{ reason_code: 'missing_id', count: 1 }]);
  });

  it('stores again the rows the store refused, for roles that may import, in this project only', async () => {
    const other = await t.newProject('Other brand');
    const setAside = (projectId: string, ids: string[]) => {
      const sink = new ByteSink(64);
      for (const id of ids)
        writeEventBinary(sink, {
          ...EMPTY_EVENT,
          project_id: projectId,
          message_id: id,
          event: 'Refused once',
        });
      const record = {
        table: 'events',
        rows: sink.copyAndReset(),
        rowCount: ids.length,
        format: 'RowBinary',
      } as const;
      const refusal = new FactsQueryError('Code: 6. Cannot parse text', 6, 'INSERT INTO events');
      return t.server.facts.insertJsonEachRow(
        'quarantine',
        setAsideRows(record, `api-${projectId}`, refusal).payload,
      );
    };
    await setAside(t.projectId, ['refused-1', 'refused-2']);
    await setAside(other.projectId, ['elsewhere-1']);
    expect((await api('/quarantine')).body.byReason).toContainEqual({
      reason_code: 'store_refused_row',
      count: 2,
    });

    const viewer = await memberToken('viewer');
    const denied = await api('/quarantine/retry', {
      method: 'POST',
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(denied.status).toBe(403);

    const retried = await api('/quarantine/retry', { method: 'POST' });
    expect(retried).toEqual({ status: 200, body: { stored: 2, refusedAgain: 0, unreadable: 0 } });
    const stored = await t.server.facts.query<{ project_id: string; message_id: string }>(
      "SELECT project_id, message_id FROM events WHERE event = 'Refused once' ORDER BY message_id",
    );
    expect(stored).toEqual([
      { project_id: t.projectId, message_id: 'refused-1' },
      { project_id: t.projectId, message_id: 'refused-2' },
    ]);
    expect((await api('/quarantine')).body.byReason).not.toContainEqual(
      expect.objectContaining({ reason_code: 'store_refused_row' }),
    );
    // The other project's rows wait for its own retry.
    const [left] = await t.server.facts.query<{ n: number }>(
      "SELECT count() AS n FROM quarantine WHERE project_id = {p:String} AND reason_code = 'store_refused_row'",
      { p: other.projectId },
    );
    expect(Number(left!.n)).toBe(1);
    const { entries } = await listAudit(t.server.metadata, { projectId: t.projectId, limit: 100 });
    expect(entries.find((e) => e.action === 'quarantine.retry')).toMatchObject({
      outcome: 'success',
      details: { stored: 2, refusedAgain: 0, unreadable: 0 },
    });
  });

  it('streams what arrives, as server-sent events', async () => {
    const controller = new AbortController();
    const response = await fetch(`${t.url}/api/v1/projects/${t.projectId}/events/live`, {
      signal: controller.signal,
      headers: t.authHeaders(),
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    await reader.read(); // ": connected"
    await send('/v1/track', { event: 'Live one', anonymousId: 'a-live' });
    let text = '';
    while (!text.includes('Live one')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('event: event');
    controller.abort();
  });

  it('answers a bad limit with 400 naming it, and an unknown project with 404', async () => {
    const bad = await api('/events?limit=100000');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe('limit');
    expect(bad.body.error.message_zh).toContain('必须是 1 到 500 之间的整数');
    const badBefore = await api('/events?before=yesterday');
    expect(badBefore.body.error.message_zh).toContain('必须是 UTC 毫秒时间戳');
    const missing = await t.api('/api/v1/projects/nope/events');
    expect(missing.status).toBe(404);
  });
});

describe('projects, sources and keys', () => {
  it('lists projects and sources with their keys; creates and revokes a key', async () => {
    const projects = (await (await t.api('/api/v1/projects')).json()) as {
      projects: { id: string }[];
    };
    expect(projects.projects.map((p: { id: string }) => p.id)).toContain(t.projectId);
    const { body } = await api('/sources');
    const source = body.sources[0];
    expect(source.writeKeys.map((k: { key: string }) => k.key)).toContain(t.writeKey);

    const created = await api(`/sources/${source.id}/keys`, { method: 'POST' });
    const key = created.body.writeKey.key as string;
    expect((await send('/v1/track', { event: 'With new key', userId: 'u3' }, key)).status).toBe(200);
    const revoked = await api(`/sources/${source.id}/keys/${key}`, { method: 'DELETE' });
    expect(revoked.body.revoked).toBe(true);
    // The key cache keeps an accepted key for at most a second.
    await new Promise((r) => setTimeout(r, 1100));
    expect((await send('/v1/track', { event: 'Revoked', userId: 'u3' }, key)).status).toBe(401);
    // Both changes are in the audit log, naming the key by its prefix only.
    const { entries } = await listAudit(t.server.metadata, { projectId: t.projectId, limit: 100 });
    const keyEntries = entries.filter((e) => e.action.startsWith('key.'));
    expect(keyEntries.map((e) => e.action).sort()).toEqual(['key.create', 'key.revoke']);
    for (const entry of keyEntries) {
      expect(entry.targetId).toBe(`${key.slice(0, 10)}…`);
      expect(JSON.stringify(entry)).not.toContain(key);
    }
  });

  it('hides write keys from roles without keys.manage and refuses them key changes', async () => {
    const token = await memberToken('analyst');
    const { body } = await api('/sources', { headers: { authorization: `Bearer ${token}` } });
    expect(body.keysVisible).toBe(false);
    expect(JSON.stringify(body)).not.toContain(t.writeKey);
    const created = await api(`/sources/${body.sources[0].id}/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect([created.status, created.body.error.code]).toEqual([403, 'forbidden']);
  });
});

/** A new member of the first project with `role` and their API token. */
async function memberToken(role: Role): Promise<string> {
  const user = await createUser(t.server.metadata, {
    email: `${role}-${Math.random().toString(36).slice(2)}@explore.example.com`,
    password: 'member password 1',
  });
  await setProjectRole(t.server.metadata, t.projectId, user.id, role);
  const { token } = await createApiToken(t.server.metadata, {
    userId: user.id,
    projectId: t.projectId,
    role,
    readOnly: false,
    name: role,
  });
  return token;
}

describe('PII in raw events', () => {
  it('shows owners the PII in event properties and masks it for analysts; marketers see no raw events', async () => {
    const sent = await send('/v1/track', {
      event: 'Signed up',
      userId: 'u-pii',
      properties: {
        phone: '13812341234',
        plan: 'gold',
        shipping: { name: '张三', email: 'zhang@example.com' },
      },
    });
    expect(sent.status).toBe(200);
    await t.settle();
    const owner = await api('/events?event=Signed%20up');
    const ownerProps = JSON.parse(owner.body.events[0].properties);
    expect(ownerProps).toMatchObject({ phone: '13812341234', shipping: { name: '张三' } });

    const analyst = `Bearer ${await memberToken('analyst')}`;
    const masked = await api('/events?event=Signed%20up', { headers: { authorization: analyst } });
    const props = JSON.parse(masked.body.events[0].properties);
    expect(props).toEqual({
      phone: '138****1234',
      plan: 'gold',
      shipping: { name: '张*', email: 'z***@example.com' },
    });
    const one = await api(`/events/${masked.body.events[0].message_id}`, {
      headers: { authorization: analyst },
    });
    expect(one.body.event.properties).not.toContain('13812341234');

    const marketer = `Bearer ${await memberToken('marketer')}`;
    const refused = await api('/events', { headers: { authorization: marketer } });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'forbidden']);
  });
});
