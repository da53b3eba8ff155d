import { detailText, PulseloopError } from '../../errors/registry.js';
import { AMOUNT_TOO_LARGE, type EventRow, MAX_STORED_AMOUNT } from '../../store/facts/rows.js';
import { isPlainObject, safeMerge } from './body.js';
import { MAX_FUTURE_SKEW_HOURS, MIN_TIMESTAMP_MS } from './limits.js';
import type { CallType, JsonObject, SegmentMessage } from './validate.js';

/**
 * The normalise step of the Segment pipeline: a validated call becomes one `events` row. The
 * event time is corrected for the client's clock skew as Segment does, the context fields analyses
 * filter on are promoted to columns (and removed from the stored context), and the platform and
 * marketing channel are derived.
 */

export interface NormaliseEnv {
  projectId: string;
  sourceId: string;
  /** When the request arrived, UTC ms, by the server clock. */
  receivedAt: number;
  /** The address the request came from; `context.ip` wins when given. */
  ip: string;
  /** The batch-level context, merged under each event's own. */
  batchContext?: Record<string, unknown>;
  /** The batch-level sentAt (UTC ms), for events that carry none. */
  batchSentAt?: number;
  /** The resolved person, when identity resolution ran before; '' otherwise. */
  personId?: string;
}

export type NormaliseResult = { ok: true; row: EventRow } | { ok: false; error: PulseloopError };

/** The environment every call of one request is normalised in (made once per request). */
export function requestNormaliseEnv(
  request: Pick<NormaliseEnv, 'projectId' | 'sourceId' | 'receivedAt' | 'ip'>,
  batchContext: Record<string, unknown> | undefined,
  batchSentAt: number | undefined,
): NormaliseEnv {
  return {
    projectId: request.projectId,
    sourceId: request.sourceId,
    receivedAt: request.receivedAt,
    ip: request.ip,
    ...(batchContext ? { batchContext } : {}),
    ...(batchSentAt !== undefined ? { batchSentAt } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Time

const HOUR_MS = 3_600_000;

export interface EventTime {
  /** The corrected event time, UTC ms. */
  ms: number;
  /** The field the time came from, for error messages. */
  field: 'timestamp' | 'originalTimestamp' | 'receivedAt';
}

/**
 * The event time, corrected for client clock skew as Segment does: with `sentAt`,
 * `receivedAt − (sentAt − (originalTimestamp ?? timestamp))` (the client's clock error is
 * `sentAt − receivedAt`, assuming the request took no time); without it, the time as sent; with
 * no time at all, the time of receipt.
 */
export function eventTime(
  times: { timestamp?: number; originalTimestamp?: number; sentAt?: number },
  receivedAt: number,
): EventTime {
  const field = times.originalTimestamp !== undefined ? 'originalTimestamp' : 'timestamp';
  const clientTime = times.originalTimestamp ?? times.timestamp;
  if (clientTime === undefined) return { ms: receivedAt, field: 'receivedAt' };
  if (times.sentAt !== undefined) return { ms: receivedAt - (times.sentAt - clientTime), field };
  // Without sentAt, a manually set timestamp (historical import) is the truth.
  return times.timestamp !== undefined
    ? { ms: times.timestamp, field: 'timestamp' }
    : { ms: clientTime, field: 'originalTimestamp' };
}

function formatMs(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

/** Refuses corrected times more than MAX_FUTURE_SKEW_HOURS ahead of receipt, or before 2000. */
export function checkEventTime(time: EventTime, receivedAt: number): PulseloopError | undefined {
  if (time.ms > receivedAt + MAX_FUTURE_SKEW_HOURS * HOUR_MS) {
    return new PulseloopError('future_timestamp', { field: time.field, limitHours: MAX_FUTURE_SKEW_HOURS });
  }
  if (time.ms < MIN_TIMESTAMP_MS) {
    const sent = formatMs(time.ms);
    return new PulseloopError('invalid_timestamp', {
      field: time.field,
      value: `${sent} (before 2000-01-01; epoch numbers are read as milliseconds)`,
      value_zh: `${sent}（早于 2000-01-01；纪元时间数值按毫秒解读）`,
    });
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Event names

/** The stored event name of each non-track call. */
export const EVENT_NAMES: Record<Exclude<CallType, 'track'>, string> = {
  page: '$pageview',
  screen: '$screen',
  identify: '$identify',
  group: '$group',
  alias: '$alias',
};

export function eventName(message: SegmentMessage): string {
  return message.type === 'track' ? message.event : EVENT_NAMES[message.type];
}

/**
 * What the `properties` column holds: the call's properties (traits for identify and group);
 * page/screen `name`/`category`, the group's id (`$group_id`) and the alias's previous id
 * (`$previous_id`) are added so nothing the call said is lost.
 */
export function storedProperties(message: SegmentMessage): JsonObject {
  switch (message.type) {
    case 'track':
      return message.properties;
    case 'page':
    case 'screen': {
      const extra: JsonObject = {};
      if (message.name !== undefined && message.properties.name === undefined) extra.name = message.name;
      if (message.category !== undefined && message.properties.category === undefined) {
        extra.category = message.category;
      }
      return Object.keys(extra).length === 0 ? message.properties : safeMerge(message.properties, extra);
    }
    case 'identify':
      return message.traits;
    case 'group':
      return safeMerge(message.traits, { $group_id: message.groupId });
    case 'alias':
      return { $previous_id: message.previousId };
  }
}

// ---------------------------------------------------------------------------------------------
// Reading loosely typed JSON

/**
 * The own value at `key` of an object; undefined for anything else. The objects here come from
 * JSON.parse or safeMerge, so every object is a plain one: the prototype need not be looked at
 * (isPlainObject's getPrototypeOf was a few per cent of the serving thread), only arrays told apart.
 */
function ownValue(node: unknown, key: string): unknown {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
  const value = (node as JsonObject)[key];
  // Only a defined value needs the own-property check (an inherited one must not count).
  return value !== undefined && Object.hasOwn(node, key) ? value : undefined;
}

/** Strings as they are, finite numbers as decimal text, '' for anything else. */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return '';
}

/** The text at `key`, or at `key.nested` when `nested` is given, of nested objects. */
function textAt(root: unknown, key: string, nested?: string): string {
  const value = ownValue(root, key);
  return textOf(nested === undefined ? value : ownValue(value, nested));
}

/**
 * Reads context fields and remembers which went to columns, so the stored context can omit them.
 * Paths are the constants below, so reading allocates nothing but the list of taken ones.
 */
interface ContextReader {
  context: JsonObject;
  taken: (readonly string[])[];
}

/** The text at a one- or two-key path of the context, remembered as taken when it is not empty. */
function take(reader: ContextReader, path: readonly [string] | readonly [string, string]): string {
  const text = textAt(reader.context, path[0], path[1]);
  if (text !== '') reader.taken.push(path);
  return text;
}

const PAGE_URL = ['page', 'url'] as const;
const PAGE_PATH = ['page', 'path'] as const;
const PAGE_REFERRER = ['page', 'referrer'] as const;
const REFERRER_URL = ['referrer', 'url'] as const;
const CAMPAIGN_ID = ['campaign', 'id'] as const;
const PLATFORM = ['platform'] as const;
const USER_AGENT = ['userAgent'] as const;
const IP = ['ip'] as const;
const SESSION_ID = ['sessionId'] as const;
const LOCALE = ['locale'] as const;
const COUNTRY = ['location', 'country'] as const;
const REGION = ['location', 'region'] as const;
const CITY = ['location', 'city'] as const;
const DEVICE_TYPE = ['device', 'type'] as const;
const OS_NAME = ['os', 'name'] as const;
const APP_VERSION = ['app', 'version'] as const;

/** A copy of the object without the given paths; objects left empty by the removal go too. */
export function withoutPaths(object: JsonObject, paths: readonly (readonly string[])[]): JsonObject {
  return paths.length === 0 ? object : withoutPathsFrom(object, paths, 0);
}

/** `withoutPaths` for an object found at `depth` keys down the paths (all of which lead through it). */
function withoutPathsFrom(
  object: JsonObject,
  paths: readonly (readonly string[])[],
  depth: number,
): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(object)) {
    let removed = false;
    let through: (readonly string[])[] | undefined; // the paths that continue below this key
    for (const path of paths) {
      if (path[depth] !== key) continue;
      if (path.length === depth + 1) {
        removed = true;
      } else {
        through ??= [];
        through.push(path);
      }
    }
    if (removed) continue;
    const value = object[key];
    if (through === undefined || !isPlainObject(value)) {
      setOwn(out, key, value);
      continue;
    }
    const trimmed = withoutPathsFrom(value, through, depth + 1);
    if (Object.keys(trimmed).length > 0) setOwn(out, key, trimmed);
  }
  return out;
}

/** Sets a data property, even one named `__proto__` (an assignment would change the prototype). */
function setOwn(object: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    object[key] = value;
  }
}

/** A URL, absolute or relative to a site root; undefined when it cannot be read. */
function parseUrl(text: string): { url: URL; absolute: boolean } | undefined {
  if (text === '') return undefined;
  try {
    return { url: new URL(text), absolute: true };
  } catch {
    try {
      return { url: new URL(text, 'http://relative.invalid'), absolute: false };
    } catch {
      return undefined;
    }
  }
}

type ParsedUrl = NonNullable<ReturnType<typeof parseUrl>>;

/** A query parameter of the page URL, '' when absent or when there is no URL. */
function urlParameter(url: ParsedUrl | undefined, name: string): string {
  return url?.url.searchParams.get(name) ?? '';
}

function hostOf(text: string): string {
  const parsed = parseUrl(text);
  return parsed?.absolute ? parsed.url.hostname.toLowerCase().replace(/^(www|m)\./, '') : '';
}

/** A money amount: a finite number, or a plain decimal string such as "14.99". */
function amountOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Revenue

/** Events whose `total` or `value` counts as revenue when `revenue` is absent (Segment's e-commerce spec and common names). */
const ORDER_EVENT =
  /^(order[ _-]?(completed|paid|placed)|purchased?|checkout[ _-]?completed|payment[ _-]?succeeded|支付成功|下单成功|购买成功)$/i;

export function isOrderEvent(name: string): boolean {
  return ORDER_EVENT.test(name.trim());
}

/** The property an event's revenue is read from, and its amount. */
interface RevenueSource {
  field: 'revenue' | 'total' | 'value';
  amount: number;
}

/** properties.revenue, else total or value on order events; undefined when none holds an amount. */
function revenueSourceOf(event: string, properties: JsonObject): RevenueSource | undefined {
  const revenue = amountOf(properties.revenue);
  if (revenue !== undefined) return { field: 'revenue', amount: revenue };
  if (!isOrderEvent(event)) return undefined;
  for (const field of ['total', 'value'] as const) {
    const amount = amountOf(properties[field]);
    if (amount !== undefined) return { field, amount };
  }
  return undefined;
}

/** properties.revenue, else total or value on order events, else 0. */
export function revenueOf(event: string, properties: JsonObject): number {
  return revenueSourceOf(event, properties)?.amount ?? 0;
}

function revenueError(source: RevenueSource | undefined): PulseloopError | undefined {
  if (source === undefined || Math.abs(source.amount) < MAX_STORED_AMOUNT) return undefined;
  return new PulseloopError('invalid_field', {
    field: `properties.${source.field}`,
    ...detailText(`${source.amount} ${AMOUNT_TOO_LARGE.en}`, `${source.amount} ${AMOUNT_TOO_LARGE.zh}`),
  });
}

// ---------------------------------------------------------------------------------------------
// Platform

export const PLATFORMS = [
  'douyin',
  'kuaishou',
  'xiaohongshu',
  'wechat_channels',
  'wechat_miniprogram',
  'douyin_miniprogram',
  'bilibili',
  'weibo',
  'web',
  'app',
  'server',
  'other',
] as const;

export type Platform = (typeof PLATFORMS)[number];

/** Names senders use for the platforms, including uni-app and Taro build targets. */
const PLATFORM_ALIASES: Record<string, Platform> = {
  ...Object.fromEntries(PLATFORMS.map((platform) => [platform, platform])),
  aweme: 'douyin',
  抖音: 'douyin',
  ks: 'kuaishou',
  'mp-kuaishou': 'kuaishou',
  快手: 'kuaishou',
  xhs: 'xiaohongshu',
  rednote: 'xiaohongshu',
  'mp-xhs': 'xiaohongshu',
  小红书: 'xiaohongshu',
  channels: 'wechat_channels',
  shipinhao: 'wechat_channels',
  视频号: 'wechat_channels',
  weapp: 'wechat_miniprogram',
  wxapp: 'wechat_miniprogram',
  'mp-weixin': 'wechat_miniprogram',
  miniprogram: 'wechat_miniprogram',
  小程序: 'wechat_miniprogram',
  tt: 'douyin_miniprogram',
  'mp-toutiao': 'douyin_miniprogram',
  'mp-douyin': 'douyin_miniprogram',
  b站: 'bilibili',
  哔哩哔哩: 'bilibili',
  微博: 'weibo',
  h5: 'web',
  browser: 'web',
  ios: 'app',
  android: 'app',
  harmonyos: 'app',
  'app-plus': 'app',
  rn: 'app',
};

/** A sent platform name, lowercased and mapped onto the allow-list; undefined when unknown. */
export function knownPlatform(name: string): Platform | undefined {
  const key = name.trim().toLowerCase();
  return Object.hasOwn(PLATFORM_ALIASES, key) ? PLATFORM_ALIASES[key] : undefined;
}

const MINIPROGRAM_LIBRARY = /mini[ _-]?program|miniapp|weapp|wxapp|mp-weixin|mp-toutiao/;
const DOUYIN_LIBRARY = /douyin|toutiao|bytedance|\btt\b/;
const APP_LIBRARY = /\b(ios|android|kotlin|swift|react-native|flutter|harmony)\b/;
const SERVER_LIBRARY = /\b(node|python|ruby|go|golang|java|php|dotnet|net|csharp|rust|elixir|server)\b/;

export interface PlatformInput {
  type: CallType;
  /** context.platform or properties.platform, as sent ('' when neither). */
  sent: string;
  libraryName: string;
  userAgent: string;
  hasApp: boolean;
}

/**
 * The platform: the sent one when it is on the allow-list (unknown names become 'other'); else
 * derived from the library name (mini-program SDKs), the user agent (WeChat's mini-program web
 * view), `context.app` (app), a page call or a browser user agent (web), a server library.
 */
export function platformOf(input: PlatformInput): Platform {
  if (input.sent.trim() !== '') return knownPlatform(input.sent) ?? 'other';
  const library = input.libraryName.toLowerCase();
  if (MINIPROGRAM_LIBRARY.test(library)) {
    return DOUYIN_LIBRARY.test(library) ? 'douyin_miniprogram' : 'wechat_miniprogram';
  }
  if (/miniprogram/i.test(input.userAgent)) return 'wechat_miniprogram';
  if (input.hasApp || APP_LIBRARY.test(library) || input.type === 'screen') return 'app';
  if (input.type === 'page' || /mozilla\//i.test(input.userAgent)) return 'web';
  if (SERVER_LIBRARY.test(library)) return 'server';
  return 'other';
}

const BROWSER_RULES: readonly (readonly [RegExp, string])[] = [
  [/MicroMessenger/i, 'wechat'],
  [/aweme|BytedanceWebview|ToutiaoMicroApp/i, 'douyin'],
  [/Kwai|Kuaishou/i, 'kuaishou'],
  [/discover\/[\d.]+.*xhs|XiaoHongShu/i, 'xiaohongshu'],
  [/Weibo/i, 'weibo'],
  [/BiliApp/i, 'bilibili'],
  [/Edg(e|A|iOS)?\//, 'edge'],
  [/OPR\/|Opera/, 'opera'],
  [/SamsungBrowser/, 'samsung'],
  [/UCBrowser/, 'uc'],
  [/QQBrowser/, 'qq'],
  [/Firefox\/|FxiOS/, 'firefox'],
  [/Chrome\/|CriOS/, 'chrome'],
  [/Version\/[\d.]+.*Safari\//, 'safari'],
];

/**
 * Browser families of user agents seen lately. A source sends few distinct user agents, and trying
 * fourteen patterns on each event costs more than the rest of normalise; the bounds keep hostile
 * input (a new long user agent per event) from growing it.
 */
const browserCache = new Map<string, string>();
const BROWSER_CACHE_ENTRIES = 1000;
const BROWSER_CACHE_MAX_LENGTH = 512;

/** The browser family named by a user agent, '' when none is recognised. */
export function browserOf(userAgent: string): string {
  const cached = browserCache.get(userAgent);
  if (cached !== undefined) return cached;
  const browser = BROWSER_RULES.find(([pattern]) => pattern.test(userAgent))?.[1] ?? '';
  if (userAgent.length <= BROWSER_CACHE_MAX_LENGTH) {
    if (browserCache.size >= BROWSER_CACHE_ENTRIES) browserCache.clear();
    browserCache.set(userAgent, browser);
  }
  return browser;
}

// ---------------------------------------------------------------------------------------------
// Channel

/**
 * How an event's visit arrived, in a small fixed set:
 *
 * | channel        | when                                                                        |
 * |----------------|-----------------------------------------------------------------------------|
 * | kol            | utm_medium kol/koc/influencer/creator/达人, or a KOL marketplace source (xingtu, pugongying) |
 * | share          | utm_medium share/social_share/invite, or (without UTM) a sharer id          |
 * | email          | utm_medium email/edm/newsletter, or a web-mail referrer                     |
 * | sms            | utm_medium sms/短信                                                          |
 * | paid_social    | a paid medium (cpc, cpm, paid*, feed, 信息流 …) from a social source (douyin, oceanengine, gdt …) |
 * | paid_search    | a paid medium from a search source (baidu, google …), or cpc/ppc/sem from elsewhere |
 * | organic_social | a social source or referrer without a paid medium                           |
 * | organic_search | utm_medium organic, a search source or a search-engine referrer             |
 * | referral       | utm_medium referral, or another site's referrer                             |
 * | direct         | no UTM and no referrer, or a referrer on the page's own site                |
 * | other          | UTM parameters that fit none of the above                                   |
 */
export const CHANNELS = [
  'paid_social',
  'organic_social',
  'paid_search',
  'organic_search',
  'email',
  'sms',
  'referral',
  'direct',
  'kol',
  'share',
  'other',
] as const;

export type Channel = (typeof CHANNELS)[number];

const KOL_MEDIUMS = new Set(['kol', 'koc', 'influencer', 'creator', 'daren', '达人', 'star', 'xingtu']);
const KOL_SOURCES = new Set(['xingtu', 'pugongying', 'huahuo', 'kol', 'influencer']);
const SHARE_MEDIUMS = new Set(['share', 'social_share', 'social-share', 'invite', 'referral_share', '分享']);
const EMAIL_MEDIUMS = new Set(['email', 'e-mail', 'e_mail', 'edm', 'newsletter', 'mail', '邮件']);
const SMS_MEDIUMS = new Set(['sms', 'text', 'mms', '短信']);
const SOCIAL_MEDIUMS = new Set([
  'social',
  'social-network',
  'social-media',
  'social_media',
  'sm',
  'organic_social',
]);
const PAID_SEARCH_MEDIUMS = new Set(['cpc', 'ppc', 'sem', 'paid_search', 'paidsearch', 'paid-search']);
const PAID_SOCIAL_MEDIUMS = new Set(['paid_social', 'paidsocial', 'paid-social', 'feed', '信息流']);
// GA4's paid pattern (anything with "cp", ppc, paid…, retargeting) plus display and feed ads.
const PAID_MEDIUM = /^(.*cp.*|ppc|sem|paid.*|retargeting|display|banner|ads?|feed|信息流)$/;

const SOCIAL_SOURCES = new Set([
  'douyin',
  'tiktok',
  'kuaishou',
  'xiaohongshu',
  'xhs',
  'weibo',
  'bilibili',
  'wechat',
  'weixin',
  'wechat_channels',
  'channels',
  'zhihu',
  'douban',
  'toutiao',
  'oceanengine',
  'juliang',
  'qianchuan',
  'gdt',
  'tencent_ads',
  'magnetic',
  'facebook',
  'fb',
  'instagram',
  'ig',
  'twitter',
  'x',
  'linkedin',
  'youtube',
  'reddit',
  'pinterest',
]);
const SEARCH_SOURCES = new Set([
  'baidu',
  'google',
  'bing',
  'sogou',
  'so',
  '360',
  'sm',
  'shenma',
  'yahoo',
  'duckduckgo',
  'yandex',
  'naver',
]);

const SOCIAL_DOMAINS = [
  'douyin.com',
  'iesdouyin.com',
  'kuaishou.com',
  'gifshow.com',
  'chenzhongtech.com',
  'xiaohongshu.com',
  'xhslink.com',
  'weibo.com',
  'weibo.cn',
  't.cn',
  'bilibili.com',
  'b23.tv',
  'weixin.qq.com',
  'wechat.com',
  'zhihu.com',
  'douban.com',
  'toutiao.com',
  'tiktok.com',
  'facebook.com',
  'fb.com',
  'instagram.com',
  'twitter.com',
  'x.com',
  't.co',
  'linkedin.com',
  'lnkd.in',
  'youtube.com',
  'youtu.be',
  'reddit.com',
  'pinterest.com',
];
const SEARCH_DOMAINS = [
  'baidu.com',
  'so.com',
  'sogou.com',
  'sm.cn',
  'bing.com',
  'yahoo.com',
  'duckduckgo.com',
  'yandex.ru',
  'yandex.com',
  'naver.com',
];
const EMAIL_DOMAINS = [
  'mail.qq.com',
  'exmail.qq.com',
  'mail.163.com',
  'mail.126.com',
  'mail.google.com',
  'outlook.live.com',
  'outlook.office.com',
  'mail.yahoo.com',
];

function onDomain(host: string, domains: readonly string[]): boolean {
  return domains.some((domain) => host === domain || host.endsWith(`.${domain}`));
}

type SiteKind = 'email' | 'social' | 'search' | 'other';

/** What kind of site a host name is (checked in this order: web mail, social, search). */
export function siteKind(host: string): SiteKind {
  if (onDomain(host, EMAIL_DOMAINS)) return 'email';
  if (onDomain(host, SOCIAL_DOMAINS)) return 'social';
  if (onDomain(host, SEARCH_DOMAINS) || /(^|\.)google\.[a-z.]+$/.test(host)) return 'search';
  return 'other';
}

/** What kind of site a utm_source names: a known name, or a domain. */
function sourceKind(source: string): SiteKind {
  if (SOCIAL_SOURCES.has(source)) return 'social';
  if (SEARCH_SOURCES.has(source)) return 'search';
  return source.includes('.') ? siteKind(source.replace(/^(www|m)\./, '')) : 'other';
}

function channelFromUtm(source: string, medium: string): Channel {
  const kind = sourceKind(source);
  if (KOL_MEDIUMS.has(medium) || KOL_SOURCES.has(source)) return 'kol';
  if (SHARE_MEDIUMS.has(medium)) return 'share';
  if (EMAIL_MEDIUMS.has(medium) || source === 'email' || source === 'newsletter' || kind === 'email') {
    return 'email';
  }
  if (SMS_MEDIUMS.has(medium) || source === 'sms') return 'sms';
  if (PAID_MEDIUM.test(medium)) {
    if (kind === 'social' || PAID_SOCIAL_MEDIUMS.has(medium)) return 'paid_social';
    if (kind === 'search' || PAID_SEARCH_MEDIUMS.has(medium)) return 'paid_search';
    return 'other';
  }
  if (SOCIAL_MEDIUMS.has(medium) || kind === 'social') return 'organic_social';
  if (medium === 'organic' || kind === 'search') return 'organic_search';
  if (medium === 'referral') return 'referral';
  if (source === 'direct' || source === '(direct)') return 'direct';
  return 'other';
}

export interface ChannelInput {
  utmSource: string;
  utmMedium: string;
  referrer: string;
  pageUrl: string;
  sharerId: string;
}

/** The marketing channel of an event: from its UTM parameters, else its sharer and referrer. */
export function deriveChannel(input: ChannelInput): Channel {
  const source = input.utmSource.trim().toLowerCase();
  const medium = input.utmMedium.trim().toLowerCase();
  if (source !== '' || medium !== '') return channelFromUtm(source, medium);
  if (input.sharerId !== '') return 'share';
  const referrerHost = hostOf(input.referrer);
  if (referrerHost === '') return input.referrer.trim() === '' ? 'direct' : 'referral';
  if (referrerHost === hostOf(input.pageUrl)) return 'direct';
  const kind = siteKind(referrerHost);
  if (kind === 'email') return 'email';
  if (kind === 'social') return 'organic_social';
  if (kind === 'search') return 'organic_search';
  return 'referral';
}

// ---------------------------------------------------------------------------------------------
// The row

/** The utm_* columns (also the names of the page URL parameters) and their context.campaign paths. */
const UTM_FIELDS = [
  ['utm_source', ['campaign', 'source']],
  ['utm_medium', ['campaign', 'medium']],
  ['utm_campaign', ['campaign', 'name']],
  ['utm_content', ['campaign', 'content']],
  ['utm_term', ['campaign', 'term']],
] as const;

type Utm = Record<(typeof UTM_FIELDS)[number][0], string>;

/**
 * The utm_* values: from context.campaign when it gives any of them (taking those it gives),
 * else from the page URL's parameters.
 */
function utmOf(reader: ContextReader, url: ParsedUrl | undefined): Utm {
  const fromCampaign = UTM_FIELDS.some(([, path]) => textAt(reader.context, path[0], path[1]) !== '');
  const utm = {} as Utm;
  for (const [column, path] of UTM_FIELDS) {
    utm[column] = fromCampaign ? take(reader, path) : urlParameter(url, column);
  }
  return utm;
}

function propertiesOf(message: SegmentMessage): JsonObject {
  return message.type === 'track' || message.type === 'page' || message.type === 'screen'
    ? message.properties
    : {};
}

/**
 * Turns a validated call into an `events` row: batch context merged under the event's, the time
 * corrected for clock skew (refusing far-future and pre-2000 times), names, ids, promoted context
 * columns, platform, channel, campaign/content/sharer ids and revenue.
 */
export function toEventRow(message: SegmentMessage, env: NormaliseEnv): NormaliseResult {
  const time = eventTime(
    {
      timestamp: message.timestamp,
      originalTimestamp: message.originalTimestamp,
      sentAt: message.sentAt ?? env.batchSentAt,
    },
    env.receivedAt,
  );
  const timeError = checkEventTime(time, env.receivedAt);
  if (timeError) return { ok: false, error: timeError };

  const context = env.batchContext ? safeMerge(env.batchContext, message.context) : message.context;
  const ctx: ContextReader = { context, taken: [] };
  const properties = propertiesOf(message);
  const isPage = message.type === 'page';
  const event = eventName(message);
  const revenue = revenueSourceOf(event, properties);
  const amountError = revenueError(revenue);
  if (amountError) return { ok: false, error: amountError };

  const pageUrl = (isPage ? textAt(properties, 'url') : '') || take(ctx, PAGE_URL);
  const url = parseUrl(pageUrl);
  const pagePath =
    (isPage ? textAt(properties, 'path') : '') ||
    take(ctx, PAGE_PATH) ||
    (url?.absolute ? url.url.pathname : '');
  const referrer =
    (isPage ? textAt(properties, 'referrer') : '') || take(ctx, PAGE_REFERRER) || take(ctx, REFERRER_URL);

  const utm = utmOf(ctx, url);

  const sentPlatform = textAt(context, 'platform') || textAt(properties, 'platform');
  if (sentPlatform !== '' && knownPlatform(sentPlatform)) take(ctx, PLATFORM);
  const userAgent = take(ctx, USER_AGENT);
  const platform = platformOf({
    type: message.type,
    sent: sentPlatform,
    libraryName: textAt(context, 'library', 'name'),
    userAgent,
    hasApp: isPlainObject(context.app),
  });

  const sharerId =
    textAt(properties, 'sharer_id') || urlParameter(url, 'share_from') || urlParameter(url, 'sharer');
  const contextIp = take(ctx, IP);

  const row: EventRow = {
    project_id: env.projectId,
    message_id: message.messageId,
    type: message.type,
    event,
    timestamp: time.ms,
    received_at: env.receivedAt,
    distinct_id: message.userId ?? message.anonymousId ?? '',
    anonymous_id: message.anonymousId ?? '',
    user_id: message.userId ?? '',
    person_id: env.personId ?? '',
    session_id:
      take(ctx, SESSION_ID) || textAt(properties, '$session_id') || textAt(properties, 'session_id'),
    source_id: env.sourceId,
    platform,
    channel: deriveChannel({
      utmSource: utm.utm_source,
      utmMedium: utm.utm_medium,
      referrer,
      pageUrl,
      sharerId,
    }),
    utm_source: utm.utm_source,
    utm_medium: utm.utm_medium,
    utm_campaign: utm.utm_campaign,
    utm_content: utm.utm_content,
    utm_term: utm.utm_term,
    campaign_id: textAt(properties, 'campaign_id') || take(ctx, CAMPAIGN_ID),
    content_id:
      textAt(properties, 'content_id') || textAt(properties, 'video_id') || textAt(properties, 'post_id'),
    sharer_id: sharerId,
    revenue: revenue?.amount ?? 0,
    currency: textAt(properties, 'currency').trim().toUpperCase(),
    ip: contextIp || env.ip,
    user_agent: userAgent,
    locale: take(ctx, LOCALE),
    country: take(ctx, COUNTRY),
    region: take(ctx, REGION),
    city: take(ctx, CITY),
    device_type: take(ctx, DEVICE_TYPE),
    os: take(ctx, OS_NAME),
    browser: browserOf(userAgent),
    app_version: take(ctx, APP_VERSION),
    page_url: pageUrl,
    page_path: pagePath,
    referrer,
    properties: JSON.stringify(storedProperties(message)),
    context: '',
  };
  row.context = JSON.stringify(withoutPaths(context, ctx.taken));
  return { ok: true, row };
}
