import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoWorld } from '../../src/demo/index.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';

// chdb binds one data directory per process; vitest gives this file its own process.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-demo-determinism-'));
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

/** An order-independent fingerprint of every row of every table. */
async function checksums(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of TABLES) {
    const [row] = await engine.query<{ h: string }>(
      `SELECT toString(groupBitXor(cityHash64(*))) AS h FROM ${table}`,
    );
    out[table] = row?.h ?? '';
  }
  return out;
}

async function emptyTables(): Promise<void> {
  for (const table of TABLES) await engine.command(`TRUNCATE TABLE ${table}`);
}

async function worldChecksums(seed: number): Promise<Record<string, string>> {
  await emptyTables();
  await generateDemoWorld(engine, { projectId: 'demo', seed, scale: 0.02 });
  return checksums();
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
    for (const table of TABLES) expect(other[table], table).not.toBe(first[table]);
  });
});
