import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PiiKeyring } from '../govern/pii/keys.js';
import type { IngestThreadData, IngestThreadRequest } from './ingest-worker.js';
import type { BatchToPrepare, PreparedBatch } from './prepare-batch.js';

/**
 * Threads that prepare `/v1/batch` requests (prepare-batch.ts: parse, validate, encrypt, normalise,
 * encode) while the serving thread answers HTTP, claims message ids, resolves identities and writes
 * the log. Under load the serving thread was the limit of one server (busy ~90 % of the time); the
 * preparing was about half its work per event.
 *
 * A thread starts with the first request it is needed for, so a server that ingests nothing holds
 * none. When one fails, the requests it held are rejected (the serving thread then takes them
 * itself: nothing of them was claimed or logged yet) and a new thread starts for the next.
 */
export interface IngestThreads {
  prepare(batch: BatchToPrepare): Promise<PreparedBatch>;
  close(): Promise<void>;
}

/** An ingestion thread's name as the system shows it (`top -H`, /proc): Node names all its threads "node". */
export const INGEST_THREAD_NAME = 'pl-ingest';

/** Threads to prepare on by default: one per core beyond the serving thread's, at most 3; none on one core. */
export function defaultIngestThreads(cores: number = availableParallelism()): number {
  return Math.min(Math.max(cores - 1, 0), 3);
}

type Reply = { id: number; prepared: PreparedBatch } | { id: number; failure: string };

interface Waiting {
  resolve: (prepared: PreparedBatch) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  waiting: Map<number, Waiting>;
}

/**
 * `count` threads (none when 0, or when the compiled thread file is absent: TypeScript sources under
 * the test runner). `keyring` is the process's PII key ring under governance.
 */
export function openIngestThreads(count: number, keyring?: PiiKeyring): IngestThreads | undefined {
  const file = new URL('./ingest-worker.js', import.meta.url);
  if (count <= 0 || !existsSync(fileURLToPath(file))) return undefined;
  const data: IngestThreadData = keyring ? { keyring } : {};
  const slots: (Slot | undefined)[] = Array.from({ length: count }, () => undefined);
  let next = 0;
  let closed = false;

  const start = (index: number): Slot => {
    const worker = new Worker(file, { workerData: data });
    const slot: Slot = { worker, waiting: new Map() };
    // An idle thread never keeps the process alive; one with work in hand does.
    worker.unref();
    const failAll = (error: Error) => {
      if (slots[index] === slot) slots[index] = undefined;
      for (const { reject } of slot.waiting.values()) reject(error);
      slot.waiting.clear();
    };
    worker.on('message', (reply: Reply) => {
      const entry = slot.waiting.get(reply.id);
      if (!entry) return;
      slot.waiting.delete(reply.id);
      if (slot.waiting.size === 0) worker.unref();
      if ('prepared' in reply) entry.resolve(reply.prepared);
      else entry.reject(new Error(`an ingestion thread failed: ${reply.failure}`));
    });
    worker.on('error', (error) => failAll(error));
    worker.on('exit', (code) => failAll(new Error(`an ingestion thread exited with code ${code}`)));
    slots[index] = slot;
    return slot;
  };

  /** The thread with the fewest requests in hand (started if it is not running). */
  const pick = (): Slot => {
    let best = 0;
    for (let i = 1; i < slots.length; i++) {
      if ((slots[i]?.waiting.size ?? 0) < (slots[best]?.waiting.size ?? 0)) best = i;
    }
    return slots[best] ?? start(best);
  };

  return {
    prepare(batch) {
      if (closed) return Promise.reject(new Error('the ingestion threads are closed'));
      const slot = pick();
      const id = next++;
      return new Promise((resolve, reject) => {
        if (slot.waiting.size === 0) slot.worker.ref();
        slot.waiting.set(id, { resolve, reject });
        const request: IngestThreadRequest = { id, batch };
        try {
          slot.worker.postMessage(request);
        } catch (error) {
          // Not sent (e.g. data that cannot be passed): the thread must not count it as in hand.
          slot.waiting.delete(id);
          if (slot.waiting.size === 0) slot.worker.unref();
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((slot) => slot?.worker.terminate()));
    },
  };
}
