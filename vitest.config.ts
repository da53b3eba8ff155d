import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // chdb allows one data directory per process: every test file runs in its own fork.
    pool: 'forks',
    // Vitest's default is one fork fewer than the cores: one at a time on a 2-core machine. The files
    // wait much of their time on servers, child processes and the browser, so at least two forks:
    // on 2 cores, 576 s instead of 812 s (AMD EPYC, 2 vCPUs, 124 files).
    maxWorkers: Math.max(availableParallelism() - 1, 2),
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits for what a page or server does next. Vitest's default of 1 s failed a browser
    // test once in a full run (a filtered list still loading while two forks, a browser and servers
    // shared two cores); a poll that holds ends at once, so a longer wait only delays a real failure.
    expect: { poll: { timeout: 15_000 } },
    // The command line speaks the locale's language; tests read its English unless they choose.
    env: { PULSELOOP_LANG: 'en' },
  },
});
