import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from 'node:net';
import { join, normalize } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { buildSdk, eventually } from './build.js';

// The compiled browser SDK in Debian's chromium, served from its own origin, sending to a real
// Pulseloop server on another origin (as a customer's site would).

let t: TestServer;
let site: Server;
let siteUrl: string;
let browser: Browser;

const TEST_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Spring sale</title></head>
<body><h1>Pulseloop SDK test page</h1>
<script type="module">
  // The one-file bundle the snippet loads, unless a test names another module.
  const pulseloop = await import(window.PL_MODULE ?? '/sdk/pulseloop.min.js');
  window.pulseloop = pulseloop;
  window.client = pulseloop.init(window.PL_CONFIG);
</script></body></html>`;

/** Serves the compiled SDK under /sdk/ and the test page at every other path. */
function startSite(distDir: string): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://site').pathname;
    if (path.startsWith('/sdk/')) {
      const file = normalize(join(distDir, path.slice('/sdk/'.length)));
      if (!file.startsWith(distDir)) {
        response.writeHead(403).end();
        return;
      }
      readFile(file).then(
        (body) => response.writeHead(200, { 'Content-Type': 'text/javascript' }).end(body),
        () => response.writeHead(404).end(),
      );
      return;
    }
    if (path === '/favicon.ico') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(TEST_PAGE);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  const dist = buildSdk('browser');
  t = await startTestServer();
  site = await startSite(dist);
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => site?.close(resolve));
  await t?.close();
});

interface SdkConfig {
  writeKey: string;
  host: string;
  [option: string]: unknown;
}

/**
 * A fresh browser profile (its own localStorage and cookies) whose pages start the SDK with `config`,
 * loaded from `module` (default: the site's copy of the one-file bundle).
 */
async function newVisitor(config: SdkConfig, locale = 'en-US', module?: string): Promise<BrowserContext> {
  const context = await browser.newContext({ locale });
  const moduleLine = module ? `window.PL_MODULE = ${JSON.stringify(module)};` : '';
  await context.addInitScript({ content: `window.PL_CONFIG = ${JSON.stringify(config)};${moduleLine}` });
  return context;
}

async function open(context: BrowserContext, path: string, referer?: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${siteUrl}${path}`, referer ? { referer } : {});
  await page.waitForFunction("'client' in window");
  return page;
}

/** Runs a method of the page's SDK instance (`window.client`). */
function sdk<T>(page: Page, script: string): Promise<T> {
  return page.evaluate(script) as Promise<T>;
}

const flush = (page: Page) => sdk<void>(page, 'window.client.flush()');
const anonymousIdOf = (page: Page) => sdk<string>(page, 'window.client.anonymousId()');

interface EventRecord {
  message_id: string;
  event: string;
  anonymous_id: string;
  user_id: string;
  channel: string;
  platform: string;
  utm_source: string;
  utm_medium: string;
  utm_campaign: string;
  utm_term: string;
  utm_content: string;
  sharer_id: string;
  referrer: string;
  page_path: string;
  locale: string;
  browser: string;
  properties: string;
  context: string;
}

/** Every stored row (no FINAL: a duplicate would show) of one project, oldest first. */
async function eventsOf(projectId: string, anonymousId?: string): Promise<EventRecord[]> {
  await t.settle();
  return t.server.facts.query<EventRecord>(
    `SELECT message_id, event, anonymous_id, user_id, channel, platform, utm_source, utm_medium, utm_campaign,
            utm_term, utm_content, sharer_id, referrer, page_path, locale, browser, properties, context
     FROM events
     WHERE project_id = {p:String} AND ({a:String} = '' OR anonymous_id = {a:String})
     ORDER BY timestamp, event`,
    { p: projectId, a: anonymousId ?? '' },
  );
}

async function personOf(projectId: string, distinctId: string): Promise<string> {
  const rows = await t.server.facts.query<{ person: string }>(
    `SELECT argMax(person_id, version) AS person FROM identities
     WHERE project_id = {p:String} AND distinct_id = {d:String}`,
    { p: projectId, d: distinctId },
  );
  return rows[0]?.person ?? '';
}

/**
 * A TCP relay to the API that can be switched off: while down it drops every connection, so
 * fetches and beacons alike fail as they do when the network or the server is gone.
 */
async function startRelay(target: string) {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  const relay = { down: true, refused: 0, url: '', close: () => {} };
  const server = createTcpServer((socket) => {
    if (relay.down) {
      relay.refused += 1;
      socket.destroy();
      return;
    }
    const upstream = connect(Number(port), hostname);
    open.add(socket).add(upstream);
    socket.pipe(upstream).pipe(socket);
    const end = () => {
      socket.destroy();
      upstream.destroy();
      open.delete(socket);
      open.delete(upstream);
    };
    socket.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  relay.close = () => {
    for (const socket of open) socket.destroy();
    server.close();
  };
  return relay;
}

describe('browser SDK in chromium', () => {
  it('loads from the Pulseloop server as the snippet does: one compressed file, from another origin', async () => {
    const { projectId, writeKey } = await t.newProject('browser snippet');
    const bundleUrl = `${t.url}/sdk/browser/pulseloop.min.js`;
    const context = await newVisitor({ writeKey, host: t.url }, 'en-US', bundleUrl);
    const sdkRequests: { url: string; encoding: string | undefined }[] = [];
    context.on('response', (response) => {
      if (response.url().startsWith(`${t.url}/sdk/`)) {
        sdkRequests.push({ url: response.url(), encoding: response.headers()['content-encoding'] });
      }
    });
    const page = await open(context, '/pricing.html');
    await sdk(page, "window.client.track('Snippet Loaded', { plan: 'pro' })");
    await flush(page);
    // One request for the whole SDK, sent as Brotli (chromium accepts br).
    expect(sdkRequests).toEqual([{ url: bundleUrl, encoding: 'br' }]);
    const events = await eventsOf(projectId);
    expect(events.map((e) => [e.event, e.page_path])).toEqual([
      ['$pageview', '/pricing.html'],
      ['Snippet Loaded', '/pricing.html'],
    ]);
    expect(JSON.parse(events[1]!.properties)).toMatchObject({ plan: 'pro' });
    await context.close();
  });

  it('works the same as the separate modules the npm package holds', async () => {
    const { projectId, writeKey } = await t.newProject('browser modules');
    const context = await newVisitor({ writeKey, host: t.url }, 'en-US', '/sdk/index.js');
    const page = await open(context, '/modules.html');
    await sdk(page, "window.client.identify('module-user', { plan: 'pro' })");
    await flush(page);
    const events = await eventsOf(projectId);
    expect(events.map((e) => [e.event, e.user_id])).toEqual([
      ['$pageview', ''],
      ['$identify', 'module-user'],
    ]);
    await context.close();
  });

  it('sends a page view with the UTM parameters, click id, referrer and page of the landing URL, and one per in-app navigation', async () => {
    const { projectId, writeKey } = await t.newProject('browser utm');
    const context = await newVisitor({ writeKey, host: t.url, trackHistory: true }, 'zh-CN');
    const page = await open(
      context,
      '/shop/spring.html?utm_source=douyin&utm_medium=cpc&utm_campaign=spring_sale&utm_term=dress&utm_content=video_a&clickid=oe-123',
      'https://www.douyin.com/video/7301',
    );
    await page.evaluate("history.pushState({}, '', '/shop/cart.html')");
    await flush(page);
    const anonymousId = await anonymousIdOf(page);
    const events = await eventsOf(projectId);
    expect(events.map((e) => [e.event, e.page_path])).toEqual([
      ['$pageview', '/shop/spring.html'],
      ['$pageview', '/shop/cart.html'],
    ]);
    const [landing, cart] = events as [EventRecord, EventRecord];
    expect(landing).toMatchObject({
      anonymous_id: anonymousId,
      utm_source: 'douyin',
      utm_medium: 'cpc',
      utm_campaign: 'spring_sale',
      utm_term: 'dress',
      utm_content: 'video_a',
      channel: 'paid_social',
      platform: 'web',
      browser: 'chrome',
      referrer: 'https://www.douyin.com/video/7301',
      locale: 'zh-CN',
    });
    expect(JSON.parse(landing.properties)).toMatchObject({
      title: 'Spring sale',
      search: expect.stringContaining('utm_source=douyin'),
    });
    const storedContext = JSON.parse(landing.context);
    expect(storedContext.campaign).toMatchObject({ clickid: 'oe-123' });
    expect(storedContext.library).toMatchObject({ name: '@pulseloop/sdk-browser' });
    expect(storedContext.screen.width).toBeGreaterThan(0);
    // The in-app navigation keeps the visit's campaign and names the previous page as its referrer.
    expect(cart).toMatchObject({
      utm_campaign: 'spring_sale',
      referrer: expect.stringContaining('/shop/spring.html'),
    });
    await context.close();
  });

  it('links a visitor who opens a share link to the sharer, from another browser profile', async () => {
    const { projectId, writeKey } = await t.newProject('browser share');
    const sharerContext = await newVisitor({ writeKey, host: t.url });
    const sharerPage = await open(sharerContext, '/products/dress.html?colour=red');
    const link = await sdk<string>(sharerPage, "window.client.shareLink(undefined, { channel: 'wechat' })");
    await flush(sharerPage);
    const sharerId = await anonymousIdOf(sharerPage);
    const shareId = new URL(link).searchParams.get('pl_share');
    expect(new URL(link).searchParams.get('pl_sharer')).toBe(sharerId);
    expect(new URL(link).searchParams.get('colour')).toBe('red');

    const visitorContext = await newVisitor({ writeKey, host: t.url });
    const visitorPage = await visitorContext.newPage();
    await visitorPage.goto(link);
    await visitorPage.waitForFunction("'client' in window");
    await flush(visitorPage);
    const visitorId = await anonymousIdOf(visitorPage);
    expect(visitorId).not.toBe(sharerId);

    const events = await eventsOf(projectId);
    const share = events.find((e) => e.event === 'Share');
    expect(share).toMatchObject({ anonymous_id: sharerId, sharer_id: '' });
    expect(JSON.parse(share!.properties)).toMatchObject({ share_id: shareId, channel: 'wechat', url: link });
    const visit = events.find((e) => e.event === '$pageview' && e.anonymous_id === visitorId);
    expect(visit).toMatchObject({ sharer_id: sharerId, channel: 'share', page_path: '/products/dress.html' });
    expect(JSON.parse(visit!.properties)).toMatchObject({ share_id: shareId });

    // Sharer and visitor are two persons, and the visit row points from one to the other.
    const sharerPerson = await personOf(projectId, sharerId);
    const visitorPerson = await personOf(projectId, visitorId);
    expect(sharerPerson).not.toBe('');
    expect(visitorPerson).not.toBe('');
    expect(sharerPerson).not.toBe(visitorPerson);
    const links = await t.server.facts.query<{ sharer: string; visitor: string }>(
      `SELECT s.person AS sharer, v.person AS visitor
       FROM events AS e FINAL
       INNER JOIN (SELECT distinct_id, argMax(person_id, version) AS person FROM identities
                   WHERE project_id = {p:String} GROUP BY distinct_id) AS s ON s.distinct_id = e.sharer_id
       INNER JOIN (SELECT distinct_id, argMax(person_id, version) AS person FROM identities
                   WHERE project_id = {p:String} GROUP BY distinct_id) AS v ON v.distinct_id = e.distinct_id
       WHERE e.project_id = {p:String} AND e.sharer_id != ''`,
      { p: projectId },
    );
    expect(links).toEqual([{ sharer: sharerPerson, visitor: visitorPerson }]);
    await sharerContext.close();
    await visitorContext.close();
  });

  it('merges the anonymous visitor with the user id on identify, earlier events included', async () => {
    const { projectId, writeKey } = await t.newProject('browser identify');
    const context = await newVisitor({ writeKey, host: t.url });
    const page = await open(context, '/login.html');
    const anonymousId = await anonymousIdOf(page);
    await sdk(page, "window.client.track('Product Viewed', { content_id: 'sku-9' })");
    await sdk(page, "window.client.identify('user-42', { plan: 'vip' })");
    await sdk(page, "window.client.track('Order Completed', { revenue: 268, currency: 'CNY' })");
    await flush(page);
    // The user id survives a reload.
    await page.reload();
    await page.waitForFunction("'client' in window");
    expect(await sdk<string>(page, 'window.client.userId()')).toBe('user-42');
    await flush(page);

    const events = await eventsOf(projectId);
    expect(events.map((e) => [e.event, e.anonymous_id, e.user_id])).toEqual([
      ['$pageview', anonymousId, ''],
      ['Product Viewed', anonymousId, ''],
      ['$identify', anonymousId, 'user-42'],
      ['Order Completed', anonymousId, 'user-42'],
      ['$pageview', anonymousId, 'user-42'],
    ]);
    const person = await personOf(projectId, 'user-42');
    expect(person).not.toBe('');
    expect(await personOf(projectId, anonymousId)).toBe(person);
    const perPerson = await t.server.facts.query<{ person: string; n: string }>(
      `SELECT ids.person AS person, count() AS n
       FROM events AS e FINAL
       INNER JOIN (SELECT distinct_id, argMax(person_id, version) AS person FROM identities
                   WHERE project_id = {p:String} GROUP BY distinct_id) AS ids ON ids.distinct_id = e.distinct_id
       WHERE e.project_id = {p:String} GROUP BY person`,
      { p: projectId },
    );
    expect(perPerson.map((r) => [r.person, Number(r.n)])).toEqual([[person, 5]]);
    await context.close();
  });

  it('sends nothing without consent, drops what waits when consent is withdrawn, and remembers the choice', async () => {
    const { projectId, writeKey } = await t.newProject('browser consent');
    const toApi: string[] = [];

    const refusing = await newVisitor({ writeKey, host: t.url, consent: { analytics: false } });
    refusing.on('request', (request) => {
      if (request.url().startsWith(t.url)) toApi.push(request.url());
    });
    const page = await open(refusing, '/consent-default-off.html?utm_source=weibo');
    await sdk(page, "window.client.track('Clicked Banner')");
    await flush(page);
    // Nothing about the visitor is stored either.
    expect(await sdk<string | null>(page, "localStorage.getItem('pl_queue')")).toBeNull();
    expect(await sdk<string | null>(page, "localStorage.getItem('pl_anonymous_id')")).toBeNull();
    await refusing.close();

    const withdrawing = await newVisitor({ writeKey, host: t.url, flushAt: 100, flushIntervalMs: 60_000 });
    withdrawing.on('request', (request) => {
      if (request.url().startsWith(t.url)) toApi.push(request.url());
    });
    const second = await open(withdrawing, '/consent-withdrawn.html');
    await sdk(second, "window.client.track('Added To Cart')");
    expect(await sdk<number>(second, "JSON.parse(localStorage.getItem('pl_queue')).length")).toBe(2);
    await sdk(second, 'window.client.setConsent({ analytics: false })');
    expect(await sdk<number>(second, "JSON.parse(localStorage.getItem('pl_queue')).length")).toBe(0);
    await sdk(second, "window.client.track('After Withdrawal')");
    await flush(second);
    // The stored choice wins over the page's default at the next load.
    await second.reload();
    await second.waitForFunction("'client' in window");
    await sdk(second, "window.client.track('Next Visit')");
    await flush(second);
    await second.close(); // pagehide: the beacon path must respect consent too
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(toApi).toEqual([]);
    expect(await eventsOf(projectId)).toEqual([]);

    // Given again, events flow.
    const back = await withdrawing.newPage();
    await back.goto(`${siteUrl}/consent-given.html`);
    await back.waitForFunction("'client' in window");
    await sdk(back, 'window.client.setConsent({ analytics: true })');
    await sdk(back, "window.client.track('Consented')");
    await flush(back);
    expect((await eventsOf(projectId)).map((e) => e.event)).toEqual(['Consented']);
    await withdrawing.close();
  });

  it('hands waiting events to sendBeacon when the page is left, before any timer would have sent them', async () => {
    const { projectId, writeKey } = await t.newProject('browser beacon');
    const context = await newVisitor({ writeKey, host: t.url, flushAt: 100, flushIntervalMs: 600_000 });
    const page = await open(context, '/article.html');
    const anonymousId = await anonymousIdOf(page);
    await sdk(page, "window.client.track('Read To End')");
    expect(await eventsOf(projectId)).toEqual([]);
    await page.goto('about:blank');
    const events = await eventually('the beaconed events', async () => {
      const rows = await eventsOf(projectId, anonymousId);
      return rows.length === 2 ? rows : undefined;
    });
    expect(events.map((e) => e.event)).toEqual(['$pageview', 'Read To End']);
    await context.close();
  });

  it('keeps events while the server is unreachable, across a reload, and delivers each exactly once', async () => {
    const { projectId, writeKey } = await t.newProject('browser offline');
    const relay = await startRelay(t.url);
    const context = await newVisitor({
      writeKey,
      host: relay.url,
      flushIntervalMs: 200,
      retryBaseMs: 100,
      retryMaxMs: 400,
    });
    const page = await open(context, '/offline.html');
    const anonymousId = await anonymousIdOf(page);
    await sdk(page, "window.client.track('Offline A')");
    await sdk(page, "window.client.track('Offline B')");
    await eventually('two refused attempts', async () => (relay.refused >= 2 ? true : undefined));
    // The reload's pagehide beacon fails too: the events must still be waiting afterwards.
    await page.reload();
    await page.waitForFunction("'client' in window");
    await sdk(page, "window.client.track('Offline C')");
    const waiting = await sdk<Array<{ messageId: string }>>(
      page,
      "JSON.parse(localStorage.getItem('pl_queue'))",
    );
    expect(waiting).toHaveLength(5);
    expect(await eventsOf(projectId)).toEqual([]);

    const refusedWhileDown = relay.refused;
    relay.down = false;
    await page.waitForFunction(
      "JSON.parse(localStorage.getItem('pl_queue') ?? '[]').length === 0",
      undefined,
      {
        timeout: 15_000,
      },
    );
    const events = await eventsOf(projectId, anonymousId);
    expect(events.map((e) => e.event).sort()).toEqual([
      '$pageview',
      '$pageview',
      'Offline A',
      'Offline B',
      'Offline C',
    ]);
    expect(new Set(events.map((e) => e.message_id))).toEqual(new Set(waiting.map((m) => m.messageId)));
    expect(refusedWhileDown).toBeGreaterThanOrEqual(3);
    await context.close();
    relay.close();
  });
});
