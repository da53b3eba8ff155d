import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { basicAuth, startTestServer } from '../support/server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-restart-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function send(url: string, key: string, path: string, body: object) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basicAuth(key) },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('a restarted server', () => {
  it('remembers identities, traits and recent messageIds across a graceful restart', async () => {
    const first = await startTestServer({}, dataDir);
    const { projectId, writeKey } = first;
    await send(first.url, writeKey, '/v1/identify', {
      anonymousId: 'device-1',
      userId: 'member-1',
      traits: { tier: 'gold' },
      messageId: 'before-restart',
    });
    await first.server.close();

    const second = await startTestServer({}, dataDir);
    try {
      const duplicate = await send(second.url, writeKey, '/v1/identify', {
        anonymousId: 'device-1',
        userId: 'member-1',
        messageId: 'before-restart',
      });
      expect(duplicate.json).toMatchObject({ accepted: 0, duplicates: 1 });
      await send(second.url, writeKey, '/v1/track', {
        anonymousId: 'device-1',
        event: 'app_open',
        messageId: 'after',
      });
      await second.settle();
      const persons = await second.server.facts.query<{ person_id: string }>(
        `SELECT DISTINCT person_id FROM events WHERE project_id = {p:String}`,
        { p: projectId },
      );
      expect(persons).toHaveLength(1);
      const [person] = await second.server.facts.query<{ traits: string }>(
        `SELECT argMax(traits, version) AS traits FROM persons WHERE project_id = {p:String} AND person_id = {id:String}`,
        { p: projectId, id: persons[0]!.person_id },
      );
      expect(JSON.parse(person!.traits)).toEqual({ tier: 'gold' });
    } finally {
      await second.server.close();
    }
  });
});

describe('a re-delivery hours after the first copy', () => {
  it('is recognised through the store once its id has left the exact hours, and a new id is still stored', async () => {
    const server = await startTestServer();
    try {
      const { url, writeKey, projectId } = server;
      const first = await send(url, writeKey, '/v1/track', {
        anonymousId: 'd',
        event: 'view',
        messageId: 'early',
      });
      expect(first.json).toMatchObject({ accepted: 1 });
      await server.settle();
      // Three hours on (only the clock is moved; timers run as usual).
      vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
      vi.setSystemTime(Date.now() + 3 * 3_600_000);
      const again = await send(url, writeKey, '/v1/track', {
        anonymousId: 'd',
        event: 'view',
        messageId: 'early',
      });
      expect(again.json).toMatchObject({ accepted: 0, duplicates: 1 });
      const fresh = await send(url, writeKey, '/v1/track', {
        anonymousId: 'd',
        event: 'view',
        messageId: 'later',
      });
      expect(fresh.json).toMatchObject({ accepted: 1, duplicates: 0 });
      await server.settle();
      const rows = await server.server.facts.query<{ message_id: string; n: number }>(
        `SELECT message_id, count() AS n FROM events WHERE project_id = {p:String} GROUP BY message_id ORDER BY message_id`,
        { p: projectId },
      );
      expect(rows.map((row) => [row.message_id, Number(row.n)])).toEqual([
        ['early', 1],
        ['later', 1],
      ]);
    } finally {
      vi.useRealTimers();
      await server.close();
    }
  });
});
