import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';

// chdb loads once per process (vitest gives this file its own): the first open decides its allocator.
const root = mkdtempSync(join(tmpdir(), 'pulseloop-chdb-allocator-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The decay time the engine's jemalloc runs with, as the engine itself reports it. */
function dirtyDecayMs(statsText: string): number {
  const match = /opt\.dirty_decay_ms: (-?\d+)/.exec(statsText);
  if (!match) throw new Error(`no opt.dirty_decay_ms in system.jemalloc_stats:\n${statsText.slice(0, 500)}`);
  return Number(match[1]);
}

const STATS_SQL = 'SELECT * FROM system.jemalloc_stats';

describe('the embedded engine’s allocator', () => {
  it('keeps freed memory for 30 s instead of chdb’s 5 s, and leaves the environment as it was', async () => {
    expect(process.env.JE_MALLOC_CONF).toBeUndefined();
    const engine = await openChdbEngine(join(root, 'default'), 'allocator_test');
    try {
      const rows = await engine.query<Record<string, string>>(STATS_SQL);
      const text = rows.map((row) => Object.values(row).join('\t')).join('\n');
      expect(dirtyDecayMs(text)).toBe(30_000);
      // Processes the server starts do not inherit it.
      expect(process.env.JE_MALLOC_CONF).toBeUndefined();
    } finally {
      await engine.close();
    }
  });

  it('takes JE_MALLOC_CONF from the environment when the user sets it', () => {
    // A process of its own: this one has loaded chdb already. It runs the built engine (npm test builds first).
    const engine = pathToFileURL(join(process.cwd(), 'dist', 'src', 'store', 'facts', 'chdb-engine.js')).href;
    const script = `
      const { openChdbEngine } = await import(${JSON.stringify(engine)});
      const engine = await openChdbEngine(${JSON.stringify(join(root, 'user'))}, 'allocator_test');
      const rows = await engine.query(${JSON.stringify(STATS_SQL)});
      process.stdout.write(rows.map((row) => Object.values(row).join('\\t')).join('\\n'));
      await engine.close();`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, JE_MALLOC_CONF: 'dirty_decay_ms:7000' },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    expect(child.status, child.stderr).toBe(0);
    expect(dirtyDecayMs(child.stdout)).toBe(7_000);
  });
});
