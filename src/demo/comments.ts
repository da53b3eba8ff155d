import type { WorldCalendar } from './calendar.js';
import { DAY_MS, sampleTimeOfDayMs } from './calendar.js';
import { PRODUCTS } from './catalogue.js';
import { commentText, type Language, nickname, type Sentiment } from './comment-text.js';
import type { ContentWorld } from './content.js';
import { rngFor } from './prng.js';

/**
 * Comments by people the brand does not track (most of a post's audience), as the platforms'
 * comment exports list them, plus the brand's replies to complaints. Comments written by tracked
 * persons come from their visits (`social-visit.ts`).
 */

/** Share of a post's comments that the export holds (the latest ones), per unit of scale. */
const EXPORTED_SHARE = 0.5;
const BRAND_REPLY = '亲，非常抱歉给您带来不好的体验，已私信您处理～';

export function backgroundCommentRows(
  content: ContentWorld,
  calendar: WorldCalendar,
  projectId: string,
  seed: number,
  scale: number,
): string[] {
  const rows: string[] = [];
  for (const post of content.posts) {
    const rng = rngFor(seed, 'background-comments', post.index);
    for (let day = Math.max(0, post.publishDay); day < calendar.days.length; day++) {
      const count = rng.poisson(post.dailyPlays[day]! * post.commentRate * EXPORTED_SHARE * scale);
      const calendarDay = calendar.days[day]!;
      for (let k = 0; k < count; k++) {
        const createdAt = Math.max(
          post.publishedAtMs + 60_000,
          calendarDay.startMs + sampleTimeOfDayMs(rng, calendarDay.weekday),
        );
        if (createdAt >= calendar.endMs) continue;
        const language: Language = rng.chance(0.04) ? 'en' : 'zh';
        const sentiment: Sentiment = (['positive', 'neutral', 'negative'] as const)[
          rng.weighted([0.55, 0.3, 0.15])
        ]!;
        const { text, score } = commentText(rng, language, sentiment, PRODUCTS[rng.int(PRODUCTS.length)]!);
        const commentId = `bc_${post.index.toString(36)}_${rows.length.toString(36)}`;
        const base = {
          project_id: projectId,
          platform: post.platform,
          content_id: post.contentId,
          source_id: `src_${post.platform}`,
        };
        rows.push(
          JSON.stringify({
            ...base,
            comment_id: commentId,
            author_id: `ext_${rng.hex(16)}`,
            author_name: nickname(rng, language),
            text,
            created_at: createdAt,
            like_count: rng.geometric(4),
            language,
            sentiment,
            sentiment_score: score,
            updated_at: createdAt + DAY_MS,
          }),
        );
        if (sentiment === 'negative' && rng.chance(0.25)) {
          const replyAt = Math.min(calendar.endMs - 1, createdAt + rng.between(10, 240) * 60_000);
          rows.push(
            JSON.stringify({
              ...base,
              comment_id: `${commentId}_r`,
              parent_id: commentId,
              author_id: post.accountId,
              author_name: '山茶集官方',
              text: BRAND_REPLY,
              created_at: replyAt,
              like_count: rng.int(5),
              language: 'zh',
              sentiment: 'neutral',
              sentiment_score: 0.1,
              updated_at: replyAt + DAY_MS,
            }),
          );
        }
      }
    }
  }
  return rows;
}
