import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runIngestLoad } from '../../bench/ingest-load.js';
import { runCli, startServerProcess } from '../../bench/server-process.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';

// Runs the built CLI (`npm test` builds before running the tests).
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-durability-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('durability', () => {
  it('loses and duplicates nothing acknowledged when the server is killed with SIGKILL during heavy ingestion', async () => {
    const projectId = runCli(dataDir, 'projects', 'create', '--name', 'Durable');
    const writeKey = runCli(dataDir, 'keys', 'create', '--project', projectId);
    const acknowledged: string[] = [];

    const first = await startServerProcess(dataDir);
    const abort = new AbortController();
    const load = runIngestLoad({
      url: first.url,
      writeKey,
      durationMs: 20_000,
      eventsPerRequest: 100,
      concurrency: 16,
      signal: abort.signal,
      onAcknowledged: (ids) => acknowledged.push(...ids),
    });
    // Kill once a good amount has been acknowledged, in the middle of the stream.
    while (acknowledged.length < 30_000) await new Promise((r) => setTimeout(r, 50));
    await first.stop('SIGKILL');
    abort.abort();
    await load;
    const acknowledgedAtKill = acknowledged.length;
    expect(acknowledgedAtKill).toBeGreaterThanOrEqual(30_000);

    // Restart: the log is replayed; then stop gracefully so the store files are free to read here.
    const second = await startServerProcess(dataDir);
    expect(await second.stop('SIGTERM')).toBe(0);

    const engine = await openChdbEngine(join(dataDir, 'facts'), 'pulseloop');
    try {
      const rows = await engine.query<{ message_id: string; copies: number }>(
        'SELECT message_id, count() AS copies FROM events WHERE project_id = {p:String} GROUP BY message_id',
        { p: projectId },
      );
      const copies = new Map(rows.map((r) => [r.message_id, Number(r.copies)]));
      const missing = acknowledged.filter((id) => !copies.has(id));
      const duplicated = rows.filter((r) => Number(r.copies) > 1);
      expect(missing).toEqual([]);
      expect(duplicated).toEqual([]);
    } finally {
      await engine.close();
    }
  }, 180_000);
});
