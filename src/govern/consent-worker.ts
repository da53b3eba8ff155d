import { parentPort, workerData } from 'node:worker_threads';
import { PulseloopError } from '../errors/registry.js';
import { openSqliteFile } from '../store/metadata/open.js';
import { type ConsentChange, recordConsent } from './consent.js';

/**
 * The consent thread: records consent changes on its own connection to the SQLite metadata file,
 * so that the inserts and the commit's disk wait happen off the thread that serves requests.
 */
const store = openSqliteFile(workerData as string);
parentPort?.on('message', async (message: { id: number; projectId: string; changes: ConsentChange[] }) => {
  try {
    const records = await recordConsent(store, message.projectId, message.changes);
    parentPort?.postMessage({ id: message.id, records });
  } catch (error) {
    const refusal =
      error instanceof PulseloopError
        ? { code: error.code, details: error.details }
        : { message: error instanceof Error ? error.message : String(error) };
    parentPort?.postMessage({ id: message.id, refusal });
  }
});
