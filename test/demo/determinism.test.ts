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

async function worldChecksums(seed: number): Promise<Record<string, string>> {
  await emptyDemoTables(engine);
  await generateDemoWorld(engine, { projectId: 'demo', seed, scale: 0.02 });
  return demoChecksums(engine);
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
    for (const table of DEMO_TABLES) expect(other[table], table).not.toBe(first[table]);
  });
});
