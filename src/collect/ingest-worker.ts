import { writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { PiiKey, PiiKeyring } from '../govern/pii/keys.js';
import { createGovernanceMemo, PiiProtector } from '../govern/pii/protect.js';
import { INGEST_THREAD_NAME } from './ingest-threads.js';
import { type BatchToPrepare, prepareBatch } from './prepare-batch.js';

/**
 * An ingestion thread (ingest-threads.ts): prepares the batch requests the serving thread hands it.
 * The key ring comes once, at start; each thread keeps its own memo of keyed ids and ciphertexts.
 */

export interface IngestThreadData {
  /** Under governance, the process's PII key ring (its Buffers arrive as Uint8Arrays). */
  keyring?: PiiKeyring;
}

export type IngestThreadRequest = { id: number; batch: BatchToPrepare };

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function revive(ring: PiiKeyring): PiiKeyring {
  const keys = new Map<string, PiiKey>();
  for (const [id, key] of ring.keys) keys.set(id, { ...key, key: asBuffer(key.key) });
  return { ...ring, keys, hashKey: asBuffer(ring.hashKey) };
}

try {
  // Linux lets a thread rename itself through /proc; elsewhere the name stays.
  writeFileSync('/proc/thread-self/comm', INGEST_THREAD_NAME);
} catch {
  // Not Linux, or /proc not mounted.
}

const data = workerData as IngestThreadData;
const keyring = data.keyring ? revive(data.keyring) : undefined;
const memo = createGovernanceMemo();
/** Field lists seen, by their text: a project's list is the same object from one request to the next. */
const fieldSets = new Map<string, ReadonlySet<string>>();

function protectorFor(batch: BatchToPrepare): PiiProtector | undefined {
  if (!batch.piiFields) return undefined;
  if (!keyring) throw new Error('PII fields to encrypt, but this ingestion thread has no key ring');
  const key = batch.piiFields.join('\u0000');
  let fields = fieldSets.get(key);
  if (!fields) {
    if (fieldSets.size > 1000) fieldSets.clear();
    fields = new Set(batch.piiFields);
    fieldSets.set(key, fields);
  }
  return new PiiProtector(keyring, fields, memo);
}

parentPort?.on('message', ({ id, batch }: IngestThreadRequest) => {
  try {
    parentPort?.postMessage({ id, prepared: prepareBatch(batch, protectorFor(batch)) });
  } catch (error) {
    parentPort?.postMessage({
      id,
      failure: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
});
