import { gunzipSync, inflateRawSync, inflateSync, type ZlibOptions } from 'node:zlib';
import { detailText, jsonParseDetail, PulseloopError } from '../../errors/registry.js';
import { type JsonScan, scanJson } from './json-scan.js';
import { MAX_BODY_DEPTH } from './limits.js';

/**
 * The first step of the Segment pipeline: turn the bytes of a request into a JSON object, safely.
 * Decompression stops as soon as the output passes the limit (a zip bomb never allocates more than
 * about the limit), nesting is measured by a byte scan before JSON.parse builds anything, and
 * parsed objects are merged without ever touching a prototype.
 */

type Coding = 'identity' | 'gzip' | 'deflate';

const CODINGS: Record<string, Coding> = {
  '': 'identity',
  identity: 'identity',
  gzip: 'gzip',
  'x-gzip': 'gzip',
  deflate: 'deflate',
};

/** Reads a Content-Encoding header; a list of codings may hold one compression at most. */
function codingOf(contentEncoding: string | undefined): Coding {
  const names = (contentEncoding ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '' && name !== 'identity');
  if (names.length === 0) return 'identity';
  const coding = names.length === 1 ? CODINGS[names[0]!] : undefined;
  if (coding === undefined) {
    throw new PulseloopError('unsupported_encoding', { encoding: String(contentEncoding).slice(0, 100) });
  }
  return coding;
}

function tooLarge(size: number, limitBytes: number): PulseloopError {
  return new PulseloopError('request_too_large', { size, limit: limitBytes });
}

function isZlibError(error: unknown): error is Error & { code?: string } {
  return error instanceof Error;
}

function inflate(raw: Buffer, coding: 'gzip' | 'deflate', options: ZlibOptions): Buffer {
  if (coding === 'gzip') return gunzipSync(raw, options);
  try {
    return inflateSync(raw, options);
  } catch (error) {
    // HTTP "deflate" means zlib-wrapped, but some clients send a bare deflate stream.
    if (isZlibError(error) && error.code === 'Z_DATA_ERROR') return inflateRawSync(raw, options);
    throw error;
  }
}

/**
 * Decompresses a request body (gzip, x-gzip, deflate, identity or none), refusing any output
 * longer than `limitBytes` while inflating.
 */
export function decodeBody(raw: Buffer, contentEncoding: string | undefined, limitBytes: number): Buffer {
  const coding = codingOf(contentEncoding);
  if (coding === 'identity') {
    if (raw.length > limitBytes) throw tooLarge(raw.length, limitBytes);
    return raw;
  }
  try {
    // zlib stops with ERR_BUFFER_TOO_LARGE once the output would pass maxOutputLength.
    return inflate(raw, coding, { maxOutputLength: Math.max(1, limitBytes) });
  } catch (error) {
    if (isZlibError(error) && error.code === 'ERR_BUFFER_TOO_LARGE') {
      // The size is unknown: inflating stopped at the limit.
      throw new PulseloopError('request_too_large', {
        size: `more than ${limitBytes}`,
        size_zh: `超过 ${limitBytes}`,
        limit: limitBytes,
      });
    }
    const detail = isZlibError(error) ? error.message : String(error);
    throw new PulseloopError('corrupt_body', { detail: `${coding}: ${detail}` });
  }
}

/**
 * The deepest nesting of `[`/`{` in JSON text, found by one pass over the bytes (brackets inside
 * strings do not count). Stops counting once `stopAbove` is passed.
 */
export function jsonNestingDepth(buf: Uint8Array, stopAbove: number = MAX_BODY_DEPTH): number {
  return scanJson(buf, stopAbove).depth;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A parsed request body, and what the byte scan before parsing learned about its text. */
export interface ParsedBody {
  body: Record<string, unknown>;
  /** Hand `scan.batch` to `readBatchEnvelope` and `scan.root` to `validateMessage`, to spare them work. */
  scan: JsonScan;
}

/**
 * Parses a request body into a JSON object. Answers `invalid_json` (not UTF-8, empty, malformed,
 * with JSON.parse's own explanation and position), `too_deep` (nesting beyond MAX_BODY_DEPTH, found
 * before parsing) and `body_not_object` (an array or a scalar).
 */
export function parseJsonBody(buf: Buffer): Record<string, unknown> {
  return parseJsonBodyScanned(buf).body;
}

/** `parseJsonBody`, also answering what the byte scan learned about the text (see `scanJson`). */
export function parseJsonBodyScanned(buf: Buffer): ParsedBody {
  let text: string;
  try {
    text = utf8.decode(buf); // also drops a leading byte-order mark
  } catch {
    throw new PulseloopError(
      'invalid_json',
      detailText('the body is not UTF-8 text', '请求体不是 UTF-8 文本'),
    );
  }
  if (text.trim() === '')
    throw new PulseloopError('invalid_json', detailText('the body is empty', '请求体为空'));
  const scan = scanJson(buf, MAX_BODY_DEPTH);
  if (scan.depth > MAX_BODY_DEPTH) throw new PulseloopError('too_deep', { limit: MAX_BODY_DEPTH });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PulseloopError('invalid_json', jsonParseDetail(error));
  }
  if (!isPlainObject(value)) throw new PulseloopError('body_not_object');
  return { body: value, scan };
}

const WRITE_KEY_FIELD = Buffer.from('"writeKey"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The write key a JSON body carries, found in its bytes without parsing (browsers send it in the
 * body: sendBeacon cannot set headers), so that the request can be authorised before a thread parses
 * it. The first `"writeKey": "…"` is taken; the thread then checks it is the body's top-level key
 * (`bodyWriteKey`), so a nested field of that name costs a hand-back, never a wrong project. Undefined
 * when there is none or it holds an escape (the serving thread then parses the body itself).
 */
export function writeKeyInBody(body: Buffer): string | undefined {
  const at = body.indexOf(WRITE_KEY_FIELD);
  if (at === -1) return undefined;
  let i = at + WRITE_KEY_FIELD.length;
  const skipSpace = () => {
    while (i < body.length && (body[i] === 0x20 || body[i] === 0x09 || body[i] === 0x0a || body[i] === 0x0d))
      i++;
  };
  skipSpace();
  if (body[i] !== 0x3a) return undefined;
  i++;
  skipSpace();
  if (body[i] !== QUOTE) return undefined;
  const start = ++i;
  while (i < body.length && body[i] !== QUOTE) {
    if (body[i] === BACKSLASH) return undefined;
    i++;
  }
  if (i >= body.length || i === start) return undefined;
  return body.toString('utf8', start, i);
}

/** True for `{…}` objects (not arrays, null, class instances). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Keys that must never be walked through or assigned by name: `__proto__` would replace the
 * target's prototype, and a merge that follows inherited `constructor.prototype` reaches
 * Object.prototype itself.
 */
const PROTO_KEY = '__proto__';

/**
 * Merges parsed JSON objects without prototype pollution: `override` wins, nested plain objects
 * are merged (arrays and scalars are replaced), inputs are never modified, `__proto__` keys are
 * dropped, and only own properties are ever read or written (`constructor`/`prototype` are plain
 * data keys here).
 */
export function safeMerge(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const source of [base, override]) {
    for (const key of Object.keys(source)) {
      if (key === PROTO_KEY) continue;
      const value = source[key];
      const existing = Object.hasOwn(out, key) ? out[key] : undefined;
      if (isPlainObject(existing) && isPlainObject(value)) out[key] = safeMerge(existing, value);
      else if (isPlainObject(value)) out[key] = safeMerge({}, value);
      else out[key] = value;
    }
  }
  return out;
}
