import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Kysely, sql } from 'kysely';
import { processExists } from '../../lib/process-exists.js';
import type { MetadataStore } from '../../store/metadata/open.js';
import { type CollectDatabase, collectDb, type JobStatus, type JobsTable } from './tables.js';

/**
 * The durable job table: work that must happen later or survive a crash (connector syncs today;
 * imports, journey steps and sends later). One code path on SQLite and PostgreSQL.
 *
 * - A worker *claims* a due job by setting it running with a lease (`locked_until`). Claiming is one
 *   UPDATE over a sub-select: on PostgreSQL with FOR UPDATE SKIP LOCKED, so many workers never take
 *   the same job; on SQLite inside BEGIN IMMEDIATE, which serialises writers.
 * - A running worker renews its lease (`heartbeat`). A job whose lease ran out belongs to a dead
 *   worker and is claimed again; the work itself must therefore be resumable (connectors resume
 *   from their checkpoint).
 * - Failure either re-queues with back-off (attempts left) or ends the job as failed.
 */

export interface Job<Payload = unknown> {
  id: string;
  kind: string;
  singletonKey: string | null;
  payload: Payload;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  nextRunAt: string;
  lockedUntil: string | null;
  lockedBy: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface NewJob<Payload> {
  kind: string;
  payload: Payload;
  /** At most one queued or running job per key: enqueueing again returns the active one. */
  singletonKey?: string;
  runAt?: Date;
  maxAttempts?: number;
}

/** `host:pid` of this process, as recorded in `locked_by`. */
export const THIS_WORKER = `${hostname()}:${process.pid}`;

const DEFAULT_MAX_ATTEMPTS = 8;
const JOB_BACKOFF_BASE_MS = 30_000;
const JOB_BACKOFF_MAX_MS = 6 * 3600_000;

/**
 * Adds a job, or (when a job with the same singleton key is queued or running) returns that one,
 * brought forward to `runAt` if it was due later.
 */
export async function enqueueJob<Payload>(
  store: MetadataStore,
  input: NewJob<Payload>,
): Promise<{ job: Job<Payload>; created: boolean }> {
  const db = collectDb(store);
  const now = new Date().toISOString();
  const runAt = (input.runAt ?? new Date()).toISOString();
  const row: JobsTable = {
    id: randomUUID(),
    kind: input.kind,
    singleton_key: input.singletonKey ?? null,
    payload: JSON.stringify(input.payload),
    status: 'queued',
    attempts: 0,
    max_attempts: input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    next_run_at: runAt,
    locked_until: null,
    locked_by: null,
    last_error: null,
    created_at: now,
    updated_at: now,
    finished_at: null,
  };
  // ON CONFLICT DO NOTHING without a target covers the partial unique index on both dialects.
  const inserted = await db
    .insertInto('jobs')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0) return { job: toJob<Payload>(row), created: true };

  const key = input.singletonKey as string;
  await db
    .updateTable('jobs')
    .set({ next_run_at: runAt, updated_at: now })
    .where('singleton_key', '=', key)
    .where('status', '=', 'queued')
    .where('next_run_at', '>', runAt)
    .execute();
  const active = await activeJob<Payload>(store, key);
  if (!active) throw new Error(`job ${key} conflicted but no active job holds the key`);
  return { job: active, created: false };
}

/** The queued or running job holding a singleton key, if any. */
export async function activeJob<Payload>(
  store: MetadataStore,
  key: string,
): Promise<Job<Payload> | undefined> {
  const row = await collectDb(store)
    .selectFrom('jobs')
    .selectAll()
    .where('singleton_key', '=', key)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirst();
  return row && toJob<Payload>(row);
}

export interface ClaimOptions {
  workerId?: string;
  leaseMs: number;
  kinds?: string[];
  /** Only this job. */
  jobId?: string;
  /** Also take it while running under another worker's live lease (that worker is known dead). */
  takeOver?: boolean;
  now?: Date;
}

/** Claims one due job (queued and due, or running with an expired lease) and returns it, or undefined. */
export async function claimJob<Payload = unknown>(
  store: MetadataStore,
  options: ClaimOptions,
): Promise<Job<Payload> | undefined> {
  const now = (options.now ?? new Date()).toISOString();
  const lockedUntil = new Date(Date.parse(now) + options.leaseMs).toISOString();
  const workerId = options.workerId ?? THIS_WORKER;
  const claim = async (db: Kysely<CollectDatabase>) => {
    let candidate = db
      .selectFrom('jobs')
      .select('id')
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'queued'), eb('next_run_at', '<=', now)]),
          eb.and([
            eb('status', '=', 'running'),
            options.takeOver ? eb.lit(true) : eb('locked_until', '<', now),
          ]),
        ]),
      )
      .orderBy('next_run_at')
      .limit(1);
    if (options.kinds) candidate = candidate.where('kind', 'in', options.kinds);
    if (options.jobId) candidate = candidate.where('id', '=', options.jobId);
    if (store.dialect === 'postgres') candidate = candidate.forUpdate().skipLocked();
    return db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'running',
        attempts: eb('attempts', '+', 1),
        locked_until: lockedUntil,
        locked_by: workerId,
        updated_at: now,
      }))
      .where('id', '=', (eb) => eb.selectFrom(candidate.as('c')).select('c.id'))
      .where('status', 'in', ['queued', 'running'])
      .returningAll()
      .executeTakeFirst();
  };
  const row =
    store.dialect === 'postgres' ? await claim(collectDb(store)) : await sqliteWriteLocked(store, claim);
  return row && toJob<Payload>(row);
}

/** Runs `work` inside BEGIN IMMEDIATE on SQLite, so the read and the write of a claim are one step. */
async function sqliteWriteLocked<T>(
  store: MetadataStore,
  work: (db: Kysely<CollectDatabase>) => Promise<T>,
): Promise<T> {
  return collectDb(store)
    .connection()
    .execute(async (db) => {
      await sql`BEGIN IMMEDIATE`.execute(db);
      try {
        const result = await work(db);
        await sql`COMMIT`.execute(db);
        return result;
      } catch (error) {
        await sql`ROLLBACK`.execute(db);
        throw error;
      }
    });
}

/** Extends the lease of a job this worker holds; false if the lease was lost to another worker. */
export async function heartbeat(store: MetadataStore, job: Job, leaseMs: number): Promise<boolean> {
  const now = new Date();
  const result = await collectDb(store)
    .updateTable('jobs')
    .set({
      locked_until: new Date(now.getTime() + leaseMs).toISOString(),
      updated_at: now.toISOString(),
    })
    .where('id', '=', job.id)
    .where('status', '=', 'running')
    .where('locked_by', '=', job.lockedBy)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Marks a job this worker holds as done. */
export async function completeJob(store: MetadataStore, job: Job): Promise<void> {
  const now = new Date().toISOString();
  await collectDb(store)
    .updateTable('jobs')
    .set({ status: 'succeeded', locked_until: null, last_error: null, updated_at: now, finished_at: now })
    .where('id', '=', job.id)
    .where('locked_by', '=', job.lockedBy)
    .execute();
}

/**
 * Gives a job this worker holds back to the queue, due at once and without counting the attempt: the
 * worker is stopping, the job did not fail. Answers the job as it now stands (unchanged when the lease
 * had already passed to another worker).
 */
export async function releaseJob<Payload>(store: MetadataStore, job: Job<Payload>): Promise<Job<Payload>> {
  const now = new Date().toISOString();
  const row = await collectDb(store)
    .updateTable('jobs')
    .set((eb) => ({
      status: 'queued',
      attempts: eb('attempts', '-', 1),
      next_run_at: now,
      locked_until: null,
      locked_by: null,
      updated_at: now,
    }))
    .where('id', '=', job.id)
    .where('status', '=', 'running')
    .where('locked_by', '=', job.lockedBy)
    .returningAll()
    .executeTakeFirst();
  return row ? toJob<Payload>(row) : job;
}

export interface FailOptions {
  /** False for failures that another attempt cannot mend (bad credentials, invalid settings). */
  retryable: boolean;
  /** The earliest next attempt the cause asks for (a long Retry-After). */
  notBeforeMs?: number;
  random?: number;
}

/** Re-queues a failed job with back-off while attempts remain and the failure is retryable; else fails it. */
export async function failJob(
  store: MetadataStore,
  job: Job,
  message: string,
  options: FailOptions,
): Promise<Job> {
  const now = Date.now();
  const retry = options.retryable && job.attempts < job.maxAttempts;
  const step = Math.min(JOB_BACKOFF_MAX_MS, JOB_BACKOFF_BASE_MS * 2 ** Math.max(0, job.attempts - 1));
  const delay = Math.max(step / 2 + ((options.random ?? Math.random()) * step) / 2, options.notBeforeMs ?? 0);
  const iso = new Date(now).toISOString();
  const row = await collectDb(store)
    .updateTable('jobs')
    .set({
      status: retry ? 'queued' : 'failed',
      next_run_at: retry ? new Date(now + delay).toISOString() : job.nextRunAt,
      locked_until: null,
      last_error: message,
      updated_at: iso,
      finished_at: retry ? null : iso,
    })
    .where('id', '=', job.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return toJob(row);
}

/** Jobs of a kind, newest first (status views). */
export async function listJobs(
  store: MetadataStore,
  filter: { kind?: string; singletonKey?: string; singletonKeyPrefix?: string; limit?: number } = {},
): Promise<Job[]> {
  let query = collectDb(store).selectFrom('jobs').selectAll();
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  if (filter.singletonKey) query = query.where('singleton_key', '=', filter.singletonKey);
  if (filter.singletonKeyPrefix)
    query = query.where('singleton_key', 'like', `${filter.singletonKeyPrefix}%`);
  const rows = await query
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(filter.limit ?? 100)
    .execute();
  return rows.map((row) => toJob(row));
}

/** Whether the worker named in `locked_by` is a process of this machine that no longer exists. */
export function isLocalWorkerGone(lockedBy: string | null): boolean {
  if (!lockedBy) return true;
  const separator = lockedBy.lastIndexOf(':');
  if (lockedBy.slice(0, separator) !== hostname()) return false;
  const pid = Number(lockedBy.slice(separator + 1));
  if (!Number.isInteger(pid) || pid <= 0) return false;
  return !processExists(pid);
}

function toJob<Payload>(row: JobsTable): Job<Payload> {
  return {
    id: row.id,
    kind: row.kind,
    singletonKey: row.singleton_key,
    payload: JSON.parse(row.payload) as Payload,
    status: row.status,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    nextRunAt: row.next_run_at,
    lockedUntil: row.locked_until,
    lockedBy: row.locked_by,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}
