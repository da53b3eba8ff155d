import { BANNER_COUPON_INDEX, PAGE, PRODUCTS, SEARCH_QUERIES } from './catalogue.js';
import { EVENT, type EventCode, PRODUCT_PAGE_BASE } from './event-plan.js';
import { EXPERIMENT_MODEL } from './models.js';
import { identifyTraits } from './persons.js';
import { hash32 } from './prng.js';
import { emitPurchase, nextOrderId, pickProduct } from './purchase.js';
import { emitShares } from './social-visit.js';
import { pause, type VisitContext } from './visit-context.js';

/**
 * A visit to the web shop or the app: a landing page that fits how the visitor arrived, some
 * browsing, and whatever the plan decided (sign-up, login, purchase, NPS answer, shares). Product
 * pages during the A/B test expose the visitor to the coupon banner experiment.
 */

export interface ExperimentTally {
  exposed: number[];
  converted: number[];
}

/** Nobody exposed yet, in either variant (control, treatment). */
export function emptyExperimentTally(): ExperimentTally {
  return { exposed: [0, 0], converted: [0, 0] };
}

/** Emits the events of a web or app visit into the context's recorder. */
export function emitShopVisit(ctx: VisitContext, experiment: ExperimentTally): void {
  const { rng, recorder, session } = ctx;
  const days = ctx.world.calendar.days.length;
  const web = session.platform === 'web';
  const pageCode: EventCode = web ? EVENT.pageview : EVENT.screen;
  if (!web) recorder.add(EVENT.appOpened, 0);
  const landing = landingPage(ctx);
  recorder.add(pageCode, pause(rng, 0.5, 2), landing);
  if (landing >= PRODUCT_PAGE_BASE) productViewed(ctx, landing - PRODUCT_PAGE_BASE, experiment);
  if (session.login) identify(ctx, { login_method: 'phone' });
  // Spike visitors from the viral video glance at one or two pages and leave.
  const steps = ctx.person.spikeVisitor ? rng.int(2) : Math.min(30, rng.geometric(3.2));
  const signupStep = session.signup ? rng.int(steps + 1) : -1;
  for (let step = 0; step < steps && recorder.room() > 24; step++) {
    if (step === signupStep) signUp(ctx);
    browse(ctx, pageCode, experiment);
  }
  if (session.signup && ctx.switchAt < 0) signUp(ctx);
  if (session.purchase > 0) emitPurchase(ctx, pageCode, undefined);
  else if (rng.chance(0.05) && recorder.room() > 8)
    abandonCart(ctx, pageCode, pickProduct(rng, session.day, days));
  if (session.survey) recorder.add(EVENT.surveyAnswered, pause(rng, 10, 60), 0, npsScore(ctx));
  emitShares(ctx, PRODUCT_PAGE_BASE + pickProduct(rng, session.day, days));
}

function landingPage(ctx: VisitContext): number {
  const { rng, session } = ctx;
  const days = ctx.world.calendar.days.length;
  switch (session.channel) {
    case 'paid_social':
    case 'kol':
    case 'paid_search':
    case 'share':
      return PRODUCT_PAGE_BASE + pickProduct(rng, session.day, days);
    case 'email':
    case 'sms':
      return rng.pick(PAGE.collections);
    case 'referral':
      return rng.pick(PAGE.articles);
    case 'organic_social':
      return rng.chance(0.5) ? PRODUCT_PAGE_BASE + pickProduct(rng, session.day, days) : PAGE.home;
    case 'direct':
      return PAGE.home;
  }
}

function browse(ctx: VisitContext, pageCode: EventCode, experiment: ExperimentTally): void {
  const { rng, recorder } = ctx;
  const r = rng.next();
  if (r < 0.45) {
    const product = pickProduct(rng, ctx.session.day, ctx.world.calendar.days.length);
    recorder.add(pageCode, pause(rng, 8, 70), PRODUCT_PAGE_BASE + product);
    productViewed(ctx, product, experiment);
  } else if (r < 0.72) {
    recorder.add(pageCode, pause(rng, 5, 45), rng.pick(PAGE.collections));
  } else if (r < 0.82) {
    recorder.add(pageCode, pause(rng, 20, 180), rng.pick(PAGE.articles));
  } else if (r < 0.9) {
    recorder.add(EVENT.productsSearched, pause(rng, 4, 20), rng.int(SEARCH_QUERIES.length));
    recorder.add(pageCode, pause(rng, 0.5, 2), PAGE.search);
  } else {
    recorder.add(pageCode, pause(rng, 5, 30), rng.chance(0.6) ? PAGE.account : PAGE.membership);
  }
}

/** A product view; during the A/B test the first one exposes the person to the coupon banner. */
function productViewed(ctx: VisitContext, product: number, experiment: ExperimentTally): void {
  const { rng, recorder, session, memory, world } = ctx;
  recorder.add(EVENT.productViewed, pause(rng, 0.3, 1.5), product);
  const [first, last] = world.experimentDays;
  if (memory.variant >= 0 || session.day < first || session.day > last) return;
  // Assignment is a hash of the person, as a feature-flag service would do it.
  const variant = hash32(world.seed, ctx.person.personId, EXPERIMENT_MODEL.key) & 1;
  memory.variant = variant;
  recorder.add(EVENT.experimentExposure, pause(rng, 0.2, 1), variant);
  experiment.exposed[variant] = experiment.exposed[variant]! + 1;
  const rate = EXPERIMENT_MODEL.controlRate * (variant === 1 ? 1 + EXPERIMENT_MODEL.trueRelativeLift : 1);
  if (rng.chance(rate)) {
    recorder.add(EVENT.couponClaimed, pause(rng, 3, 25), BANNER_COUPON_INDEX);
    memory.claimedBannerCoupon = true;
    experiment.converted[variant] = experiment.converted[variant]! + 1;
  }
}

function identify(ctx: VisitContext, traits: Record<string, string>): void {
  const payload = identifyTraits(ctx.person, traits);
  ctx.switchAt = ctx.recorder.addWithPayload(EVENT.identify, pause(ctx.rng, 2, 15), payload);
}

function signUp(ctx: VisitContext): void {
  identify(ctx, { signup_method: 'phone' });
  ctx.recorder.add(EVENT.signedUp, pause(ctx.rng, 0.2, 1));
}

/** A cart left behind; a third of the time after starting checkout (the order is never paid). */
function abandonCart(ctx: VisitContext, pageCode: EventCode, product: number): void {
  const { rng, recorder } = ctx;
  recorder.add(pageCode, pause(rng, 8, 60), PRODUCT_PAGE_BASE + product);
  recorder.add(EVENT.productViewed, pause(rng, 0.3, 1.5), product);
  recorder.add(EVENT.addToCart, pause(rng, 5, 40), product, 1);
  if (!rng.chance(0.35)) return;
  const orderId = nextOrderId(ctx);
  const value = PRODUCTS[product]!.price;
  recorder.add(pageCode, pause(rng, 3, 20), PAGE.cart);
  recorder.addWithPayload(
    EVENT.checkoutStarted,
    pause(rng, 5, 30),
    `{"order_id":"${orderId}","value":${value},"currency":"CNY","coupon":""}`,
  );
}

/** NPS answer 0–10: mostly promoters, fewer for people who complain. */
function npsScore(ctx: VisitContext): number {
  const weights = [3, 2, 2, 3, 4, 6, 8, 12, 18, 20, 22];
  const score = ctx.rng.weighted(weights);
  return ctx.person.negativeCommenter ? Math.max(0, score - 4) : score;
}
