import type { WorldCalendar } from './calendar.js';
import type { Platform, SocialPlatform } from './catalogue.js';
import type { ContentWorld } from './content.js';
import type { SessionRecorder } from './event-plan.js';
import type { PersonProfile } from './persons.js';
import type { Rng } from './prng.js';
import type { PersonPlan, SessionPlan } from './sessions.js';
import type { TouchCatalogue } from './touches.js';

/** What every visit needs to know about the world. */
export interface BehaviourWorld {
  projectId: string;
  seed: number;
  calendar: WorldCalendar;
  content: ContentWorld;
  touches: TouchCatalogue;
  /** Day range [first, last] of the A/B test. */
  experimentDays: [number, number];
  /** Day ranges of the spring and mid-year promotions (for coupons). */
  springDays: [number, number];
  saleDays: [number, number];
  /** UTC ms where the churn observation window ends. */
  observationEndMs: number;
}

/** Numbers that must be unique across the whole world, handed out in generation order. */
export interface WorldCounters {
  visits: number;
  orders: number;
  comments: number;
  shares: number;
}

/** What a person remembers from one visit to the next. */
export interface PersonMemory {
  /** Experiment variant index once exposed, -1 before. */
  variant: number;
  claimedBannerCoupon: boolean;
  usedBannerCoupon: boolean;
  followed: Set<SocialPlatform>;
  /** First use (UTC ms) of each of the person's ids, by platform. */
  firstSeenMs: Map<Platform, number>;
  signedUpAtMs: number;
  socialPurchase: boolean;
  lastEventMs: number;
}

/** An order whose times are known only once the visit's event times are fixed. */
export interface PendingOrder {
  orderId: string;
  checkoutEvent: number;
  completedEvent: number;
  amount: number;
  itemCount: number;
  itemsJson: string;
  coupon: string;
  contentId: string;
  refunded: boolean;
}

export interface PendingComment {
  event: number;
  commentId: string;
  platform: SocialPlatform;
  contentId: string;
  text: string;
  language: string;
  sentiment: string;
  score: number;
}

/** The state of one visit while its events are drawn. */
export interface VisitContext {
  world: BehaviourWorld;
  counters: WorldCounters;
  rng: Rng;
  person: PersonProfile;
  plan: PersonPlan;
  session: SessionPlan;
  recorder: SessionRecorder;
  memory: PersonMemory;
  /** Index of the event from which the user id is the sender, -1 if none. */
  switchAt: number;
  orders: PendingOrder[];
  comments: PendingComment[];
  /** Content id of the last post watched in this visit ('' if none), credited on orders. */
  lastContentId: string;
}

/** Realistic pauses between events, in ms. */
export function pause(rng: Rng, minSeconds: number, maxSeconds: number): number {
  return Math.round(rng.uniform(minSeconds, maxSeconds) * 1000);
}
