import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bench/server-process.js';
import { loadConfig } from '../../src/config/config.js';
import { openMigratedStores } from '../../src/store/open.js';

const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-open-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Whether this process holds the embedded engine's lock (an flock on facts/status) per /proc/locks. */
function holdsEngineLock(): boolean {
  const status = join(dataDir, 'facts', 'status');
  // The engine removes the file when it closes.
  if (!existsSync(status)) return false;
  const inode = statSync(status).ino;
  return readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .some((line) => line.includes(` ${process.pid} `) && line.includes(`:${inode} `));
}

describe('opening both stores', () => {
  it('closes the embedded facts engine it opened when the metadata store cannot be opened', async () => {
    const closedPort = await freePort();
    const unreachable = loadConfig({
      PULSELOOP_DATA: dataDir,
      DATABASE_URL: `postgres://127.0.0.1:${closedPort}/test`,
    });
    await expect(openMigratedStores(unreachable)).rejects.toMatchObject({ code: 'metadata_unreachable' });
    expect(holdsEngineLock()).toBe(false);
    const stores = await openMigratedStores(loadConfig({ PULSELOOP_DATA: dataDir }));
    expect(holdsEngineLock()).toBe(true);
    await stores.metadata.close();
    await stores.facts.close();
    expect(holdsEngineLock()).toBe(false);
  });
});
