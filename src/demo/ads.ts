import type { WorldCalendar } from './calendar.js';
import { DAY_MS, WEEKDAY_WEIGHTS } from './calendar.js';
import { type AdPlatform, dayRange, PAID_CAMPAIGNS } from './campaigns.js';
import { BRAND } from './catalogue.js';
import { type Rng, rngFor } from './prng.js';

/**
 * Ad spend per day × platform × campaign × ad group × creative, in CNY. Platform-reported
 * conversions follow a diminishing-returns curve, conversions = k · spend^α with α < 1, so the
 * tenth thousand yuan buys fewer conversions than the first (what budget allocation must find).
 */

export interface ResponseCurve {
  platform: AdPlatform;
  /** Elasticity: doubling spend multiplies conversions by 2^α. */
  alpha: number;
  /** Conversions at a spend of 1 CNY. */
  k: number;
  /** Cost per thousand impressions range, CNY. */
  cpm: [number, number];
  /** Click-through rate range. */
  ctr: [number, number];
}

export const RESPONSE_CURVES: Record<AdPlatform, ResponseCurve> = {
  douyin: { platform: 'douyin', alpha: 0.72, k: 0.09, cpm: [28, 45], ctr: [0.008, 0.02] },
  kuaishou: { platform: 'kuaishou', alpha: 0.68, k: 0.1, cpm: [18, 32], ctr: [0.007, 0.018] },
  xiaohongshu: { platform: 'xiaohongshu', alpha: 0.6, k: 0.2, cpm: [45, 80], ctr: [0.012, 0.03] },
  wechat_channels: { platform: 'wechat_channels', alpha: 0.65, k: 0.12, cpm: [30, 55], ctr: [0.006, 0.015] },
  bilibili: { platform: 'bilibili', alpha: 0.58, k: 0.16, cpm: [22, 40], ctr: [0.01, 0.025] },
  weibo: { platform: 'weibo', alpha: 0.55, k: 0.12, cpm: [10, 22], ctr: [0.004, 0.012] },
  baidu: { platform: 'baidu', alpha: 0.75, k: 0.07, cpm: [60, 110], ctr: [0.03, 0.07] },
};

/**
 * Share of the campaign budgets the demo brand actually spends. Spend does not grow with `scale`:
 * the ad platforms' audience is not the tracked persons, and small worlds keep enough conversions
 * for the response curves to show.
 */
const BUDGET_FACTOR = 0.3;
const AVERAGE_ORDER_VALUE_CNY = 175;

const AD_GROUPS = [
  { key: 'lookalike_buyers', name: '相似人群-购买用户 Lookalike buyers', weight: 0.45 },
  { key: 'interest_tea', name: '兴趣人群-茶饮 Tea interest', weight: 0.35 },
  { key: 'retargeting_cart', name: '再营销-加购未买 Cart retargeting', weight: 0.2 },
] as const;

const CREATIVE_NAMES = [
  '开箱视频 Unboxing',
  '冲泡教程 How to brew',
  '达人口播 Creator talk',
  '产地实拍 Tea garden',
];

export interface AdSpendPlan {
  rows: string[];
  /** Spend per day for each `${campaignId}|${platform}`: weights for where paid visits come from. */
  dailySpend: Map<string, Float64Array>;
  totalSpend: number;
}

/** Plans every ad spend row of the world as JSONEachRow lines. */
export function planAdSpend(calendar: WorldCalendar, projectId: string, seed: number): AdSpendPlan {
  const days = calendar.days.length;
  const rows: string[] = [];
  const dailySpend = new Map<string, Float64Array>();
  let totalSpend = 0;
  for (const campaign of PAID_CAMPAIGNS) {
    const [first, last] = dayRange(campaign.startFraction, campaign.endFraction, days);
    for (const [platform, budget] of Object.entries(campaign.dailyBudget) as [AdPlatform, number][]) {
      const rng = rngFor(seed, `ads:${campaign.id}:${platform}`);
      const curve = RESPONSE_CURVES[platform];
      const spendByDay = new Float64Array(days);
      dailySpend.set(`${campaign.id}|${platform}`, spendByDay);
      const creatives = planCreatives(rng, campaign.id, platform);
      for (let day = first; day <= last; day++) {
        const calendarDay = calendar.days[day]!;
        // Budgets pace with the weekday rhythm and wobble a little from day to day.
        const dayBudget =
          budget * BUDGET_FACTOR * WEEKDAY_WEIGHTS[calendarDay.weekday]! * rng.logNormal(1, 0.12);
        for (const creative of creatives) {
          const spend = round2(dayBudget * creative.share * rng.logNormal(1, 0.1));
          if (spend <= 0) continue;
          spendByDay[day] = spendByDay[day]! + spend;
          totalSpend += spend;
          rows.push(
            adSpendRow(
              rng,
              projectId,
              calendarDay.date,
              calendarDay.startMs,
              campaign,
              platform,
              creative,
              spend,
              curve,
            ),
          );
        }
      }
    }
  }
  return { rows, dailySpend, totalSpend: round2(totalSpend) };
}

interface Creative {
  adGroupId: string;
  adGroupName: string;
  creativeId: string;
  creativeName: string;
  /** Share of the campaign-platform budget. */
  share: number;
  /** Relative appeal: better creatives get more clicks and conversions per yuan. */
  quality: number;
}

function planCreatives(rng: Rng, campaignId: string, platform: AdPlatform): Creative[] {
  const creatives: Creative[] = [];
  const groups = platform === 'baidu' ? AD_GROUPS.slice(0, 2) : AD_GROUPS;
  let groupWeight = 0;
  for (const group of groups) groupWeight += group.weight;
  for (const group of groups) {
    const count = rng.between(2, 3);
    const weights = Array.from({ length: count }, () => rng.uniform(0.5, 1.5));
    const weightSum = weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < count; i++) {
      const name = CREATIVE_NAMES[(i + rng.int(CREATIVE_NAMES.length)) % CREATIVE_NAMES.length]!;
      creatives.push({
        adGroupId: `ag_${campaignId.slice(4)}_${platform}_${group.key}`,
        adGroupName: group.name,
        creativeId: `cr_${rng.hex(10)}`,
        creativeName: `${name} ${String.fromCharCode(65 + i)}`,
        share: (group.weight / groupWeight) * (weights[i]! / weightSum),
        quality: rng.logNormal(1, 0.2),
      });
    }
  }
  return creatives;
}

function adSpendRow(
  rng: Rng,
  projectId: string,
  date: string,
  dayStartMs: number,
  campaign: { id: string; name: string },
  platform: AdPlatform,
  creative: Creative,
  spend: number,
  curve: ResponseCurve,
): string {
  const cpm = rng.uniform(curve.cpm[0], curve.cpm[1]);
  const impressions = Math.round((spend / cpm) * 1000);
  const ctr = Math.min(0.2, rng.uniform(curve.ctr[0], curve.ctr[1]) * Math.sqrt(creative.quality));
  const clicks = Math.min(impressions, Math.round(impressions * ctr));
  // Diminishing returns: expected conversions = k · spend^α (per row), times creative appeal.
  const expected = curve.k * spend ** curve.alpha * creative.quality;
  const conversions = Math.min(clicks, rng.poisson(expected));
  const revenue = round2(conversions * AVERAGE_ORDER_VALUE_CNY * rng.logNormal(1, 0.1));
  // Platforms report the day's numbers the next morning.
  const updatedAt = dayStartMs + DAY_MS + 6 * 3600_000;
  return JSON.stringify({
    project_id: projectId,
    date,
    platform,
    account_id: `adv_${platform}_camellia`,
    campaign_id: campaign.id,
    campaign_name: campaign.name,
    ad_group_id: creative.adGroupId,
    ad_group_name: creative.adGroupName,
    creative_id: creative.creativeId,
    creative_name: creative.creativeName,
    channel: platform === 'baidu' ? 'paid_search' : 'paid_social',
    impressions,
    clicks,
    spend,
    currency: BRAND.currency,
    conversions,
    conversion_revenue: revenue,
    source_id: `src_ads_${platform}`,
    updated_at: updatedAt,
  });
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
