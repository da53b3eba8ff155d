import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  addConnectorInstance,
  type ConnectorInstance,
  findConnectorInstance,
} from '../../src/collect/connectors/instances.js';
import { countStoredTokensUnderKey, reencryptStoredTokens } from '../../src/collect/connectors/secrets.js';
import { type SyncDeps, syncNow, syncStream } from '../../src/collect/connectors/sync.js';
import { collectDb } from '../../src/collect/connectors/tables.js';
import type { PulseloopError } from '../../src/errors/registry.js';
import { loadPiiKeyring, type PiiKeyring, rotatePiiKey } from '../../src/govern/pii/keys.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import { type MetadataStore, openMetadataStore } from '../../src/store/metadata/open.js';
import { type FakePlatforms, makeVideos, startFakePlatforms } from './fake-platforms.js';
import { newProjectIn, testKeyring } from './setup.js';

// Access tokens stored with `connectors add --token` are encrypted at rest with the PII key ring
// (the server's <data>/pii-keys.json here), decrypted when a sync runs; tokens stored in clear text
// before encryption still work and are encrypted on first read.

const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-stored-token-'));
let facts: FactsEngine;
let metadata: MetadataStore;
let fake: FakePlatforms;
let keyring: PiiKeyring;
let projectId: string;

beforeAll(async () => {
  facts = await openChdbEngine(join(dataDir, 'facts'), 'pulseloop_test');
  await migrateFacts(facts);
  metadata = await openMetadataStore({ dataDir });
  await migrateMetadata(metadata);
  keyring = loadPiiKeyring({ dataDir });
  projectId = await newProjectIn(metadata);
  fake = await startFakePlatforms();
  // A token no other byte sequence in the store could match by chance.
  fake.douyin.token = `act.${randomBytes(16).toString('hex')}`;
});
afterAll(async () => {
  await fake.close();
  await metadata.close();
  await facts.close();
  rmSync(dataDir, { recursive: true, force: true });
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.douyin.videos = makeVideos(45);
});

function deps(overrides: Partial<SyncDeps> = {}): SyncDeps {
  return {
    metadata,
    facts,
    env: {},
    keyring,
    backoff: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 50 },
    rateLimitPerSecond: 1_000,
    now: () => new Date('2025-03-08T04:00:00Z'),
    ...overrides,
  };
}

const douyinConfig = () => ({ openId: fake.douyin.openId, baseUrl: fake.url });
const newName = () => `dy-${Math.random().toString(36).slice(2, 8)}`;

async function addWithToken(token = fake.douyin.token): Promise<ConnectorInstance> {
  return addConnectorInstance(metadata, {
    projectId,
    connector: 'douyin',
    name: newName(),
    config: douyinConfig(),
    credentials: { token, keyring },
  });
}

async function storedValue(instance: ConnectorInstance): Promise<string> {
  const row = await collectDb(metadata)
    .selectFrom('connector_secrets')
    .select('value')
    .where('id', '=', instance.credentialsRef.replace(/^secret:/, ''))
    .executeTakeFirstOrThrow();
  return row.value;
}

describe('stored connector tokens', () => {
  it('keeps a token given to add encrypted: neither its row nor the SQLite files hold it, and a sync authenticates with it', async () => {
    const instance = await addWithToken();
    const stored = await storedValue(instance);
    expect(stored.startsWith(`enc:v1:${keyring.activeKeyId}:`)).toBe(true);
    expect(stored).not.toContain(fake.douyin.token);
    const sqliteFiles = readdirSync(dataDir).filter((f) => f.startsWith('metadata.sqlite'));
    expect(sqliteFiles.length).toBeGreaterThan(0);
    for (const file of sqliteFiles) {
      expect(readFileSync(join(dataDir, file)).includes(fake.douyin.token)).toBe(false);
    }

    const report = await syncStream(deps(), instance, 'video_list');
    expect(report).toMatchObject({ pages: 3, rows: 45 });
    expect(fake.requests.map((r) => r.outcome.split(' ')[0])).toEqual(['ok', 'ok', 'ok']);
    // Already under the active key: left as it was.
    expect(await storedValue(instance)).toBe(stored);
  });

  it('reads a token stored in clear text before encryption, and encrypts it on that first read', async () => {
    // A row as `connectors add --token` wrote it before tokens were encrypted.
    const secretId = randomUUID();
    const db = collectDb(metadata);
    await db
      .insertInto('connector_secrets')
      .values({ id: secretId, value: fake.douyin.token, created_at: new Date().toISOString() })
      .execute();
    const added = await addConnectorInstance(metadata, {
      projectId,
      connector: 'douyin',
      name: newName(),
      config: douyinConfig(),
      credentials: { env: 'UNUSED' },
    });
    await db
      .updateTable('connector_instances')
      .set({ credentials_ref: `secret:${secretId}` })
      .where('id', '=', added.id)
      .execute();
    const legacy = await findConnectorInstance(metadata, added.id);
    expect(await storedValue(legacy)).toBe(fake.douyin.token);

    expect(await syncStream(deps(), legacy, 'video_list')).toMatchObject({ rows: 45 });
    const migrated = await storedValue(legacy);
    expect(migrated.startsWith(`enc:v1:${keyring.activeKeyId}:`)).toBe(true);
    expect(migrated).not.toContain(fake.douyin.token);
    expect(await syncStream(deps(), legacy, 'video_list')).toMatchObject({ rows: 45 });
    expect(fake.requests.every((r) => r.outcome.startsWith('ok'))).toBe(true);
  });

  it('moves a token to the active key at its next sync after the key was rotated', async () => {
    const instance = await addWithToken();
    const rotated = rotatePiiKey(keyring);
    expect(await syncStream(deps({ keyring: rotated }), instance, 'video_list')).toMatchObject({ rows: 45 });
    expect((await storedValue(instance)).startsWith(`enc:v1:${rotated.activeKeyId}:`)).toBe(true);
    keyring = rotated;
  });

  it('re-encrypts every stored token at once after a rotation, so that the old key can be retired', async () => {
    const instance = await addWithToken();
    const previous = keyring.activeKeyId;
    const rotated = rotatePiiKey(keyring);
    expect(await countStoredTokensUnderKey(metadata, previous)).toBeGreaterThan(0);
    expect(await reencryptStoredTokens(metadata, rotated)).toBeGreaterThan(0);
    expect(await countStoredTokensUnderKey(metadata, previous)).toBe(0);
    expect(await reencryptStoredTokens(metadata, rotated)).toBe(0);
    expect((await storedValue(instance)).startsWith(`enc:v1:${rotated.activeKeyId}:`)).toBe(true);
    expect(await syncStream(deps({ keyring: rotated }), instance, 'video_list')).toMatchObject({ rows: 45 });
    keyring = rotated;
  });

  it('names the missing key when the ring lacks the key a token was encrypted with, and does not retry', async () => {
    const instance = await addWithToken();
    const outcome = await syncNow(deps({ keyring: testKeyring('kelsewhere') }), instance, 'video_list');
    expect(outcome).toMatchObject({ status: 'failed', job: { status: 'failed', attempts: 1 } });
    if (outcome.status === 'succeeded') throw new Error('unreachable');
    const error = outcome.error as PulseloopError;
    expect(error.code).toBe('connector_token_key_missing');
    expect(error.details).toEqual({ instance: instance.name, keyId: keyring.activeKeyId });
    expect(error.message).toContain(`PII key "${keyring.activeKeyId}", which is not in the key ring`);
    expect(error.zh).toContain(`PII 密钥 "${keyring.activeKeyId}" 加密`);
    expect(fake.requests).toHaveLength(0);
  });

  it('says the token cannot be decrypted when the ring holds a different key under the same id', async () => {
    const instance = await addWithToken();
    const impostor = loadPiiKeyring({
      dataDir: 'unused',
      envValue: JSON.stringify({
        version: 1,
        active: keyring.activeKeyId,
        hashKey: randomBytes(32).toString('base64'),
        keys: [{ id: keyring.activeKeyId, key: randomBytes(32).toString('base64') }],
      }),
    });
    const outcome = await syncNow(deps({ keyring: impostor }), instance, 'video_list');
    expect(outcome.status).toBe('failed');
    if (outcome.status === 'succeeded') throw new Error('unreachable');
    const error = outcome.error as PulseloopError;
    expect(error.code).toBe('connector_token_unreadable');
    expect(error.message).toContain(`connector "${instance.name}" cannot be decrypted`);
    expect(error.zh).toContain('无法使用 PII 密钥');
    expect(fake.requests).toHaveLength(0);
    // The stored value is left alone for the right key to open.
    expect((await storedValue(instance)).startsWith(`enc:v1:${keyring.activeKeyId}:`)).toBe(true);
  });
});
