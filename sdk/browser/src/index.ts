import { campaignOf, deviceContext, pageInfo } from './context.js';
import { createQueue, type Message, type Queue } from './queue.js';
import { type Landing, landingSharer, withSharer } from './share.js';
import { createBrowserStore } from './storage.js';
import { BEACON_MAX_CHARS, createTransport } from './transport.js';
import { uuid } from './uuid.js';

export type { Message } from './queue.js';

export const VERSION = '0.1.0';
const LIBRARY = { name: '@pulseloop/sdk-browser', version: VERSION };

const ANONYMOUS_ID_KEY = 'pl_anonymous_id';
const USER_ID_KEY = 'pl_user_id';
const CONSENT_KEY = 'pl_consent';
const QUEUE_KEY = 'pl_queue';

export type Properties = Record<string, unknown>;

export interface Consent {
  /** false: nothing is sent or queued, and what waits is dropped. */
  analytics: boolean;
}

export interface InitOptions {
  /** The source's write key (`pulseloop keys`). */
  writeKey: string;
  /** Where Pulseloop's collection API answers, e.g. `https://collect.example.com`. */
  host: string;
  /** Send a page view when the SDK starts (default true). */
  autoPageView?: boolean;
  /** Send a page view on every in-app navigation of a single-page app (history API, hash; default false). */
  trackHistory?: boolean;
  /** Consent until the visitor chooses (their stored choice wins; default analytics: true). */
  consent?: Consent;
  /** Send as soon as this many events wait (default 20). */
  flushAt?: number;
  /** Send waiting events at least this often (default 2,000 ms). */
  flushIntervalMs?: number;
  /** Beyond this many waiting events the oldest are dropped (default 1,000). */
  maxQueuedEvents?: number;
  /** First retry delay; doubles per failed attempt up to retryMaxMs (defaults 1,000 and 60,000 ms). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Called when events are dropped: refused by the server, or the queue overflowed. */
  onError?(reason: string, dropped: number): void;
}

export interface ShareOptions {
  /** Where the link is shared: wechat, weibo, copy_link … */
  channel?: string;
  /** Extra properties for the Share event. */
  properties?: Properties;
}

export interface Pulseloop {
  page(name?: string, properties?: Properties): void;
  track(event: string, properties?: Properties): void;
  /** identify(userId, traits), or identify(traits) for a visitor known only by traits. */
  identify(userIdOrTraits?: string | Properties, traits?: Properties): void;
  /** Merges previousId (default: the current id) into userId. */
  alias(userId: string, previousId?: string): void;
  /** Forgets the user (log-out): a new anonymous id, no user id. */
  reset(): void;
  /** A link that carries the sharer's id; tracks a `Share` event. */
  shareLink(url?: string, options?: ShareOptions): string;
  setConsent(consent: Consent): void;
  /** Sends what waits now. */
  flush(): Promise<void>;
  anonymousId(): string;
  userId(): string | undefined;
  /** Removes listeners and timers (waiting events stay stored for the next page load). */
  close(): void;
}

export function createPulseloop(options: InitOptions): Pulseloop {
  if (!options.writeKey) throw new Error('Pulseloop: init needs a writeKey.');
  if (!options.host) throw new Error('Pulseloop: init needs the host of the collection API.');
  const { ids, local } = createBrowserStore();
  const transport = createTransport(options.host, options.writeKey);
  const queue: Queue = createQueue({
    store: { read: () => local.get(QUEUE_KEY), write: (text) => local.set(QUEUE_KEY, text) },
    send: transport.send,
    flushAt: options.flushAt ?? 20,
    flushIntervalMs: options.flushIntervalMs ?? 2000,
    maxBatchEvents: 100,
    maxQueuedEvents: options.maxQueuedEvents ?? 1000,
    retryBaseMs: options.retryBaseMs ?? 1000,
    retryMaxMs: options.retryMaxMs ?? 60_000,
    onError:
      options.onError ??
      ((reason, dropped) => console.warn(`Pulseloop: ${dropped} event(s) dropped: ${reason}`)),
  });

  const device = deviceContext();
  const landingCampaign = campaignOf(location.search);
  let landing: Landing | undefined = landingSharer(location.search);
  let referrer = document.referrer;
  let lastUrl = location.href;

  const storedConsent = local.get(CONSENT_KEY);
  let analyticsAllowed =
    storedConsent === 'granted'
      ? true
      : storedConsent === 'denied'
        ? false
        : (options.consent?.analytics ?? true);
  if (!analyticsAllowed && queue.peek().length > 0) queue.clear();

  function anonymousId(): string {
    let id = ids.get(ANONYMOUS_ID_KEY);
    if (!id) {
      id = uuid();
      ids.set(ANONYMOUS_ID_KEY, id);
    }
    return id;
  }

  function userId(): string | undefined {
    return ids.get(USER_ID_KEY);
  }

  function enqueue(type: string, fields: Properties): void {
    if (!analyticsAllowed) return;
    const context: Properties = { ...device, library: LIBRARY, page: pageInfo(referrer) };
    const campaign = campaignOf(location.search) ?? landingCampaign;
    if (campaign) context.campaign = campaign;
    const message: Message = {
      type,
      messageId: uuid(),
      timestamp: new Date().toISOString(),
      anonymousId: anonymousId(),
      context,
      ...fields,
    };
    const user = userId();
    if (user && message.userId === undefined) message.userId = user;
    queue.push(message);
  }

  function page(name?: string, properties: Properties = {}): void {
    const sharer: Properties = {};
    // The first page view of a visit opened from a share link names the sharer (events.sharer_id).
    if (landing) {
      sharer.sharer_id = landing.sharerId;
      if (landing.shareId) sharer.share_id = landing.shareId;
      landing = undefined;
    }
    const fields: Properties = { properties: { ...pageInfo(referrer), ...sharer, ...properties } };
    if (name) fields.name = name;
    enqueue('page', fields);
  }

  /** An in-app navigation: the previous URL becomes the referrer of the next page view. */
  function onNavigation(): void {
    if (location.href === lastUrl) return;
    referrer = lastUrl;
    lastUrl = location.href;
    page();
  }

  const beaconed = new Set<string>();
  /**
   * The page may be going away: what waits is handed to sendBeacon. It stays queued until a normal
   * send is acknowledged, so if the beacon is lost the next page load sends it again, and the
   * server recognises the messageId if it was not.
   */
  function sendBeacons(): void {
    if (!analyticsAllowed) return;
    let batch: Message[] = [];
    let chars = 0;
    for (const message of queue.peek()) {
      if (beaconed.has(message.messageId)) continue;
      const size = JSON.stringify(message).length;
      if (batch.length > 0 && chars + size > BEACON_MAX_CHARS - 200) {
        if (transport.beacon(batch)) for (const m of batch) beaconed.add(m.messageId);
        batch = [];
        chars = 0;
      }
      batch.push(message);
      chars += size;
    }
    if (batch.length > 0 && transport.beacon(batch)) for (const m of batch) beaconed.add(m.messageId);
  }

  const onVisibility = () => {
    if (document.visibilityState === 'hidden') sendBeacons();
  };
  const onOnline = () => void queue.flush();
  document.addEventListener('visibilitychange', onVisibility);
  addEventListener('pagehide', sendBeacons);
  addEventListener('online', onOnline);

  const restoreHistory: Array<() => void> = [];
  if (options.trackHistory) {
    for (const method of ['pushState', 'replaceState'] as const) {
      const original = history[method];
      history[method] = function (this: History, ...args: Parameters<History['pushState']>) {
        original.apply(this, args);
        onNavigation();
      };
      restoreHistory.push(() => {
        history[method] = original;
      });
    }
    addEventListener('popstate', onNavigation);
    addEventListener('hashchange', onNavigation);
  }

  const client: Pulseloop = {
    page,
    track(event, properties = {}) {
      if (!event) throw new Error('Pulseloop: track needs an event name.');
      enqueue('track', { event, properties });
    },
    identify(userIdOrTraits, traits = {}) {
      const newUserId = typeof userIdOrTraits === 'string' ? userIdOrTraits : undefined;
      const allTraits = typeof userIdOrTraits === 'object' ? { ...userIdOrTraits, ...traits } : traits;
      if (newUserId) ids.set(USER_ID_KEY, newUserId);
      enqueue('identify', { traits: allTraits });
    },
    alias(newUserId, previousId) {
      if (!newUserId) throw new Error('Pulseloop: alias needs the new user id.');
      const previous = previousId ?? userId() ?? anonymousId();
      enqueue('alias', { userId: newUserId, previousId: previous });
      ids.set(USER_ID_KEY, newUserId);
    },
    reset() {
      ids.remove(USER_ID_KEY);
      ids.remove(ANONYMOUS_ID_KEY);
    },
    shareLink(url = location.href, share = {}) {
      if (!analyticsAllowed) return new URL(url, location.href).toString();
      const shareId = uuid();
      const link = withSharer(url, userId() ?? anonymousId(), shareId);
      const properties: Properties = { share_id: shareId, url: link, ...share.properties };
      if (share.channel) properties.channel = share.channel;
      enqueue('track', { event: 'Share', properties });
      return link;
    },
    setConsent(consent) {
      analyticsAllowed = consent.analytics;
      local.set(CONSENT_KEY, consent.analytics ? 'granted' : 'denied');
      if (!consent.analytics) queue.clear();
    },
    flush: () => queue.flush(),
    anonymousId,
    userId,
    close() {
      queue.stop();
      document.removeEventListener('visibilitychange', onVisibility);
      removeEventListener('pagehide', sendBeacons);
      removeEventListener('online', onOnline);
      removeEventListener('popstate', onNavigation);
      removeEventListener('hashchange', onNavigation);
      for (const restore of restoreHistory) restore();
    },
  };

  if (options.autoPageView ?? true) page();
  return client;
}

// ---------------------------------------------------------------------------------------------
// The page-wide instance, for `import { init, track } from '@pulseloop/sdk-browser'`.

let instance: Pulseloop | undefined;
/** Calls made before init, replayed once it runs. */
const beforeInit: Array<(client: Pulseloop) => void> = [];

function call(action: (client: Pulseloop) => void): void {
  if (instance) action(instance);
  else beforeInit.push(action);
}

/** Starts the page-wide instance (a second call returns the first instance). */
export function init(options: InitOptions): Pulseloop {
  if (instance) return instance;
  const created = createPulseloop(options);
  instance = created;
  for (const action of beforeInit.splice(0)) action(created);
  return created;
}

export const page = (name?: string, properties?: Properties) => call((c) => c.page(name, properties));
export const track = (event: string, properties?: Properties) => call((c) => c.track(event, properties));
export const identify = (userIdOrTraits?: string | Properties, traits?: Properties) =>
  call((c) => c.identify(userIdOrTraits, traits));
export const alias = (userId: string, previousId?: string) => call((c) => c.alias(userId, previousId));
export const reset = () => call((c) => c.reset());
export const setConsent = (consent: Consent) => call((c) => c.setConsent(consent));
/** A share link; before init it is the URL unchanged (there is no id to add yet). */
export function shareLink(url?: string, options?: ShareOptions): string {
  return instance
    ? instance.shareLink(url, options)
    : new URL(url ?? location.href, location.href).toString();
}
export const flush = (): Promise<void> => (instance ? instance.flush() : Promise.resolve());
