import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/browser.js';
import { signInCookies } from '../../bench/sign-in.js';
import { eventually } from '../sdk/build.js';
import {
  startTestServer,
  TEST_OWNER_EMAIL,
  TEST_OWNER_PASSWORD,
  type TestServer,
} from '../support/server.js';
import { openPage } from './dashboard-support.js';

// The browser snippet the data-sources page offers, copied from the page in Debian's chromium and
// pasted into a page of another site, as a customer would: what it sends is what arrives.

let t: TestServer;
let browser: Browser;
let site: Server | undefined;

beforeAll(async () => {
  t = await startTestServer();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => (site ? site.close(resolve) : resolve(undefined)));
  await browser?.close();
  await t?.close();
});

/** A site on its own origin whose every page holds `snippet` in its body. */
function startSite(snippet: string): Promise<string> {
  const page = `<!doctype html><html><head><meta charset="utf-8"><title>Camellia tea</title></head>
<body><h1>Spring tea</h1>${snippet}</body></html>`;
  site = createServer((request, response) => {
    if (request.url === '/favicon.ico') return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  });
  return new Promise((resolve) =>
    site!.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(site!.address() as AddressInfo).port}`)),
  );
}

describe('the browser snippet of the data-sources page', () => {
  it('pasted into a site, records one page view and the example event of each visit, nothing twice', async () => {
    const cookies = await signInCookies(t.url, TEST_OWNER_EMAIL, TEST_OWNER_PASSWORD);
    const sources = await openPage(browser, `${t.url}/sources?project=${t.projectId}`, { cookies });
    const shown = sources.page.locator('[data-testid="snippet-browser"]');
    await shown.waitFor();
    const snippet = (await shown.textContent()) ?? '';
    expect(snippet).toContain(`${t.url}/sdk/browser/pulseloop.min.js`);
    expect(sources.errors).toEqual([]);
    await sources.page.context().close();

    const siteUrl = await startSite(snippet);
    const visitor = await browser.newContext();
    const page = await visitor.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${siteUrl}/tea/spring.html`);
    // The SDK sends within a second or two; then a second in-app page of the same visit.
    const stored = async () => {
      // A page error (the SDK not loading) fails at once, naming it, rather than as a timeout.
      expect(pageErrors).toEqual([]);
      await t.settle();
      return t.server.facts.query<{ event: string; page_path: string }>(
        `SELECT event, page_path FROM events WHERE project_id = {p:String} ORDER BY timestamp, event`,
        { p: t.projectId },
      );
    };
    // Patient: in a full run this page may share the two cores with the durability test's heavy
    // ingestion (its server and load saturate both), where 15 s once passed before the first send.
    const patience = 30_000;
    const atLeast = (n: number) => async () => ((await stored()).length >= n ? true : undefined);
    await eventually('the snippet’s events', atLeast(2), patience);
    await page.evaluate("history.pushState({}, '', '/tea/cart.html')");
    await eventually('the in-app page view', atLeast(3), patience);
    // Nothing more arrives: the events were not sent twice.
    await page.waitForTimeout(1500);
    expect((await stored()).map((e) => [e.event, e.page_path])).toEqual([
      ['$pageview', '/tea/spring.html'],
      ['Signed Up', '/tea/spring.html'],
      ['$pageview', '/tea/cart.html'],
    ]);
    expect(pageErrors).toEqual([]);
    await visitor.close();
  }, 120_000);
});
