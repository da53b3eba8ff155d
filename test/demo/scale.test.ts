import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoSummary, generateDemoWorld } from '../../src/demo/index.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';

// chdb binds one data directory per process; vitest gives this file its own process.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-demo-scale-'));
let engine: FactsEngine;
let small: DemoSummary;
let triple: DemoSummary;

beforeAll(async () => {
  engine = await openChdbEngine(dataDir, 'pulseloop_demo_scale');
  await migrateFacts(engine);
  small = await generateDemoWorld(engine, { projectId: 'small', seed: 9, scale: 0.02 });
  triple = await generateDemoWorld(engine, { projectId: 'triple', seed: 9, scale: 0.06 });
}, 120_000);

afterAll(async () => {
  await engine?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('demo world scale', () => {
  it('multiplies persons, identities, events and orders by the scale', () => {
    const ratio = (key: keyof DemoSummary['counts']): number => triple.counts[key] / small.counts[key];
    expect(ratio('persons')).toBeCloseTo(3, 1);
    expect(ratio('identities')).toBeGreaterThan(2.6);
    expect(ratio('identities')).toBeLessThan(3.4);
    expect(ratio('events')).toBeGreaterThan(2.6);
    expect(ratio('events')).toBeLessThan(3.4);
    expect(ratio('orders')).toBeGreaterThan(2.4);
    expect(ratio('orders')).toBeLessThan(3.6);
  });

  it('keeps the brand’s content and ad spend the same size at every scale', () => {
    expect(triple.counts.content_stats).toBe(small.counts.content_stats);
    expect(triple.counts.ad_spend).toBe(small.counts.ad_spend);
  });

  it('keeps two projects in one store apart', async () => {
    const counts = await engine.query<{ project_id: string; n: number }>(
      'SELECT project_id, count() AS n FROM events GROUP BY project_id ORDER BY project_id',
    );
    expect(counts.map((c) => [c.project_id, Number(c.n)])).toEqual([
      ['small', small.counts.events],
      ['triple', triple.counts.events],
    ]);
  });

  it('refuses options it cannot honour, with a message that says what to pass', async () => {
    await expect(generateDemoWorld(engine, { projectId: 'x', scale: 0 })).rejects.toThrow(
      /scale must be a number above 0/,
    );
    await expect(generateDemoWorld(engine, { projectId: 'x', endDate: '2025-02-30' })).rejects.toThrow(
      /endDate must be a real date/,
    );
    await expect(generateDemoWorld(engine, { projectId: 'x', days: 7 })).rejects.toThrow(
      /days must be an integer from 28/,
    );
    await expect(generateDemoWorld(engine, { projectId: '' })).rejects.toThrow(
      /projectId must be a non-empty string/,
    );
  });
});
