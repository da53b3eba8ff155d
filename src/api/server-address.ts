import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFileDurably } from '../lib/durable-file.js';
import { processExists } from '../lib/process-exists.js';

/**
 * Where a running server listens, recorded in its data directory, so that `pulseloop status` finds
 * it whatever PORT the asking shell has. The record names its process: one left behind by a server
 * that was killed is recognised by its dead process and ignored.
 */

const FILE = 'server.json';

export interface ServerAddress {
  pid: number;
  host: string;
  port: number;
}

export async function recordServerAddress(
  dataDir: string,
  address: Omit<ServerAddress, 'pid'>,
): Promise<void> {
  const record: ServerAddress = { pid: process.pid, ...address };
  // Replaced whole, so a reader never sees half a record.
  await replaceFileDurably(join(dataDir, FILE), (file) => file.writeFile(`${JSON.stringify(record)}\n`));
}

/** Removes the record if it is this process's own (another server may have started since). */
export function forgetServerAddress(dataDir: string): void {
  if (readRecord(dataDir)?.pid === process.pid) rmSync(join(dataDir, FILE), { force: true });
}

/** The recorded address of a server that is still running, if any. */
export function runningServerAddress(dataDir: string): ServerAddress | undefined {
  const record = readRecord(dataDir);
  if (!record || !processExists(record.pid)) return undefined;
  return record;
}

function readRecord(dataDir: string): ServerAddress | undefined {
  try {
    const value = JSON.parse(readFileSync(join(dataDir, FILE), 'utf8')) as Partial<ServerAddress>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string' || typeof value.port !== 'number')
      return undefined;
    return { pid: value.pid, host: value.host, port: value.port };
  } catch {
    return undefined;
  }
}
