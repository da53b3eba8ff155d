import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

// What Fastify answers before any route runs is worded like every other error: code, both languages.
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

describe('errors answered before routing', () => {
  it('answers a malformed path (a stray "%") with 400 and the usual error in both languages', async () => {
    for (const path of ['/api/v1/projects/%zz/events', '/v1/track%']) {
      const response = await t.api(path, { method: path.startsWith('/v1') ? 'POST' : 'GET' });
      expect(response.status, path).toBe(400);
      const { error } = (await response.json()) as { error: Record<string, string> };
      expect(error.code).toBe('invalid_request');
      expect(error.message).toContain('the path is not a valid URL');
      expect(error.message_zh).toContain('路径不是有效的 URL');
    }
  });
});
