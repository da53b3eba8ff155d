import { PRODUCTS, type SocialPlatform } from './catalogue.js';
import { commentText, type Sentiment } from './comment-text.js';
import { pickPost, pickVideo } from './content.js';
import { EVENT } from './event-plan.js';
import { CHURN_MODEL } from './models.js';
import { emitPurchase, pickProduct } from './purchase.js';
import { pause, type VisitContext } from './visit-context.js';

/**
 * A visit inside a social platform's app: the person watches the brand's videos (at least one),
 * may like, follow, comment or share, and sometimes buys in the platform's shop. How much of each
 * video they watch depends on its length (COMPLETION_MODEL) and on the person: low watchers finish
 * little, which is one of the planted churn drivers.
 */
export function emitSocialVisit(ctx: VisitContext): void {
  const { rng, recorder, session, world } = ctx;
  const platform = session.platform as SocialPlatform;
  const plays = 1 + Math.min(23, rng.geometric(5));
  const commentAt = session.negativeComment || rng.chance(0.06) ? rng.int(plays) : -1;
  let lastPost = -1;
  // Likes, follows, comments and the next video come after the part of the video watched.
  let carryMs = 0;
  for (let k = 0; k < plays && recorder.room() > 20; k++) {
    const post =
      k === 0
        ? pickVideo(rng, world.content, platform, session.day, session.startMs)
        : pickPost(rng, world.content, platform, session.day, session.startMs);
    if (post < 0) break;
    lastPost = post;
    carryMs = watch(ctx, post, k === 0 ? 0 : carryMs + pause(rng, 0.5, 3));
    if (rng.chance(0.18)) {
      recorder.add(EVENT.contentLiked, carryMs + pause(rng, 0.5, 2), post);
      carryMs = 0;
    }
    if (!ctx.memory.followed.has(platform) && rng.chance(0.02)) {
      recorder.add(EVENT.accountFollowed, carryMs + pause(rng, 1, 4), post);
      ctx.memory.followed.add(platform);
      carryMs = 0;
    }
    if (k === commentAt) {
      comment(ctx, platform, post, carryMs + pause(rng, 10, 60));
      carryMs = 0;
    }
  }
  const days = world.calendar.days.length;
  if (session.purchase > 0) {
    emitPurchase(ctx, undefined, pickProduct(rng, session.day, days));
  } else if (rng.chance(0.1)) {
    const product = pickProduct(rng, session.day, days);
    recorder.add(EVENT.productViewed, pause(rng, 2, 10), product);
    if (rng.chance(0.15)) recorder.add(EVENT.addToCart, pause(rng, 5, 40), product, 1);
  }
  if (lastPost >= 0) emitShares(ctx, lastPost);
}

/** Emits one play; returns how long the person watched, in ms. */
function watch(ctx: VisitContext, postIndex: number, gapMs: number): number {
  const { rng, recorder, person } = ctx;
  const post = ctx.world.content.posts[postIndex]!;
  ctx.lastContentId = post.contentId;
  if (post.contentType === 'image_post') {
    recorder.add(EVENT.postViewed, gapMs, postIndex);
    return pause(rng, 5, 40);
  }
  // Low watchers stay below the churn threshold on every video, others above it.
  const threshold = CHURN_MODEL.lowCompletionThreshold;
  const completion = person.lowWatcher
    ? clamp(post.completionRate * 0.4 * rng.logNormal(1, 0.25), 0.01, threshold - 0.05)
    : clamp(post.completionRate * person.completionFactor * rng.logNormal(1, 0.2), threshold + 0.01, 1);
  const percent = Math.round(completion * 100);
  recorder.add(EVENT.videoPlayed, gapMs, postIndex, percent);
  return post.durationSeconds * 10 * percent;
}

function comment(ctx: VisitContext, platform: SocialPlatform, post: number, gapMs: number): void {
  const { rng, person, session } = ctx;
  const sentiment: Sentiment = session.negativeComment
    ? 'negative'
    : person.negativeCommenter
      ? (['negative', 'neutral', 'positive'] as const)[rng.weighted([0.4, 0.35, 0.25])]!
      : rng.chance(0.65)
        ? 'positive'
        : 'neutral';
  const product = PRODUCTS[pickProduct(rng, session.day, ctx.world.calendar.days.length)]!;
  const { text, score } = commentText(rng, person.language, sentiment, product);
  const contentId = ctx.world.content.posts[post]!.contentId;
  const commentId = `cm_${(ctx.counters.comments++).toString(36).padStart(7, '0')}`;
  const event = ctx.recorder.addWithPayload(
    EVENT.commentPosted,
    gapMs,
    `{"comment_id":"${commentId}","content_id":"${contentId}"}`,
    post,
  );
  ctx.comments.push({
    event,
    commentId,
    platform,
    contentId,
    text,
    language: person.language,
    sentiment,
    score,
  });
}

/** Share events: the links the sharing plan assigned to this visit, plus a few that bring nobody. */
export function emitShares(ctx: VisitContext, object: number): void {
  const { rng, session, recorder } = ctx;
  const count = session.shares + (rng.chance(0.02) ? 1 : 0);
  const social = session.platform !== 'web' && session.platform !== 'app';
  for (let k = 0; k < count; k++) {
    const shareId = `sh_${(ctx.counters.shares++).toString(36).padStart(6, '0')}`;
    const target =
      session.platform === 'douyin' ? 'douyin_friend' : rng.chance(0.7) ? 'wechat_friend' : 'wechat_moments';
    const what = social
      ? `"content_id":"${ctx.world.content.posts[object]!.contentId}"`
      : `"sku":"${PRODUCTS[object - 100]?.sku ?? ''}"`;
    recorder.addWithPayload(
      EVENT.contentShared,
      pause(rng, 2, 15),
      `{"share_id":"${shareId}",${what},"target":"${target}"}`,
      object,
    );
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
