import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openMetadataStore } from '../../src/store/metadata/open.js';
import { describeGovernMetadataSuite } from './metadata-suite.js';

const root = mkdtempSync(join(tmpdir(), 'pulseloop-govern-sqlite-'));
let count = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeGovernMetadataSuite('SQLite', () => openMetadataStore({ dataDir: join(root, `store-${++count}`) }));
