import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import { describeFactsSuite } from './facts-suite.js';

// chdb binds one data directory per process; vitest gives this file its own process.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-facts-chdb-'));

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describeFactsSuite('chdb', () => openChdbEngine(dataDir, 'pulseloop_test'));
