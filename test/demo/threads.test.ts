import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { generateDemoWorld } from '../../src/demo/index.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import { importBuilt } from '../support/built.js';
import { demoChecksums, emptyDemoTables } from '../support/demo-checksums.js';

// Worker threads run the compiled generator, so this test drives the built module, as `pulseloop
// demo` does (support/built.ts).
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-demo-threads-'));
let engine: FactsEngine;
let generate: typeof generateDemoWorld;

beforeAll(async () => {
  generate = (await importBuilt<{ generateDemoWorld: typeof generateDemoWorld }>('src/demo/index.js'))
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
    const threadedSums = await demoChecksums(engine);
    await emptyDemoTables(engine);
    const single = await generate(engine, { ...options, threads: 0 });
    expect(single.threads).toBe(0);
    expect(await demoChecksums(engine)).toEqual(threadedSums);
    expect(single.counts).toEqual(threaded.counts);
    expect(single.truth).toEqual(threaded.truth);
    expect(threaded.counts.events).toBeGreaterThan(100_000);
  });
});
