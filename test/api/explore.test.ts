import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

async function send(path: string, body: unknown, key = t.writeKey) {
  const response = await fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basicAuth(key) },
    body: JSON.stringify(body),
  });
  return response;
}

const api = async (path: string, init?: RequestInit) => {
  const response = await fetch(`${t.url}/api/v1/projects/${t.projectId}${path}`, init);
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
    expect(body.byReason).toEqual([{ reason_code: 'missing_id', count: 1 }]);
  });

  it('streams what arrives, as server-sent events', async () => {
    const controller = new AbortController();
    const response = await fetch(`${t.url}/api/v1/projects/${t.projectId}/events/live`, {
      signal: controller.signal,
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
    const missing = await fetch(`${t.url}/api/v1/projects/nope/events`);
    expect(missing.status).toBe(404);
  });
});

describe('projects, sources and keys', () => {
  it('lists projects and sources with their keys; creates and revokes a key', async () => {
    const projects = (await (await fetch(`${t.url}/api/v1/projects`)).json()) as {
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
  });
});
