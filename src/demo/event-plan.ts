/**
 * The compact form of a visit's events. JavaScript decides every event (name, time, object,
 * value) but writes each as six bytes; ClickHouse expands the bytes into full `events` rows
 * (`event-expansion.ts`). Building and parsing one JSON object per event would cost several times
 * more than generating the world.
 *
 * Record layout, little-endian: code u8 | value u8 | object u16 | gap since previous event u16 (in
 * tenths of a second). The object is a post, product, page, coupon or variant index, by code.
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

/** Events whose properties are written out in full (the visit's `x` list, in event order). */
export const PAYLOAD_CODES: readonly EventCode[] = [
  EVENT.identify,
  EVENT.commentPosted,
  EVENT.contentShared,
  EVENT.checkoutStarted,
  EVENT.orderCompleted,
];

/** Page objects at or above this index are product pages: product = object − PRODUCT_PAGE_BASE. */
export const PRODUCT_PAGE_BASE = 100;

export const RECORD_BYTES = 6;
export const MAX_EVENTS_PER_SESSION = 96;
/** Visits last at most this long; longer plans are compressed in time. */
export const MAX_SESSION_MS = 90 * 60_000;

/** Collects one visit's events, then fixes their times and encodes them. */
export class SessionRecorder {
  readonly codes = new Uint8Array(MAX_EVENTS_PER_SESSION);
  readonly objects = new Uint16Array(MAX_EVENTS_PER_SESSION);
  readonly values = new Uint8Array(MAX_EVENTS_PER_SESSION);
  private readonly gapsMs = new Float64Array(MAX_EVENTS_PER_SESSION);
  private readonly gapsDs = new Uint16Array(MAX_EVENTS_PER_SESSION);
  /** Event times (UTC ms), valid after `finalize`. */
  readonly timesMs = new Float64Array(MAX_EVENTS_PER_SESSION);
  readonly payloads: string[] = [];
  private readonly bytes = new Uint8Array(RECORD_BYTES * MAX_EVENTS_PER_SESSION);
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
    return i;
  }

  /** Adds an event of a PAYLOAD_CODES kind with its JSON properties. */
  addWithPayload(code: EventCode, gapMs: number, payload: string, object = 0, value = 0): number {
    this.payloads.push(payload);
    return this.add(code, gapMs, object, value);
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
    let t = this.startMs;
    for (let i = 0; i < this.count; i++) {
      t += this.gapsDs[i]! * 100;
      this.timesMs[i] = t;
    }
  }

  /** Packs the records into bytes; returns how many bytes to encode. */
  pack(): Uint8Array {
    const b = this.bytes;
    for (let i = 0; i < this.count; i++) {
      const o = i * RECORD_BYTES;
      const object = this.objects[i]!;
      const gap = this.gapsDs[i]!;
      b[o] = this.codes[i]!;
      b[o + 1] = this.values[i]!;
      b[o + 2] = object & 0xff;
      b[o + 3] = object >>> 8;
      b[o + 4] = gap & 0xff;
      b[o + 5] = gap >>> 8;
    }
    return b;
  }
}

/** Who sent a visit's events and where: the fields of one staging row besides the records. */
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
 * The staging table's columns, in the order `writeVisit` writes them (TabSeparated holds every column).
 * The engine parses tab-separated rows several times faster than JSON lines naming their keys.
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
  'r',
  'x',
] as const;

/** Separates a visit's payloads in `x`; JSON text never holds this control character unescaped. */
export const PAYLOAD_SEPARATOR = 0x1e;

/**
 * Writes one TabSeparated row of the staging table (columns STAGING_COLUMNS). Ids are plain ASCII
 * without tabs or backslashes and need no escaping; payloads are JSON text, whose only character
 * TabSeparated escapes is the backslash.
 */
export function writeVisit(sink: ByteSink, h: VisitHeader, recorder: SessionRecorder): void {
  // Piece by piece rather than one template string: the row goes to bytes without an intermediate string.
  sink.int(h.index);
  sink.tab();
  sink.ascii(h.personId);
  sink.tab();
  sink.ascii(h.firstId);
  sink.tab();
  sink.ascii(h.laterId);
  sink.tab();
  sink.int(h.laterId === '' ? NO_SWITCH : h.switchAt);
  sink.tab();
  sink.int(h.sdk ? 1 : 0);
  sink.tab();
  sink.int(recorder.startMs);
  sink.tab();
  sink.int(h.platform);
  sink.tab();
  sink.int(h.touch);
  sink.tab();
  sink.ascii(h.sharerId);
  sink.tab();
  sink.int(h.device);
  sink.tab();
  sink.int(h.city);
  sink.tab();
  sink.int(h.locale);
  sink.tab();
  sink.int(h.appVersion);
  sink.tab();
  sink.base64(recorder.pack(), recorder.count * RECORD_BYTES);
  sink.tab();
  const payloads = recorder.payloads;
  for (let k = 0; k < payloads.length; k++) {
    if (k > 0) sink.byte(PAYLOAD_SEPARATOR);
    const payload = payloads[k]!;
    sink.utf8(payload.includes('\\') ? payload.replaceAll('\\', '\\\\') : payload);
  }
  sink.endLine();
}

/** `ix` of a visit whose sender never changes id: past any event index. */
const NO_SWITCH = 65535;
