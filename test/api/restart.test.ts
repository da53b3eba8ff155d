import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
