import { parentPort, workerData } from 'node:worker_threads';
import { type ChunkSpec, generateChunk, transferablesOf } from './chunk.js';
import { buildDemoWorld, type WorldSettings } from './world.js';

/**
 * A demo generator thread: builds the world from the settings it starts with, then generates each
 * chunk it is sent and posts the output back (the payload buffers are moved, not copied).
 */
const world = buildDemoWorld(workerData as WorldSettings);
parentPort?.on('message', (chunk: ChunkSpec) => {
  try {
    const output = generateChunk(world, chunk);
    parentPort?.postMessage({ output }, transferablesOf(output));
  } catch (error) {
    parentPort?.postMessage({
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
});
