import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KEEP_OLD_ASSETS_MS, publishBuild } from '../../web/publish.mjs';

// Publishing a dashboard build beside a running server: what an open dashboard and the next page
// load each find in web/dist afterwards.

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(root, 'build-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('publishing a dashboard build', () => {
  it('serves the new index.html and assets, and keeps the last build’s assets for open dashboards', () => {
    root = mkdtempSync(join(tmpdir(), 'pulseloop-publish-'));
    const dist = folder({ 'index.html': 'old index', 'assets/page-OLD.js': 'old page' });
    const staging = folder({ 'index.html': 'new index', 'assets/page-NEW.js': 'new page' });
    const removed = publishBuild(staging, dist);
    expect(removed).toEqual([]);
    expect(readFileSync(join(dist, 'index.html'), 'utf8')).toBe('new index');
    expect(readFileSync(join(dist, 'assets', 'page-NEW.js'), 'utf8')).toBe('new page');
    // A dashboard loaded before the build still finds the page it loads lazily.
    expect(readFileSync(join(dist, 'assets', 'page-OLD.js'), 'utf8')).toBe('old page');
    expect(existsSync(staging)).toBe(false);
  });

  it('removes assets of earlier builds once they are older than a week, never the new ones', () => {
    root = mkdtempSync(join(tmpdir(), 'pulseloop-publish-'));
    const dist = folder({
      'index.html': 'old index',
      'assets/page-ANCIENT.js': 'ancient',
      'assets/page-RECENT.js': 'recent',
      'assets/shared-SAME.js': 'same content, same hash',
    });
    const now = Date.now();
    const eightDaysAgo = (now - KEEP_OLD_ASSETS_MS - 86_400_000) / 1000;
    for (const name of ['page-ANCIENT.js', 'shared-SAME.js'])
      utimesSync(join(dist, 'assets', name), eightDaysAgo, eightDaysAgo);
    const staging = folder({ 'index.html': 'new index', 'assets/shared-SAME.js': 'same content, same hash' });
    // The staged file is as old as the one it replaces: it is part of the new build all the same.
    utimesSync(join(staging, 'assets', 'shared-SAME.js'), eightDaysAgo, eightDaysAgo);
    expect(publishBuild(staging, dist, { now })).toEqual(['page-ANCIENT.js']);
    expect(existsSync(join(dist, 'assets', 'page-RECENT.js'))).toBe(true);
    expect(existsSync(join(dist, 'assets', 'shared-SAME.js'))).toBe(true);
  });

  it('publishes into an empty folder (the first build)', () => {
    root = mkdtempSync(join(tmpdir(), 'pulseloop-publish-'));
    const dist = join(root, 'dist');
    const staging = folder({ 'index.html': 'first', 'assets/app-A.js': 'app' });
    publishBuild(staging, dist);
    expect(readFileSync(join(dist, 'index.html'), 'utf8')).toBe('first');
    expect(readFileSync(join(dist, 'assets', 'app-A.js'), 'utf8')).toBe('app');
  });
});
