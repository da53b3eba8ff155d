import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../bench/browser.js';
import { runCli } from '../../bench/server-process.js';
import { signInCookies } from '../../bench/sign-in.js';
import { DEMO_OWNER_EMAIL } from '../../src/cli/demo.js';
import { createApiToken } from '../../src/govern/tokens.js';
import { findUserByEmail } from '../../src/govern/users.js';
import { listProjects } from '../../src/store/metadata/projects.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Screenshots of every page are kept as test artefacts. */
export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'dashboard');

export interface DashboardHarness {
  server: TestServer;
  browser: Browser;
  demoProjectId: string;
  /** The demo owner's session cookies, for a browser context of a test's own. */
  cookies: Cookies;
  /** fetch on the server as the demo owner (a personal API token for the demo project). */
  api(path: string, init?: RequestInit): Promise<Response>;
  /**
   * Opens a page of the dashboard with the demo project and collects console errors; signed in as
   * the demo owner (the session cookie is in the browser context) unless `signedIn` is false.
   */
  open(
    path: string,
    options?: { locale?: string; query?: Record<string, string>; signedIn?: boolean },
  ): Promise<OpenPage>;
  close(): Promise<void>;
}

export interface OpenPage {
  page: Page;
  errors: string[];
  screenshot(name: string): Promise<void>;
}

/** The demo owner's password: `pulseloop demo` takes it from PULSELOOP_DEMO_PASSWORD. */
export const DEMO_PASSWORD = 'dashboard test password';

/** A small demo world (scale 0.05), a real server on it, and Debian's chromium. */
export async function startDashboardHarness(): Promise<DashboardHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-dashboard-'));
  process.env.PULSELOOP_DEMO_PASSWORD = DEMO_PASSWORD;
  const output = runCli(dataDir, 'demo', '--scale', '0.05', '--no-serve');
  if (!output.includes(`${DEMO_OWNER_EMAIL}  password: ${DEMO_PASSWORD}`)) {
    throw new Error(`the demo did not print its owner's sign-in:\n${output}`);
  }
  const server = await startTestServer({}, dataDir);
  const demo = (await listProjects(server.server.metadata)).find((p) => p.name.startsWith('Demo'));
  if (!demo) throw new Error('the demo project is missing');
  const demoOwner = await findUserByEmail(server.server.metadata, DEMO_OWNER_EMAIL);
  if (!demoOwner) throw new Error('the demo owner is missing');
  const { token } = await createApiToken(server.server.metadata, {
    userId: demoOwner.id,
    projectId: demo.id,
    role: 'owner',
    readOnly: false,
    name: 'dashboard tests',
  });
  // One sign-in for all pages: logins are braked per IP (10 a minute).
  const cookies = await signInCookies(server.url, DEMO_OWNER_EMAIL, DEMO_PASSWORD);
  const browser = await launchChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    server,
    browser,
    demoProjectId: demo.id,
    cookies,
    api(path, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
      return fetch(`${server.url}${path}`, { ...init, headers });
    },
    async open(path, options = {}) {
      const query = new URLSearchParams({ project: demo.id, ...options.query });
      return openPage(browser, `${server.url}${path}?${query}`, {
        locale: options.locale,
        cookies: options.signedIn === false ? [] : cookies,
      });
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/**
 * Opens a page in a context of its own (1280 × 900, the locale given, en-US by default; the browser's
 * time zone and a fixed `Date.now()` if given) with these session cookies, and collects its console
 * errors and uncaught exceptions.
 */
export async function openPage(
  browser: Browser,
  url: string,
  options: { locale?: string; cookies?: Cookies; timezoneId?: string; fixedTime?: number } = {},
): Promise<OpenPage> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: options.locale ?? 'en-US',
    timezoneId: options.timezoneId,
    // The server's CSP forbids eval, which Playwright's wait predicates need; the page's own
    // scripts are checked against it by the console-error assertions in a context without bypass.
    bypassCSP: true,
  });
  if (options.cookies?.length) await context.addCookies(options.cookies);
  if (options.fixedTime !== undefined) await context.clock.setFixedTime(options.fixedTime);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  return {
    page,
    errors,
    async screenshot(name) {
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    },
  };
}

/** Session cookies for a browser context (signInCookies answers them). */
export type Cookies = Awaited<ReturnType<typeof signInCookies>>;

/** Waits until every data view on the page has loaded (no spinner, no refreshing view). */
export async function settled(page: Page): Promise<void> {
  await page.waitForSelector(
    '[data-testid="state-ready"], [data-testid="state-empty"], [data-testid="state-error"]',
  );
  // A string, evaluated in the page: the tests' TypeScript has no DOM types.
  await page.waitForFunction(`
    document.querySelectorAll('[data-testid="state-loading"], [data-testid="state-refreshing"]').length === 0 &&
    [...document.querySelectorAll('[data-chart]')].every((c) => c.dataset.rendered === 'true')
  `);
}
