import type { WorldCalendar } from './calendar.js';
import { WEEKDAY_WEIGHTS } from './calendar.js';
import { campaignIntensity } from './campaigns.js';
import {
  CHANNELS,
  type Channel,
  CITIES,
  DEVICES,
  SOCIAL_PLATFORM_INFO,
  SOCIAL_PLATFORMS,
  type SocialPlatform,
} from './catalogue.js';
import { type Language, nickname } from './comment-text.js';
import { ACQUISITION_MIX } from './models.js';
import { type Rng, rngFor } from './prng.js';

/**
 * Who the people are before anything happens: their ids on every platform, where they live, how
 * active they are and the latent traits that drive churn. Each person has their own random stream,
 * so person 17 is the same person whatever the scale.
 */

export interface PersonProfile {
  index: number;
  personId: string;
  language: Language;
  city: number;
  device: number;
  nickname: string;
  /** Social platforms the person uses, main one first (0–3). */
  socialPlatforms: SocialPlatform[];
  /** The person's user id on each social platform they use. */
  platformIds: Partial<Record<SocialPlatform, string>>;
  wechatUnionId: string;
  webAnonymousId: string;
  appAnonymousId: string;
  appUser: boolean;
  userId: string;
  phoneHash: string;
  /** Known before the window: returning from the start, possibly signed up already. */
  existing: boolean;
  signedUpBefore: boolean;
  willSignUp: boolean;
  emailOptIn: boolean;
  smsOptIn: boolean;
  firstDay: number;
  acquisitionChannel: Channel;
  /** Baseline sessions per day. */
  activity: number;
  /** Watches videos to the end more (>1) or less (<1) than typical. */
  completionFactor: number;
  /** Rarely finishes a video: every completion below the churn model's threshold. */
  lowWatcher: boolean;
  negativeCommenter: boolean;
  /** One of the anomalous day's one-visit visitors. */
  spikeVisitor: boolean;
}

const EXISTING_SHARE = 0.3;

/** Weights of the first 15 cities (in China) and of the devices, built once rather than per person. */
const CHINA_CITY_WEIGHTS = CITIES.slice(0, 15).map((c) => c.weight);
const DEVICE_WEIGHTS = DEVICES.map((d) => d.weight);
/** The anomalous day's visitors come on the first five devices (phones). */
const SPIKE_DEVICE_WEIGHTS = DEVICE_WEIGHTS.slice(0, 5);

/** Draws person `index` of the world. */
export function drawPerson(
  seed: number,
  index: number,
  acquisitionDayWeights: readonly number[],
): PersonProfile {
  const rng = rngFor(seed, 'person', index);
  const language: Language = rng.chance(0.05) ? 'en' : 'zh';
  const socialPlatforms = drawSocialPlatforms(rng);
  const platformIds: Partial<Record<SocialPlatform, string>> = {};
  for (const platform of socialPlatforms) platformIds[platform] = platformIdFor(rng, platform, index);
  const existing = rng.chance(EXISTING_SHARE);
  const signedUpBefore = existing && rng.chance(0.55);
  const hasSocial = socialPlatforms.length > 0;
  return {
    index,
    personId: `prs_${rng.hex(6)}${index.toString(36)}`,
    language,
    city: language === 'en' ? 15 + rng.int(4) : rng.weighted(CHINA_CITY_WEIGHTS),
    device: rng.weighted(DEVICE_WEIGHTS),
    nickname: nickname(rng, language),
    socialPlatforms,
    platformIds,
    wechatUnionId: socialPlatforms.includes('wechat_channels') ? `oU${rng.hex(26)}` : '',
    webAnonymousId: uuid(rng),
    appAnonymousId: uuid(rng).toUpperCase(),
    appUser: rng.chance(0.3),
    userId: `u_${1_000_000 + index}`,
    phoneHash: rng.hex(64),
    existing,
    signedUpBefore,
    willSignUp: signedUpBefore || rng.chance(0.5),
    emailOptIn: rng.chance(0.7),
    smsOptIn: rng.chance(0.5),
    firstDay: existing ? 0 : rng.weighted(acquisitionDayWeights),
    acquisitionChannel: existing ? 'direct' : drawAcquisitionChannel(rng, hasSocial),
    activity: Math.min(1.5, rng.logNormal(0.27, 0.75)),
    completionFactor: rng.logNormal(1, 0.15),
    lowWatcher: hasSocial && rng.chance(0.25),
    negativeCommenter: hasSocial && rng.chance(0.12),
    spikeVisitor: false,
  };
}

/** A visitor of the anomalous day: one anonymous web visit from the viral Weibo video. */
export function drawSpikeVisitor(seed: number, index: number, viralDay: number): PersonProfile {
  const rng = rngFor(seed, 'spike-visitor', index);
  return {
    index,
    personId: `prs_${rng.hex(6)}${index.toString(36)}`,
    language: 'zh',
    city: rng.weighted(CHINA_CITY_WEIGHTS),
    device: rng.weighted(SPIKE_DEVICE_WEIGHTS),
    nickname: nickname(rng, 'zh'),
    socialPlatforms: [],
    platformIds: {},
    wechatUnionId: '',
    webAnonymousId: uuid(rng),
    appAnonymousId: '',
    appUser: false,
    userId: `u_${1_000_000 + index}`,
    phoneHash: '',
    existing: false,
    signedUpBefore: false,
    willSignUp: false,
    emailOptIn: false,
    smsOptIn: false,
    firstDay: viralDay,
    acquisitionChannel: 'organic_social',
    activity: 0,
    completionFactor: 1,
    lowWatcher: false,
    negativeCommenter: false,
    spikeVisitor: true,
  };
}

/** Weights for the day a new person first shows up: busier on weekends and during campaigns. */
export function acquisitionDayWeights(calendar: WorldCalendar): number[] {
  return calendar.days.map(
    (day) => WEEKDAY_WEIGHTS[day.weekday]! * campaignIntensity(day.index, calendar.days.length),
  );
}

function drawSocialPlatforms(rng: Rng): SocialPlatform[] {
  // A quarter of the people are web/app only; the rest have a main platform and sometimes more.
  if (rng.chance(0.25)) return [];
  const popularity = SOCIAL_PLATFORMS.map((p) => SOCIAL_PLATFORM_INFO[p].popularity);
  const platforms = [SOCIAL_PLATFORMS[rng.weighted(popularity)]!];
  const extra = rng.chance(0.3) ? (rng.chance(0.3) ? 2 : 1) : 0;
  while (platforms.length < 1 + extra) {
    const next = SOCIAL_PLATFORMS[rng.weighted(popularity)]!;
    if (!platforms.includes(next)) platforms.push(next);
  }
  return platforms;
}

function drawAcquisitionChannel(rng: Rng, hasSocial: boolean): Channel {
  const weights = CHANNELS.map((channel) => {
    const base = ACQUISITION_MIX[channel];
    // People without social accounts mostly find the shop through search, links and friends.
    if (!hasSocial && (channel === 'organic_social' || channel === 'kol' || channel === 'paid_social'))
      return base * 0.3;
    return base;
  });
  return CHANNELS[rng.weighted(weights)]!;
}

function platformIdFor(rng: Rng, platform: SocialPlatform, index: number): string {
  switch (platform) {
    case 'douyin':
      return `_000${rng.hex(28)}`;
    case 'kuaishou':
      return `f${rng.hex(31)}`;
    case 'xiaohongshu':
      return rng.hex(24);
    case 'wechat_channels':
      return `o${rng.hex(27)}`;
    // Numeric ids: the index keeps them unique, the random part keeps them from looking sequential.
    case 'bilibili':
      return String(100_000_000 + index * 97 + rng.int(97));
    case 'weibo':
      return String(5_000_000_000 + index * 89 + rng.int(89));
  }
}

function uuid(rng: Rng): string {
  const h = rng.hex(32);
  const variant = '89ab'[rng.int(4)]!;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The traits an app or site sends with `identify` for this person (JSON), with `extra` added. */
export function identifyTraits(person: PersonProfile, extra: Record<string, string> = {}): string {
  return JSON.stringify({
    nickname: person.nickname,
    language: person.language,
    city: CITIES[person.city]!.city,
    ...extra,
  });
}
