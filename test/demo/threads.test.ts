import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { generateDemoWorld } from '../../src/demo/index.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';

// Worker threads run the compiled generator (the test runner's TypeScript sources have no worker
// file), so this test drives the built module, as `pulseloop demo` does. `npm test` builds first.
const BUILT = join(import.meta.dirname, '..', '..', 'dist', 'src', 'demo', 'index.js');
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-demo-threads-'));
const TABLES = [
  'events',
  'identities',
  'persons',
  'content_stats',
  'ad_spend',
  'orders',
  'comments',
] as const;
let engine: FactsEngine;
let generate: typeof generateDemoWorld;

async function checksums(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of TABLES) {
    const [row] = await engine.query<{ n: number; h: string }>(
      `SELECT count() AS n, toString(groupBitXor(cityHash64(*))) AS h FROM ${table}`,
    );
    out[table] = `${row?.n} ${row?.h}`;
  }
  // The rollup's rows depend on how its parts merged; their sums per key do not.
  const [rollup] = await engine.query<{ h: string }>(
    `SELECT toString(groupBitXor(cityHash64(*))) AS h FROM (
       SELECT event, hour, platform, channel, utm_source, utm_medium, device_type, country,
         sum(events), sum(revenue)
       FROM event_rollup_hourly
       GROUP BY event, hour, platform, channel, utm_source, utm_medium, device_type, country)`,
  );
  out.event_rollup_hourly = rollup?.h ?? '';
  return out;
}

async function emptyTables(): Promise<void> {
  for (const table of [...TABLES, 'event_rollup_hourly']) await engine.command(`TRUNCATE TABLE ${table}`);
}

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build first`);
  generate = ((await import(pathToFileURL(BUILT).href)) as { generateDemoWorld: typeof generateDemoWorld })
    .generateDemoWorld;
  engine = await openChdbEngine(dataDir, 'pulseloop_demo_threads');
  await migrateFacts(engine);
});

afterAll(async () => {
  await engine?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('demo generation on worker threads', () => {
  it('writes the same world and ground truth as generation on the calling thread', async () => {
    const options = { projectId: 'demo', seed: 11, scale: 0.05, endDate: '2025-03-31', days: 60 };
    const threaded = await generate(engine, { ...options, threads: 2 });
    expect(threaded.threads).toBe(2);
    const threadedSums = await checksums();
    await emptyTables();
    const single = await generate(engine, { ...options, threads: 0 });
    expect(single.threads).toBe(0);
    expect(await checksums()).toEqual(threadedSums);
    expect(single.counts).toEqual(threaded.counts);
    expect(single.truth).toEqual(threaded.truth);
    expect(threaded.counts.events).toBeGreaterThan(100_000);
  });
});
