import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDemoWorld } from '../src/demo/index.js';
import { openChdbEngine } from '../src/store/facts/chdb-engine.js';
import { migrateFacts } from '../src/store/facts/migrate.js';

export interface DemoGenerationResult {
  events: number;
  seconds: number;
  eventsPerSecond: number;
}

/**
 * Demo world generation into the embedded store: a fresh chdb directory, migrated, then the world
 * at `scale` (default 1: ≈ 54k persons, ≈ 5.1M events). The clock covers generation only, from the
 * first row planned to the last insert acknowledged (background merges may still run).
 */
export async function benchDemoGeneration(
  options: { scale?: number; seed?: number } = {},
): Promise<DemoGenerationResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-bench-demo-generation-'));
  const engine = await openChdbEngine(dataDir, 'pulseloop_bench_demo');
  try {
    await migrateFacts(engine);
    const startedAt = performance.now();
    const summary = await generateDemoWorld(engine, {
      projectId: 'bench_demo',
      seed: options.seed ?? 42,
      scale: options.scale ?? 1,
    });
    const seconds = (performance.now() - startedAt) / 1000;
    const events = summary.counts.events;
    return { events, seconds, eventsPerSecond: events / seconds };
  } finally {
    await engine.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
