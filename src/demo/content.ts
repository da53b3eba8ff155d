import type { WorldCalendar } from './calendar.js';
import { DAY_MS, sampleTimeOfDayMs } from './calendar.js';
import { PRODUCTS, SOCIAL_PLATFORM_INFO, SOCIAL_PLATFORMS, type SocialPlatform } from './catalogue.js';
import { type Rng, rngFor } from './prng.js';

/**
 * The brand's posts and videos on each platform. Lifetime plays follow a power law (Pareto), so a
 * few posts take most of the views; daily plays decay after publishing; completion falls with
 * video length by a fixed formula (`completionForDuration`), which the ground truth records.
 */

export const COMPLETION_MODEL = {
  floor: 0.1,
  amplitude: 0.8,
  tauSeconds: 75,
  formula:
    'completion_rate = 0.1 + 0.8 * exp(-duration_seconds / 75), times a per-post factor ~ logNormal(1, 0.12), clamped to [0.02, 0.98]',
} as const;

export const PLAYS_MODEL = {
  paretoAlpha: 1.25,
  formula:
    'lifetime plays ~ Pareto(xMin = platform minimum, alpha = 1.25); daily plays decay as exp(-days since publish / tau), tau ~ logNormal(2.5 days, 0.5)',
} as const;

/** Expected completion rate of a video of this length (before per-post noise). */
export function completionForDuration(durationSeconds: number): number {
  return (
    COMPLETION_MODEL.floor +
    COMPLETION_MODEL.amplitude * Math.exp(-durationSeconds / COMPLETION_MODEL.tauSeconds)
  );
}

const MIN_PLAYS: Record<SocialPlatform, number> = {
  douyin: 1500,
  kuaishou: 1000,
  xiaohongshu: 600,
  wechat_channels: 800,
  bilibili: 1200,
  weibo: 500,
};

/** Posts published this many days before the window still collect plays in it. */
const DAYS_BEFORE_WINDOW = 21;

export interface Post {
  index: number;
  contentId: string;
  platform: SocialPlatform;
  accountId: string;
  contentType: 'video' | 'image_post';
  title: string;
  tags: string[];
  publishedAtMs: number;
  /** Day index of publishing; negative before the window. */
  publishDay: number;
  durationSeconds: number;
  completionRate: number;
  /** Expected plays on each window day. */
  dailyPlays: Float64Array;
  likeRate: number;
  commentRate: number;
  shareRate: number;
  favouriteRate: number;
  followRate: number;
  playRate: number;
}

interface DayTable {
  posts: number[];
  cumulative: Float64Array;
}

export interface ContentWorld {
  posts: Post[];
  /** The Weibo video that goes viral on the anomalous day. */
  viralPost: number;
  /** Per platform, per day: posts with plays that day, for picking what a visitor watches. */
  tables: Record<SocialPlatform, DayTable[]>;
}

const TITLES = [
  '{p}怎么泡才好喝？三个小技巧',
  '一分钟学会冷泡{p}',
  '打工人的下午茶｜{p}',
  '开箱：{p}到底值不值？',
  '茶山探访：春茶采摘的一天',
  '{p}和奶茶比，热量差多少？',
  '办公室养生茶推荐',
  '跟着茶艺师学用盖碗',
  '夏天就要冷泡茶！',
  '送长辈的礼盒怎么选',
  'Tea tasting: {p}',
  '第一次喝{p}的反应',
];
const TAGS = ['#茶', '#喝茶', '#冷泡茶', '#下午茶', '#国货', '#茶艺', '#春茶', '#礼物推荐', '#tea'];

/** Plans every post of the world (before and during the window) with its daily play curve. */
export function planContent(calendar: WorldCalendar, seed: number, viralDay: number): ContentWorld {
  const days = calendar.days.length;
  const posts: Post[] = [];
  for (const platform of SOCIAL_PLATFORMS) {
    const info = SOCIAL_PLATFORM_INFO[platform];
    for (const account of info.accounts) {
      const rng = rngFor(seed, `content:${platform}:${account}`);
      for (let day = -DAYS_BEFORE_WINDOW; day < days; day++) {
        const count = rng.poisson(info.postsPerWeek / 7);
        for (let k = 0; k < count; k++)
          posts.push(planPost(rng, calendar, platform, account, day, posts.length));
      }
    }
  }
  const viralRng = rngFor(seed, 'content:viral');
  const viral = planPost(viralRng, calendar, 'weibo', 'camellia_official', viralDay, posts.length);
  makeViral(viral, calendar, viralDay);
  posts.push(viral);
  return { posts, viralPost: viral.index, tables: buildTables(posts, days) };
}

function planPost(
  rng: Rng,
  calendar: WorldCalendar,
  platform: SocialPlatform,
  account: string,
  day: number,
  index: number,
): Post {
  const info = SOCIAL_PLATFORM_INFO[platform];
  const days = calendar.days.length;
  const isImage = rng.chance(info.imagePostShare);
  // Log-uniform lengths: many short clips, a few long ones.
  const [minSeconds, maxSeconds] = info.videoSeconds;
  const durationSeconds = isImage ? 0 : Math.round(minSeconds * (maxSeconds / minSeconds) ** rng.next());
  const completionRate = isImage
    ? 0
    : clamp(completionForDuration(durationSeconds) * rng.logNormal(1, 0.12), 0.02, 0.98);
  const lifetimePlays = Math.min(3_000_000, rng.pareto(MIN_PLAYS[platform], PLAYS_MODEL.paretoAlpha));
  const decayDays = rng.logNormal(2.5, 0.5);
  const dailyPlays = new Float64Array(days);
  for (let d = Math.max(0, day); d < days; d++) {
    const age = d - day;
    // 90% of plays decay exponentially after publishing; 10% trickle in from search for ~60 days.
    const burst = Math.exp(-age / decayDays) * (1 - Math.exp(-1 / decayDays));
    dailyPlays[d] = lifetimePlays * (0.9 * burst + (age < 60 ? 0.1 / 60 : 0));
  }
  const firstDayStart = calendar.startMs + day * DAY_MS;
  const weekday = (((calendar.days[0]!.weekday + day) % 7) + 7) % 7;
  const product = PRODUCTS[rng.int(PRODUCTS.length)]!;
  const likeRate = rng.logNormal(0.035, 0.35);
  return {
    index,
    contentId: contentIdFor(rng, platform),
    platform,
    accountId: `${platform}_${account}`,
    contentType: isImage ? 'image_post' : 'video',
    title: rng.pick(TITLES).replace('{p}', product.nameZh),
    tags: [rng.pick(TAGS), rng.pick(TAGS)].filter((tag, i, all) => all.indexOf(tag) === i),
    publishedAtMs: firstDayStart + sampleTimeOfDayMs(rng, weekday),
    publishDay: day,
    durationSeconds,
    completionRate,
    dailyPlays,
    likeRate,
    commentRate: likeRate * rng.logNormal(0.1, 0.3),
    shareRate: likeRate * rng.logNormal(0.12, 0.3),
    favouriteRate: likeRate * rng.logNormal(0.25, 0.3),
    followRate: rng.logNormal(0.0025, 0.4),
    playRate: rng.uniform(0.3, 0.55),
  };
}

/** The anomaly's source: a cold-brew video that takes off on Weibo on one day. */
function makeViral(post: Post, calendar: WorldCalendar, viralDay: number): void {
  post.contentType = 'video';
  post.durationSeconds = 38;
  post.completionRate = clamp(completionForDuration(38), 0.02, 0.98);
  post.title = '三块钱做出网红冷泡茶，比奶茶好喝！';
  post.tags = ['#冷泡茶', '#夏日饮品'];
  post.publishedAtMs = calendar.startMs + viralDay * DAY_MS + 11 * 3600_000;
  post.dailyPlays.fill(0);
  const days = calendar.days.length;
  const curve = [1_600_000, 260_000, 60_000, 20_000, 8_000];
  for (let i = 0; i < curve.length && viralDay + i < days; i++) post.dailyPlays[viralDay + i] = curve[i]!;
}

function contentIdFor(rng: Rng, platform: SocialPlatform): string {
  const digits = (n: number): string => {
    let out = '';
    for (let i = 0; i < n; i++) out += rng.int(10);
    return out;
  };
  switch (platform) {
    case 'douyin':
      return `7${digits(18)}`;
    case 'kuaishou':
      return `3x${rng.hex(13)}`;
    case 'xiaohongshu':
      return rng.hex(24);
    case 'wechat_channels':
      return `export/${rng.hex(22)}`;
    case 'bilibili':
      return `BV1${rng.hex(9)}`;
    case 'weibo':
      return `P${digits(16)}`;
  }
}

function buildTables(posts: Post[], days: number): Record<SocialPlatform, DayTable[]> {
  const tables = {} as Record<SocialPlatform, DayTable[]>;
  for (const platform of SOCIAL_PLATFORMS) {
    const own = posts.filter((p) => p.platform === platform);
    tables[platform] = [];
    for (let d = 0; d < days; d++) {
      const live = own.filter((p) => p.dailyPlays[d]! > 0);
      const cumulative = new Float64Array(live.length);
      let sum = 0;
      live.forEach((p, i) => {
        sum += p.dailyPlays[d]!;
        cumulative[i] = sum;
      });
      tables[platform].push({ posts: live.map((p) => p.index), cumulative });
    }
  }
  return tables;
}

/**
 * A post someone on `platform` watches at `timeMs` on `day`: popular and fresh posts are likelier.
 * Returns -1 when the platform has nothing published yet.
 */
export function pickPost(
  rng: Rng,
  content: ContentWorld,
  platform: SocialPlatform,
  day: number,
  timeMs: number,
): number {
  const table = content.tables[platform][day]!;
  const total = table.cumulative[table.cumulative.length - 1];
  if (total === undefined) return -1;
  for (let attempt = 0; attempt < 4; attempt++) {
    const r = rng.next() * total;
    let lo = 0;
    let hi = table.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (table.cumulative[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    const post = table.posts[lo]!;
    // A post published later the same day cannot have been watched yet.
    if (content.posts[post]!.publishedAtMs < timeMs) return post;
  }
  for (const post of table.posts) if (content.posts[post]!.publishedAtMs < timeMs) return post;
  return -1;
}

/** Like `pickPost`, but a video: every social visit starts with one. Returns -1 if none is live. */
export function pickVideo(
  rng: Rng,
  content: ContentWorld,
  platform: SocialPlatform,
  day: number,
  timeMs: number,
): number {
  for (let attempt = 0; attempt < 8; attempt++) {
    const post = pickPost(rng, content, platform, day, timeMs);
    if (post < 0) return -1;
    if (content.posts[post]!.contentType === 'video') return post;
  }
  for (const post of content.tables[platform][day]!.posts) {
    const candidate = content.posts[post]!;
    if (candidate.contentType === 'video' && candidate.publishedAtMs < timeMs) return post;
  }
  return -1;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
