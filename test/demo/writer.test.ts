import { describe, expect, it } from 'vitest';
import { generateDemoWorld } from '../../src/demo/index.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';

/** An engine that records what it is asked to do and fails the first insert into `failOn`. */
function recordingEngine(failOn: string): FactsEngine & { commands: string[]; inserts: string[] } {
  const commands: string[] = [];
  const inserts: string[] = [];
  return {
    kind: 'chdb',
    database: 'fake',
    commands,
    inserts,
    async query() {
      return [];
    },
    async command(sql: string) {
      commands.push(sql);
    },
    async insertJsonEachRow(table: string) {
      inserts.push(table);
      if (table.startsWith(failOn)) throw new Error(`disk full while writing ${table}`);
    },
    async insertRows(table: string) {
      inserts.push(table);
      if (table.startsWith(failOn)) throw new Error(`disk full while writing ${table}`);
    },
    async close() {},
  };
}

describe('the demo writer', () => {
  it('reports an engine failure and drops its work tables', async () => {
    const engine = recordingEngine('demo_visit_staging');
    await expect(generateDemoWorld(engine, { projectId: 'p', scale: 0.01 })).rejects.toThrow(/disk full/);
    expect(engine.commands.slice(-2)).toEqual([
      expect.stringMatching(/^DROP TABLE IF EXISTS demo_visit_staging_/),
      expect.stringMatching(/^DROP TABLE IF EXISTS demo_event_load_/),
    ]);
    expect(engine.commands.some((sql) => sql.startsWith('INSERT INTO demo_event_load_'))).toBe(false);
    expect(engine.commands.some((sql) => sql.startsWith('ALTER TABLE events ATTACH'))).toBe(false);
  });

  it('stages visits, expands them month by month, then attaches the events and adds their rollup', async () => {
    const engine = recordingEngine('nothing');
    const summary = await generateDemoWorld(engine, {
      projectId: 'p',
      scale: 0.01,
      endDate: '2025-03-31',
      days: 60,
    });
    const expansions = engine.commands.filter((sql) => sql.startsWith('INSERT INTO demo_event_load_'));
    // One per UTC month the world touches: January (its last day), February, March.
    expect(expansions).toHaveLength(3);
    // The load table's parts are not merged before they reach `events` (compaction merges them once).
    const stopMerges = engine.commands.findIndex((sql) => /^SYSTEM STOP MERGES demo_event_load_/.test(sql));
    expect(stopMerges).toBeGreaterThanOrEqual(0);
    expect(stopMerges).toBeLessThan(engine.commands.indexOf(expansions[0] ?? ''));
    const attach = engine.commands.findIndex((sql) => sql.startsWith('ALTER TABLE events ATTACH'));
    const rollup = engine.commands.findIndex((sql) => sql.startsWith('INSERT INTO event_rollup_hourly'));
    const lastExpansion = engine.commands.lastIndexOf(expansions.at(-1) ?? '');
    expect(lastExpansion).toBeLessThan(attach);
    expect(attach).toBeLessThan(rollup);
    expect(engine.inserts).toContain('identities');
    expect(summary.startDate).toBe('2025-01-31');
    expect(engine.commands.at(-1)).toMatch(/^DROP TABLE IF EXISTS demo_event_load_/);
  });
});
