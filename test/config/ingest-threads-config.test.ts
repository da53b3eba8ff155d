import { describe, expect, it } from 'vitest';
import { defaultIngestThreads } from '../../src/collect/ingest-threads.js';
import { loadConfig } from '../../src/config/config.js';

const env = (extra: Record<string, string>) => ({ PULSELOOP_DATA: '/tmp/pulseloop-config-test', ...extra });

describe('ingestion thread setting', () => {
  it('is unset by default (one thread per core beyond the first, at most 3) and read from the environment', () => {
    expect(loadConfig(env({})).ingest.threads).toBeUndefined();
    expect(defaultIngestThreads()).toBeGreaterThanOrEqual(0);
    expect(defaultIngestThreads()).toBeLessThanOrEqual(3);
    expect([1, 2, 4, 16].map((cores) => defaultIngestThreads(cores))).toEqual([0, 1, 3, 3]);
    expect(loadConfig(env({ PULSELOOP_INGEST_THREADS: '0' })).ingest.threads).toBe(0);
    expect(loadConfig(env({ PULSELOOP_INGEST_THREADS: '2' })).ingest.threads).toBe(2);
  });

  it('refuses a count that is negative or not a number, naming the variable', () => {
    expect(() => loadConfig(env({ PULSELOOP_INGEST_THREADS: '-1' }))).toThrowError(
      /PULSELOOP_INGEST_THREADS/,
    );
    expect(() => loadConfig(env({ PULSELOOP_INGEST_THREADS: 'many' }))).toThrowError(
      /PULSELOOP_INGEST_THREADS\): Expected integer \(got "many"\)/,
    );
  });
});
