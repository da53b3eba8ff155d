import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';

const env = (extra: Record<string, string>) => ({ PULSELOOP_DATA: '/tmp/pulseloop-config-test', ...extra });

describe('dedupe window settings', () => {
  it('remembers ids 48 hours in at most 1 GiB by default, and reads both from the environment', () => {
    const defaults = loadConfig(env({})).ingest;
    expect(defaults).toMatchObject({ dedupeWindowHours: 48, dedupeMemoryMb: 1024 });
    const set = loadConfig(env({ PULSELOOP_DEDUPE_WINDOW_HOURS: '24', PULSELOOP_DEDUPE_MEMORY_MB: '2048' }));
    expect(set.ingest).toMatchObject({ dedupeWindowHours: 24, dedupeMemoryMb: 2048 });
  });

  it('refuses a memory limit too small or not a number, naming the variable', () => {
    expect(() => loadConfig(env({ PULSELOOP_DEDUPE_MEMORY_MB: '8' }))).toThrowError(
      /PULSELOOP_DEDUPE_MEMORY_MB/,
    );
    expect(() => loadConfig(env({ PULSELOOP_DEDUPE_MEMORY_MB: 'lots' }))).toThrowError(
      /PULSELOOP_DEDUPE_MEMORY_MB\): Expected integer \(got "lots"\)/,
    );
  });
});
