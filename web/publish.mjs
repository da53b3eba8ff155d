// Moves a finished dashboard build from its staging folder into the folder the server serves.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Assets of earlier builds are kept this long: a dashboard left open loads its pages from them. */
export const KEEP_OLD_ASSETS_MS = 7 * 24 * 3_600_000;

/**
 * Publishes `staging` (a complete Vite build) into `dist` while a server may be serving `dist`:
 * the new hashed assets are moved in first, `index.html` last and by rename (never half written),
 * and the assets of earlier builds stay for `keepMs` (a dashboard opened before the build still
 * loads its lazy pages) before they are removed. Returns the names of the assets removed.
 *
 * @param {string} staging
 * @param {string} dist
 * @param {{ keepMs?: number, now?: number }} [options]
 * @returns {string[]}
 */
export function publishBuild(staging, dist, options = {}) {
  const keepMs = options.keepMs ?? KEEP_OLD_ASSETS_MS;
  const now = options.now ?? Date.now();
  const assets = join(dist, 'assets');
  mkdirSync(assets, { recursive: true });
  const built = new Set(readdirSync(join(staging, 'assets')));
  for (const name of built) renameSync(join(staging, 'assets', name), join(assets, name));
  const pages = readdirSync(staging).filter((name) => name !== 'assets');
  // index.html names the new assets: it goes last, when they are all in place.
  pages.sort((a, b) => Number(a === 'index.html') - Number(b === 'index.html'));
  for (const name of pages) {
    const target = join(dist, name);
    if (existsSync(target) && statSync(target).isDirectory()) rmSync(target, { recursive: true });
    renameSync(join(staging, name), target);
  }
  rmSync(staging, { recursive: true, force: true });
  const removed = [];
  for (const name of readdirSync(assets)) {
    if (built.has(name)) continue;
    const path = join(assets, name);
    if (now - statSync(path).mtimeMs > keepMs) {
      rmSync(path, { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}
