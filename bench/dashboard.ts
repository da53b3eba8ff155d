import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { findDashboardDir } from '../src/api/routes/dashboard.js';
import { DEMO_OWNER_EMAIL } from '../src/cli/demo.js';
import { launchChromium } from './browser.js';
import { CLI_ENTRY, startServerProcess } from './server-process.js';
import { signInCookies } from './sign-in.js';

/**
 * The dashboard's targets of issue 5 on the demo world: time from navigation to the overview's first
 * complete render (every data view loaded, every chart drawn), the slowest page, and the size of
 * what the first load downloads (gzip).
 */

export interface DashboardRow {
  metric: string;
  value: string;
  target: string;
  met: boolean;
}

const PAGES = [
  'overview',
  'content',
  'campaigns',
  'funnels',
  'retention',
  'paths',
  'heatmap',
  'distribution',
  'events',
  'people',
  'sources',
  'settings',
];

const COMPLETE = `
  document.querySelector('[data-testid="state-ready"], [data-testid="state-empty"], [data-testid="state-error"]') !== null &&
  document.querySelectorAll('[data-testid="state-loading"], [data-testid="state-refreshing"]').length === 0 &&
  [...document.querySelectorAll('[data-chart]')].every((c) => c.dataset.rendered === 'true')`;

export async function benchDashboard(options: {
  log: (line: string) => void;
  scale?: number;
}): Promise<DashboardRow[]> {
  const { log } = options;
  const scale = options.scale ?? Number(process.env.BENCH_DASHBOARD_SCALE ?? 1);
  const dist = findDashboardDir();
  if (!dist) throw new Error('the dashboard is not built: run `npm run build`');
  const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-bench-dashboard-'));
  const browser = await launchChromium();
  try {
    log(`building the demo world at scale ${scale}`);
    execFileSync(process.execPath, [CLI_ENTRY, 'demo', '--no-serve', '--scale', String(scale)], {
      env: {
        ...process.env,
        PULSELOOP_DATA: dataDir,
        LOG_LEVEL: 'warn',
        PULSELOOP_DEMO_PASSWORD: DEMO_PASSWORD,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const server = await startServerProcess(dataDir);
    const cookies = await signInCookies(server.url, DEMO_OWNER_EMAIL, DEMO_PASSWORD);
    const times: Record<string, number> = {};
    let firstLoadBytes = 0;
    try {
      for (const path of PAGES) {
        // A fresh context per page: nothing cached, as for someone opening a shared link.
        // The server's CSP forbids eval, which Playwright's wait predicates use.
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
        await context.addCookies(cookies);
        const page = await context.newPage();
        const transferred: string[] = [];
        page.on('response', (r) => {
          if (r.url().startsWith(server.url) && !r.url().includes('/api/'))
            transferred.push(new URL(r.url()).pathname);
        });
        const started = Date.now();
        await page.goto(`${server.url}/${path}`);
        await page.waitForFunction(COMPLETE, undefined, { timeout: 60_000, polling: 20 });
        times[path] = Date.now() - started;
        log(`${path}: complete render in ${times[path]} ms`);
        if (path === 'overview') firstLoadBytes = gzippedSize(dist, transferred);
        await context.close();
      }
    } finally {
      await server.stop('SIGTERM');
    }
    const [slowest, slowestMs] = Object.entries(times).sort((a, b) => b[1] - a[1])[0]!;
    const allGzip = gzippedSize(dist, listAssets(dist));
    return [
      {
        metric: `Overview: navigation → first complete render (demo world, scale ${scale})`,
        value: `${times.overview} ms`,
        target: '≤ 2 s',
        met: (times.overview ?? Number.POSITIVE_INFINITY) <= 2000,
      },
      {
        metric: 'Slowest page: navigation → complete render',
        value: `${slowestMs} ms (${slowest}; all: ${PAGES.map((p) => `${p} ${times[p]}`).join(', ')})`,
        target: '≤ 3 s',
        met: slowestMs <= 3000,
      },
      {
        metric: 'JavaScript and CSS of the first load (overview), gzip',
        value: `${(firstLoadBytes / 1024).toFixed(0)} KiB (all chunks together: ${(allGzip / 1024).toFixed(0)} KiB)`,
        target: '≤ 1 MB, charts lazy-loaded',
        met: firstLoadBytes <= 1024 * 1024,
      },
    ];
  } finally {
    await browser.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const DEMO_PASSWORD = 'dashboard bench password';

/** The built files, without the precompressed copies beside them (web/precompress.ts). */
function listAssets(dist: string): string[] {
  const built = readdirSync(join(dist, 'assets')).filter((f) => !/\.(br|gz)$/.test(f));
  return ['/index.html', ...built.map((f) => `/assets/${f}`)];
}

/** Gzip size of the served files at these paths (the server sends them uncompressed on loopback). */
function gzippedSize(dist: string, paths: string[]): number {
  let total = 0;
  for (const path of new Set(paths)) {
    const file = path === '/' || !path.includes('.') ? join(dist, 'index.html') : join(dist, path);
    try {
      total += gzipSync(readFileSync(file), { level: 9 }).length;
    } catch {
      // Not a file of the build (e.g. the favicon data URL).
    }
  }
  return total;
}
