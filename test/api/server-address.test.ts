import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  forgetServerAddress,
  recordServerAddress,
  runningServerAddress,
} from '../../src/api/server-address.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pulseloop-address-'));
  dirs.push(dir);
  return dir;
}

describe('the running server address recorded in the data directory', () => {
  it('is found while its process runs and removed by that process when it stops', async () => {
    const dir = dataDir();
    expect(runningServerAddress(dir)).toBeUndefined();
    await recordServerAddress(dir, { host: '0.0.0.0', port: 4321 });
    expect(runningServerAddress(dir)).toEqual({ pid: process.pid, host: '0.0.0.0', port: 4321 });
    forgetServerAddress(dir);
    expect(existsSync(join(dir, 'server.json'))).toBe(false);
    expect(runningServerAddress(dir)).toBeUndefined();
  });

  it("ignores a record whose process is gone, and leaves another process's record in place", () => {
    const dir = dataDir();
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(join(dir, 'server.json'), JSON.stringify({ pid: gone, host: '127.0.0.1', port: 8080 }));
    expect(runningServerAddress(dir)).toBeUndefined();
    forgetServerAddress(dir);
    expect(existsSync(join(dir, 'server.json'))).toBe(true);
  });

  it('ignores a damaged record', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'server.json'), '{"pid": ');
    expect(runningServerAddress(dir)).toBeUndefined();
    writeFileSync(join(dir, 'server.json'), JSON.stringify({ pid: process.pid, port: '80' }));
    expect(runningServerAddress(dir)).toBeUndefined();
  });
});
