import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

export function recordServerAddress(dataDir: string, address: Omit<ServerAddress, 'pid'>): void {
  const record: ServerAddress = { pid: process.pid, ...address };
  const path = join(dataDir, FILE);
  // Written whole and renamed, so a reader never sees half a record.
  writeFileSync(`${path}.tmp`, `${JSON.stringify(record)}\n`);
  renameSync(`${path}.tmp`, path);
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

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
