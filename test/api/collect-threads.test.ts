import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

// The collection API on a server with an ingestion thread (the compiled one: `npm test` builds
// first), for write keys sent in the body as the browser SDK does (text/plain, no preflight).

let t: TestServer;
let other: { projectId: string; writeKey: string };

beforeAll(async () => {
  t = await startTestServer({ ingest: { threads: 1 } }, undefined, { ingestThreads: true });
  other = await t.newProject('other shop');
});
afterAll(async () => {
  await t.close();
});

async function sendAsBrowser(body: object) {
  const response = await fetch(`${t.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain;charset=UTF-8' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function projectsOf(messageIds: string[]) {
  await t.settle();
  return t.server.facts.query<{ message_id: string; project_id: string }>(
    'SELECT message_id, project_id FROM events WHERE message_id IN {ids:Array(String)} ORDER BY message_id',
    { ids: messageIds },
  );
}

describe('a batch with its write key in the body, on a server with an ingestion thread', () => {
  it("is stored in the project of the body's own key, even when an event carries another key first", async () => {
    const plain = await sendAsBrowser({
      writeKey: t.writeKey,
      batch: [{ type: 'track', messageId: 'bk-1', anonymousId: 'a-1', event: 'page_view' }],
    });
    expect(plain).toMatchObject({ status: 200, json: { accepted: 1 } });
    const decoy = await sendAsBrowser({
      batch: [
        {
          type: 'track',
          messageId: 'bk-2',
          anonymousId: 'a-2',
          event: 'share',
          properties: { writeKey: t.writeKey },
        },
      ],
      writeKey: other.writeKey,
    });
    expect(decoy).toMatchObject({ status: 200, json: { accepted: 1 } });
    expect(await projectsOf(['bk-1', 'bk-2'])).toEqual([
      { message_id: 'bk-1', project_id: t.projectId },
      { message_id: 'bk-2', project_id: other.projectId },
    ]);
  });

  it('answers 401 for an unknown key in the body, even when a known one sits in an event', async () => {
    const response = await sendAsBrowser({
      batch: [
        {
          type: 'track',
          messageId: 'bk-3',
          anonymousId: 'a-3',
          event: 'x',
          properties: { writeKey: t.writeKey },
        },
      ],
      writeKey: 'wk_not_a_key',
    });
    expect(response.status).toBe(401);
    expect(response.json).toMatchObject({ error: { code: 'unknown_write_key' } });
    expect(await projectsOf(['bk-3'])).toEqual([]);
  });

  it('keeps the valid events of a browser batch and quarantines the invalid one', async () => {
    const response = await sendAsBrowser({
      writeKey: t.writeKey,
      batch: [
        { type: 'track', messageId: 'bk-4', anonymousId: 'a-4', event: 'like' },
        { type: 'track', messageId: 'bk-5', event: 'no sender' },
      ],
    });
    expect(response).toMatchObject({ status: 200, json: { accepted: 1, quarantined: 1 } });
    expect(await projectsOf(['bk-4', 'bk-5'])).toEqual([{ message_id: 'bk-4', project_id: t.projectId }]);
  });
});
