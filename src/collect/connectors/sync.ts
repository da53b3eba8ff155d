import { PulseloopError } from '../../errors/registry.js';
import type { PiiKeyring } from '../../govern/pii/keys.js';
import type { FactsEngine } from '../../store/facts/engine.js';
import type { MetadataStore } from '../../store/metadata/open.js';
import { type BackoffPolicy, createPacer, DEFAULT_HTTP_BACKOFF } from './backoff.js';
import { parseConnectorConfig } from './config.js';
import { createApiClient, type RetryEvent } from './http.js';
import {
  type ConnectorInstance,
  findConnectorInstance,
  getCheckpoint,
  type RunState,
  resolveAccessToken,
  saveCheckpoint,
} from './instances.js';
import {
  activeJob,
  claimJob,
  completeJob,
  enqueueJob,
  failJob,
  heartbeat,
  isLocalWorkerGone,
  type Job,
  releaseJob,
} from './jobs.js';
import { connectorById, streamOf } from './registry.js';
import type { StreamContext } from './types.js';
import { writePage } from './write.js';

/**
 * Runs connector syncs. A run reads a stream page by page; after each page it first writes the rows
 * to the facts store and only then saves the checkpoint (the cursor of the next page):
 *
 * - killed after the write and before the checkpoint, the next run reads that page again and writes
 *   the same rows again, which the ReplacingMergeTree tables fold into one (no duplicates);
 * - the checkpoint never moves past a page that is not written, so a resume never skips one (no gaps).
 */

export interface SyncDeps {
  metadata: MetadataStore;
  facts: FactsEngine;
  /** Where `env:` credentials are read (the CLI passes the process environment). */
  env: Record<string, string | undefined>;
  /** The PII key ring stored access tokens are encrypted with (secrets.ts). */
  keyring: PiiKeyring;
  backoff?: BackoffPolicy;
  /** Overrides the stream's requests per second (tests). */
  rateLimitPerSecond?: number;
  /** Aborting stops the sync in progress; its job goes back to the queue (see runSyncJob). */
  signal?: AbortSignal;
  now?: () => Date;
  onRetry?: (event: RetryEvent) => void;
  onPage?: (progress: PageProgress) => void;
}

export interface PageProgress {
  stream: string;
  position: string;
  pages: number;
  rows: number;
  quarantined: number;
}

export interface SyncReport {
  instanceId: string;
  stream: string;
  /** True when the run continued one that had stopped part-way. */
  resumed: boolean;
  pages: number;
  rows: number;
  quarantined: number;
}

export const SYNC_JOB_KIND = 'connector_sync';
export const DEFAULT_LEASE_MS = 5 * 60_000;

export interface SyncJobPayload {
  instanceId: string;
  stream: string;
}

export function syncJobKey(instanceId: string, stream: string): string {
  return `connector:${instanceId}:${stream}`;
}

/** Reads one stream of one instance from its checkpoint to the end of the run. */
export async function syncStream(
  deps: SyncDeps,
  instance: ConnectorInstance,
  streamName: string,
  job?: Job,
): Promise<SyncReport> {
  const connector = connectorById(instance.connector);
  const stream = streamOf(connector, streamName);
  const config = parseConnectorConfig(connector, instance.config);
  const accessToken = await resolveAccessToken(deps.metadata, instance, deps.env, deps.keyring);
  const now = deps.now?.() ?? new Date();
  const checkpoint = await getCheckpoint(deps.metadata, instance.id, stream.name);

  const api = createApiClient({
    platform: connector.displayName,
    platformZh: connector.displayNameZh,
    pacer: createPacer(deps.rateLimitPerSecond ?? stream.rateLimitPerSecond),
    backoff: deps.backoff ?? DEFAULT_HTTP_BACKOFF,
    ...(deps.signal && { signal: deps.signal }),
    ...(deps.onRetry && { onRetry: deps.onRetry }),
  });
  const resumed = checkpoint?.inProgress === true;
  const state: RunState = resumed
    ? checkpoint.state
    : { runStartedAt: now.getTime(), cursor: undefined as unknown };
  const context: StreamContext<unknown> = {
    projectId: instance.projectId,
    instanceId: instance.id,
    instanceName: instance.name,
    config,
    accessToken,
    api,
    runStartedAt: state.runStartedAt,
  };
  if (!resumed) state.cursor = stream.startCursor(context, checkpoint?.state.cursor, now);

  // The checkpoint counts the pages and rows of the run in progress (or of the last one, once done).
  let pagesWritten = resumed ? checkpoint.pagesWritten : 0;
  let rowsWritten = resumed ? checkpoint.rowsWritten : 0;
  const report: SyncReport = {
    instanceId: instance.id,
    stream: stream.name,
    resumed,
    pages: 0,
    rows: 0,
    quarantined: 0,
  };
  for (;;) {
    const page = await stream.readPage(context, state.cursor);
    // 1. write the page, 2. then move the checkpoint past it (see the module comment).
    await writePage(deps.facts, stream.table, page.rows, page.rejected, {
      projectId: instance.projectId,
      instanceId: instance.id,
      runStartedAt: state.runStartedAt,
      pageKey: `${stream.name}\n${JSON.stringify(state.cursor)}`,
    });
    pagesWritten += 1;
    rowsWritten += page.rows.length;
    await saveCheckpoint(deps.metadata, {
      instanceId: instance.id,
      stream: stream.name,
      state: { runStartedAt: state.runStartedAt, cursor: page.next },
      inProgress: !page.done,
      pagesWritten,
      rowsWritten,
    });
    report.pages += 1;
    report.rows += page.rows.length;
    report.quarantined += page.rejected.length;
    deps.onPage?.({ stream: stream.name, position: page.position, ...pick(report) });
    if (job && !(await heartbeat(deps.metadata, job, DEFAULT_LEASE_MS))) {
      throw new Error(`lost the lease of job ${job.id}; another worker took it over`);
    }
    if (page.done) return report;
    state.cursor = page.next;
  }
}

function pick(report: SyncReport) {
  return { pages: report.pages, rows: report.rows, quarantined: report.quarantined };
}

/** Failures that another attempt cannot mend: the job fails at once instead of retrying. */
const PERMANENT = new Set([
  'connector_bad_credentials',
  'connector_credentials_missing',
  'connector_invalid_config',
  'connector_token_key_missing',
  'connector_token_unreadable',
  'connector_unknown',
  'not_found',
]);

export function isPermanentFailure(error: unknown): boolean {
  return error instanceof PulseloopError && PERMANENT.has(error.code);
}

/** Queues a sync of one stream (or brings the queued one forward to `runAt`). */
export async function scheduleSync(
  metadata: MetadataStore,
  instanceId: string,
  stream: string,
  runAt: Date = new Date(),
): Promise<Job<SyncJobPayload>> {
  const { job } = await enqueueJob<SyncJobPayload>(metadata, {
    kind: SYNC_JOB_KIND,
    payload: { instanceId, stream },
    singletonKey: syncJobKey(instanceId, stream),
    runAt,
  });
  return job;
}

/**
 * Queues the named streams of an instance (every stream by default) due now: its first runs after it
 * was added, or "sync now". Answers the queued jobs.
 */
export async function queueSyncsNow(
  metadata: MetadataStore,
  instance: ConnectorInstance,
  streams: readonly string[] = connectorById(instance.connector).streams.map((s) => s.name),
): Promise<Array<Job<SyncJobPayload>>> {
  const jobs: Array<Job<SyncJobPayload>> = [];
  for (const stream of streams) jobs.push(await scheduleSync(metadata, instance.id, stream));
  return jobs;
}

export type JobOutcome =
  | { status: 'succeeded'; report: SyncReport; nextRunAt: string; job: Job<SyncJobPayload> }
  | { status: 'retrying' | 'failed'; error: unknown; job: Job<SyncJobPayload> };

/**
 * Runs a claimed sync job: on success schedules the next run after the stream's interval; on failure
 * re-queues with back-off, or fails the job for good when the cause is permanent (bad credentials).
 * Stopped by `deps.signal` (a server shutting down), the job is released instead: queued again, due
 * at once, the attempt not counted, so the next worker resumes it from the checkpoint.
 */
export async function runSyncJob(deps: SyncDeps, job: Job<SyncJobPayload>): Promise<JobOutcome> {
  try {
    const instance = await findConnectorInstance(deps.metadata, job.payload.instanceId);
    const stream = streamOf(connectorById(instance.connector), job.payload.stream);
    const report = await syncStream(deps, instance, stream.name, job);
    await completeJob(deps.metadata, job);
    const next = await scheduleSync(
      deps.metadata,
      instance.id,
      stream.name,
      new Date(Date.now() + stream.scheduleIntervalSeconds * 1000),
    );
    return { status: 'succeeded', report, nextRunAt: next.nextRunAt, job };
  } catch (error) {
    if (deps.signal?.aborted) {
      return { status: 'retrying', error, job: await releaseJob(deps.metadata, job) };
    }
    const message = failureMessage(error);
    const failed = await failJob(deps.metadata, job, message, { retryable: !isPermanentFailure(error) });
    return {
      status: failed.status === 'failed' ? 'failed' : 'retrying',
      error,
      job: failed as Job<SyncJobPayload>,
    };
  }
}

/**
 * What a failed job keeps as `last_error`: `code: English message`, then the Chinese message on a
 * second line, so that status views can show it in either language (see lastErrorOf).
 */
function failureMessage(error: unknown): string {
  if (error instanceof PulseloopError) return `${error.code}: ${error.message}\n${error.code}: ${error.zh}`;
  return (error as Error).message;
}

/** A job's `last_error` read back: its code (when it came from a PulseloopError) and both languages. */
export function lastErrorOf(
  text: string | null,
): { code: string | null; message: string; messageZh: string } | null {
  if (!text) return null;
  const [en = '', zh] = text.split('\n');
  const code = /^([a-z][a-z0-9_]*): /.exec(en)?.[1] ?? null;
  const strip = (line: string) => (code && line.startsWith(`${code}: `) ? line.slice(code.length + 2) : line);
  return { code, message: strip(en), messageZh: strip(zh ?? en) };
}

/** Claims and runs due sync jobs one after another until none is due; answers what each did. */
export async function runDueSyncJobs(
  deps: SyncDeps,
  limit = Number.POSITIVE_INFINITY,
): Promise<JobOutcome[]> {
  const outcomes: JobOutcome[] = [];
  while (outcomes.length < limit) {
    const job = await claimJob<SyncJobPayload>(deps.metadata, {
      kinds: [SYNC_JOB_KIND],
      leaseMs: DEFAULT_LEASE_MS,
    });
    if (!job) break;
    outcomes.push(await runSyncJob(deps, job));
  }
  return outcomes;
}

/**
 * Runs a sync of one stream now, in this process: queues it (or takes the queued one), takes over a
 * run whose worker on this machine died, refuses when a live worker holds it.
 */
export async function syncNow(
  deps: SyncDeps,
  instance: ConnectorInstance,
  stream: string,
): Promise<JobOutcome> {
  const key = syncJobKey(instance.id, stream);
  const existing = await activeJob<SyncJobPayload>(deps.metadata, key);
  const takeOver =
    existing?.status === 'running' &&
    (isLocalWorkerGone(existing.lockedBy) || (existing.lockedUntil ?? '') < new Date().toISOString());
  if (existing?.status === 'running' && !takeOver) {
    throw new PulseloopError('connector_sync_busy', {
      instance: instance.name,
      stream,
      holder: existing.lockedBy ?? '?',
      until: existing.lockedUntil ?? '?',
    });
  }
  // A queued run due later is brought forward to now.
  const job =
    existing?.status === 'running' ? existing : await scheduleSync(deps.metadata, instance.id, stream);
  const claimed = await claimJob<SyncJobPayload>(deps.metadata, {
    jobId: job.id,
    leaseMs: DEFAULT_LEASE_MS,
    takeOver,
  });
  if (!claimed) {
    throw new PulseloopError('connector_sync_busy', {
      instance: instance.name,
      stream,
      holder: '?',
      until: '?',
    });
  }
  return runSyncJob(deps, claimed);
}
