import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addConnectorInstance } from '../../src/collect/connectors/instances.js';
import { listJobs } from '../../src/collect/connectors/jobs.js';
import { scheduleSync, syncJobKey } from '../../src/collect/connectors/sync.js';
import { loadPiiKeyring } from '../../src/govern/pii/keys.js';
import { openMetadataStore } from '../../src/store/metadata/open.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type FakePlatforms, holdRequests, makeVideos, startFakePlatforms } from './fake-platforms.js';

// `pulseloop serve` runs due connector syncs by itself (PULSELOOP_CONNECTOR_POLL_SECONDS), opening
// stored tokens with its own key ring, and stops a sync in progress before it closes its stores.

const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-serve-connectors-'));
let t: TestServer;
let fake: FakePlatforms;

beforeAll(async () => {
  fake = await startFakePlatforms();
  fake.douyin.videos = makeVideos(45);
  t = await startTestServer({ connectorPollSeconds: 1 }, dataDir);
});
afterAll(async () => {
  await t.close();
  await fake.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function addDouyin(name: string) {
  const instance = await addConnectorInstance(t.server.metadata, {
    projectId: t.projectId,
    connector: 'douyin',
    name,
    config: { openId: fake.douyin.openId, baseUrl: fake.url },
    // Stored as `connectors add --token` stores it: under the data directory's key ring.
    credentials: { token: fake.douyin.token, keyring: loadPiiKeyring({ dataDir }) },
  });
  await scheduleSync(t.server.metadata, instance.id, 'video_list');
  return instance;
}

async function contentStatsRows(): Promise<number> {
  const [row] = await t.server.facts.query<{ n: number }>(
    'SELECT count() AS n FROM content_stats FINAL WHERE project_id = {project:String}',
    { project: t.projectId },
  );
  return Number(row?.n);
}

describe('connector syncs in the server', () => {
  it('runs a due sync on its own, authenticating with the stored token it decrypts', async () => {
    await addDouyin('server-run');
    await expect.poll(contentStatsRows, { timeout: 20_000, interval: 200 }).toBe(45);
    expect(fake.requests.every((r) => r.outcome.startsWith('ok'))).toBe(true);
  });

  it('stops the sync in progress when it closes, before the stores close, and queues it again', async () => {
    const held = holdRequests(fake); // the platform is slow to answer
    try {
      const instance = await addDouyin('server-stop');
      await held.requested;
      await t.close();

      const metadata = await openMetadataStore({ dataDir });
      try {
        const jobs = await listJobs(metadata, { singletonKeyPrefix: syncJobKey(instance.id, 'video_list') });
        expect(jobs).toMatchObject([{ status: 'queued', attempts: 0, lockedBy: null }]);
      } finally {
        await metadata.close();
      }
    } finally {
      held.release();
    }
  });
});
