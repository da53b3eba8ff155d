import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import { describeFactsSuite } from './facts-suite.js';

// chdb binds one data directory per process; vitest gives this file its own process.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-facts-chdb-'));

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describeFactsSuite('chdb', () => openChdbEngine(dataDir, 'pulseloop_test'));

// Runs after the suite, which inserted large payloads through spool files (one of them refused).
it('leaves no spool file behind, whether the insert succeeded or failed', () => {
  expect(readdirSync(join(dataDir, 'insert-spool'))).toEqual([]);
});
