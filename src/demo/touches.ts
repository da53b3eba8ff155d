import type { AdSpendPlan } from './ads.js';
import { CRM_CAMPAIGNS, dayRange, KOL_ACTIVE_DAYS, KOL_COLLABORATIONS, PAID_CAMPAIGNS } from './campaigns.js';
import type { Channel, SocialPlatform } from './catalogue.js';
import { SOCIAL_PLATFORM_INFO, SOCIAL_PLATFORMS } from './catalogue.js';
import type { Rng } from './prng.js';

/**
 * A touch is one way a visit can arrive: a channel with its UTM parameters and campaign. Every
 * session points at one touch; index 0 is the direct visit with no UTM at all.
 */
export interface Touch {
  channel: Channel;
  utmSource: string;
  utmMedium: string;
  utmCampaign: string;
  utmContent: string;
  utmTerm: string;
  campaignId: string;
  referrer: string;
  /** The social platform the visitor saw the touch on, if any. */
  sourcePlatform: SocialPlatform | undefined;
  /** Relative weight of the touch on each day; 0 = not running. */
  weightByDay: Float64Array;
}

export interface TouchCatalogue {
  touches: Touch[];
  /** Index of the touch that brings the anomalous day's burst of visitors (never picked at random). */
  viralTouch: number;
  /** Touch indices per channel. */
  byChannel: Map<Channel, number[]>;
}

const REFERRERS_BY_SOURCE: Record<string, string> = {
  douyin: 'https://www.douyin.com/',
  kuaishou: 'https://www.kuaishou.com/',
  xiaohongshu: 'https://www.xiaohongshu.com/',
  wechat_channels: 'https://channels.weixin.qq.com/',
  bilibili: 'https://www.bilibili.com/',
  weibo: 'https://weibo.com/',
  baidu: 'https://www.baidu.com/',
  zhihu: 'https://zhuanlan.zhihu.com/',
  smzdm: 'https://www.smzdm.com/',
  douban: 'https://www.douban.com/',
  dianping: 'https://www.dianping.com/',
  wechat: 'https://servicewechat.com/',
};

/** Builds every touch of the world and when each one runs. */
export function buildTouches(days: number, adSpend: AdSpendPlan): TouchCatalogue {
  const touches: Touch[] = [];
  const constant = (weight: number, first = 0, last = days - 1): Float64Array => {
    const w = new Float64Array(days);
    for (let d = first; d <= last; d++) w[d] = weight;
    return w;
  };
  const add = (touch: Omit<Touch, 'utmContent' | 'utmTerm' | 'referrer'> & Partial<Touch>): number => {
    touches.push({
      utmContent: '',
      utmTerm: '',
      referrer: REFERRERS_BY_SOURCE[touch.utmSource] ?? '',
      ...touch,
    });
    return touches.length - 1;
  };

  add({
    channel: 'direct',
    utmSource: '',
    utmMedium: '',
    utmCampaign: '',
    campaignId: '',
    sourcePlatform: undefined,
    weightByDay: constant(1),
  });

  for (const campaign of PAID_CAMPAIGNS) {
    for (const platform of Object.keys(campaign.dailyBudget)) {
      const spend = adSpend.dailySpend.get(`${campaign.id}|${platform}`) ?? new Float64Array(days);
      if (platform === 'baidu') {
        // One touch per keyword: paid search carries the search term.
        for (const keyword of campaign.keywords) {
          const half = spend.map((s) => s / campaign.keywords.length);
          add({
            channel: 'paid_search',
            utmSource: 'baidu',
            utmMedium: 'cpc',
            utmCampaign: campaign.slug,
            utmTerm: keyword,
            campaignId: campaign.id,
            sourcePlatform: undefined,
            weightByDay: half,
          });
        }
      } else {
        add({
          channel: 'paid_social',
          utmSource: platform,
          utmMedium: 'cpc',
          utmCampaign: campaign.slug,
          utmContent: `${platform}_feed`,
          campaignId: campaign.id,
          sourcePlatform: platform as SocialPlatform,
          weightByDay: spend,
        });
      }
    }
  }

  for (const kol of KOL_COLLABORATIONS) {
    const w = new Float64Array(days);
    const [postDay] = dayRange(kol.postFraction, kol.postFraction, days);
    // A KOL post brings a burst of visits that fades over about two weeks.
    for (let d = postDay; d < Math.min(days, postDay + KOL_ACTIVE_DAYS); d++)
      w[d] = kol.reach * Math.exp(-(d - postDay) / 5);
    add({
      channel: 'kol',
      utmSource: kol.platform,
      utmMedium: 'kol',
      utmCampaign: kol.slug,
      utmContent: kol.name,
      campaignId: kol.id,
      sourcePlatform: kol.platform,
      weightByDay: w,
    });
  }

  for (const platform of SOCIAL_PLATFORMS) {
    add({
      channel: 'organic_social',
      utmSource: platform,
      utmMedium: 'social',
      utmCampaign: 'brand_account',
      campaignId: '',
      sourcePlatform: platform,
      weightByDay: constant(SOCIAL_PLATFORM_INFO[platform].popularity),
    });
  }
  const viralTouch = add({
    channel: 'organic_social',
    utmSource: 'weibo',
    utmMedium: 'social',
    utmCampaign: 'cold_brew_viral',
    campaignId: '',
    sourcePlatform: 'weibo',
    weightByDay: new Float64Array(days),
  });

  for (const crm of CRM_CAMPAIGNS) {
    const [first, last] = dayRange(crm.startFraction, crm.endFraction, days);
    const weight = crm.slug === 'mid_year_sale' ? 1.5 : 1;
    const source = crm.medium === 'email' ? 'newsletter' : 'sms';
    add({
      channel: crm.medium,
      utmSource: source,
      utmMedium: crm.medium,
      utmCampaign: crm.slug,
      campaignId: crm.id,
      sourcePlatform: undefined,
      weightByDay: constant(weight, first, last),
    });
  }

  const referrals: [string, number][] = [
    ['zhihu', 1],
    ['smzdm', 0.8],
    ['douban', 0.4],
    ['dianping', 0.3],
  ];
  for (const [source, weight] of referrals) {
    add({
      channel: 'referral',
      utmSource: source,
      utmMedium: 'referral',
      utmCampaign: '',
      campaignId: '',
      sourcePlatform: undefined,
      weightByDay: constant(weight),
    });
  }
  add({
    channel: 'share',
    utmSource: 'wechat',
    utmMedium: 'share',
    utmCampaign: 'friend_share',
    campaignId: '',
    sourcePlatform: undefined,
    weightByDay: constant(1),
  });
  add({
    channel: 'share',
    utmSource: 'douyin',
    utmMedium: 'share',
    utmCampaign: 'friend_share',
    campaignId: '',
    sourcePlatform: 'douyin',
    weightByDay: constant(0.5),
  });

  const byChannel = new Map<Channel, number[]>();
  touches.forEach((touch, index) => {
    const list = byChannel.get(touch.channel) ?? [];
    list.push(index);
    byChannel.set(touch.channel, list);
  });
  return { touches, viralTouch, byChannel };
}

/**
 * Picks a touch of `channel` running on `day`, preferring touches seen on one of the person's
 * platforms (an ad on Douyin reaches Douyin users). Falls back to any running touch of the
 * channel, then to direct.
 */
export function pickTouch(
  rng: Rng,
  catalogue: TouchCatalogue,
  channel: Channel,
  day: number,
  personPlatforms: readonly SocialPlatform[],
): number {
  const candidates = catalogue.byChannel.get(channel) ?? [];
  let preferredTotal = 0;
  let anyTotal = 0;
  for (const index of candidates) {
    const touch = catalogue.touches[index]!;
    const weight = touch.weightByDay[day]!;
    anyTotal += weight;
    if (touch.sourcePlatform === undefined || personPlatforms.includes(touch.sourcePlatform))
      preferredTotal += weight;
  }
  if (anyTotal <= 0) return 0;
  const usePreferred = preferredTotal > 0;
  let r = rng.next() * (usePreferred ? preferredTotal : anyTotal);
  for (const index of candidates) {
    const touch = catalogue.touches[index]!;
    if (usePreferred && touch.sourcePlatform !== undefined && !personPlatforms.includes(touch.sourcePlatform))
      continue;
    r -= touch.weightByDay[day]!;
    if (r < 0) return index;
  }
  return candidates[candidates.length - 1]!;
}

/** True when some touch of the channel runs on the day. */
export function channelRunsOn(catalogue: TouchCatalogue, channel: Channel, day: number): boolean {
  for (const index of catalogue.byChannel.get(channel) ?? []) {
    if (catalogue.touches[index]!.weightByDay[day]! > 0) return true;
  }
  return false;
}
