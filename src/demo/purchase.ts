import { BANNER_COUPON_INDEX, COUPONS, PAGE, PRODUCTS } from './catalogue.js';
import { EVENT, type EventCode, PRODUCT_PAGE_BASE } from './event-plan.js';
import { type Rng, weightTotal } from './prng.js';
import { pause, type VisitContext } from './visit-context.js';

/**
 * A purchase inside a visit: product views, add to cart, checkout, `order_completed` with the
 * revenue, and the matching order (written once the visit's times are fixed).
 */

const SPRING_WEIGHTS = PRODUCTS.map((p) =>
  p.category === 'cold_brew' ? p.weight * 0.5 : p.category === 'green_tea' ? p.weight * 1.6 : p.weight,
);
const SUMMER_WEIGHTS = PRODUCTS.map((p) => (p.category === 'cold_brew' ? p.weight * 2.2 : p.weight));
const SPRING_TOTAL = weightTotal(SPRING_WEIGHTS);
const SUMMER_TOTAL = weightTotal(SUMMER_WEIGHTS);

/** A product index, following the season: green tea in spring, cold brew in summer. */
export function pickProduct(rng: Rng, day: number, days: number): number {
  return day < days * 0.45
    ? rng.weightedWithTotal(SPRING_WEIGHTS, SPRING_TOTAL)
    : rng.weightedWithTotal(SUMMER_WEIGHTS, SUMMER_TOTAL);
}

/** Web or app page (or nothing in a social platform's shop) shown with a product. */
function productPage(
  ctx: VisitContext,
  pageCode: EventCode | undefined,
  product: number,
  gapMs: number,
): number {
  if (pageCode === undefined) return gapMs;
  ctx.recorder.add(pageCode, gapMs, PRODUCT_PAGE_BASE + product);
  return pause(ctx.rng, 0.3, 1.5);
}

/**
 * Emits the whole purchase funnel. `pageCode` is $pageview on the web, $screen in the app and
 * undefined in a platform's own shop.
 */
export function emitPurchase(
  ctx: VisitContext,
  pageCode: EventCode | undefined,
  firstProduct: number | undefined,
): void {
  const { rng, recorder, session, memory, world } = ctx;
  const days = world.calendar.days.length;
  const products: number[] = [firstProduct ?? pickProduct(rng, session.day, days)];
  const extra = (rng.chance(0.35) ? 1 : 0) + (rng.chance(0.1) ? 1 : 0);
  for (let k = 0; k < extra; k++) {
    const next = pickProduct(rng, session.day, days);
    if (!products.includes(next)) products.push(next);
  }
  let subtotal = 0;
  const items: string[] = [];
  for (const product of products) {
    const quantity = rng.chance(0.8) ? 1 : 2;
    const info = PRODUCTS[product]!;
    subtotal += info.price * quantity;
    items.push(
      `{"sku":"${info.sku}","name":${JSON.stringify(info.name)},"price":${info.price},"quantity":${quantity}}`,
    );
    const gap = productPage(ctx, pageCode, product, pause(rng, 4, 40));
    recorder.add(EVENT.productViewed, gap, product);
    recorder.add(EVENT.addToCart, pause(rng, 5, 60), product, quantity);
  }
  subtotal = Math.round(subtotal * 100) / 100;
  const coupon = chooseCoupon(ctx, subtotal);
  const discount = coupon < 0 ? 0 : COUPONS[coupon]!.discount;
  const amount = Math.round((subtotal - discount) * 100) / 100;
  const orderId = nextOrderId(ctx);
  const couponCode = coupon < 0 ? '' : COUPONS[coupon]!.code;
  const itemsJson = `[${items.join(',')}]`;
  if (pageCode !== undefined) recorder.add(pageCode, pause(rng, 3, 20), PAGE.cart);
  const checkoutEvent = recorder.addWithPayload(
    EVENT.checkoutStarted,
    pause(rng, 5, 30),
    `{"order_id":"${orderId}","value":${subtotal},"currency":"CNY","coupon":"${couponCode}"}`,
  );
  if (pageCode !== undefined) recorder.add(pageCode, pause(rng, 1, 5), PAGE.checkout);
  const completedEvent = recorder.addWithPayload(
    EVENT.orderCompleted,
    pause(rng, 15, 120),
    `{"order_id":"${orderId}","total":${subtotal},"discount":${discount},"revenue":${amount},"coupon":"${couponCode}","currency":"CNY","products":${itemsJson}}`,
  );
  if (coupon === BANNER_COUPON_INDEX) memory.usedBannerCoupon = true;
  if (pageCode === undefined) memory.socialPurchase = true;
  ctx.orders.push({
    orderId,
    checkoutEvent,
    completedEvent,
    amount,
    itemCount: items.length,
    itemsJson,
    coupon: couponCode,
    contentId: ctx.lastContentId,
    // Negative commenters send more back.
    refunded: rng.chance(ctx.person.negativeCommenter ? 0.15 : 0.045),
  });
}

/** A new order id: shop prefix, the visit's start in base 36, a world-wide sequence number. */
export function nextOrderId(ctx: VisitContext): string {
  const sequence = (ctx.counters.orders++).toString().padStart(7, '0');
  return `CT${ctx.session.startMs.toString(36).toUpperCase()}${sequence}`;
}

function chooseCoupon(ctx: VisitContext, subtotal: number): number {
  const { rng, session, memory, world } = ctx;
  const fits = (index: number): boolean => subtotal >= COUPONS[index]!.minimum;
  if (
    memory.claimedBannerCoupon &&
    !memory.usedBannerCoupon &&
    fits(BANNER_COUPON_INDEX) &&
    rng.chance(0.8)
  ) {
    return BANNER_COUPON_INDEX;
  }
  const inRange = (range: [number, number]): boolean => session.day >= range[0] && session.day <= range[1];
  if (inRange(world.saleDays) && fits(2) && rng.chance(0.7)) return 2;
  if (session.purchase === 1 && fits(0) && rng.chance(0.35)) return 0;
  if (inRange(world.springDays) && fits(1) && rng.chance(0.15)) return 1;
  if (session.purchase === 2 && fits(4) && rng.chance(0.2)) return 4;
  return -1;
}
