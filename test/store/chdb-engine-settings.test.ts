import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { builtUrl } from '../support/built.js';

// chdb loads once per process (vitest gives this file its own): the first open decides its allocator.
const root = mkdtempSync(join(tmpdir(), 'pulseloop-chdb-settings-'));
/** Short, so that the test need not wait the server's 2 s of idleness. */
const IDLE_PURGE_MS = 300;
let engine: FactsEngine;
let envBeforeOpen: string | undefined;

beforeAll(async () => {
  envBeforeOpen = process.env.JE_MALLOC_CONF;
  engine = await openChdbEngine(join(root, 'default'), 'allocator_test', { idlePurgeMs: IDLE_PURGE_MS });
});

afterAll(async () => {
  await engine?.close();
  rmSync(root, { recursive: true, force: true });
});

function rssMiB(): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
}

/** The decay time the engine's jemalloc runs with, as the engine itself reports it. */
function dirtyDecayMs(statsText: string): number {
  const match = /opt\.dirty_decay_ms: (-?\d+)/.exec(statsText);
  if (!match) throw new Error(`no opt.dirty_decay_ms in system.jemalloc_stats:\n${statsText.slice(0, 500)}`);
  return Number(match[1]);
}

const STATS_SQL = 'SELECT * FROM system.jemalloc_stats';

/**
 * The allocator's statistics in a process of its own started with JE_MALLOC_CONF = `conf` (this
 * process has loaded chdb already), and the variable as the process saw it once the engine was open.
 * It runs the built engine (support/built.ts).
 */
function allocatorStatsWith(conf: string, dir: string): { stats: string; envAfterOpen: string | null } {
  const engine = builtUrl('src/store/facts/chdb-engine.js');
  const script = `
    const { openChdbEngine } = await import(${JSON.stringify(engine)});
    const engine = await openChdbEngine(${JSON.stringify(join(root, dir))}, 'allocator_test');
    const envAfterOpen = process.env.JE_MALLOC_CONF ?? null;
    const rows = await engine.query(${JSON.stringify(STATS_SQL)});
    const stats = rows.map((row) => Object.values(row).join('\\t')).join('\\n');
    process.stdout.write(JSON.stringify({ stats, envAfterOpen }));
    await engine.close();`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, JE_MALLOC_CONF: conf },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout) as { stats: string; envAfterOpen: string | null };
}

describe('the embedded engine’s own settings', () => {
  it('keeps freed memory for 30 s instead of chdb’s 5 s, asks for huge pages, and leaves the environment as it was', async () => {
    expect(envBeforeOpen).toBeUndefined();
    const rows = await engine.query<Record<string, string>>(STATS_SQL);
    const text = rows.map((row) => Object.values(row).join('\t')).join('\n');
    expect(dirtyDecayMs(text)).toBe(30_000);
    expect(text).toMatch(/MALLOC_CONF: "[^"]*thp:always/);
    // Taken up, unless the system has no transparent huge pages at all (jemalloc then says so).
    expect(text).toMatch(/opt\.thp: "(always|not supported)"/);
    // Processes the server starts do not inherit it.
    expect(process.env.JE_MALLOC_CONF).toBeUndefined();
  });

  it('gives the memory of a large query back once the engine is idle, not 30 s later', async () => {
    const before = rssMiB();
    // A GROUP BY over 5M distinct text keys: a hash table of a few hundred MiB, freed when it ends.
    const [row] = await engine.query<{ keys: number }>(
      'SELECT count() AS keys FROM (SELECT toString(number % 5000000) AS k FROM numbers(20000000) GROUP BY k)',
    );
    expect(Number(row?.keys)).toBe(5_000_000);
    const afterQuery = rssMiB();
    expect(afterQuery - before).toBeGreaterThan(150);
    const deadline = performance.now() + 10 * IDLE_PURGE_MS;
    while (rssMiB() > afterQuery - 150 && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(rssMiB()).toBeLessThan(afterQuery - 150);
  });

  it('runs background merges below the serving thread (nice 10)', async () => {
    const [row] = await engine.query<{ value: string }>(
      "SELECT value FROM system.server_settings WHERE name = 'os_threads_nice_value_merge_mutate'",
    );
    expect(row?.value).toBe('10');
  });

  it('takes JE_MALLOC_CONF from the environment when the user sets it', () => {
    const child = allocatorStatsWith('dirty_decay_ms:7000', 'user');
    expect(dirtyDecayMs(child.stats)).toBe(7_000);
    expect(child.envAfterOpen).toBe('dirty_decay_ms:7000');
  });

  it('takes an empty JE_MALLOC_CONF as unset: its own settings, and the variable left empty', () => {
    const child = allocatorStatsWith('', 'empty');
    expect(dirtyDecayMs(child.stats)).toBe(30_000);
    expect(child.stats).toMatch(/MALLOC_CONF: "[^"]*thp:always/);
    expect(child.envAfterOpen).toBe('');
  });
});
