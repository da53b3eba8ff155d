import { ByteSink } from '../lib/byte-sink.js';
import { APP_VERSIONS, BRAND, PLATFORMS, SHOP_BY_PLATFORM, type SocialPlatform } from './catalogue.js';
import { LOCALES } from './event-expansion.js';
import { type SessionRecorder, type VisitHeader, writeVisit } from './event-plan.js';
import { writeIdentities, writePersonRow } from './person-rows.js';
import { rngFor } from './prng.js';
import type { PersonPlan, SessionPlan } from './sessions.js';
import { type ExperimentTally, emitShopVisit, emptyExperimentTally } from './shop-visit.js';
import { emitSocialVisit } from './social-visit.js';
import type {
  BehaviourWorld,
  PendingComment,
  PendingOrder,
  PersonMemory,
  VisitContext,
  WorldCounters,
} from './visit-context.js';

/**
 * Turns a person's planned visits into events (as staging rows), orders, comments, identities
 * and their person row. Visits run in time order and share the person's memory (experiment
 * variant, coupons, follows, sign-up).
 */

export interface WorldOutput {
  /** Staging rows (RowBinary): one per visit. */
  visits: ByteSink;
  events: number;
  orders: ByteSink;
  comments: ByteSink;
  identities: ByteSink;
  persons: ByteSink;
  experiment: ExperimentTally;
  /** Persons whose events come from two or more social platforms. */
  multiPlatformPersons: number;
}

/** Empty sinks; `visitBytes` sizes the visits' buffer (the other sinks get a fraction of it). */
export function emptyOutput(visitBytes: number): WorldOutput {
  return {
    visits: new ByteSink(visitBytes),
    events: 0,
    orders: new ByteSink(visitBytes >> 6),
    comments: new ByteSink(visitBytes >> 6),
    identities: new ByteSink(visitBytes >> 3),
    persons: new ByteSink(visitBytes >> 4),
    experiment: emptyExperimentTally(),
    multiPlatformPersons: 0,
  };
}

function line(sink: ByteSink, text: string): void {
  sink.utf8(text);
  sink.endLine();
}

/** Emits one person; returns what they did (undefined for a person with no visits). */
export function emitPerson(
  plan: PersonPlan,
  world: BehaviourWorld,
  counters: WorldCounters,
  recorder: SessionRecorder,
  out: WorldOutput,
): PersonMemory | undefined {
  const { person } = plan;
  // A known customer who stays away all window leaves no trace.
  if (plan.sessions.length === 0) return undefined;
  const rng = rngFor(world.seed, 'behaviour', person.index);
  const memory: PersonMemory = {
    variant: -1,
    claimedBannerCoupon: false,
    usedBannerCoupon: false,
    followed: new Set(),
    firstSeenMs: new Map(),
    signedUpAtMs: person.signedUpBefore ? (plan.sessions[0]?.startMs ?? world.calendar.startMs) : -1,
    socialPurchase: false,
    lastEventMs: 0,
  };
  // A churned person's activity ends with the observation window.
  const limitMs = plan.churned ? world.observationEndMs : world.calendar.endMs;
  for (const session of plan.sessions) {
    recorder.reset();
    const ctx: VisitContext = {
      world,
      counters,
      rng,
      person,
      plan,
      session,
      recorder,
      memory,
      switchAt: session.identified ? 0 : -1,
      orders: [],
      comments: [],
      lastContentId: '',
    };
    if (session.platform === 'web' || session.platform === 'app') emitShopVisit(ctx, out.experiment);
    else emitSocialVisit(ctx);
    recorder.finalize(session.startMs, limitMs);
    writeVisit(out.visits, visitHeader(ctx, counters.visits++), recorder);
    out.events += recorder.count;
    if (!memory.firstSeenMs.has(session.platform)) memory.firstSeenMs.set(session.platform, recorder.startMs);
    if (session.signup) memory.signedUpAtMs = recorder.timesMs[ctx.switchAt]!;
    for (const order of ctx.orders) line(out.orders, orderRow(ctx, order));
    for (const comment of ctx.comments) line(out.comments, commentRow(ctx, comment));
    memory.lastEventMs = Math.max(memory.lastEventMs, recorder.timesMs[recorder.count - 1]!);
  }
  const socialPlatformsUsed = writeIdentities(out.identities, world.projectId, person, memory);
  if (socialPlatformsUsed >= 2) out.multiPlatformPersons++;
  writePersonRow(out.persons, rng, world.projectId, world.calendar.startMs, person, memory);
  return memory;
}

function visitHeader(ctx: VisitContext, index: number): VisitHeader {
  const { person, session, world } = ctx;
  const sdk = session.platform === 'web' || session.platform === 'app';
  const firstId =
    session.platform === 'web'
      ? person.webAnonymousId
      : session.platform === 'app'
        ? person.appAnonymousId
        : person.platformIds[session.platform as SocialPlatform]!;
  return {
    index,
    personId: person.personId,
    firstId,
    laterId: ctx.switchAt >= 0 ? person.userId : '',
    switchAt: Math.max(0, ctx.switchAt),
    sdk,
    platform: PLATFORMS.indexOf(session.platform),
    touch: session.touch,
    sharerId: session.sharerId,
    device: person.device,
    city: person.city,
    locale: LOCALES.indexOf(person.language === 'en' ? 'en-US' : 'zh-CN'),
    appVersion: session.platform === 'app' ? appVersionFor(session, world.calendar.days.length) : 0,
  };
}

function appVersionFor(session: SessionPlan, days: number): number {
  let version = 0;
  APP_VERSIONS.forEach((v, i) => {
    if (session.day >= v.fromFraction * days) version = i + 1;
  });
  return version;
}

function senderAt(ctx: VisitContext, event: number): string {
  const { person, session } = ctx;
  if (ctx.switchAt >= 0 && event >= ctx.switchAt) return person.userId;
  if (session.platform === 'web') return person.webAnonymousId;
  if (session.platform === 'app') return person.appAnonymousId;
  return person.platformIds[session.platform as SocialPlatform]!;
}

const DAY_MS = 86_400_000;

function orderRow(ctx: VisitContext, order: PendingOrder): string {
  const { recorder, session, world, rng } = ctx;
  const endMs = world.calendar.endMs - 1;
  const createdAt = recorder.timesMs[order.checkoutEvent]!;
  const paidAt = recorder.timesMs[order.completedEvent]!;
  const touch = world.touches.touches[session.touch]!;
  // Status as of the world's last moment: refunds a few days after payment, delivery within a week.
  const refundAt = paidAt + rng.between(2, 9) * DAY_MS + rng.int(DAY_MS);
  const completeAt = paidAt + rng.between(4, 7) * DAY_MS;
  const shipAt = paidAt + rng.between(12, 36) * 3600_000;
  let status = 'paid';
  let updatedAt = paidAt;
  if (order.refunded && refundAt <= endMs) [status, updatedAt] = ['refunded', refundAt];
  else if (completeAt <= endMs) [status, updatedAt] = ['completed', completeAt];
  else if (shipAt <= endMs) [status, updatedAt] = ['shipped', shipAt];
  const shop = SHOP_BY_PLATFORM[session.platform];
  return JSON.stringify({
    project_id: world.projectId,
    order_id: order.orderId,
    distinct_id: senderAt(ctx, order.completedEvent),
    person_id: ctx.person.personId,
    platform: session.platform,
    shop_id: shop,
    created_at: createdAt,
    paid_at: paidAt,
    status,
    amount: order.amount,
    currency: BRAND.currency,
    item_count: order.itemCount,
    items: order.itemsJson,
    coupon: order.coupon,
    channel: touch.channel,
    utm_source: touch.utmSource,
    utm_medium: touch.utmMedium,
    utm_campaign: touch.utmCampaign,
    campaign_id: touch.campaignId,
    content_id: order.contentId,
    source_id: `src_${shop}`,
    updated_at: updatedAt,
  });
}

function commentRow(ctx: VisitContext, comment: PendingComment): string {
  const { recorder, rng, world, person } = ctx;
  const createdAt = recorder.timesMs[comment.event]!;
  return JSON.stringify({
    project_id: world.projectId,
    platform: comment.platform,
    content_id: comment.contentId,
    comment_id: comment.commentId,
    author_id: person.platformIds[comment.platform],
    author_name: person.nickname,
    text: comment.text,
    created_at: createdAt,
    like_count: Math.min(5000, rng.geometric(3)),
    language: comment.language,
    sentiment: comment.sentiment,
    sentiment_score: comment.score,
    source_id: `src_${comment.platform}`,
    // Comment exports run daily.
    updated_at: createdAt + DAY_MS,
  });
}
