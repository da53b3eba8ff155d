import { MAX_BODY_DEPTH } from './limits.js';

/**
 * One pass over the bytes of a JSON body, before JSON.parse builds anything. It measures the nesting
 * (so a body that is too deep is refused before it is built). While it runs, it also notes where each
 * event's text lies, so validation learns an event's serialised size without serialising it again.
 * UTF-8 multi-byte sequences never contain ASCII bytes, so scanning bytes is exact.
 */

/**
 * An object's JSON text, written the way JSON.stringify writes it: no whitespace between tokens, no
 * `\/` or `\u` escapes, numbers in their shortest form. Its length is the serialised size of the parsed
 * object, but only if that object holds `keyCount` keys in all (JSON.parse keeps a repeated key only
 * once, so the object is then smaller than its text).
 */
export interface CompactText {
  bytes: number;
  keyCount: number;
}

export interface JsonScan {
  /** The deepest nesting of `[`/`{`. When it passes `stopAbove`, the scan stops and learns nothing else. */
  depth: number;
  /** The body object itself, when it is written compactly. */
  root?: CompactText;
  /**
   * The elements of the body's top-level `batch` array: how many there are, and the text of each
   * compactly written object among them (undefined for the others). Absent when the body holds a
   * `\u` escape, because a key spelled with escapes could then be `batch` without the scan knowing it.
   */
  batch?: { length: number; items: (CompactText | undefined)[] };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const SLASH = 0x2f;
const LETTER_U = 0x75;

/** Numbers up to 15 digits are printed back exactly as written, if they are written in shortest form. */
const MAX_EXACT_DIGITS = 15;
/** JavaScript prints numbers below 1e-6 in exponent form (`1e-7`), so `0.0000001` is not its shortest form. */
const MAX_FRACTION_LEADING_ZEROS = 5;

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= ZERO && byte <= NINE;
}

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Where the number token starting at `start` ends (digits, sign, point, exponent). */
function numberEnd(buf: Uint8Array, start: number): number {
  let end = start + 1;
  for (; end < buf.length; end++) {
    const byte = buf[end]!;
    if (!isDigit(byte) && byte !== DOT && byte !== 0x65 && byte !== 0x45 && byte !== 0x2b && byte !== MINUS) {
      break;
    }
  }
  return end;
}

/**
 * True when JavaScript prints the number the same way it is written: `-?(0|[1-9]\d*)(\.\d*[1-9])?`,
 * 15 digits at most, not `-0`, not below 1e-6. Other numbers (`1.50`, `1e3`, long ones) may print
 * differently, so the text holding them is not compact.
 */
function isShortestNumber(buf: Uint8Array, start: number, end: number): boolean {
  let at = buf[start] === MINUS ? start + 1 : start;
  const integerStart = at;
  while (at < end && isDigit(buf[at])) at++;
  const integerDigits = at - integerStart;
  if (integerDigits === 0) return false;
  let fractionDigits = 0;
  if (at < end && buf[at] === DOT) {
    const fractionStart = ++at;
    while (at < end && isDigit(buf[at])) at++;
    fractionDigits = at - fractionStart;
    if (fractionDigits === 0 || buf[at - 1] === ZERO) return false;
  }
  if (at !== end || integerDigits + fractionDigits > MAX_EXACT_DIGITS) return false;
  if (integerDigits > 1 || buf[integerStart] !== ZERO) return true;
  if (fractionDigits === 0) return start === integerStart; // "-0" prints as "0"
  let leadingZeros = 0;
  while (buf[integerStart + 2 + leadingZeros] === ZERO) leadingZeros++;
  return leadingZeros <= MAX_FRACTION_LEADING_ZEROS;
}

/** True when the bytes from `start` to `end` spell `batch`. */
function isBatchKey(buf: Uint8Array, start: number, end: number): boolean {
  return (
    end - start === 5 &&
    buf[start] === 0x62 &&
    buf[start + 1] === 0x61 &&
    buf[start + 2] === 0x74 &&
    buf[start + 3] === 0x63 &&
    buf[start + 4] === 0x68
  );
}

/** True when nothing but whitespace lies between `from` and `to` (exclusive). */
function onlyWhitespace(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isWhitespace(buf[i]!)) return false;
  return true;
}

/**
 * Scans JSON text: its nesting (stopping once `stopAbove` is passed) and the compact texts of the
 * body object and of the objects in its `batch` array. Text that is not valid JSON gets an answer too;
 * JSON.parse refuses it afterwards.
 */
export function scanJson(buf: Uint8Array, stopAbove: number = MAX_BODY_DEPTH): JsonScan {
  let depth = 0;
  let deepest = 0;
  // Running counts over the whole text. A span of text is compact when `loose` did not move inside it,
  // and holds as many keys as colons outside strings were counted inside it.
  let loose = 0; // whitespace between tokens, `\/` and `\u` escapes, numbers not in shortest form
  let colons = 0;
  let unicodeEscapes = 0;
  // The last string read at depth 1: the key of the next top-level value.
  let keyStart = -1;
  let keyEnd = -1;
  let root: CompactText | undefined;
  let rootStart = -1;
  let rootLoose = 0;
  let rootColons = 0;
  let batch: { length: number; items: (CompactText | undefined)[] } | undefined;
  let batchStart = -1; // where the `[` of the batch array is while the scan is inside it, else -1
  let batchIndex = 0;
  let itemStart = -1;
  let itemLoose = 0;
  let itemColons = 0;

  const length = buf.length;
  for (let i = 0; i < length; i++) {
    const byte = buf[i]!;
    // Tested in order of frequency: strings, colons, commas, then the rarer bytes.
    if (byte === QUOTE) {
      const start = i + 1;
      for (i = start; i < length; i++) {
        const inner = buf[i]!;
        if (inner > BACKSLASH) continue; // most text (lowercase letters, UTF-8) needs one comparison
        if (inner === QUOTE) break;
        if (inner === BACKSLASH) {
          const escaped = buf[++i];
          if (escaped === LETTER_U) {
            unicodeEscapes++;
            loose++;
          } else if (escaped === SLASH) {
            loose++; // JSON.stringify writes `\/` as `/`
          }
        }
      }
      if (depth === 1) {
        keyStart = start;
        keyEnd = i;
      }
    } else if (byte === COLON) {
      colons++;
    } else if (byte === COMMA) {
      if (depth === 2 && batchStart !== -1) batchIndex++;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return { depth: deepest };
      }
      if (byte === OPEN_ARRAY) {
        if (depth === 2 && isBatchKey(buf, keyStart, keyEnd)) {
          // A repeated `batch` key: JSON.parse keeps the last one, and so does the scan.
          batch = { length: 0, items: [] };
          batchStart = i;
          batchIndex = 0;
        }
      } else if (depth === 1) {
        rootStart = i;
        rootLoose = loose;
        rootColons = colons;
      } else if (depth === 3 && batchStart !== -1) {
        itemStart = i;
        itemLoose = loose;
        itemColons = colons;
      }
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      if (byte === CLOSE_OBJECT) {
        if (depth === 3 && batchStart !== -1 && batch !== undefined && loose === itemLoose) {
          batch.items[batchIndex] = { bytes: i - itemStart + 1, keyCount: colons - itemColons };
        } else if (depth === 1 && rootStart !== -1 && loose === rootLoose) {
          root = { bytes: i - rootStart + 1, keyCount: colons - rootColons };
        }
      } else if (depth === 2 && batchStart !== -1 && batch !== undefined) {
        const empty = batchIndex === 0 && onlyWhitespace(buf, batchStart + 1, i);
        batch.length = empty ? 0 : batchIndex + 1;
        batchStart = -1;
      }
      depth--;
    } else if (byte === MINUS || isDigit(byte)) {
      const end = numberEnd(buf, i);
      if (!isShortestNumber(buf, i, end)) loose++;
      i = end - 1;
    } else if (isWhitespace(byte)) {
      loose++;
    }
  }
  const scan: JsonScan = { depth: deepest };
  if (root !== undefined) scan.root = root;
  if (batch !== undefined && batchStart === -1 && unicodeEscapes === 0) scan.batch = batch;
  return scan;
}
