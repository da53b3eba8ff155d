/**
 * The limits of the Segment-compatible collection API. The first three are Segment's own
 * (HTTP Tracking API: 32 KB per call, 500 KB per batch request, 2,500 events per batch); the rest
 * are Pulseloop's, chosen so that hostile or broken input is answered with a clear error instead
 * of costing memory, stack or storage.
 */

/** Largest single event, as serialised JSON (Segment: 32 KB per call and per event in a batch). */
export const MAX_EVENT_BYTES = 32 * 1024;

/** Largest decompressed `POST /v1/batch` body (Segment: 500 KB per batch request). */
export const MAX_BATCH_BYTES = 500 * 1024;

/** Most events in one batch request. */
export const MAX_BATCH_EVENTS = 2500;

/** Longest `messageId` (characters). */
export const MAX_MESSAGE_ID_LENGTH = 100;

/** Longest `userId`, `anonymousId`, `previousId` or `groupId` (characters). */
export const MAX_ID_LENGTH = 255;

/** Longest track `event` name, page/screen `name` or `category` (characters). */
export const MAX_EVENT_NAME_LENGTH = 200;

/** A clock-skew-corrected time may lie at most this far after the time of receipt. */
export const MAX_FUTURE_SKEW_HOURS = 24;

/** Times before this (2000-01-01T00:00:00Z) are refused: they are broken clocks or seconds sent as ms. */
export const MIN_TIMESTAMP_MS = Date.UTC(2000, 0, 1);

/**
 * Deepest nesting of one event: the event object counts as level 1, so `{"properties":{"a":{}}}` is
 * 3 levels deep. Deeper events are refused one by one (`too_deep`).
 */
export const MAX_DEPTH = 32;

/**
 * Deepest nesting of a whole request body, checked by a byte scan before JSON.parse. Generous, so
 * that a batch holding one too-deep event still has its other events accepted; a body deeper than
 * this is refused as a whole (`too_deep`) before any object is built.
 */
export const MAX_BODY_DEPTH = 256;

/** Largest raw payload kept in a quarantine row; longer ones are cut and marked. */
export const MAX_QUARANTINE_RAW_BYTES = 64 * 1024;

/** The decompressed body limit of an endpoint: a batch may hold 500 KB, a single call 32 KB. */
export function requestLimitBytes(endpoint: 'batch' | 'single'): number {
  return endpoint === 'batch' ? MAX_BATCH_BYTES : MAX_EVENT_BYTES;
}
