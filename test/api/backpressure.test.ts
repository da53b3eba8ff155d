import { describe, expect, it } from 'vitest';
import { basicAuth, startTestServer } from '../support/server.js';

// A server whose batch writer never runs on its own and accepts only 1 KB of backlog.
describe('back-pressure', () => {
  it('answers 503 with Retry-After when acknowledged events cannot be stored fast enough, and keeps nothing of it', async () => {
    const slow = await startTestServer({
      ingest: {
        maxPendingBytes: 1024,
        flushIntervalMs: 600_000,
        rateLimitPerKey: 10_000,
        dedupeWindowHours: 48,
      },
    });
    try {
      const send = (id: string) =>
        fetch(`${slow.url}/v1/track`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: basicAuth(slow.writeKey) },
          body: JSON.stringify({
            userId: 'u',
            event: 'e',
            messageId: id,
            properties: { pad: 'z'.repeat(2000) },
          }),
        });
      expect((await send('first')).status).toBe(200);
      const refused = await send('second');
      expect(refused.status).toBe(503);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('overloaded');
      await slow.settle();
      const ids = await slow.server.facts.query<{ message_id: string }>(
        'SELECT message_id FROM events WHERE project_id = {p:String}',
        { p: slow.projectId },
      );
      expect(ids.map((r) => r.message_id)).toEqual(['first']);
      // Once the backlog is stored, the same event is accepted: the refusal did not burn its messageId.
      expect((await send('second')).status).toBe(200);
    } finally {
      await slow.close();
    }
  });
});
