import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { addConnectorInstance, type ConnectorInstance } from '../../src/collect/connectors/instances.js';
import type { SyncDeps } from '../../src/collect/connectors/sync.js';
import { loadPiiKeyring, type PiiKeyring } from '../../src/govern/pii/keys.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import { type MetadataStore, openMetadataStore } from '../../src/store/metadata/open.js';
import { createOrganisation } from '../../src/store/metadata/organisations.js';
import { createProject } from '../../src/store/metadata/projects.js';
import { type FakePlatforms, makeAdReport, makeVideos, startFakePlatforms } from './fake-platforms.js';

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

export interface ConnectorWorld {
  stores: Awaited<ReturnType<typeof openTestStores>>;
  fake: FakePlatforms;
  keyring: PiiKeyring;
  /** Sync dependencies against the world's stores, with the fake platforms' tokens in OE_TOKEN and DY_TOKEN. */
  deps(now: Date, overrides?: Partial<SyncDeps>): SyncDeps;
  /** Connects the fake Ocean Engine advertiser (report from 2025-03-01, pages of 10) to a project. */
  addOceanEngine(
    projectId: string,
    options?: { metadata?: MetadataStore; tokenEnv?: string; config?: object },
  ): Promise<ConnectorInstance>;
}

/**
 * The world most connector test files run in: real stores and the local fake platforms, opened
 * once for the file, the platforms reset before each test (no faults, 7 days × 25 ads, 45 videos).
 */
export function connectorWorldForFile(): ConnectorWorld {
  const world = { keyring: testKeyring() } as ConnectorWorld;
  world.deps = (now, overrides = {}) => ({
    metadata: world.stores.metadata,
    facts: world.stores.facts,
    env: { OE_TOKEN: world.fake.oceanEngine.token, DY_TOKEN: world.fake.douyin.token },
    keyring: world.keyring,
    backoff: { maxAttempts: 6, baseDelayMs: 20, maxDelayMs: 2_000 },
    rateLimitPerSecond: 1_000,
    now: () => now,
    ...overrides,
  });
  world.addOceanEngine = (projectId, options = {}) =>
    addConnectorInstance(options.metadata ?? world.stores.metadata, {
      projectId,
      connector: 'oceanengine',
      name: `oe-${Math.random().toString(36).slice(2, 8)}`,
      config: {
        advertiserId: world.fake.oceanEngine.advertiserId,
        startDate: '2025-03-01',
        pageSize: 10,
        baseUrl: world.fake.url,
        ...options.config,
      },
      credentials: { env: options.tokenEnv ?? 'OE_TOKEN' },
    });
  beforeAll(async () => {
    world.stores = await openTestStores();
    world.fake = await startFakePlatforms();
  });
  afterAll(async () => {
    await world.fake.close();
    await world.stores.close();
  });
  beforeEach(() => {
    world.fake.requests.length = 0;
    world.fake.oceanEngine.faults.length = 0;
    world.fake.douyin.faults.length = 0;
    world.fake.oceanEngine.rows = makeAdReport('2025-03-01', 7, 25);
    world.fake.douyin.videos = makeVideos(45);
    world.fake.onRequest = undefined;
  });
  return world;
}
