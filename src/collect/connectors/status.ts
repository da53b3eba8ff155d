import type { MetadataStore } from '../../store/metadata/open.js';
import { type ConnectorInstance, listCheckpoints, parseCredentialsRef } from './instances.js';
import { type Job, listJobs } from './jobs.js';
import { connectorById } from './registry.js';
import { lastErrorOf, SYNC_JOB_KIND, syncJobKey } from './sync.js';

/**
 * Where a connector instance stands, as the API and the dashboard show it: where its access token
 * comes from (never the token), and per stream the state of its syncs, read from the job table and
 * the checkpoints.
 */

/**
 * - `never`: no sync was ever queued; `queued`: due now (or the first run waits for its time);
 * - `running`: a worker holds it; `retrying`: it failed and waits for its next attempt;
 * - `succeeded` / `failed`: how the last run ended (a succeeded stream waits for its next run).
 */
export type StreamState = 'never' | 'queued' | 'running' | 'retrying' | 'succeeded' | 'failed';

export interface StreamStatus {
  name: string;
  scheduleIntervalSeconds: number;
  state: StreamState;
  /** When the last successful run ended. */
  lastSuccessAt: string | null;
  /** When the queued run is due (null when nothing is queued: failed for good, or running). */
  nextRunAt: string | null;
  /** Attempts of the job the state describes (the queued or running one, or the last that ended). */
  attempts: number;
  lastError: { code: string | null; message: string; messageZh: string } | null;
  /** Pages and rows written by the run in progress or, once it finished, by the last run. */
  lastRun: { pages: number; rows: number; inProgress: boolean; updatedAt: string } | null;
}

export type CredentialsView = { source: 'env'; variable: string; set: boolean } | { source: 'stored' };

export interface InstanceStatus {
  id: string;
  name: string;
  connector: string;
  platform: string;
  config: unknown;
  credentials: CredentialsView;
  createdAt: string;
  streams: StreamStatus[];
}

/** How many recent jobs of a stream are read to find its last success. */
const RECENT_JOBS = 50;

/** Where the instance's token comes from; for `env:NAME`, whether `env` (the server's) has it. */
export function credentialsView(
  instance: ConnectorInstance,
  env: Record<string, string | undefined>,
): CredentialsView {
  const { kind, reference: variable } = parseCredentialsRef(instance.credentialsRef);
  if (kind === 'env') return { source: 'env', variable, set: (env[variable] ?? '').trim() !== '' };
  return { source: 'stored' };
}

export async function instanceStatus(
  store: MetadataStore,
  instance: ConnectorInstance,
  env: Record<string, string | undefined>,
): Promise<InstanceStatus> {
  const connector = connectorById(instance.connector);
  const checkpoints = await listCheckpoints(store, instance.id);
  const streams = await Promise.all(
    connector.streams.map(async (stream): Promise<StreamStatus> => {
      const jobs = await listJobs(store, {
        kind: SYNC_JOB_KIND,
        singletonKey: syncJobKey(instance.id, stream.name),
        limit: RECENT_JOBS,
      });
      const checkpoint = checkpoints.find((c) => c.stream === stream.name);
      const current = jobs.find((j) => j.status === 'queued' || j.status === 'running');
      const finished = jobs.find((j) => j.status === 'succeeded' || j.status === 'failed');
      const errorJob = current?.lastError ? current : finished?.status === 'failed' ? finished : undefined;
      const state = stateOf(current, finished);
      // The job the state describes: the last one that ended, once it ended.
      const shown = state === 'succeeded' || state === 'failed' ? finished : current;
      return {
        name: stream.name,
        scheduleIntervalSeconds: stream.scheduleIntervalSeconds,
        state,
        lastSuccessAt: jobs.find((j) => j.status === 'succeeded')?.finishedAt ?? null,
        nextRunAt: current?.status === 'queued' ? current.nextRunAt : null,
        attempts: shown?.attempts ?? 0,
        lastError: lastErrorOf(errorJob?.lastError ?? null),
        lastRun: checkpoint
          ? {
              pages: checkpoint.pagesWritten,
              rows: checkpoint.rowsWritten,
              inProgress: checkpoint.inProgress,
              updatedAt: checkpoint.updatedAt,
            }
          : null,
      };
    }),
  );
  return {
    id: instance.id,
    name: instance.name,
    connector: connector.id,
    platform: connector.platform,
    config: instance.config,
    credentials: credentialsView(instance, env),
    createdAt: instance.createdAt,
    streams,
  };
}

/** `current`: the queued or running job; `finished`: the newest job that ended. */
function stateOf(current: Job | undefined, finished: Job | undefined, now = new Date()): StreamState {
  if (current?.status === 'running') return 'running';
  if (current && current.attempts > 0) return 'retrying';
  // A queued run due later is the next scheduled one: the stream stands where its last run ended.
  if (current && (current.nextRunAt <= now.toISOString() || !finished)) return 'queued';
  if (finished) return finished.status as 'succeeded' | 'failed';
  return 'never';
}
