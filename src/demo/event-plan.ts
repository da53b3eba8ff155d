/**
 * The compact form of a visit's events. JavaScript decides every event (name, time, object,
 * value) but writes each as a few numbers in the visit's staging row; ClickHouse expands them into
 * full `events` rows (`event-expansion.ts`). Building and parsing one JSON object per event would
 * cost several times more than generating the world.
 *
 * Per event: code, value, object (a post, product, page, coupon or variant index, by code), time
 * since the visit started (in tenths of a second) and the number of its payload (0: none).
 */

import type { ByteSink } from '../lib/byte-sink.js';

export const EVENT = {
  pageview: 0,
  screen: 1,
  identify: 2,
  appOpened: 3,
  videoPlayed: 4,
  postViewed: 5,
  contentLiked: 6,
  commentPosted: 7,
  accountFollowed: 8,
  contentShared: 9,
  productViewed: 10,
  productsSearched: 11,
  addToCart: 12,
  checkoutStarted: 13,
  orderCompleted: 14,
  couponClaimed: 15,
  experimentExposure: 16,
  surveyAnswered: 17,
  signedUp: 18,
} as const;
export type EventCode = (typeof EVENT)[keyof typeof EVENT];

/** Event names by code. */
export const EVENT_NAMES: readonly string[] = [
  '$pageview',
  '$screen',
  '$identify',
  'app_opened',
  'video_played',
  'post_viewed',
  'content_liked',
  'comment_posted',
  'account_followed',
  'content_shared',
  'product_viewed',
  'products_searched',
  'add_to_cart',
  'checkout_started',
  'order_completed',
  'coupon_claimed',
  '$experiment_exposure',
  'survey_answered',
  'signed_up',
];

/** Page objects at or above this index are product pages: product = object − PRODUCT_PAGE_BASE. */
export const PRODUCT_PAGE_BASE = 100;

export const MAX_EVENTS_PER_SESSION = 96;
/** Visits last at most this long; longer plans are compressed in time. */
export const MAX_SESSION_MS = 90 * 60_000;

/** Collects one visit's events, then fixes their times (`writeVisit` writes them out). */
export class SessionRecorder {
  readonly codes = new Uint8Array(MAX_EVENTS_PER_SESSION);
  readonly objects = new Uint16Array(MAX_EVENTS_PER_SESSION);
  readonly values = new Uint8Array(MAX_EVENTS_PER_SESSION);
  private readonly gapsMs = new Float64Array(MAX_EVENTS_PER_SESSION);
  private readonly gapsDs = new Uint16Array(MAX_EVENTS_PER_SESSION);
  /** Event times (UTC ms), valid after `finalize`. */
  readonly timesMs = new Float64Array(MAX_EVENTS_PER_SESSION);
  readonly payloads: string[] = [];
  /** Per event, its payload's number in `payloads` counting from 1, or 0 when it has none. */
  readonly payloadSlots = new Uint8Array(MAX_EVENTS_PER_SESSION);
  /** Event times as tenths of a second since the visit's start, valid after `finalize`. */
  readonly offsetsDs = new Uint32Array(MAX_EVENTS_PER_SESSION);
  count = 0;
  startMs = 0;

  reset(): void {
    this.count = 0;
    this.payloads.length = 0;
  }

  /** Room left; browsing stops early so that purchases always fit. */
  room(): number {
    return MAX_EVENTS_PER_SESSION - this.count;
  }

  /** Adds an event `gapMs` after the previous one; returns its index in the visit. */
  add(code: EventCode, gapMs: number, object = 0, value = 0): number {
    if (this.count >= MAX_EVENTS_PER_SESSION) throw new RangeError('a demo visit holds at most 96 events');
    const i = this.count++;
    this.codes[i] = code;
    this.gapsMs[i] = i === 0 ? 0 : gapMs;
    this.objects[i] = object;
    this.values[i] = value;
    this.payloadSlots[i] = 0;
    return i;
  }

  /** Adds an event whose JSON properties are written out in full (identify, comment, share, order…). */
  addWithPayload(code: EventCode, gapMs: number, payload: string, object = 0, value = 0): number {
    const i = this.add(code, gapMs, object, value);
    this.payloads.push(payload);
    this.payloadSlots[i] = this.payloads.length;
    return i;
  }

  /**
   * Fixes the event times: the visit starts at `startMs`, lasts at most MAX_SESSION_MS and ends
   * before `limitMs` (the end of the world, or of a churned person's activity).
   */
  finalize(startMs: number, limitMs: number): void {
    let totalMs = 0;
    for (let i = 1; i < this.count; i++) totalMs += this.gapsMs[i]!;
    const room = Math.min(MAX_SESSION_MS, limitMs - 1000 - startMs);
    const scale =
      totalMs > room && room > 0 ? room / totalMs : totalMs > MAX_SESSION_MS ? MAX_SESSION_MS / totalMs : 1;
    let totalDs = 0;
    this.gapsDs[0] = 0;
    for (let i = 1; i < this.count; i++) {
      // At least a tenth of a second apart, so event order is time order.
      const ds = Math.min(65_535, Math.max(1, Math.round((this.gapsMs[i]! * scale) / 100)));
      this.gapsDs[i] = ds;
      totalDs += ds;
    }
    // A visit that starts too close to the limit moves earlier instead.
    this.startMs = Math.min(startMs, limitMs - 1000 - totalDs * 100);
    let offsetDs = 0;
    for (let i = 0; i < this.count; i++) {
      offsetDs += this.gapsDs[i]!;
      this.offsetsDs[i] = offsetDs;
      this.timesMs[i] = this.startMs + offsetDs * 100;
    }
  }
}

/** Who sent a visit's events and where: the fields of one staging row besides its events. */
export interface VisitHeader {
  /** Global visit number: the session id and message ids derive from it. */
  index: number;
  personId: string;
  /** Distinct id before `switchAt` (the device's anonymous id, or the platform user id). */
  firstId: string;
  /** Distinct id from event `switchAt` on (the user id), '' if it never changes. */
  laterId: string;
  switchAt: number;
  /** Web or app visit: `firstId` is also the anonymous id. */
  sdk: boolean;
  platform: number;
  touch: number;
  sharerId: string;
  device: number;
  city: number;
  locale: number;
  /** 1-based app version index for app visits, 0 otherwise. */
  appVersion: number;
}

/**
 * The staging table's columns, in the order `writeVisit` writes them (RowBinary holds every column).
 * Binary rows cost the engine next to nothing to read, and carry each event's numbers as arrays the
 * expansion reads directly.
 */
export const STAGING_COLUMNS = [
  'i',
  'p',
  'a',
  'u',
  'ix',
  'w',
  'ts',
  'pl',
  'tc',
  'sh',
  'dv',
  'g',
  'lc',
  'v',
  'codes',
  'vals',
  'objs',
  'offs',
  'slots',
  'payloads',
] as const;

/** Writes one RowBinary row of the staging table (columns STAGING_COLUMNS, types in `createStagingSql`). */
export function writeVisit(sink: ByteSink, h: VisitHeader, recorder: SessionRecorder): void {
  const n = recorder.count;
  sink.int64LE(h.index);
  sink.binaryString(h.personId);
  sink.binaryString(h.firstId);
  sink.binaryString(h.laterId);
  sink.uintLE(h.laterId === '' ? NO_SWITCH : h.switchAt, 2);
  sink.uintLE(h.sdk ? 1 : 0, 1);
  sink.int64LE(recorder.startMs);
  sink.uintLE(h.platform, 1);
  sink.uintLE(h.touch, 2);
  sink.binaryString(h.sharerId);
  sink.uintLE(h.device, 1);
  sink.uintLE(h.city, 1);
  sink.uintLE(h.locale, 1);
  sink.uintLE(h.appVersion, 1);
  sink.uintArray(recorder.codes, n, 1);
  sink.uintArray(recorder.values, n, 1);
  sink.uintArray(recorder.objects, n, 2);
  sink.uintArray(recorder.offsetsDs, n, 4);
  sink.uintArray(recorder.payloadSlots, n, 1);
  const payloads = recorder.payloads;
  sink.varUInt(payloads.length);
  for (const payload of payloads) sink.binaryString(payload);
  sink.endRow();
}

/** `ix` of a visit whose sender never changes id: past any event index. */
const NO_SWITCH = 65535;
