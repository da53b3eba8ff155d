import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addConnectorInstance,
  getCheckpoint,
  getConnectorInstance,
  removeConnectorInstance,
  saveCheckpoint,
} from '../../src/collect/connectors/instances.js';
import {
  activeJob,
  claimJob,
  completeJob,
  enqueueJob,
  failJob,
  heartbeat,
  isLocalWorkerGone,
  listJobs,
  releaseJob,
} from '../../src/collect/connectors/jobs.js';
import { collectDb } from '../../src/collect/connectors/tables.js';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import type { MetadataStore } from '../../src/store/metadata/open.js';
import { newProjectIn, testKeyring } from './setup.js';

/** The job table and checkpoints, run against each metadata dialect; `open` gives an empty store. */
export function describeJobTableSuite(name: string, open: () => Promise<MetadataStore>): void {
  describe(`job table on ${name}`, () => {
    const opened: MetadataStore[] = [];
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });
    async function store(): Promise<MetadataStore> {
      const s = await open();
      opened.push(s);
      await migrateMetadata(s);
      return s;
    }
    const past = new Date(Date.now() - 1000);

    it('keeps one queued or running job per singleton key and brings it forward when asked sooner', async () => {
      const s = await store();
      const later = new Date(Date.now() + 3600_000);
      const first = await enqueueJob(s, { kind: 'sync', payload: { n: 1 }, singletonKey: 'k', runAt: later });
      const again = await enqueueJob(s, { kind: 'sync', payload: { n: 2 }, singletonKey: 'k', runAt: past });
      expect(first.created).toBe(true);
      expect(again).toMatchObject({ created: false, job: { id: first.job.id, payload: { n: 1 } } });
      expect(again.job.nextRunAt).toBe(past.toISOString());
      const other = await enqueueJob(s, { kind: 'sync', payload: {}, singletonKey: 'other' });
      expect(other.created).toBe(true);
    });

    it('claims only due jobs, each once, and lets a finished key be queued again', async () => {
      const s = await store();
      await enqueueJob(s, { kind: 'sync', payload: {}, singletonKey: 'due', runAt: past });
      await enqueueJob(s, {
        kind: 'sync',
        payload: {},
        singletonKey: 'later',
        runAt: new Date(Date.now() + 60_000),
      });
      const claimed = await claimJob(s, { leaseMs: 60_000, workerId: 'w1' });
      expect(claimed).toMatchObject({ singletonKey: 'due', status: 'running', attempts: 1, lockedBy: 'w1' });
      expect(await claimJob(s, { leaseMs: 60_000, workerId: 'w2' })).toBeUndefined();
      await completeJob(s, claimed!);
      expect(await activeJob(s, 'due')).toBeUndefined();
      expect((await enqueueJob(s, { kind: 'sync', payload: {}, singletonKey: 'due' })).created).toBe(true);
    });

    it('never gives the same job to two workers claiming at the same time', async () => {
      const s = await store();
      for (let i = 0; i < 6; i++)
        await enqueueJob(s, { kind: 'sync', payload: { i }, singletonKey: `k${i}`, runAt: past });
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, w) => claimJob(s, { leaseMs: 60_000, workerId: `w${w}` })),
      );
      const ids = claims.filter((c) => c !== undefined).map((c) => c!.id);
      expect(ids).toHaveLength(6);
      expect(new Set(ids).size).toBe(6);
    });

    it('gives a job whose worker stopped renewing its lease to another worker', async () => {
      const s = await store();
      await enqueueJob(s, { kind: 'sync', payload: {}, singletonKey: 'k', runAt: past });
      const first = await claimJob(s, { leaseMs: 50, workerId: 'dead' });
      expect(await claimJob(s, { leaseMs: 60_000, workerId: 'w2' })).toBeUndefined();
      await new Promise((r) => setTimeout(r, 80));
      const second = await claimJob(s, { leaseMs: 60_000, workerId: 'w2' });
      expect(second).toMatchObject({ id: first!.id, attempts: 2, lockedBy: 'w2' });
      // The first worker finds out at its next heartbeat.
      expect(await heartbeat(s, first!, 60_000)).toBe(false);
      expect(await heartbeat(s, second!, 60_000)).toBe(true);
    });

    it('lets a stopping worker give its job back: due at once, the attempt not counted, only by its holder', async () => {
      const s = await store();
      await enqueueJob(s, { kind: 'sync', payload: {}, singletonKey: 'k', runAt: past });
      const held = await claimJob(s, { leaseMs: 60_000, workerId: 'w1' });
      const released = await releaseJob(s, held!);
      expect(released).toMatchObject({ status: 'queued', attempts: 0, lockedBy: null, lockedUntil: null });
      expect(Date.parse(released.nextRunAt)).toBeLessThanOrEqual(Date.now());
      const again = await claimJob(s, { leaseMs: 60_000, workerId: 'w2' });
      expect(again).toMatchObject({ id: held!.id, attempts: 1, lockedBy: 'w2' });
      // w1 no longer holds it: its release changes nothing.
      expect(await releaseJob(s, held!)).toBe(held);
      expect(await activeJob(s, 'k')).toMatchObject({ status: 'running', lockedBy: 'w2' });
    });

    it('re-queues a retryable failure with growing back-off and ends a permanent one', async () => {
      const s = await store();
      await enqueueJob(s, { kind: 'sync', payload: {}, singletonKey: 'k', runAt: past, maxAttempts: 3 });
      const waits: number[] = [];
      for (let attempt = 1; attempt <= 2; attempt++) {
        const job = await claimJob(s, { leaseMs: 60_000, now: new Date(Date.now() + 10 * 3600_000) });
        const before = Date.now();
        const failed = await failJob(s, job!, 'HTTP 503', { retryable: true, random: 0.5 });
        expect(failed).toMatchObject({ status: 'queued', attempts: attempt, lastError: 'HTTP 503' });
        waits.push(Date.parse(failed.nextRunAt) - before);
      }
      expect(waits[1]).toBeGreaterThan(waits[0]! * 1.5);
      const last = await claimJob(s, { leaseMs: 60_000, now: new Date(Date.now() + 10 * 3600_000) });
      expect(await failJob(s, last!, 'HTTP 503', { retryable: true })).toMatchObject({
        status: 'failed',
        attempts: 3,
      });

      await enqueueJob(s, { kind: 'sync', payload: {}, singletonKey: 'creds', runAt: past });
      const job = await claimJob(s, { leaseMs: 60_000 });
      const failed = await failJob(s, job!, 'connector_bad_credentials', { retryable: false });
      expect(failed).toMatchObject({ status: 'failed', attempts: 1 });
      expect(
        await claimJob(s, { leaseMs: 60_000, now: new Date(Date.now() + 100 * 3600_000) }),
      ).toBeUndefined();
    });

    it('stores and replaces per-stream checkpoints of a connector instance', async () => {
      const s = await store();
      const projectId = await newProjectIn(s);
      const instance = await addConnectorInstance(s, {
        projectId,
        connector: 'douyin',
        name: 'brand account',
        config: { openId: 'open-1' },
        credentials: { token: 'act.secret', keyring: testKeyring() },
      });
      expect(instance.config).toMatchObject({
        openId: 'open-1',
        count: 20,
        baseUrl: 'https://open.douyin.com',
      });
      expect(instance.credentialsRef).toMatch(/^secret:/);
      const state = {
        runStartedAt: 1_700_000_000_000,
        cursor: { cursor: 1_740_000_000_000, date: '2025-03-08' },
      };
      await saveCheckpoint(s, {
        instanceId: instance.id,
        stream: 'video_list',
        state,
        inProgress: true,
        pagesWritten: 1,
        rowsWritten: 20,
      });
      await saveCheckpoint(s, {
        instanceId: instance.id,
        stream: 'video_list',
        state,
        inProgress: false,
        pagesWritten: 3,
        rowsWritten: 45,
      });
      expect(await getCheckpoint(s, instance.id, 'video_list')).toMatchObject({
        state,
        inProgress: false,
        pagesWritten: 3,
        rowsWritten: 45,
      });
    });
  });

  describe(`removing a connector on ${name}`, () => {
    it('removes the instance with its stored token, checkpoints and jobs, and leaves other instances alone', async () => {
      const s = await open();
      try {
        await migrateMetadata(s);
        const projectId = await newProjectIn(s);
        const add = (instanceName: string) =>
          addConnectorInstance(s, {
            projectId,
            connector: 'douyin',
            name: instanceName,
            config: { openId: 'open-1' },
            credentials: { token: 'act.secret', keyring: testKeyring() },
          });
        const gone = await add('gone');
        const kept = await add('kept');
        await expect(add('kept')).rejects.toMatchObject({ code: 'connector_name_taken' });
        for (const instance of [gone, kept]) {
          await enqueueJob(s, {
            kind: 'connector_sync',
            payload: { instanceId: instance.id, stream: 'video_list' },
            singletonKey: `connector:${instance.id}:video_list`,
          });
          await saveCheckpoint(s, {
            instanceId: instance.id,
            stream: 'video_list',
            state: { runStartedAt: 1, cursor: null },
            inProgress: false,
            pagesWritten: 1,
            rowsWritten: 2,
          });
        }

        expect(await removeConnectorInstance(s, gone.id)).toBe(true);
        expect(await removeConnectorInstance(s, gone.id)).toBe(false);
        expect(await getConnectorInstance(s, gone.id)).toBeUndefined();
        expect(await getCheckpoint(s, gone.id, 'video_list')).toBeUndefined();
        expect(await listJobs(s, { singletonKey: `connector:${gone.id}:video_list` })).toEqual([]);
        const secrets = await collectDb(s).selectFrom('connector_secrets').select('id').execute();
        expect(secrets.map((r) => `secret:${r.id}`)).toEqual([kept.credentialsRef]);
        expect(await getConnectorInstance(s, kept.id)).toMatchObject({ name: 'kept' });
        expect(await listJobs(s, { singletonKey: `connector:${kept.id}:video_list` })).toHaveLength(1);
        expect(await getCheckpoint(s, kept.id, 'video_list')).toBeDefined();
      } finally {
        await s.close();
      }
    });
  });

  describe('lock holders', () => {
    it('knows a worker of this machine whose process is gone from one that lives', () => {
      expect(isLocalWorkerGone(`${hostname()}:${process.pid}`)).toBe(false);
      expect(isLocalWorkerGone(`${hostname()}:999999999`)).toBe(true);
      expect(isLocalWorkerGone('another-host:1')).toBe(false);
    });
  });
}
