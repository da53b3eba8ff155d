import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPiiKeyring, type PiiKeyring } from '../../src/govern/pii/keys.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import { type MetadataStore, openMetadataStore } from '../../src/store/metadata/open.js';
import { createOrganisation } from '../../src/store/metadata/organisations.js';
import { createProject } from '../../src/store/metadata/projects.js';

/** Real stores for a connector test file: chdb and SQLite in a temporary directory. */
export async function openTestStores(): Promise<{
  facts: FactsEngine;
  metadata: MetadataStore;
  newProject(name?: string): Promise<string>;
  close(): Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'pulseloop-connectors-'));
  const facts = await openChdbEngine(join(dir, 'facts'), 'pulseloop_test');
  await migrateFacts(facts);
  const metadata = await openMetadataStore({ dataDir: dir });
  await migrateMetadata(metadata);
  return {
    facts,
    metadata,
    async newProject(name = 'Tea shop') {
      return newProjectIn(metadata, name);
    },
    async close() {
      await metadata.close();
      await facts.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function newProjectIn(metadata: MetadataStore, name = 'Tea shop'): Promise<string> {
  const organisation = await createOrganisation(metadata, { name: `${name} org` });
  const project = await createProject(metadata, {
    organisationId: organisation.id,
    name,
    timeZone: 'Asia/Shanghai',
    currency: 'CNY',
  });
  return project.id;
}

/** A PII key ring of one fresh key, given as PULSELOOP_PII_KEYS would be (no key file written). */
export function testKeyring(keyId = 'ktest'): PiiKeyring {
  return loadPiiKeyring({
    dataDir: 'unused',
    envValue: JSON.stringify({
      version: 1,
      active: keyId,
      hashKey: randomBytes(32).toString('base64'),
      keys: [{ id: keyId, key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() }],
    }),
  });
}
