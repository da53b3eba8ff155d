import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openChdbEngine, withoutLowCardinality } from '../../src/store/facts/chdb-engine.js';
import { describeFactsSuite } from './facts-suite.js';

// chdb binds one data directory per process; vitest gives this file its own process.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-facts-chdb-'));

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describeFactsSuite('chdb', () => openChdbEngine(dataDir, 'pulseloop_test'));

// Runs after the suite, which inserted large payloads through spool files (one of them refused).
it('leaves no spool file behind, whether the insert succeeded or failed', () => {
  expect(readdirSync(join(dataDir, 'insert-spool'))).toEqual([]);
});

it('reads LowCardinality columns from insert files as their plain type, at any depth', () => {
  expect(withoutLowCardinality('LowCardinality(String)')).toBe('String');
  expect(withoutLowCardinality('LowCardinality(Nullable(String))')).toBe('Nullable(String)');
  expect(withoutLowCardinality('Array(LowCardinality(String))')).toBe('Array(String)');
  expect(withoutLowCardinality('Map(LowCardinality(String), Array(LowCardinality(FixedString(2))))')).toBe(
    'Map(String, Array(FixedString(2)))',
  );
  expect(withoutLowCardinality("DateTime64(3, 'UTC')")).toBe("DateTime64(3, 'UTC')");
});
