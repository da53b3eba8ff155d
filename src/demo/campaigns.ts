import type { SocialPlatform } from './catalogue.js';

/**
 * The brand's marketing calendar: paid campaigns with budgets per ad platform, KOL collaborations,
 * and CRM sends. Dates are fractions of the world's window so that any `days` option works.
 */

export type AdPlatform = SocialPlatform | 'baidu';

export interface PaidCampaign {
  id: string;
  /** utm_campaign */
  slug: string;
  name: string;
  startFraction: number;
  endFraction: number;
  /** Daily budget in CNY at scale 1, per ad platform. */
  dailyBudget: Partial<Record<AdPlatform, number>>;
  /** Search keywords (utm_term) when the campaign runs on Baidu. */
  keywords: string[];
}

export const PAID_CAMPAIGNS: readonly PaidCampaign[] = [
  {
    id: 'cmp_spring_new_tea',
    slug: 'spring_new_tea',
    name: '春茶上新 Spring new tea',
    startFraction: 0,
    endFraction: 0.38,
    dailyBudget: { douyin: 6000, xiaohongshu: 4000, wechat_channels: 2500, baidu: 1500 },
    keywords: ['明前龙井', '春茶'],
  },
  {
    id: 'cmp_always_on',
    slug: 'brand_always_on',
    name: '品牌常投 Always-on brand',
    startFraction: 0,
    endFraction: 1,
    dailyBudget: { douyin: 3000, kuaishou: 2000, weibo: 1200, baidu: 1000 },
    keywords: ['山茶集', '茶叶品牌'],
  },
  {
    id: 'cmp_cold_brew_summer',
    slug: 'cold_brew_summer',
    name: '冷泡茶夏日 Cold brew summer',
    startFraction: 0.45,
    endFraction: 1,
    dailyBudget: { douyin: 5000, kuaishou: 2500, bilibili: 1800, xiaohongshu: 3000 },
    keywords: ['冷泡茶', '夏天喝什么茶'],
  },
  {
    id: 'cmp_mid_year_sale',
    slug: 'mid_year_sale',
    name: '年中大促 Mid-year sale',
    startFraction: 0.62,
    endFraction: 0.87,
    dailyBudget: {
      douyin: 12000,
      kuaishou: 5000,
      xiaohongshu: 6000,
      wechat_channels: 4000,
      bilibili: 2500,
      weibo: 3000,
      baidu: 3000,
    },
    keywords: ['茶叶优惠', '年中茶叶'],
  },
];

export interface KolCollaboration {
  id: string;
  slug: string;
  name: string;
  platform: SocialPlatform;
  /** When the KOL's post goes out, as a fraction of the window; it keeps bringing visits for ~2 weeks. */
  postFraction: number;
  /** Relative reach. */
  reach: number;
}

export const KOL_COLLABORATIONS: readonly KolCollaboration[] = [
  {
    id: 'cmp_kol_chayi_xiaomei',
    slug: 'kol_chayi_xiaomei',
    name: '茶艺小美',
    platform: 'xiaohongshu',
    postFraction: 0.05,
    reach: 1,
  },
  {
    id: 'cmp_kol_laozhang',
    slug: 'kol_laozhang_pincha',
    name: '老张品茶',
    platform: 'douyin',
    postFraction: 0.18,
    reach: 1.6,
  },
  {
    id: 'cmp_kol_tea_uncle',
    slug: 'kol_tea_uncle',
    name: 'Tea Uncle 茶叔',
    platform: 'bilibili',
    postFraction: 0.33,
    reach: 0.8,
  },
  {
    id: 'cmp_kol_foodie_ning',
    slug: 'kol_foodie_ning',
    name: '吃货宁宁',
    platform: 'weibo',
    postFraction: 0.48,
    reach: 0.7,
  },
  {
    id: 'cmp_kol_summer_vlog',
    slug: 'kol_summer_vlog',
    name: '夏天Vlog阿杰',
    platform: 'douyin',
    postFraction: 0.6,
    reach: 1.4,
  },
  {
    id: 'cmp_kol_lifestyle_lin',
    slug: 'kol_lifestyle_lin',
    name: '林林生活志',
    platform: 'xiaohongshu',
    postFraction: 0.7,
    reach: 1.2,
  },
  {
    id: 'cmp_kol_kuaishou_dage',
    slug: 'kol_chaye_dage',
    name: '茶叶大哥',
    platform: 'kuaishou',
    postFraction: 0.78,
    reach: 1,
  },
];

/** How long a KOL post keeps bringing visits, in days. */
export const KOL_ACTIVE_DAYS = 16;

export interface CrmCampaign {
  id: string;
  slug: string;
  medium: 'email' | 'sms';
  startFraction: number;
  endFraction: number;
}

export const CRM_CAMPAIGNS: readonly CrmCampaign[] = [
  { id: 'cmp_weekly_tea_notes', slug: 'weekly_tea_notes', medium: 'email', startFraction: 0, endFraction: 1 },
  { id: 'cmp_mid_year_sale', slug: 'mid_year_sale', medium: 'email', startFraction: 0.62, endFraction: 0.87 },
  { id: 'cmp_member_day', slug: 'member_day', medium: 'sms', startFraction: 0, endFraction: 1 },
  { id: 'cmp_mid_year_sale', slug: 'mid_year_sale', medium: 'sms', startFraction: 0.62, endFraction: 0.87 },
];

/** Day index range [first, last] of a fraction range in a window of `days` days. */
export function dayRange(startFraction: number, endFraction: number, days: number): [number, number] {
  const first = Math.min(days - 1, Math.floor(startFraction * days));
  const last = Math.max(first, Math.min(days - 1, Math.ceil(endFraction * days) - 1));
  return [first, last];
}

/**
 * How busy the world is on a day relative to normal: campaigns bring people in. Used for both
 * acquisition and return visits, so sales show up in every metric.
 */
export function campaignIntensity(day: number, days: number): number {
  let intensity = 1;
  const [saleFirst, saleLast] = dayRange(0.62, 0.87, days);
  if (day >= saleFirst && day <= saleLast) intensity += 0.35;
  // The sale's last three days are its peak (the "618" rush).
  if (day >= saleLast - 2 && day <= saleLast) intensity += 0.45;
  const [springFirst, springLast] = dayRange(0, 0.38, days);
  if (day >= springFirst && day <= springLast) intensity += 0.1;
  return intensity;
}
