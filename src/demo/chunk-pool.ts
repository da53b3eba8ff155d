import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type ChunkOutput, type ChunkSpec, generateChunk } from './chunk.js';
import type { DemoWorld, WorldSettings } from './world.js';

/**
 * Generates a world's chunks and hands their outputs over in chunk order. With two or more cores,
 * worker threads generate them (two chunks in flight per thread, so memory stays bounded); the main
 * thread only moves bytes to the store. Without cores to spare, or when the worker's compiled file
 * is absent (the test runner loads TypeScript sources), chunks are generated on the calling thread.
 * Either way every chunk's output is the same (chunk.ts).
 */

const IN_FLIGHT_PER_WORKER = 2;

/** The compiled worker next to this module, if there is one. */
function workerFile(): URL | undefined {
  const url = new URL('./chunk-worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/** Threads to generate on: one per core, up to four; none on a single core. */
export function defaultDemoThreads(): number {
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(cores, 4);
}

/** Threads that generate chunks, started before the world is needed (they build their own). */
export interface ChunkPool {
  /** Worker threads (0: chunks are generated on the calling thread). */
  readonly threads: number;
  /** Generates every chunk and consumes the outputs in chunk order. */
  generate(
    world: DemoWorld,
    chunks: ChunkSpec[],
    consume: (output: ChunkOutput) => Promise<void>,
  ): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts `threads` workers for a world of these settings (fewer when there are fewer chunks to
 * share, none when the compiled worker is absent). Starting them first lets them load and build
 * their world while the calling thread writes the catalogue.
 */
export function openChunkPool(settings: WorldSettings, threads: number, chunkCount: number): ChunkPool {
  const file = threads > 0 ? workerFile() : undefined;
  if (!file) {
    return {
      threads: 0,
      async generate(world, chunks, consume) {
        // As with worker threads, the caller goes on (it writes the catalogue) before the first chunk.
        await new Promise((resolve) => setImmediate(resolve));
        for (const chunk of chunks) {
          await consume(generateChunk(world, chunk));
          // Let finished inserts hand over to the next queued one between chunks.
          await new Promise((resolve) => setImmediate(resolve));
        }
      },
      async close() {},
    };
  }
  const workers = Array.from(
    { length: Math.min(threads, chunkCount) },
    () => new Worker(file, { workerData: settings }),
  );
  return {
    threads: workers.length,
    generate: (_world, chunks, consume) => runOnWorkers(workers, chunks, consume),
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

function runOnWorkers(
  workers: Worker[],
  chunks: ChunkSpec[],
  consume: (output: ChunkOutput) => Promise<void>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = new Map<number, ChunkOutput>();
    let nextToSend = 0;
    let nextToConsume = 0;
    let consuming = false;
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      reject(error);
    };
    const send = (worker: Worker) => {
      if (nextToSend < chunks.length) worker.postMessage(chunks[nextToSend++]);
    };
    // Outputs are consumed strictly in chunk order, one at a time; a worker gets its next chunk
    // only when one of its outputs is consumed, which bounds what waits in memory.
    const owner = new Map<number, Worker>();
    const drain = async () => {
      if (consuming) return;
      consuming = true;
      try {
        while (!failed && done.has(nextToConsume)) {
          const output = done.get(nextToConsume)!;
          done.delete(nextToConsume);
          const worker = owner.get(nextToConsume)!;
          owner.delete(nextToConsume);
          nextToConsume++;
          await consume(output);
          send(worker);
        }
        if (nextToConsume === chunks.length) resolve();
      } catch (error) {
        fail(error);
      } finally {
        consuming = false;
      }
    };
    for (const worker of workers) {
      worker.on('message', (message: { output?: ChunkOutput; error?: string }) => {
        if (message.error !== undefined || !message.output) {
          fail(new Error(`demo generator thread failed: ${message.error ?? 'no output'}`));
          return;
        }
        done.set(message.output.index, message.output);
        owner.set(message.output.index, worker);
        void drain();
      });
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (nextToConsume < chunks.length) fail(new Error(`demo generator thread exited with code ${code}`));
      });
      for (let k = 0; k < IN_FLIGHT_PER_WORKER; k++) send(worker);
    }
  });
}
