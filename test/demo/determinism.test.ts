import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoWorld } from '../../src/demo/index.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import { DEMO_TABLES, demoChecksums, emptyDemoTables } from '../support/demo-checksums.js';

// chdb binds one data directory per process; vitest gives this file its own process.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-demo-determinism-'));
let engine: FactsEngine;

async function worldChecksums(
  seed: number,
  batching?: { eventsPerBatch: number; eventsPerExpansion: number },
): Promise<{ sums: Record<string, string>; counts: Record<string, number> }> {
  await emptyDemoTables(engine);
  const summary = await generateDemoWorld(engine, { projectId: 'demo', seed, scale: 0.02, batching });
  return { sums: await demoChecksums(engine), counts: { ...summary.counts } };
}

beforeAll(async () => {
  engine = await openChdbEngine(dataDir, 'pulseloop_demo_determinism');
  await migrateFacts(engine);
});

afterAll(async () => {
  await engine?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('demo world determinism', () => {
  it('writes byte-identical tables for the same seed and options, and different ones for another seed', async () => {
    const first = await worldChecksums(5);
    const again = await worldChecksums(5);
    const other = await worldChecksums(6);
    expect(again).toEqual(first);
    for (const table of DEMO_TABLES) expect(other.sums[table], table).not.toBe(first.sums[table]);
  });

  it('writes the same world when it is sent in many small batches and expanded several times', async () => {
    const whole = await worldChecksums(5);
    // ~100k events: about 20 batches of visits and 5 expansions, each with its identities, persons,
    // orders and comments, instead of one of each.
    const inPieces = await worldChecksums(5, { eventsPerBatch: 5_000, eventsPerExpansion: 20_000 });
    expect(whole.counts.events).toBeGreaterThan(90_000);
    expect(inPieces).toEqual(whole);
    // The counts the generator reports are the rows in the store.
    for (const table of DEMO_TABLES)
      expect(Number(whole.sums[table]!.split(' ')[0]), table).toBe(whole.counts[table]);
  });
});
