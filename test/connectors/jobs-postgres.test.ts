import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addConnectorInstance, getCheckpoint } from '../../src/collect/connectors/instances.js';
import { listJobs } from '../../src/collect/connectors/jobs.js';
import { syncJobKey, syncNow } from '../../src/collect/connectors/sync.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import { openMetadataStore } from '../../src/store/metadata/open.js';
import { ownTestDatabase } from '../support/postgres.js';
import { makeVideos, startFakePlatforms } from './fake-platforms.js';
import { describeJobTableSuite } from './jobs-suite.js';
import { newProjectIn, testKeyring } from './setup.js';

const postgres = ownTestDatabase('jobs');

describeJobTableSuite('PostgreSQL', () =>
  openMetadataStore(
    { dataDir: 'unused', databaseUrl: postgres.url() },
    { postgresSchema: postgres.freshSchema() },
  ),
);

describe('a connector sync with its jobs and checkpoints on PostgreSQL', () => {
  it('runs, resumes after a failed page and schedules the next run', async () => {
    const metadata = await openMetadataStore(
      { dataDir: 'unused', databaseUrl: postgres.url() },
      { postgresSchema: postgres.freshSchema() },
    );
    const dir = mkdtempSync(join(tmpdir(), 'pulseloop-jobs-pg-'));
    const facts = await openChdbEngine(join(dir, 'facts'), 'pulseloop_test');
    const fake = await startFakePlatforms();
    try {
      await migrateMetadata(metadata);
      await migrateFacts(facts);
      fake.douyin.videos = makeVideos(45);
      const keyring = testKeyring();
      const instance = await addConnectorInstance(metadata, {
        projectId: await newProjectIn(metadata),
        connector: 'douyin',
        name: 'pg account',
        config: { openId: fake.douyin.openId, baseUrl: fake.url },
        credentials: { token: fake.douyin.token, keyring },
      });
      const deps = {
        metadata,
        facts,
        env: {},
        keyring,
        rateLimitPerSecond: 1000,
        backoff: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 50 },
      };
      // The second page keeps failing: the run stops after page 1 and is re-queued.
      fake.onRequest = (_r, n) => {
        if (n === 2 || n === 3) fake.douyin.faults.push({ kind: 'http_500' });
      };
      const failed = await syncNow(deps, instance, 'video_list');
      expect(failed).toMatchObject({ status: 'retrying', job: { status: 'queued', attempts: 1 } });
      expect(await getCheckpoint(metadata, instance.id, 'video_list')).toMatchObject({
        inProgress: true,
        rowsWritten: 20,
      });

      fake.onRequest = undefined;
      const done = await syncNow(deps, instance, 'video_list');
      expect(done).toMatchObject({ status: 'succeeded', report: { resumed: true, pages: 2, rows: 25 } });
      const [count] = await facts.query<{ n: number }>('SELECT count() AS n FROM content_stats FINAL');
      expect(Number(count?.n)).toBe(45);
      const jobs = await listJobs(metadata, { singletonKeyPrefix: syncJobKey(instance.id, 'video_list') });
      expect(jobs.map((j) => j.status).sort()).toEqual(['queued', 'succeeded']);
    } finally {
      await fake.close();
      await facts.close();
      await metadata.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
