import { parentPort, workerData } from 'node:worker_threads';
import { PulseloopError } from '../errors/registry.js';
import type { ConsentChange } from './consent.js';
import { openSqliteConsentRecorder } from './consent-sqlite.js';

/**
 * The consent thread: records consent changes on its own connection to the SQLite metadata file,
 * so that the inserts and the commit's disk wait happen off the thread that serves requests.
 */
const recorder = openSqliteConsentRecorder(workerData as string);
parentPort?.on('message', (message: { id: number; projectId: string; changes: ConsentChange[] }) => {
  try {
    const records = recorder.record(message.projectId, message.changes);
    parentPort?.postMessage({ id: message.id, records });
  } catch (error) {
    const refusal =
      error instanceof PulseloopError
        ? { code: error.code, details: error.details }
        : { message: error instanceof Error ? error.message : String(error) };
    parentPort?.postMessage({ id: message.id, refusal });
  }
});
