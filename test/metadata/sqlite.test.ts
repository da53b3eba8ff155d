import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openMetadataStore } from '../../src/store/metadata/open.js';
import { describeMetadataSuite } from './metadata-suite.js';

const root = mkdtempSync(join(tmpdir(), 'pulseloop-metadata-'));
let count = 0;

afterAll(() => rmSync(root, { recursive: true, force: true }));

describeMetadataSuite('SQLite', () => openMetadataStore({ dataDir: join(root, `store-${++count}`) }));

describe('SQLite metadata file', () => {
  it('is created in the data directory with WAL journaling and foreign keys on', async () => {
    const dataDir = join(root, 'nested', 'data');
    const store = await openMetadataStore({ dataDir });
    try {
      expect(store.dialect).toBe('sqlite');
      const journal = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(store.db);
      expect(journal.rows[0]?.journal_mode).toBe('wal');
      const keys = await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(store.db);
      expect(keys.rows[0]?.foreign_keys).toBe(1);
    } finally {
      await store.close();
    }
    expect(existsSync(join(dataDir, 'metadata.sqlite'))).toBe(true);
  });
});
