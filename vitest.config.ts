import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // chdb allows one data directory per process: every test file runs in its own fork.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The command line speaks the locale's language; tests read its English unless they choose.
    env: { PULSELOOP_LANG: 'en' },
  },
});
