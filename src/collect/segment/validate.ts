import { randomUUID } from 'node:crypto';
import { detailText, PulseloopError } from '../../errors/registry.js';
import { wellFormed } from '../../lib/well-formed.js';
import { isPlainObject } from './body.js';
import type { CompactText, JsonScan } from './json-scan.js';
import {
  MAX_BATCH_EVENTS,
  MAX_DEPTH,
  MAX_EVENT_BYTES,
  MAX_EVENT_NAME_LENGTH,
  MAX_ID_LENGTH,
  MAX_MESSAGE_ID_LENGTH,
} from './limits.js';

/**
 * The validate step of the Segment pipeline: one parsed call in, a typed `SegmentMessage` or the
 * error that says what was wrong out. Nothing here throws for bad input; each event of a batch is
 * judged on its own so the route can store the good ones and quarantine the rest.
 */

export type CallType = 'track' | 'identify' | 'page' | 'screen' | 'group' | 'alias';

export const CALL_TYPES: readonly CallType[] = ['track', 'identify', 'page', 'screen', 'group', 'alias'];

export function isCallType(value: unknown): value is CallType {
  return typeof value === 'string' && (CALL_TYPES as readonly string[]).includes(value);
}

/** Generated messageIds start with this, so they can be told from the senders' own. */
export const GENERATED_MESSAGE_ID_PREFIX = 'pl-';

export type JsonObject = Record<string, unknown>;

/** The fields every validated call has. Ids are strings (numbers were converted), times are UTC ms. */
export interface MessageCommon {
  messageId: string;
  /** True when the sender gave no messageId; a retry of such a call cannot be deduplicated. */
  messageIdGenerated: boolean;
  userId?: string;
  anonymousId?: string;
  /** As sent, before clock-skew correction (normalise corrects it). */
  timestamp?: number;
  originalTimestamp?: number;
  sentAt?: number;
  /** `{}` when absent; `__proto__` keys removed. */
  context: JsonObject;
  /** Bytes of the call as serialised JSON, as counted against MAX_EVENT_BYTES. */
  sizeBytes: number;
}

export interface TrackMessage extends MessageCommon {
  type: 'track';
  event: string;
  properties: JsonObject;
}

export interface PageMessage extends MessageCommon {
  type: 'page' | 'screen';
  name?: string;
  category?: string;
  properties: JsonObject;
}

export interface IdentifyMessage extends MessageCommon {
  type: 'identify';
  traits: JsonObject;
}

export interface GroupMessage extends MessageCommon {
  type: 'group';
  groupId: string;
  traits: JsonObject;
}

export interface AliasMessage extends MessageCommon {
  type: 'alias';
  previousId: string;
}

/** A call that passed validation, typed by its call type. */
export type SegmentMessage = TrackMessage | PageMessage | IdentifyMessage | GroupMessage | AliasMessage;

export type ValidationResult = { ok: true; message: SegmentMessage } | { ok: false; error: PulseloopError };

// ---------------------------------------------------------------------------------------------
// Shapes of JSON values

/** What one walk over a parsed value finds. */
interface TreeShape {
  /** As `nestingDepth` measures it; the walk stops once it passes the limit. */
  depth: number;
  /** Keys of all objects inside, counted to tell whether a key was sent twice (see `CompactText`). */
  keyCount: number;
  hasProtoKey: boolean;
}

const PROTO_KEY = '__proto__';

/**
 * Walks a value once for its depth, its keys and any own `__proto__` key. Own enumerable keys only,
 * as Object.values would give them, but read with for-in so that no array is allocated per object.
 */
function shapeOf(value: unknown, limit: number): TreeShape {
  const shape: TreeShape = { depth: 0, keyCount: 0, hasProtoKey: false };
  shape.depth = walkShape(value, 1, limit, shape);
  return shape;
}

function walkShape(node: unknown, level: number, limit: number, shape: TreeShape): number {
  if (typeof node !== 'object' || node === null) return level - 1;
  if (level > limit) return level;
  const isArray = Array.isArray(node);
  let deepest = level;
  for (const key in node) {
    if (!Object.hasOwn(node, key)) continue;
    if (!isArray) {
      shape.keyCount++;
      if (key === PROTO_KEY) shape.hasProtoKey = true;
    }
    const depth = walkShape((node as JsonObject)[key], level + 1, limit, shape);
    if (depth > deepest) {
      deepest = depth;
      if (deepest > limit) return deepest;
    }
  }
  return deepest;
}

/**
 * How deeply a value nests objects and arrays: a scalar is 0, `{}` is 1, `{"a":[]}` is 2. Stops
 * walking once `limit` is passed, so it is cheap and stack-safe on any input.
 */
export function nestingDepth(value: unknown, limit: number = MAX_DEPTH): number {
  return shapeOf(value, limit).depth;
}

function copyWithoutProtoKeys(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(copyWithoutProtoKeys);
  if (typeof node !== 'object' || node === null) return node;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(node)) {
    if (key !== PROTO_KEY) out[key] = copyWithoutProtoKeys(child);
  }
  return out;
}

/**
 * The value with every own `__proto__` key removed (JSON.parse makes them plain data, but any
 * later `Object.assign` or naive merge would turn them into prototype changes). Returns the same
 * value when there is none, which is nearly always.
 */
export function withoutProtoKeys<T>(value: T): T {
  return shapeOf(value, Number.POSITIVE_INFINITY).hasProtoKey ? (copyWithoutProtoKeys(value) as T) : value;
}

/** A short, safe rendering of a sent value for an error message. */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

// ---------------------------------------------------------------------------------------------
// Times

// 2024-05-01, 2024-05-01T08:30Z, 2024-05-01 08:30:00.123+08:00, 2015-2-02T00:30:08.276Z (Segment's own docs)
const ISO_8601 =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(?:([Zz])|([+-])(\d{2}):?(\d{2})?)?$/;

/** Largest time a JavaScript Date can hold (±100,000,000 days from the epoch). */
const MAX_DATE_MS = 8.64e15;

/**
 * Reads a time: an ISO 8601 string (a missing offset means UTC) or a number of milliseconds since
 * the epoch. Undefined when it is neither.
 */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number') {
    // Whole milliseconds, as ISO times are read (the store refuses a fractional one in a JSON row).
    return Number.isFinite(value) && Math.abs(value) <= MAX_DATE_MS ? Math.floor(value) : undefined;
  }
  if (typeof value !== 'string' || value.length > 64) return undefined;
  return parseUtcIsoTime(value) ?? parseIsoTime(value);
}

/** The value of the `count` decimal digits at `start`, or -1 when one of them is not a digit. */
function digitsAt(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

/**
 * The shape nearly every SDK sends (`Date.prototype.toISOString`): `YYYY-MM-DDTHH:MM:SSZ` or
 * `YYYY-MM-DDTHH:MM:SS.sssZ`, a valid time in the years 100–9999. Read with character checks
 * instead of the general pattern and Date objects, because every event carries one or two. Undefined
 * for anything else, which `parseIsoTime` then reads (or refuses) as before.
 */
function parseUtcIsoTime(text: string): number | undefined {
  const length = text.length;
  if (length !== 20 && length !== 24) return undefined;
  if (
    text.charCodeAt(4) !== 0x2d || // -
    text.charCodeAt(7) !== 0x2d ||
    text.charCodeAt(10) !== 0x54 || // T
    text.charCodeAt(13) !== 0x3a || // :
    text.charCodeAt(16) !== 0x3a ||
    text.charCodeAt(length - 1) !== 0x5a || // Z
    (length === 24 && text.charCodeAt(19) !== 0x2e) // .
  ) {
    return undefined;
  }
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  const ms = length === 24 ? digitsAt(text, 20, 3) : 0;
  // Years 0–99 would be read as 1900–1999 by Date.UTC; negative values are non-digits.
  if (year < 100 || month < 1 || month > 12 || day < 1 || hour < 0 || minute < 0 || second < 0 || ms < 0) {
    return undefined;
  }
  if (day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/** Any ISO 8601 time `ISO_8601` accepts. */
function parseIsoTime(value: string): number | undefined {
  const m = ISO_8601.exec(value.trim());
  if (!m) return undefined;
  const [year, month, day, hour = 0, minute = 0, second = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(
    (part) => (part === undefined ? undefined : Number(part)),
  ) as [number, number, number, number?, number?, number?];
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC, which reads years 0–99 as 1900–1999
  date.setUTCHours(hour, minute, second, ms);
  // 31 February rolls over into March; a real date survives the round trip.
  if (date.getUTCDate() !== day) return undefined;
  const local = date.getTime();
  if (m[9] === undefined) return local;
  const offsetHours = Number(m[10]);
  const offsetMinutes = Number(m[11] ?? 0);
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const offsetMs = (offsetHours * 60 + offsetMinutes) * 60_000;
  return m[9] === '+' ? local - offsetMs : local + offsetMs;
}

// ---------------------------------------------------------------------------------------------
// Fields

function invalidField(field: string, detail: string, detailZh: string): PulseloopError {
  return new PulseloopError('invalid_field', { field, ...detailText(detail, detailZh) });
}

/** A user, anonymous, previous or group id: a string or a number, '' and null meaning absent. */
function readId(raw: JsonObject, field: string): string | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw invalidField(field, 'must be a string or a finite number', '必须是字符串或有限数值');
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      throw invalidField(
        field,
        'is a number above 2^53 and has lost precision; send it as a string',
        '是大于 2^53 的数值，已丢失精度；请以字符串发送',
      );
    }
    return String(value);
  }
  if (typeof value !== 'string')
    throw invalidField(field, 'must be a string or a number', '必须是字符串或数值');
  if (value.trim() === '') return undefined;
  if (value.length > MAX_ID_LENGTH)
    throw invalidField(field, `is longer than ${MAX_ID_LENGTH} characters`, `超过 ${MAX_ID_LENGTH} 个字符`);
  return wellFormed(value);
}

function requireId(raw: JsonObject, field: string, callType: CallType): string {
  const id = readId(raw, field);
  if (id === undefined)
    throw invalidField(field, `is required for ${callType} calls`, `${callType} 调用必须提供该字段`);
  return id;
}

/** The sent messageId; undefined when none was sent, so that one is generated. */
function readMessageId(raw: JsonObject): string | undefined {
  const value = raw.messageId;
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw invalidField('messageId', 'must be a string', '必须是字符串');
  if (value.length > MAX_MESSAGE_ID_LENGTH) {
    throw invalidField(
      'messageId',
      `is longer than ${MAX_MESSAGE_ID_LENGTH} characters`,
      `超过 ${MAX_MESSAGE_ID_LENGTH} 个字符`,
    );
  }
  return wellFormed(value);
}

/** An event, page or screen name: a string of bounded length. */
function readName(raw: JsonObject, field: string, required: boolean): string | undefined {
  const value = raw[field];
  if (value === undefined || value === null) {
    if (required)
      throw invalidField(
        field,
        'is required: the name of the action, e.g. "Order Completed"',
        '必须填写行为名称，例如 "Order Completed"',
      );
    return undefined;
  }
  if (typeof value !== 'string') throw invalidField(field, 'must be a string', '必须是字符串');
  if (required && value.trim() === '') throw invalidField(field, 'must not be empty', '不能为空');
  if (value.length > MAX_EVENT_NAME_LENGTH) {
    throw invalidField(
      field,
      `is longer than ${MAX_EVENT_NAME_LENGTH} characters`,
      `超过 ${MAX_EVENT_NAME_LENGTH} 个字符`,
    );
  }
  return wellFormed(value);
}

/** properties, traits or context: an object, `{}` when absent. */
function readObject(raw: JsonObject, field: string): JsonObject {
  const value = raw[field];
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) throw invalidField(field, 'must be a JSON object', '必须是 JSON 对象');
  return value;
}

function readTime(raw: JsonObject, field: string): number | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  const ms = parseTimestamp(value);
  if (ms === undefined) throw new PulseloopError('invalid_timestamp', { field, value: describeValue(value) });
  return ms;
}

function serialisedBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/**
 * The bytes of the event as serialised JSON. The byte scan of the body already knows them when the
 * event was sent compactly and no key was repeated (its keys are all still there), which spares
 * serialising every event again; otherwise, and after `__proto__` keys were dropped, count them.
 */
function eventBytes(clean: JsonObject, shape: TreeShape, text: CompactText | undefined): number {
  if (text !== undefined && !shape.hasProtoKey && shape.keyCount === text.keyCount) return text.bytes;
  return serialisedBytes(clean);
}

function readCommon(raw: JsonObject, sizeBytes: number): MessageCommon {
  if (sizeBytes > MAX_EVENT_BYTES) {
    throw new PulseloopError('event_too_large', { size: sizeBytes, limit: MAX_EVENT_BYTES });
  }
  const userId = readId(raw, 'userId');
  const anonymousId = readId(raw, 'anonymousId');
  if (userId === undefined && anonymousId === undefined) throw new PulseloopError('missing_id');
  const sentMessageId = readMessageId(raw);
  const common: MessageCommon = {
    messageId: sentMessageId ?? `${GENERATED_MESSAGE_ID_PREFIX}${randomUUID()}`,
    messageIdGenerated: sentMessageId === undefined,
    context: readObject(raw, 'context'),
    sizeBytes,
  };
  if (userId !== undefined) common.userId = userId;
  if (anonymousId !== undefined) common.anonymousId = anonymousId;
  const timestamp = readTime(raw, 'timestamp');
  if (timestamp !== undefined) common.timestamp = timestamp;
  const originalTimestamp = readTime(raw, 'originalTimestamp');
  if (originalTimestamp !== undefined) common.originalTimestamp = originalTimestamp;
  const sentAt = readTime(raw, 'sentAt');
  if (sentAt !== undefined) common.sentAt = sentAt;
  return common;
}

/**
 * Adds the fields of its call type to the common fields. The common object becomes the message
 * (no copy per event); it is new and nobody else holds it.
 */
function readCall(raw: JsonObject, callType: CallType, common: MessageCommon): SegmentMessage {
  switch (callType) {
    case 'track': {
      const message = common as TrackMessage;
      message.type = 'track';
      message.event = readName(raw, 'event', true)!;
      message.properties = readObject(raw, 'properties');
      return message;
    }
    case 'page':
    case 'screen': {
      const message = common as PageMessage;
      message.type = callType;
      message.properties = readObject(raw, 'properties');
      const name = readName(raw, 'name', false);
      const category = readName(raw, 'category', false);
      if (name !== undefined) message.name = name;
      if (category !== undefined) message.category = category;
      return message;
    }
    case 'identify': {
      const message = common as IdentifyMessage;
      message.type = 'identify';
      message.traits = readObject(raw, 'traits');
      return message;
    }
    case 'group': {
      const message = common as GroupMessage;
      message.type = 'group';
      message.groupId = requireId(raw, 'groupId', 'group');
      message.traits = readObject(raw, 'traits');
      return message;
    }
    case 'alias': {
      const message = common as AliasMessage;
      message.type = 'alias';
      message.previousId = requireId(raw, 'previousId', 'alias');
      return message;
    }
  }
}

/**
 * Validates one call for the given call type (the endpoint's, or the item's `type` in a batch):
 * an object of at most 32 KB and 32 levels, with a userId or anonymousId, a messageId (generated
 * when absent), the fields its type needs, object-valued properties/traits/context and parseable
 * times. Never throws for bad input. `text` is what the byte scan of the body learned about the
 * call's JSON text (`scan.root` for a single call), when the caller has it.
 */
export function validateMessage(raw: unknown, callType: CallType, text?: CompactText): ValidationResult {
  try {
    if (!isCallType(callType)) throw new PulseloopError('unknown_type', unknownTypeDetails(callType));
    if (!isPlainObject(raw)) throw new PulseloopError('body_not_object');
    const shape = shapeOf(raw, MAX_DEPTH);
    if (shape.depth > MAX_DEPTH) throw new PulseloopError('too_deep', { limit: MAX_DEPTH });
    const clean = shape.hasProtoKey ? (copyWithoutProtoKeys(raw) as JsonObject) : raw;
    const common = readCommon(clean, eventBytes(clean, shape, text));
    return { ok: true, message: readCall(clean, callType, common) };
  } catch (error) {
    if (error instanceof PulseloopError) return { ok: false, error };
    throw error;
  }
}

/** The sent call type, as the details of an `unknown_type` error. */
function unknownTypeDetails(type: unknown): { value: string; value_zh?: string } {
  return type === undefined || type === null || type === ''
    ? { value: '(missing)', value_zh: '（缺失）' }
    : { value: describeValue(type).replace(/^"|"$/g, '') };
}

/**
 * Validates one event of a batch: its own `type` field decides the call type (`unknown_type`
 * otherwise). `text` is the event's entry in the envelope's `itemTexts`, when there is one.
 */
export function validateBatchItem(raw: unknown, text?: CompactText): ValidationResult {
  if (!isPlainObject(raw)) {
    const sent = describeValue(raw);
    return {
      ok: false,
      error: invalidField(
        'batch',
        `each event must be a JSON object, not ${sent}`,
        `每个事件都必须是 JSON 对象，而不是 ${sent}`,
      ),
    };
  }
  return validateMessage(raw, raw.type as CallType, text);
}

/** The parts of a `POST /v1/batch` body the pipeline uses. */
export interface BatchEnvelope {
  /** The events, not yet validated: give each to `validateBatchItem`. */
  items: unknown[];
  /** Batch-level context, merged into each event by normalise (the event wins). */
  context?: JsonObject;
  /** Batch-level sentAt (UTC ms), used for events that carry none (analytics-node sends it here). */
  sentAt?: number;
  /** What the byte scan of the body learned about each item's text, in the order of `items`. */
  itemTexts?: (CompactText | undefined)[];
}

export type BatchEnvelopeResult =
  | { ok: true; envelope: BatchEnvelope }
  | { ok: false; error: PulseloopError };

/**
 * Checks the envelope of a batch body: `batch` is an array of at most 2,500 events; the batch
 * `context` is an object and the batch `sentAt` a time when present. Errors here refuse the whole
 * request; errors in single events are found later, one by one. `scanned` is the `batch` of the
 * body's byte scan (`parseJsonBodyScanned`), when the caller has it.
 */
export function readBatchEnvelope(body: JsonObject, scanned?: JsonScan['batch']): BatchEnvelopeResult {
  try {
    const items = body.batch;
    if (!Array.isArray(items)) throw new PulseloopError('batch_not_array');
    if (items.length > MAX_BATCH_EVENTS) {
      throw new PulseloopError('batch_too_many_events', { count: items.length, limit: MAX_BATCH_EVENTS });
    }
    const envelope: BatchEnvelope = { items };
    if (body.context !== undefined && body.context !== null) {
      const context = readObject(body, 'context');
      // The batch context sits one level below each event's root once merged.
      if (nestingDepth(context) > MAX_DEPTH - 1) throw new PulseloopError('too_deep', { limit: MAX_DEPTH });
      envelope.context = withoutProtoKeys(context);
    }
    const sentAt = readTime(body, 'sentAt');
    if (sentAt !== undefined) envelope.sentAt = sentAt;
    if (scanned !== undefined && scanned.length === items.length) envelope.itemTexts = scanned.items;
    return { ok: true, envelope };
  } catch (error) {
    if (error instanceof PulseloopError) return { ok: false, error };
    throw error;
  }
}
