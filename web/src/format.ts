import type { Lang } from './i18n';

export type MetricFormat = 'integer' | 'decimal' | 'percent' | 'currency' | 'seconds' | string;

/** A time (UTC ms or ISO text) as the language writes date and time, in a time zone (the browser's if none). */
export function dateTime(at: number | string, lang: Lang, timeZone?: string): string {
  return new Date(at).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-US', { timeZone });
}

/** `YYYY-MM-DD HH:mm:ss` in a time zone: what spreadsheets read as a date and time. */
export function sheetTime(at: number | string, timeZone: string | undefined): string {
  // Swedish writes dates and times this way.
  return new Date(at).toLocaleString('sv-SE', { timeZone });
}

/** The date (YYYY-MM-DD) `daysBack` calendar days before today in a time zone (the browser's if none). */
export function dayInZone(timeZone: string | undefined, daysBack = 0, now = Date.now()): string {
  // en-CA writes dates as YYYY-MM-DD; calendar days are counted on that date, not in hours (DST).
  const today = new Intl.DateTimeFormat('en-CA', { timeZone }).format(now);
  return new Date(Date.parse(`${today}T00:00:00Z`) - daysBack * 86_400_000).toISOString().slice(0, 10);
}

/** A metric value as people read it: 1.2万 / 12.3K, 4.5%, ¥1,234, 35 s; '—' when there is none. */
export function formatValue(
  value: number | null | undefined,
  format: MetricFormat,
  lang: Lang,
  currency = 'CNY',
): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const locale = lang === 'zh' ? 'zh-CN' : 'en-US';
  switch (format) {
    case 'percent':
      return `${(value * 100).toFixed(Math.abs(value) < 0.1 ? 2 : 1)}%`;
    case 'currency':
      return new Intl.NumberFormat(locale, {
        style: 'currency',
        currency,
        notation: Math.abs(value) >= 1e5 ? 'compact' : 'standard',
        maximumFractionDigits: Math.abs(value) >= 1e5 ? 1 : 0,
      }).format(value);
    case 'seconds':
      return `${value.toFixed(1)} ${lang === 'zh' ? '秒' : 's'}`;
    case 'decimal':
      return value.toFixed(2);
    default:
      return new Intl.NumberFormat(locale, {
        notation: Math.abs(value) >= 1e5 ? 'compact' : 'standard',
        maximumFractionDigits: Math.abs(value) >= 1e5 ? 1 : 0,
      }).format(value);
  }
}

export function formatChange(percent: number | null | undefined): string {
  if (percent === null || percent === undefined || !Number.isFinite(percent)) return '—';
  return `${percent >= 0 ? '+' : ''}${percent.toFixed(1)}%`;
}

/** Names of ids in both languages. */
export type Names = Record<string, { en: string; zh: string }>;

/** The name of `id` in the chosen language; an id without one as it is (`fallback` if given). */
export function nameIn(names: Names, id: string, lang: Lang, fallback = id): string {
  return Object.hasOwn(names, id) ? (names[id]?.[lang] ?? fallback) : fallback;
}

const PLATFORM_NAMES: Names = {
  douyin: { en: 'Douyin', zh: '抖音' },
  kuaishou: { en: 'Kuaishou', zh: '快手' },
  xiaohongshu: { en: 'Xiaohongshu', zh: '小红书' },
  wechat_channels: { en: 'WeChat Channels', zh: '视频号' },
  bilibili: { en: 'Bilibili', zh: '哔哩哔哩' },
  weibo: { en: 'Weibo', zh: '微博' },
  baidu: { en: 'Baidu', zh: '百度' },
  web: { en: 'Website', zh: '网站' },
  app: { en: 'App', zh: '应用' },
  wechat_miniprogram: { en: 'WeChat mini-program', zh: '微信小程序' },
  douyin_miniprogram: { en: 'Douyin mini-program', zh: '抖音小程序' },
  server: { en: 'Server', zh: '服务端' },
  other: { en: 'Other', zh: '其他' },
  taobao: { en: 'Taobao', zh: '淘宝' },
  tmall: { en: 'Tmall', zh: '天猫' },
  jd: { en: 'JD', zh: '京东' },
  pinduoduo: { en: 'Pinduoduo', zh: '拼多多' },
  douyin_shop: { en: 'Douyin shop', zh: '抖店' },
  oceanengine: { en: 'Ocean Engine', zh: '巨量引擎' },
  shopify: { en: 'Shopify', zh: 'Shopify' },
};

/** A platform id as people call it in the chosen language; unknown ids as they are. */
export const platformName = (id: string, lang: Lang) => nameIn(PLATFORM_NAMES, id, lang);

/** The server's channel taxonomy (src/collect/segment/normalise.ts CHANNELS), as marketers say it. */
const CHANNEL_NAMES: Names = {
  paid_social: { en: 'Paid social', zh: '付费社交' },
  organic_social: { en: 'Organic social', zh: '自然社交' },
  paid_search: { en: 'Paid search', zh: '付费搜索' },
  organic_search: { en: 'Organic search', zh: '自然搜索' },
  email: { en: 'Email', zh: '邮件' },
  sms: { en: 'SMS', zh: '短信' },
  referral: { en: 'Referral', zh: '外部引荐' },
  direct: { en: 'Direct', zh: '直接访问' },
  kol: { en: 'KOL', zh: '达人（KOL）' },
  share: { en: 'Shared links', zh: '分享' },
  other: { en: 'Other', zh: '其他' },
};

/** A channel id as people call it in the chosen language; unknown ids as they are. */
export const channelName = (id: string, lang: Lang) => nameIn(CHANNEL_NAMES, id, lang);

/** The kinds of distinct id the identity graph keeps (src/identity/resolver.ts IdType). */
const ID_TYPE_NAMES: Names = {
  anonymous: { en: 'Anonymous id', zh: '匿名 ID' },
  user: { en: 'User id', zh: '用户 ID' },
  openid: { en: 'OpenID', zh: 'OpenID' },
  unionid: { en: 'UnionID', zh: 'UnionID' },
  phone_hash: { en: 'Phone (hashed)', zh: '手机号（哈希）' },
  email_hash: { en: 'E-mail (hashed)', zh: '邮箱（哈希）' },
  platform: { en: 'Platform id', zh: '平台 ID' },
};

export const idTypeName = (id: string, lang: Lang) => nameIn(ID_TYPE_NAMES, id, lang);

/** A value of an event column as people read it: platforms and channels by name, others as stored. */
export function valueName(field: string, value: string, lang: Lang): string {
  if (field === 'platform') return platformName(value, lang);
  if (field === 'channel') return channelName(value, lang);
  return value;
}

/** A trait's value as people read it: yes/no, lists joined, platforms by name; objects as JSON. */
export function traitText(key: string, value: unknown, lang: Lang): string {
  if (typeof value === 'string') return key === 'platform' ? platformName(value, lang) : value;
  if (typeof value === 'boolean') return value ? (lang === 'zh' ? '是' : 'Yes') : lang === 'zh' ? '否' : 'No';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) {
    const items = key === 'platforms' ? value.map((v) => platformName(String(v), lang)) : value.map(String);
    return items.join(lang === 'zh' ? '、' : ', ');
  }
  return JSON.stringify(value);
}
