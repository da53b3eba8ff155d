import type { WorldCalendar } from './calendar.js';
import { DAY_MS } from './calendar.js';
import type { ContentWorld, Post } from './content.js';
import { type Rng, rngFor } from './prng.js';

/**
 * Daily `content_stats` rows, as a creator centre exports them: one row per post per window day
 * from its publishing day on. Interactions are proportional to plays with noise; completion and
 * average watch time follow the post's length (see COMPLETION_MODEL).
 */
export function contentStatsRows(
  content: ContentWorld,
  calendar: WorldCalendar,
  projectId: string,
  seed: number,
): string[] {
  const rows: string[] = [];
  for (const post of content.posts) {
    const rng = rngFor(seed, 'content-stats', post.index);
    for (let day = Math.max(0, post.publishDay); day < calendar.days.length; day++) {
      const expected = post.dailyPlays[day]!;
      if (expected <= 0) continue;
      rows.push(statsRow(rng, post, calendar, day, expected, projectId));
    }
  }
  return rows;
}

function statsRow(
  rng: Rng,
  post: Post,
  calendar: WorldCalendar,
  day: number,
  expectedPlays: number,
  projectId: string,
): string {
  const calendarDay = calendar.days[day]!;
  const plays = Math.max(0, Math.round(expectedPlays * rng.logNormal(1, 0.08)));
  const noisy = (rate: number): number => Math.round(plays * rate * rng.logNormal(1, 0.15));
  const isVideo = post.contentType === 'video';
  const completion = isVideo ? Math.min(0.99, post.completionRate * rng.logNormal(1, 0.04)) : 0;
  // Viewers who do not finish still watch about a third of the video on average.
  const avgWatchSeconds = isVideo ? post.durationSeconds * (completion + (1 - completion) * 0.3) : 0;
  const gained = noisy(post.followRate);
  // Unfollows follow the post's reach: an old post nobody watches loses no one either.
  const lost = Math.round(gained * rng.uniform(0.05, 0.3));
  return JSON.stringify({
    project_id: projectId,
    platform: post.platform,
    account_id: post.accountId,
    content_id: post.contentId,
    date: calendarDay.date,
    title: post.title,
    content_type: post.contentType,
    published_at: post.publishedAtMs,
    duration_seconds: post.durationSeconds,
    tags: post.tags,
    impressions: Math.round(plays / post.playRate),
    plays,
    unique_viewers: Math.round(plays * rng.uniform(0.78, 0.92)),
    likes: noisy(post.likeRate),
    comments: noisy(post.commentRate),
    shares: noisy(post.shareRate),
    favourites: noisy(post.favouriteRate),
    completion_rate: round4(completion),
    avg_watch_seconds: Math.round(avgWatchSeconds * 10) / 10,
    followers_gained: gained - lost,
    profile_visits: noisy(0.012),
    source_id: `src_${post.platform}`,
    // The creator centre's export for a day is taken the next morning.
    updated_at: calendarDay.startMs + DAY_MS + 2 * 3600_000,
  });
}

function round4(value: number): number {
  return Math.round(value * 10000) / 10000;
}
