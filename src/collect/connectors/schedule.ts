import type { Logger } from 'pino';
import { runPeriodically } from '../../lib/periodic.js';
import { type JobOutcome, runDueSyncJobs, type SyncDeps } from './sync.js';

/**
 * Connector syncs run by the server itself: every interval it runs the sync jobs that are due, one
 * after another, as `pulseloop connectors run-due` does. Several servers may share one metadata
 * store: each job is claimed with a lease first (jobs.ts), so only one of them runs it.
 */

export interface ConnectorSchedule {
  /** One round now (what the timer runs): every sync due, one after another. */
  runOnce(): Promise<JobOutcome[]>;
  /**
   * A round for work queued just now (the API's "sync now"): starts one at once, or, while a round is
   * in progress (it may be past its last claim), one more right after it. Never rejects: a failed
   * round is logged.
   */
  runSoon(): Promise<JobOutcome[]>;
  /**
   * Stops the timer, interrupts the sync in progress (its job goes back to the queue and resumes
   * from its checkpoint) and waits for the round to end, so the stores can close under it.
   */
  stop(): Promise<void>;
}

export interface ConnectorScheduleDeps {
  /**
   * What the syncs of a round use, built when the round starts, so that a PII key the CLI rotated
   * since the server started is picked up; `signal` aborts when the schedule stops.
   */
  syncDeps(signal: AbortSignal): SyncDeps;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Time between rounds; 0 runs no timer (PULSELOOP_CONNECTOR_POLL_SECONDS=0): rounds only on request. */
  intervalMs: number;
  /** Delay before the first round, so start-up is not slowed (default: a minute or the interval). */
  firstDelayMs?: number;
}

export function scheduleConnectorSyncs(deps: ConnectorScheduleDeps): ConnectorSchedule {
  const stopping = new AbortController();
  const onError = (error: unknown) => deps.logger.warn({ err: error }, 'running due connector syncs failed');
  const periodic = runPeriodically(() => round(deps, stopping.signal), {
    intervalMs: deps.intervalMs,
    ...(deps.firstDelayMs !== undefined ? { firstDelayMs: deps.firstDelayMs } : {}),
    onError,
    beforeWait: () => stopping.abort(new Error('the connector schedule stopped')),
  });
  return {
    runOnce: periodic.runOnce,
    stop: periodic.stop,
    runSoon: () =>
      periodic.runAfterCurrent().catch((error: unknown) => {
        onError(error);
        return [];
      }),
  };
}

async function round(deps: ConnectorScheduleDeps, signal: AbortSignal): Promise<JobOutcome[]> {
  const sync = deps.syncDeps(signal);
  const outcomes: JobOutcome[] = [];
  // One claim at a time, so that a stop is noticed between two jobs.
  while (!signal.aborted) {
    const [outcome] = await runDueSyncJobs(sync, 1);
    if (!outcome) break;
    outcomes.push(outcome);
    logOutcome(deps.logger, outcome, signal);
  }
  return outcomes;
}

function logOutcome(logger: ConnectorScheduleDeps['logger'], outcome: JobOutcome, signal: AbortSignal): void {
  const { instanceId, stream } = outcome.job.payload;
  if (outcome.status === 'succeeded') {
    const { pages, rows, quarantined, resumed } = outcome.report;
    logger.info(
      { instanceId, stream, pages, rows, quarantined, resumed, nextRunAt: outcome.nextRunAt },
      'connector sync finished',
    );
  } else if (signal.aborted) {
    logger.info({ instanceId, stream }, 'connector sync stopped by shutdown; queued again to resume');
  } else {
    logger.warn(
      {
        instanceId,
        stream,
        err: outcome.error,
        attempts: outcome.job.attempts,
        ...(outcome.status === 'retrying' && { nextRunAt: outcome.job.nextRunAt }),
      },
      outcome.status === 'failed'
        ? 'connector sync failed and will not be retried'
        : 'connector sync failed; it will be retried',
    );
  }
}
