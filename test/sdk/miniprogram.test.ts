import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { createSdk as CreateSdk, MiniProgramSdk, SdkOptions } from '../../sdk/miniprogram/src/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { buildSdk, eventually, repoRoot } from './build.js';
import { type HostFlavour, type MiniProgramHost, startMiniProgram } from './miniprogram-host.js';

// The compiled mini-program SDK on an in-test implementation of the wx/tt APIs it uses, sending to
// a real Pulseloop server.

let t: TestServer;
let createSdk: typeof CreateSdk;

beforeAll(async () => {
  const dist = buildSdk('miniprogram');
  ({ createSdk } = (await import(pathToFileURL(join(dist, 'index.js')).href)) as {
    createSdk: typeof CreateSdk;
  });
  t = await startTestServer();
});

const running: MiniProgramSdk[] = [];
afterAll(async () => {
  for (const sdk of running) sdk.close();
  await t?.close();
});

const FAST: Partial<SdkOptions> = { flushIntervalMs: 50, retryBaseMs: 50, retryMaxMs: 200 };

/** Starts the SDK as app.js would, and returns once the launch's onAppShow has fired. */
async function start(
  host: MiniProgramHost,
  writeKey: string,
  options: Partial<SdkOptions> = {},
): Promise<MiniProgramSdk> {
  const sdk = createSdk(host.api, { writeKey, host: t.url, ...FAST, ...options });
  running.push(sdk);
  await new Promise((resolve) => setTimeout(resolve, 5));
  return sdk;
}

interface EventRecord {
  message_id: string;
  event: string;
  anonymous_id: string;
  user_id: string;
  platform: string;
  channel: string;
  sharer_id: string;
  page_path: string;
  utm_source: string;
  os: string;
  locale: string;
  properties: string;
  context: string;
}

/** Every stored row (no FINAL: a duplicate would show) of one project, oldest first. */
async function eventsOf(projectId: string): Promise<EventRecord[]> {
  await t.settle();
  return t.server.facts.query<EventRecord>(
    `SELECT message_id, event, anonymous_id, user_id, platform, channel, sharer_id, page_path, utm_source, os,
            locale, properties, context
     FROM events WHERE project_id = {p:String} ORDER BY timestamp, event`,
    { p: projectId },
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

function waitingIn(storage: Map<string, string>): Array<{ messageId: string; event?: string; type: string }> {
  return JSON.parse(storage.get('pl_queue') || '[]');
}

const PLATFORM: Record<HostFlavour, string> = { wx: 'wechat_miniprogram', tt: 'douyin_miniprogram' };
const SHARE_SCENE: Record<HostFlavour, number> = { wx: 1007, tt: 1011 };

describe.each(['wx', 'tt'] as const)('mini-program SDK on %s', (flavour) => {
  it('keeps events queued while offline through an app restart and delivers each exactly once', async () => {
    const { projectId, writeKey } = await t.newProject(`${flavour} offline`);
    const storage = new Map<string, string>();
    const first = startMiniProgram(flavour, storage, { path: 'pages/index/index', query: {}, scene: 1001 });
    first.online = false;
    first.pages.push({ route: 'pages/item/item', options: { id: '7', utm_source: 'moments' } });
    const sdk = await start(first, writeKey);
    sdk.page();
    sdk.track('Add To Cart', { content_id: 'sku-7' });
    first.hide();
    await eventually('failed deliveries', async () => (first.failedRequests >= 3 ? true : undefined));
    const waiting = waitingIn(storage);
    expect(waiting.map((m) => m.event ?? m.type)).toEqual([
      'Application Opened',
      'page',
      'Add To Cart',
      'Application Backgrounded',
    ]);
    // The app is killed while offline; the next launch finds the queue in storage.
    first.terminate();
    sdk.close();

    const second = startMiniProgram(flavour, storage, { path: 'pages/index/index', query: {}, scene: 1001 });
    const restarted = await start(second, writeKey);
    await eventually('the queue to empty', async () => (waitingIn(storage).length === 0 ? true : undefined));
    const events = await eventsOf(projectId);
    expect(events.map((e) => e.event)).toEqual([
      'Application Opened',
      '$pageview',
      'Add To Cart',
      'Application Backgrounded',
      'Application Opened',
    ]);
    expect(events.slice(0, 4).map((e) => e.message_id)).toEqual(waiting.map((m) => m.messageId));
    expect(new Set(events.map((e) => e.anonymous_id))).toEqual(new Set([restarted.anonymousId()]));
    const page = events[1]!;
    expect(page).toMatchObject({
      platform: PLATFORM[flavour],
      page_path: '/pages/item/item',
      utm_source: 'moments',
      os: flavour === 'wx' ? 'iOS' : 'Android',
      locale: 'zh_CN',
    });
    expect(JSON.parse(page.context).library).toMatchObject({ name: '@pulseloop/sdk-miniprogram' });
  });

  it('retries a failed request until the network is back, without loss or duplicates', async () => {
    const { projectId, writeKey } = await t.newProject(`${flavour} retry`);
    const host = startMiniProgram(flavour, new Map(), { path: 'pages/index/index', query: {} });
    host.online = false;
    const sdk = await start(host, writeKey, { trackAppLifecycle: false });
    for (let i = 1; i <= 3; i += 1) sdk.track('Video Played', { content_id: `v${i}` });
    await eventually('failed deliveries', async () => (host.failedRequests >= 2 ? true : undefined));
    host.online = true;
    await eventually('the delivery', async () =>
      (await eventsOf(projectId)).length >= 3 ? true : undefined,
    );
    await sdk.flush();
    const events = await eventsOf(projectId);
    expect(events.map((e) => JSON.parse(e.properties).content_id).sort()).toEqual(['v1', 'v2', 'v3']);
  });

  it('links the openid and unionid given to identify, and later the user id, to one person', async () => {
    const { projectId, writeKey } = await t.newProject(`${flavour} identify`);
    const host = startMiniProgram(flavour, new Map(), { path: 'pages/index/index', query: {} });
    const sdk = await start(host, writeKey);
    const openid = `${flavour}-openid-1`;
    sdk.identify({ openid, unionid: `${flavour}-unionid-1`, nickname: '小王' });
    sdk.track('Coupon Claimed');
    sdk.identify('member-88', { tier: 'gold' });
    await sdk.flush();
    const anonymousId = sdk.anonymousId();
    await t.settle();
    const person = await personOf(projectId, anonymousId);
    expect(person).not.toBe('');
    for (const id of [`openid:${PLATFORM[flavour]}:${openid}`, `unionid:${flavour}-unionid-1`, 'member-88']) {
      expect(await personOf(projectId, id), id).toBe(person);
    }
    const traits = await t.server.facts.query<{ traits: string }>(
      `SELECT argMax(traits, version) AS traits FROM persons WHERE project_id = {p:String} AND person_id = {person:String}`,
      { p: projectId, person },
    );
    const stored = JSON.parse(traits[0]!.traits);
    expect(stored).toMatchObject({ nickname: '小王', tier: 'gold' });
    expect(stored).not.toHaveProperty('openid');
  });

  it('puts the sharer into the share path and links the visitor who launches from it', async () => {
    const { projectId, writeKey } = await t.newProject(`${flavour} share`);
    const sharerHost = startMiniProgram(flavour, new Map(), { path: 'pages/index/index', query: {} });
    sharerHost.pages.push({ route: 'pages/item/item', options: { id: '7' } });
    const sharer = await start(sharerHost, writeKey);
    const content = sharer.onShareAppMessage({ title: '好物推荐' }, { channel: 'chat' });
    expect(content.title).toBe('好物推荐');
    const [route, search] = content.path!.split('?') as [string, string];
    const query = Object.fromEntries(new URLSearchParams(search));
    expect(route).toBe('/pages/item/item');
    expect(query).toMatchObject({ id: '7', pl_sharer: sharer.anonymousId() });
    await sharer.flush();

    // The visitor taps the share card: a cold launch with the card's path and query.
    const visitorHost = startMiniProgram(flavour, new Map(), {
      path: route.slice(1),
      query,
      scene: SHARE_SCENE[flavour],
    });
    visitorHost.pages.push({ route: 'pages/item/item', options: query });
    const visitor = await start(visitorHost, writeKey);
    await visitor.flush();
    // Later a second share card opens the app from the background (hot launch).
    visitorHost.hide();
    visitorHost.show({ path: 'pages/item/item', query: { id: '9', pl_sharer: 'someone-else' }, scene: 1007 });
    await visitor.flush();

    const events = await eventsOf(projectId);
    const share = events.find((e) => e.event === 'Share');
    expect(share).toMatchObject({ anonymous_id: sharer.anonymousId(), sharer_id: '' });
    expect(JSON.parse(share!.properties)).toMatchObject({ share_id: query.pl_share, channel: 'chat' });
    const opened = events.filter(
      (e) => e.event === 'Application Opened' && e.anonymous_id === visitor.anonymousId(),
    );
    expect(opened.map((e) => [e.sharer_id, e.channel, JSON.parse(e.properties).from_background])).toEqual([
      [sharer.anonymousId(), 'share', false],
      ['someone-else', 'share', true],
    ]);
    expect(JSON.parse(opened[0]!.properties)).toMatchObject({
      share_id: query.pl_share,
      scene: SHARE_SCENE[flavour],
    });

    const sharerPerson = await personOf(projectId, sharer.anonymousId());
    const visitorPerson = await personOf(projectId, visitor.anonymousId());
    expect(sharerPerson).not.toBe('');
    expect(visitorPerson).not.toBe('');
    expect(sharerPerson).not.toBe(visitorPerson);
  });
});

describe('the two SDKs', () => {
  it('share one delivery queue, kept as identical copies so each package stays dependency-free', async () => {
    const [browser, miniprogram] = await Promise.all(
      ['browser', 'miniprogram'].map((name) =>
        readFile(join(repoRoot, 'sdk', name, 'src', 'queue.ts'), 'utf8'),
      ),
    );
    expect(miniprogram).toBe(browser);
  });
});
