import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const dir = mkdtempSync(join(tmpdir(), 'pulseloop-config-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Loads the configuration from a file holding `settings`, with no other environment. */
function loadFile(settings: unknown) {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(settings));
  return loadConfig({ PULSELOOP_DATA: dir, PULSELOOP_CONFIG: path });
}

describe('the configuration file', () => {
  it('sets any setting, top-level and under ingest, by its name', () => {
    const config = loadFile({ port: 8123, logLevel: 'warn', ingest: { flushIntervalMs: 50 } });
    expect(config).toMatchObject({ port: 8123, logLevel: 'warn', ingest: { flushIntervalMs: 50 } });
    // The other ingestion settings keep their defaults.
    expect(config.ingest.dedupeWindowHours).toBe(48);
  });

  it('refuses a setting Pulseloop does not have, naming it and the settings there are', () => {
    const load = () => loadFile({ prot: 8123, ingest: { flushIntervalMS: 50 } });
    expect(load).toThrowError(ConfigError);
    expect(load).toThrowError(/names settings Pulseloop does not have: "prot", "ingest\.flushIntervalMS"\./);
    expect(load).toThrowError(/The settings are: dataDir, port, .*ingest\.flushIntervalMs/);
    expect(load).toThrowError(/含有不存在的设置/);
  });

  it('says which setting an environment variable name stands for', () => {
    expect(() => loadFile({ PORT: 8123, ingest: { PULSELOOP_FLUSH_INTERVAL_MS: 50 } })).toThrowError(
      /"PORT" \(write it as port\), "ingest\.PULSELOOP_FLUSH_INTERVAL_MS" \(write it as ingest\.flushIntervalMs\)/,
    );
  });
});
