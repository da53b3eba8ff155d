import { randomUUID } from 'node:crypto';
import type { TestServer } from './server.js';

/** Inserts tracked events `[event, distinct id, ISO time]` straight into the test server's store. */
export async function insertTrackedEvents(t: TestServer, rows: [string, string, string][]): Promise<void> {
  const lines = rows.map(([event, distinct_id, at]) =>
    JSON.stringify({
      project_id: t.projectId,
      message_id: randomUUID(),
      type: 'track',
      event,
      distinct_id,
      timestamp: Date.parse(at),
      received_at: Date.parse(at),
    }),
  );
  await t.server.facts.insertJsonEachRow('events', lines.join('\n'));
}

/** Runs an analysis of the test server's first project through the HTTP API, as its owner. */
export async function analyse<Answer>(
  t: TestServer,
  kind: string,
  body: unknown,
): Promise<{ status: number; body: Answer }> {
  const response = await t.api(`/api/v1/projects/${t.projectId}/analyses/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer };
}
