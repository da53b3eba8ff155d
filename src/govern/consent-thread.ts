import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type Details, type ErrorCode, PulseloopError } from '../errors/registry.js';
import type { ConsentChange, ConsentRecord } from './consent.js';

/**
 * Records consent on a thread of its own (SQLite metadata only). better-sqlite3 runs every statement
 * synchronously, so on the serving thread each identify with consent traits stopped all requests
 * for the inserts and the commit; on its own thread the serving thread only waits for the answer.
 */
export interface ConsentThread {
  record(projectId: string, changes: ConsentChange[]): Promise<ConsentRecord[]>;
  close(): Promise<void>;
}

type Reply =
  | { id: number; records: ConsentRecord[] }
  | { id: number; refusal: { code: ErrorCode; details: Details } | { message: string } };

/** Starts the thread on the SQLite file, or answers undefined when its compiled file is absent (TypeScript sources under the test runner). */
export function openConsentThread(sqlitePath: string): ConsentThread | undefined {
  const file = new URL('./consent-worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(file))) return undefined;
  const worker = new Worker(file, { workerData: sqlitePath });
  // The serving process decides when to end; an idle consent thread never keeps it alive.
  worker.unref();
  const waiting = new Map<
    number,
    { resolve: (records: ConsentRecord[]) => void; reject: (e: Error) => void }
  >();
  let next = 0;
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure = error;
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
  };
  worker.on('message', (reply: Reply) => {
    const entry = waiting.get(reply.id);
    if (!entry) return;
    waiting.delete(reply.id);
    if (waiting.size === 0) worker.unref();
    if ('records' in reply) entry.resolve(reply.records);
    else if ('code' in reply.refusal)
      entry.reject(new PulseloopError(reply.refusal.code, reply.refusal.details));
    else entry.reject(new Error(reply.refusal.message));
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', (code) => failAll(new Error(`the consent thread exited with code ${code}`)));
  return {
    record(projectId, changes) {
      if (failure) return Promise.reject(failure);
      const id = next++;
      return new Promise((resolve, reject) => {
        // Held while an answer is awaited, so the process waits for it.
        if (waiting.size === 0) worker.ref();
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, projectId, changes });
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}
