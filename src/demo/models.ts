import type { Channel } from './catalogue.js';

/**
 * The planted truths, as parameters. The generator draws the world from these numbers and the
 * ground truth file repeats them, so an analysis can be checked against what was planted.
 */

/**
 * First purchase. Each time a person touches a channel for the first time, they buy with the
 * channel's lift as probability (the first session adds the base rate), so over a path with channel
 * set S: P(buy) = 1 − (1 − base) · Π_{c ∈ S} (1 − lift_c). The lifts fall in the order of CHANNELS.
 */
export const CONVERSION_MODEL = {
  baseRate: 0.004,
  lifts: {
    kol: 0.16,
    paid_social: 0.1,
    organic_social: 0.06,
    email: 0.05,
    paid_search: 0.03,
    share: 0.02,
    referral: 0.015,
    sms: 0.012,
    direct: 0.001,
  } satisfies Record<Channel, number>,
  /** Chance that a later session of a buyer holds another order. */
  repurchasePerSession: 0.035,
  /** The same after an email or SMS visit. */
  repurchasePerCrmSession: 0.08,
  formula:
    'P(first purchase | channels S on the path) = 1 − (1 − baseRate) · Π_{c ∈ S} (1 − lift_c); a purchase can happen at the first touch of each channel',
} as const;

/**
 * Channel mixes. Acquisition: how new persons arrive. Return: how a known person comes back.
 * Email and SMS need a signed-up, opted-in person; share visits need a sharer, so not on day 0.
 */
export const ACQUISITION_MIX: Record<Channel, number> = {
  kol: 0.16,
  paid_social: 0.3,
  organic_social: 0.2,
  email: 0,
  paid_search: 0.07,
  share: 0.1,
  referral: 0.07,
  sms: 0,
  direct: 0.1,
};

export const RETURN_MIX: Record<Channel, number> = {
  kol: 0.07,
  paid_social: 0.12,
  organic_social: 0.2,
  email: 0.22,
  paid_search: 0.04,
  share: 0.05,
  referral: 0.03,
  sms: 0.14,
  direct: 0.3,
};

/** People on social platforms mostly come back by scrolling into the brand's posts. */
export const SOCIAL_RETURN_BOOST: Partial<Record<Channel, number>> = { organic_social: 1.8, direct: 0.7 };

/** The A/B test: a coupon banner on product pages (web and app); conversion = claiming the coupon. */
export const EXPERIMENT_MODEL = {
  key: 'coupon_banner_v2',
  variants: ['control', 'treatment'] as const,
  conversionEvent: 'coupon_claimed',
  exposureEvent: '$experiment_exposure',
  startFraction: 0.3,
  endFraction: 0.8,
  /** Chance that an exposed person in control claims the coupon in the exposure session. */
  controlRate: 0.22,
  /** Treatment's claim rate = controlRate × (1 + trueRelativeLift). */
  trueRelativeLift: 0.25,
} as const;

/**
 * Churn among persons first seen in the first half of the window: a person churns when they have no
 * event in the last third. P(churn) = logistic(baseLogOdds + Σ effect · feature), features measured
 * on the persons' events in the first two thirds (the observation window).
 */
export const CHURN_MODEL = {
  cohortFirstSeenFraction: 0.5,
  observationFraction: 2 / 3,
  baseLogOdds: -2.0,
  features: [
    {
      name: 'low_completion',
      logOddsEffect: 1.1,
      definition:
        'average of properties.completion over the person’s video_played events in the observation window is below 0.35',
    },
    {
      name: 'negative_comment',
      logOddsEffect: 0.9,
      definition:
        'the person wrote at least one comment with sentiment = negative in the observation window (comment_posted events; comments.author_id is one of their distinct ids)',
    },
    {
      name: 'no_app_usage',
      logOddsEffect: 0.8,
      definition: 'no event with platform = app in the observation window',
    },
    {
      name: 'no_purchase',
      logOddsEffect: 0.5,
      definition: 'no order_completed event in the observation window',
    },
  ],
  /** A person’s video completions are all below this (low watchers) or all above LOW_COMPLETION_THRESHOLD + 0.01. */
  lowCompletionThreshold: 0.35,
} as const;

export type ChurnFeatureName = (typeof CHURN_MODEL.features)[number]['name'];

/** The anomalous day: a viral Weibo video sends a burst of visitors to the web shop. */
export const ANOMALY_MODEL = {
  dayFraction: 0.57,
  /** Extra one-visit persons per regular person. */
  visitorsPerPerson: 0.03,
} as const;

export function logistic(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
