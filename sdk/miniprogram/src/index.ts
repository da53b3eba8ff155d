import {
  currentPage,
  detectFlavour,
  deviceContext,
  type Flavour,
  PLATFORM_OF,
  pageContext,
} from './context.js';
import type { LaunchOptions, MiniProgramApi, PageInstance } from './platform.js';
import { createQueue, type Message } from './queue.js';
import { parsePath, sharerProperties, withSharer } from './share.js';
import { createSend } from './transport.js';
import { uuid } from './uuid.js';

export type { Flavour } from './context.js';
export type { LaunchOptions, MiniProgramApi, PageInstance, SystemInfo } from './platform.js';
export type { Message } from './queue.js';

export const VERSION = '0.1.0';
const LIBRARY = { name: '@pulseloop/sdk-miniprogram', version: VERSION };

const ANONYMOUS_ID_KEY = 'pl_anonymous_id';
const USER_ID_KEY = 'pl_user_id';
const PLATFORM_IDS_KEY = 'pl_platform_ids';
const CONSENT_KEY = 'pl_consent';
const QUEUE_KEY = 'pl_queue';

export type Properties = Record<string, unknown>;

export interface SdkOptions {
  /** The source's write key (`pulseloop keys`). */
  writeKey: string;
  /** Where Pulseloop's collection API answers; add it to the mini-program's request domain list. */
  host: string;
  /** wechat or douyin; detected from getSystemInfoSync().appName when not given. */
  flavour?: Flavour;
  /** Track `Application Opened` on launch and return, `Application Backgrounded` on hide (default true). */
  trackAppLifecycle?: boolean;
  /** Consent until the user chooses (their stored choice wins; default analytics: true). */
  consent?: { analytics: boolean };
  /** Send as soon as this many events wait (default 10). */
  flushAt?: number;
  /** Send waiting events at least this often (default 5,000 ms). */
  flushIntervalMs?: number;
  /** Beyond this many waiting events the oldest are dropped (default 500; storage is small). */
  maxQueuedEvents?: number;
  /** First retry delay; doubles per failed attempt up to retryMaxMs (defaults 1,000 and 60,000 ms). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** wx.request timeout (default 10,000 ms). */
  requestTimeoutMs?: number;
  /** Called when events are dropped: refused by the server, or the queue overflowed. */
  onError?(reason: string, dropped: number): void;
}

/** The platform ids identify accepts; the server links them to the person (identities). */
export interface PlatformIds {
  openid?: string;
  unionid?: string;
}

export interface ShareContent {
  title?: string;
  /** The page to open, default the current page with its query. */
  path?: string;
  imageUrl?: string;
  [field: string]: unknown;
}

export interface MiniProgramSdk {
  /** A page view of the page on top of the stack (call it in the page's onShow). */
  page(properties?: Properties): void;
  track(event: string, properties?: Properties): void;
  /** identify(userId, traits) or identify(traits); `openid`/`unionid` in traits link those ids. */
  identify(userIdOrTraits?: string | (Properties & PlatformIds), traits?: Properties & PlatformIds): void;
  alias(userId: string, previousId?: string): void;
  reset(): void;
  /** For a page's onShareAppMessage: the share content with the sharer in its path; tracks `Share`. */
  onShareAppMessage(content?: ShareContent, options?: { channel?: string }): ShareContent;
  setConsent(consent: { analytics: boolean }): void;
  flush(): Promise<void>;
  anonymousId(): string;
  userId(): string | undefined;
  /** Stops the timers (waiting events stay in storage for the next launch). */
  close(): void;
}

declare const getCurrentPages: (() => PageInstance[]) | undefined;

function pageStack(): PageInstance[] | undefined {
  try {
    return typeof getCurrentPages === 'function' ? getCurrentPages() : undefined;
  } catch {
    return undefined;
  }
}

/** Creates the SDK for one mini-program: `createSdk(wx, { writeKey, host })` or `createSdk(tt, …)`. */
export function createSdk(api: MiniProgramApi, options: SdkOptions): MiniProgramSdk {
  if (!api || typeof api.request !== 'function') throw new Error('Pulseloop: createSdk needs wx or tt.');
  if (!options.writeKey) throw new Error('Pulseloop: createSdk needs a writeKey.');
  if (!options.host) throw new Error('Pulseloop: createSdk needs the host of the collection API.');

  const read = (key: string): string | undefined => {
    try {
      const value = api.getStorageSync(key);
      return typeof value === 'string' && value !== '' ? value : undefined;
    } catch {
      return undefined;
    }
  };
  const write = (key: string, value: string): void => api.setStorageSync(key, value);
  const remove = (key: string): void => {
    if (api.removeStorageSync) api.removeStorageSync(key);
    else api.setStorageSync(key, '');
  };

  const systemInfo = api.getSystemInfoSync?.();
  const flavour = options.flavour ?? detectFlavour(systemInfo);
  const device = deviceContext(systemInfo, flavour);
  const queue = createQueue({
    store: { read: () => read(QUEUE_KEY), write: (text) => write(QUEUE_KEY, text) },
    send: createSend(api, options.host, options.writeKey, options.requestTimeoutMs ?? 10_000),
    flushAt: options.flushAt ?? 10,
    flushIntervalMs: options.flushIntervalMs ?? 5000,
    maxBatchEvents: 50,
    maxQueuedEvents: options.maxQueuedEvents ?? 500,
    retryBaseMs: options.retryBaseMs ?? 1000,
    retryMaxMs: options.retryMaxMs ?? 60_000,
    onError:
      options.onError ??
      ((reason, dropped) => console.warn(`Pulseloop: ${dropped} event(s) dropped: ${reason}`)),
  });

  const storedConsent = read(CONSENT_KEY);
  let analyticsAllowed =
    storedConsent === 'granted'
      ? true
      : storedConsent === 'denied'
        ? false
        : (options.consent?.analytics ?? true);
  if (!analyticsAllowed && queue.peek().length > 0) queue.clear();

  function anonymousId(): string {
    let id = read(ANONYMOUS_ID_KEY);
    if (!id) {
      id = uuid();
      write(ANONYMOUS_ID_KEY, id);
    }
    return id;
  }

  const userId = () => read(USER_ID_KEY);

  function platformIds(): PlatformIds {
    try {
      return JSON.parse(read(PLATFORM_IDS_KEY) ?? '{}') as PlatformIds;
    } catch {
      return {};
    }
  }

  /** context.page: the given page, else the page on top of the stack. */
  function currentPageContext(): Record<string, string> | undefined {
    const top = currentPage(pageStack());
    return top?.route ? pageContext(top.route, top.options) : undefined;
  }

  function enqueue(type: string, fields: Properties, page = currentPageContext()): void {
    if (!analyticsAllowed) return;
    const context: Properties = { ...device, library: LIBRARY };
    if (page) context.page = page;
    const message: Message = {
      type,
      messageId: uuid(),
      timestamp: new Date().toISOString(),
      anonymousId: anonymousId(),
      ...fields,
      context: { ...context, ...(fields.context as Properties | undefined) },
    };
    const user = userId();
    if (user && message.userId === undefined) message.userId = user;
    queue.push(message);
  }

  /** A launch or a return from the background, with the sharer when opened from a share card. */
  function appOpened(launch: LaunchOptions, fromBackground: boolean): void {
    const properties: Properties = { from_background: fromBackground, ...sharerProperties(launch.query) };
    if (launch.path) properties.path = launch.path;
    if (launch.scene !== undefined) properties.scene = launch.scene;
    if (launch.referrerInfo?.appId) properties.referring_application = launch.referrerInfo.appId;
    const page = launch.path ? pageContext(launch.path, launch.query) : undefined;
    enqueue('track', { event: 'Application Opened', properties }, page);
  }

  const lifecycle = options.trackAppLifecycle ?? true;
  let hidden = false;
  if (lifecycle) appOpened(api.getLaunchOptionsSync?.() ?? {}, false);
  api.onAppShow?.((show) => {
    // onAppShow also fires right after launch; only a return from the background is a new opening.
    if (!hidden) return;
    hidden = false;
    if (lifecycle) appOpened(show ?? {}, true);
  });
  api.onAppHide?.(() => {
    hidden = true;
    if (lifecycle) enqueue('track', { event: 'Application Backgrounded', properties: {} });
    void queue.flush();
  });

  return {
    page(properties = {}) {
      const top = currentPage(pageStack());
      const route = top?.route ?? '';
      const page = route ? pageContext(route, top?.options) : undefined;
      const fields: Properties = { properties: { ...page, ...properties } };
      if (route) fields.name = route;
      enqueue('page', fields, page);
    },
    track(event, properties = {}) {
      if (!event) throw new Error('Pulseloop: track needs an event name.');
      enqueue('track', { event, properties });
    },
    identify(userIdOrTraits, moreTraits = {}) {
      const newUserId = typeof userIdOrTraits === 'string' ? userIdOrTraits : undefined;
      const { openid, unionid, ...traits } =
        typeof userIdOrTraits === 'object' ? { ...userIdOrTraits, ...moreTraits } : moreTraits;
      const ids = platformIds();
      if (openid) ids.openid = openid;
      if (unionid) ids.unionid = unionid;
      write(PLATFORM_IDS_KEY, JSON.stringify(ids));
      if (newUserId) write(USER_ID_KEY, newUserId);
      // The server links context.traits openid (namespaced by platform) and unionid to the person;
      // they are ids, not traits, so they stay out of the person's traits.
      const fields: Properties = { traits };
      if (ids.openid || ids.unionid) fields.context = { traits: { ...ids, platform: PLATFORM_OF[flavour] } };
      enqueue('identify', fields);
    },
    alias(newUserId, previousId) {
      if (!newUserId) throw new Error('Pulseloop: alias needs the new user id.');
      enqueue('alias', { userId: newUserId, previousId: previousId ?? userId() ?? anonymousId() });
      write(USER_ID_KEY, newUserId);
    },
    reset() {
      remove(USER_ID_KEY);
      remove(ANONYMOUS_ID_KEY);
      remove(PLATFORM_IDS_KEY);
    },
    onShareAppMessage(content = {}, share = {}) {
      const top = currentPage(pageStack());
      const path = content.path ?? (top?.route ? pageContext(top.route, top.options).url : '');
      if (!analyticsAllowed || !path) return { ...content };
      const shareId = uuid();
      const sharedPath = withSharer(path, userId() ?? anonymousId(), shareId);
      enqueue('track', {
        event: 'Share',
        properties: {
          share_id: shareId,
          path: sharedPath,
          channel: share.channel ?? 'share_app_message',
          shared_route: parsePath(path).route,
        },
      });
      return { ...content, path: sharedPath };
    },
    setConsent(consent) {
      analyticsAllowed = consent.analytics;
      write(CONSENT_KEY, consent.analytics ? 'granted' : 'denied');
      if (!consent.analytics) queue.clear();
    },
    flush: () => queue.flush(),
    anonymousId,
    userId,
    close: () => queue.stop(),
  };
}
