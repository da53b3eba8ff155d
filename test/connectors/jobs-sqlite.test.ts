import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openMetadataStore } from '../../src/store/metadata/open.js';
import { describeJobTableSuite } from './jobs-suite.js';

const root = mkdtempSync(join(tmpdir(), 'pulseloop-jobs-'));
let count = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeJobTableSuite('SQLite', () => openMetadataStore({ dataDir: join(root, `store-${++count}`) }));
