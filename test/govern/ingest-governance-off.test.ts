import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, startTestServer, type TestServer } from '../support/server.js';

// The control for ingest-governance.test.ts: the same kind of calls with PULSELOOP_INGEST_GOVERNANCE
// off store everything as sent. It shows the switch works and that the byte search of the log
// does find plaintext when it is there (so its "not found" over there means something).

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ ingest: { governance: false } });
});
afterAll(async () => {
  await t.close();
});

describe('ingestion with governance off', () => {
  it('stores opted-out senders and plaintext PII as sent', async () => {
    const phone = '13612345670';
    const response = await fetch(`${t.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(t.writeKey) },
      body: JSON.stringify({
        batch: [
          {
            type: 'identify',
            userId: 'u-off',
            messageId: 'off-1',
            traits: { phone, consent_analytics: false },
          },
          { type: 'track', userId: 'u-off', event: 'like', messageId: 'off-2' },
        ],
      }),
    });
    expect(response.status).toBe(200);
    await t.settle();
    const rows = await t.server.facts.query<{ message_id: string; properties: string }>(
      `SELECT message_id, properties FROM events WHERE project_id = {project:String} AND user_id = 'u-off'
       ORDER BY message_id`,
      { project: t.projectId },
    );
    expect(rows.map((r) => r.message_id)).toEqual(['off-1', 'off-2']);
    expect(JSON.parse(rows[0]!.properties)).toMatchObject({ phone });
    const dir = join(t.dataDir, 'wal');
    const wal = Buffer.concat(readdirSync(dir).map((name) => readFileSync(join(dir, name))));
    expect(wal.includes(Buffer.from(phone))).toBe(true);
  });
});
