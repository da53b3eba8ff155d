import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addConnectorInstance, getCheckpoint } from '../../src/collect/connectors/instances.js';
import { listJobs } from '../../src/collect/connectors/jobs.js';
import { type ConnectorScheduleDeps, scheduleConnectorSyncs } from '../../src/collect/connectors/schedule.js';
import { type SyncDeps, scheduleSync, syncJobKey } from '../../src/collect/connectors/sync.js';
import { loadConfig } from '../../src/config/config.js';
import type { PulseloopError } from '../../src/errors/registry.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import { type MetadataStore, openMetadataStore } from '../../src/store/metadata/open.js';
import { connectorWorldForFile, newProjectIn } from './setup.js';

// The schedule a server runs connector syncs with: each round claims and runs the due jobs, one at a
// time, against the local fake platforms, real chdb and real SQLite.

// 2025-03-08 12:00 in Asia/Shanghai: the Ocean Engine report runs 2025-03-01 … 2025-03-07,
// 7 days × 25 ads in pages of 10 = 21 pages, 175 rows.
const NOW = new Date('2025-03-08T04:00:00Z');
const HOUR = 3_600_000;

const world = connectorWorldForFile();

const deps = (overrides: Partial<SyncDeps> = {}): SyncDeps => world.deps(NOW, overrides);

interface Logged {
  level: 'info' | 'warn';
  fields: unknown;
  message: unknown;
}

function recordingLogger(): { logger: ConnectorScheduleDeps['logger']; logged: Logged[] } {
  const logged: Logged[] = [];
  return {
    logged,
    logger: {
      info: (fields: unknown, message?: unknown) => void logged.push({ level: 'info', fields, message }),
      warn: (fields: unknown, message?: unknown) => void logged.push({ level: 'warn', fields, message }),
    },
  };
}

/** A schedule whose timer does not fire during a test: rounds run when the test calls runOnce. */
function startSchedule(overrides: Partial<SyncDeps> = {}, logger = recordingLogger().logger) {
  return scheduleConnectorSyncs({
    syncDeps: (signal) => deps({ ...overrides, signal }),
    logger,
    intervalMs: HOUR,
    firstDelayMs: HOUR,
  });
}

async function addDouyin(metadata: MetadataStore, projectId: string) {
  return addConnectorInstance(metadata, {
    projectId,
    connector: 'douyin',
    name: `dy-${Math.random().toString(36).slice(2, 8)}`,
    config: { openId: world.fake.douyin.openId, count: 20, baseUrl: world.fake.url },
    credentials: { env: 'DY_TOKEN' },
  });
}

async function countRows(table: 'ad_spend' | 'content_stats', projectId: string): Promise<number> {
  const [row] = await world.stores.facts.query<{ n: number }>(
    `SELECT count() AS n FROM ${table} FINAL WHERE project_id = {project:String}`,
    { project: projectId },
  );
  return Number(row?.n);
}

async function jobsOf(metadata: MetadataStore, instanceId: string, stream: string) {
  return listJobs(metadata, { singletonKeyPrefix: syncJobKey(instanceId, stream) });
}

/** The facts engine, holding every insert until `release()` (a write in progress, for as long as a test needs). */
function heldFacts(): { facts: FactsEngine; writing: Promise<void>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let started!: () => void;
  const writing = new Promise<void>((resolve) => {
    started = resolve;
  });
  const facts: FactsEngine = {
    ...world.stores.facts,
    async insertJsonEachRow(table, rows, options) {
      started();
      await gate;
      await world.stores.facts.insertJsonEachRow(table, rows, options);
    },
  };
  return { facts, writing, release };
}

describe('the connector schedule', () => {
  it("runs a due sync in its round: the rows land in ad_spend and the next run is queued after the stream's interval", async () => {
    const projectId = await world.stores.newProject();
    const instance = await world.addOceanEngine(projectId);
    await scheduleSync(world.stores.metadata, instance.id, 'ad_report');
    const { logger, logged } = recordingLogger();
    const schedule = startSchedule({}, logger);
    const before = Date.now();
    try {
      const outcomes = await schedule.runOnce();
      expect(outcomes).toHaveLength(1);
      expect(outcomes[0]).toMatchObject({ status: 'succeeded', report: { pages: 21, rows: 175 } });
    } finally {
      await schedule.stop();
    }
    expect(await countRows('ad_spend', projectId)).toBe(175);
    const jobs = await jobsOf(world.stores.metadata, instance.id, 'ad_report');
    expect(jobs.map((j) => j.status).sort()).toEqual(['queued', 'succeeded']);
    const next = jobs.find((j) => j.status === 'queued')!;
    expect(Date.parse(next.nextRunAt) - before).toBeGreaterThanOrEqual(6 * HOUR - 1000);
    expect(logged).toContainEqual({
      level: 'info',
      fields: expect.objectContaining({ instanceId: instance.id, stream: 'ad_report', rows: 175 }),
      message: 'connector sync finished',
    });
  });

  it('runs due syncs on its own timer, and a round that fails is logged and tried again at the next tick', async () => {
    const projectId = await world.stores.newProject();
    const instance = await addDouyin(world.stores.metadata, projectId);
    await scheduleSync(world.stores.metadata, instance.id, 'video_list');
    const { logger, logged } = recordingLogger();
    let rounds = 0;
    const schedule = scheduleConnectorSyncs({
      syncDeps: (signal) => {
        rounds += 1;
        if (rounds === 1) throw new Error('the key ring could not be read');
        return deps({ signal });
      },
      logger,
      intervalMs: 100,
      firstDelayMs: 10,
    });
    try {
      await expect
        .poll(() => countRows('content_stats', projectId), { timeout: 20_000, interval: 100 })
        .toBe(45);
    } finally {
      await schedule.stop();
    }
    expect(logged[0]).toMatchObject({ level: 'warn', message: 'running due connector syncs failed' });
    expect(world.fake.requests).toHaveLength(3);
  });

  it('leaves a job whose platform answers 5xx queued with back-off and goes on to the next due job', async () => {
    const projectId = await world.stores.newProject();
    const failing = await world.addOceanEngine(projectId);
    const healthy = await addDouyin(world.stores.metadata, projectId);
    await scheduleSync(world.stores.metadata, failing.id, 'ad_report', new Date(Date.now() - 2000));
    await scheduleSync(world.stores.metadata, healthy.id, 'video_list', new Date(Date.now() - 1000));
    // Two attempts per request in this test: a 503, then a 500, and the run gives up.
    world.fake.oceanEngine.faults.push({ kind: 'http_503' }, { kind: 'http_500' });
    const { logger, logged } = recordingLogger();
    const schedule = startSchedule({ backoff: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 50 } }, logger);
    try {
      const before = Date.now();
      const outcomes = await schedule.runOnce();
      expect(outcomes.map((o) => [o.job.payload.stream, o.status])).toEqual([
        ['ad_report', 'retrying'],
        ['video_list', 'succeeded'],
      ]);
      const [gaveUp] = outcomes;
      if (!gaveUp || gaveUp.status === 'succeeded') throw new Error('unreachable');
      expect((gaveUp.error as PulseloopError).code).toBe('connector_retries_exhausted');
      const [retrying] = await jobsOf(world.stores.metadata, failing.id, 'ad_report');
      expect(retrying).toMatchObject({ status: 'queued', attempts: 1 });
      expect(retrying?.lastError).toContain('connector_retries_exhausted');
      // The job table's back-off: a step of 30 s, at least half of it.
      expect(Date.parse(retrying!.nextRunAt) - before).toBeGreaterThanOrEqual(15_000);
      expect(await countRows('content_stats', projectId)).toBe(45);
      expect(logged).toContainEqual({
        level: 'warn',
        fields: expect.objectContaining({ instanceId: failing.id, stream: 'ad_report', attempts: 1 }),
        message: 'connector sync failed; it will be retried',
      });

      // Not due yet: the next round leaves it alone.
      const requests = world.fake.requests.length;
      expect(await schedule.runOnce()).toEqual([]);
      expect(world.fake.requests).toHaveLength(requests);

      // Once due (brought forward here), it runs again and succeeds.
      await scheduleSync(world.stores.metadata, failing.id, 'ad_report');
      const [again] = await schedule.runOnce();
      expect(again).toMatchObject({ status: 'succeeded', report: { rows: 175 }, job: { attempts: 2 } });
    } finally {
      await schedule.stop();
    }
    expect(await countRows('ad_spend', projectId)).toBe(175);
  });

  it('stop() interrupts the sync in progress, waits for its write, and the job resumes from its checkpoint', async () => {
    const projectId = await world.stores.newProject();
    const instance = await world.addOceanEngine(projectId);
    await scheduleSync(world.stores.metadata, instance.id, 'ad_report');
    const held = heldFacts();
    const { logger, logged } = recordingLogger();
    const schedule = startSchedule({ facts: held.facts }, logger);
    const round = schedule.runOnce();
    await held.writing; // page 1 was read; its write is in progress

    let stopped = false;
    const stopping = schedule.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stopped).toBe(false);
    held.release();
    await stopping;

    const [outcome] = await round;
    // Released, not failed: queued again, due now, the attempt not counted.
    expect(outcome).toMatchObject({
      status: 'retrying',
      job: { status: 'queued', attempts: 0, lockedBy: null },
    });
    expect(Date.parse(outcome!.job.nextRunAt)).toBeLessThanOrEqual(Date.now());
    expect(world.fake.requests).toHaveLength(1);
    expect(await getCheckpoint(world.stores.metadata, instance.id, 'ad_report')).toMatchObject({
      inProgress: true,
      pagesWritten: 1,
    });
    expect(logged.map((l) => l.message)).toEqual([
      'connector sync stopped by shutdown; queued again to resume',
    ]);

    // The next server (here a new schedule) takes it up at once and finishes it.
    const next = startSchedule();
    try {
      const [resumed] = await next.runOnce();
      expect(resumed).toMatchObject({
        status: 'succeeded',
        report: { resumed: true, pages: 20, rows: 165 },
        job: { attempts: 1 },
      });
    } finally {
      await next.stop();
    }
    expect(await countRows('ad_spend', projectId)).toBe(175);
  });

  it('runs a due job once when two schedules on one store poll at the same moment', async () => {
    const projectId = await world.stores.newProject();
    const instance = await addDouyin(world.stores.metadata, projectId);
    await scheduleSync(world.stores.metadata, instance.id, 'video_list');
    const a = startSchedule();
    const b = startSchedule();
    try {
      const [fromA, fromB] = await Promise.all([a.runOnce(), b.runOnce()]);
      expect([...fromA, ...fromB].map((o) => o.status)).toEqual(['succeeded']);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(world.fake.requests).toHaveLength(3); // one run: 3 pages
    expect(
      (await jobsOf(world.stores.metadata, instance.id, 'video_list')).map((j) => j.status).sort(),
    ).toEqual(['queued', 'succeeded']);
    expect(await countRows('content_stats', projectId)).toBe(45);
  });

  it('leaves a job another server is running to it: two connections to one SQLite file, one run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulseloop-two-servers-'));
    const first = await openMetadataStore({ dataDir: dir });
    const second = await openMetadataStore({ dataDir: dir });
    const held = heldFacts();
    const serverA = startSchedule({ metadata: first, facts: held.facts });
    const serverB = startSchedule({ metadata: second });
    try {
      await migrateMetadata(first);
      const projectId = await newProjectIn(first);
      const instance = await addDouyin(first, projectId);
      await scheduleSync(first, instance.id, 'video_list');

      const roundA = serverA.runOnce();
      await held.writing; // server A holds the job, part-way through its run
      expect(await serverB.runOnce()).toEqual([]);
      held.release();
      expect((await roundA).map((o) => o.status)).toEqual(['succeeded']);
      expect(await serverB.runOnce()).toEqual([]);

      expect(world.fake.requests).toHaveLength(3);
      expect((await jobsOf(second, instance.id, 'video_list')).map((j) => j.status).sort()).toEqual([
        'queued',
        'succeeded',
      ]);
      expect(await countRows('content_stats', projectId)).toBe(45);
    } finally {
      held.release();
      await Promise.all([serverA.stop(), serverB.stop()]);
      await first.close();
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads its interval from PULSELOOP_CONNECTOR_POLL_SECONDS and refuses a bad one by name', () => {
    expect(loadConfig({}).connectorPollSeconds).toBe(60);
    expect(loadConfig({ PULSELOOP_CONNECTOR_POLL_SECONDS: '0' }).connectorPollSeconds).toBe(0);
    expect(loadConfig({ PULSELOOP_CONNECTOR_POLL_SECONDS: '15' }).connectorPollSeconds).toBe(15);
    expect(() => loadConfig({ PULSELOOP_CONNECTOR_POLL_SECONDS: 'often' })).toThrow(
      /PULSELOOP_CONNECTOR_POLL_SECONDS/,
    );
  });
});

describe('rounds asked for (the API\'s "sync now")', () => {
  it('keeps no timer at interval 0, yet runs a round when asked, also for a job queued during one', async () => {
    const projectId = await world.stores.newProject();
    const first = await addDouyin(world.stores.metadata, projectId);
    // Another project: the same account's videos would otherwise replace each other's rows.
    const otherProjectId = await world.stores.newProject('Other shop');
    const second = await addDouyin(world.stores.metadata, otherProjectId);
    await scheduleSync(world.stores.metadata, first.id, 'video_list');
    const schedule = scheduleConnectorSyncs({
      syncDeps: (signal) => deps({ signal }),
      logger: recordingLogger().logger,
      intervalMs: 0,
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await jobsOf(world.stores.metadata, first.id, 'video_list')).map((j) => j.status)).toEqual([
        'queued',
      ]);

      let reached!: () => void;
      const requested = new Promise<void>((resolve) => {
        reached = resolve;
      });
      world.fake.onRequest = async () => {
        reached();
        await gate;
      };
      const round = schedule.runSoon();
      await requested; // the round is running the first sync
      world.fake.onRequest = undefined;
      await scheduleSync(world.stores.metadata, second.id, 'video_list');
      const after = schedule.runSoon();
      release();
      await round;
      await after;
      // Whichever round claimed it, the second sync ran before the answer to the later request.
      for (const instance of [first, second]) {
        const statuses = (await jobsOf(world.stores.metadata, instance.id, 'video_list')).map(
          (j) => j.status,
        );
        expect(statuses.sort()).toEqual(['queued', 'succeeded']);
      }
      expect(await countRows('content_stats', projectId)).toBe(45);
      expect(await countRows('content_stats', otherProjectId)).toBe(45);
    } finally {
      world.fake.onRequest = undefined;
      release();
      await schedule.stop();
    }
  });
});
