import type { Details, ErrorCode } from '../errors/registry.js';
import { PulseloopError } from '../errors/registry.js';
import type { PiiProtector } from '../govern/pii/protect.js';
import { type KeyedContactId, linkedIdsOf } from '../identity/linked-ids.js';
import type { DistinctId } from '../identity/resolver.js';
import { ByteSink } from '../lib/byte-sink.js';
import { writeEventBinaryWithoutPerson } from '../store/facts/event-binary.js';
import { decodeBody, parseJsonBodyScanned } from './segment/body.js';
import { requestNormaliseEnv, toEventRow } from './segment/normalise.js';
import {
  type CallType,
  type JsonObject,
  readBatchEnvelope,
  type SegmentMessage,
  validateBatchItem,
} from './segment/validate.js';

/**
 * The part of ingesting a `/v1/batch` request that needs nothing but the request: decompress, parse,
 * validate, encrypt PII fields, normalise and encode each event's row. It holds no state of the
 * server's (dedupe window, identity graph, consent, erasures), so it can run on a thread of its own
 * (ingest-threads.ts) while the serving thread claims, resolves and logs the events of other
 * requests. What it answers is plain data, cheap to pass between threads.
 */

export interface BatchToPrepare {
  /** The request body as received (compressed or not). */
  body: Uint8Array;
  contentEncoding?: string;
  /** Largest body accepted, after decompression. */
  limitBytes: number;
  projectId: string;
  sourceId: string;
  receivedAt: number;
  ip: string;
  /** Under governance: the project's PII fields, encrypted before anything is stored. */
  piiFields?: string[];
  /** Under governance: also emit the unkeyed phone/e-mail hashes. */
  legacyContactHashes?: boolean;
  /**
   * The write key the serving thread found in the body and authorised (a body without a key in the
   * header): the body's top-level `writeKey` must be exactly this one.
   */
  bodyWriteKey?: string;
}

/**
 * The valid events of a batch, with what the serving thread needs to finish them, by column: passed
 * between threads, arrays of strings and numbers cost a third of what an object per event does.
 */
export interface PreparedEvents {
  /** One per event, in order (their count is the events'). */
  messageIds: string[];
  eventNames: string[];
  /** The sender as stored (userId, else anonymousId). */
  distinctIds: string[];
  /** '' when the call has none. */
  userIds: string[];
  anonymousIds: string[];
  /** Event times, UTC ms, after clock-skew correction. */
  timestamps: Float64Array;
  /** Per event: where its row starts in `rows`, where its person id goes, where the row ends. */
  offsets: Uint32Array;
  /**
   * The events that carry more than their sender's ids, by index: identify and alias calls, and calls
   * with platform or contact ids. What the serving thread does with the others does not depend on
   * their call type.
   */
  extras: Map<number, PreparedExtra>;
  /** The rows in RowBinary, each without its person id (`writeEventBinaryWithoutPerson`). */
  rows: Uint8Array;
}

export interface PreparedExtra {
  type: CallType;
  /** alias: the id merged into userId. */
  previousId?: string;
  /** identify: the traits as sent (consent is read from these). */
  traits?: JsonObject;
  /** identify: the traits as stored (PII fields encrypted; the same object when there are none). */
  storedTraits?: JsonObject;
  /** Platform and contact ids the call vouches for. */
  linkedIds: DistinctId[];
}

export type PreparedBatch =
  | { kind: 'prepared'; events: PreparedEvents }
  /** The request is refused as a whole (not JSON, too large, not a batch…). */
  | { kind: 'refused'; code: ErrorCode; details: Details }
  /**
   * The serving thread ingests the request itself: some events are invalid (quarantine needs its
   * state: erased and opted-out senders' payloads are not kept), or the body's write key is not the
   * one it authorised.
   */
  | { kind: 'for_serving_thread' };

/** The platform and contact ids a plain call vouches for (keyed contact ids under governance). */
export function linkedIdsOfCall(
  message: SegmentMessage,
  keyed?: KeyedContactId,
  keepUnkeyed = false,
): DistinctId[] {
  const traits = message.type === 'identify' ? message.traits : undefined;
  if (!keyed) return linkedIdsOf(traits, message.context);
  return linkedIdsOf(traits, message.context, { keyed, keepUnkeyed });
}

/** Prepares a batch request (see the module comment). `pii` is the project's protector under governance. */
export function prepareBatch(input: BatchToPrepare, pii?: PiiProtector): PreparedBatch {
  try {
    return prepare(input, pii);
  } catch (error) {
    if (error instanceof PulseloopError) return { kind: 'refused', code: error.code, details: error.details };
    throw error;
  }
}

function prepare(input: BatchToPrepare, pii: PiiProtector | undefined): PreparedBatch {
  // A view of the bytes, not a copy (a thread receives a plain Uint8Array).
  const raw = Buffer.from(input.body.buffer, input.body.byteOffset, input.body.byteLength);
  const { body, scan } = parseJsonBodyScanned(decodeBody(raw, input.contentEncoding, input.limitBytes));
  if (input.bodyWriteKey !== undefined && body.writeKey !== input.bodyWriteKey)
    return { kind: 'for_serving_thread' };
  const read = readBatchEnvelope(body, scan.batch);
  if (!read.ok) throw read.error;
  const { items, itemTexts, context: sentContext, sentAt } = read.envelope;
  const batchContext = sentContext && pii ? pii.protectContext(sentContext) : sentContext;
  const env = requestNormaliseEnv(input, batchContext, sentAt);
  const count = items.length;
  const sink = new ByteSink(Math.max(4096, count * 400));
  const events: PreparedEvents = {
    messageIds: [],
    eventNames: [],
    distinctIds: [],
    userIds: [],
    anonymousIds: [],
    timestamps: new Float64Array(count),
    offsets: new Uint32Array(3 * count),
    extras: new Map(),
    rows: new Uint8Array(0),
  };
  for (const [index, item] of items.entries()) {
    const validated = validateBatchItem(item, itemTexts?.[index]);
    if (!validated.ok) return { kind: 'for_serving_thread' };
    const message = validated.message;
    const linkedIds = linkedIdsOfCall(message, pii?.keyed, input.legacyContactHashes);
    const stored = pii ? pii.protect(message) : message;
    const normalised = toEventRow(stored, env);
    if (!normalised.ok) return { kind: 'for_serving_thread' };
    const row = normalised.row;
    const start = sink.length;
    const personAt = writeEventBinaryWithoutPerson(sink, row);
    events.offsets[3 * index] = start;
    events.offsets[3 * index + 1] = personAt;
    events.offsets[3 * index + 2] = sink.length;
    events.timestamps[index] = row.timestamp;
    events.messageIds.push(row.message_id);
    events.eventNames.push(row.event);
    events.distinctIds.push(row.distinct_id);
    events.userIds.push(stored.userId ?? '');
    events.anonymousIds.push(stored.anonymousId ?? '');
    if (message.type !== 'identify' && message.type !== 'alias' && linkedIds.length === 0) continue;
    const extra: PreparedExtra = { type: message.type, linkedIds };
    if (stored.type === 'alias') extra.previousId = stored.previousId;
    if (message.type === 'identify' && stored.type === 'identify') {
      extra.traits = message.traits;
      extra.storedTraits = stored.traits;
    }
    events.extras.set(index, extra);
  }
  events.rows = sink.finish();
  return { kind: 'prepared', events };
}
