import { wellFormed } from './well-formed.js';

/**
 * A growable byte buffer for insert payloads (JSON lines, binary rows), used by the demo
 * generator and by ingestion. Writing lines straight into bytes avoids
 * building millions of small strings, joining them and encoding the result again, which cost about
 * a third of the generator's time.
 */
export class ByteSink {
  private buffer: Buffer;
  length = 0;
  /** Lines written since the last `take`. */
  lines = 0;

  constructor(initialBytes = 1 << 20) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes the sink holds before it must grow. */
  get capacity(): number {
    return this.buffer.length;
  }

  /** Writes ASCII-only text (ids, numbers, JSON punctuation). */
  ascii(text: string): void {
    const n = text.length;
    this.reserve(n);
    // A plain loop beats Buffer.write, which checks its arguments on every call, for short text (ids).
    if (n > 40) {
      this.length += this.buffer.write(text, this.length, 'latin1');
      return;
    }
    const out = this.buffer;
    let o = this.length;
    for (let i = 0; i < n; i++) out[o++] = text.charCodeAt(i);
    this.length = o;
  }

  /** Writes text that may hold any character (names, comments, JSON payloads). */
  utf8(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  /** Writes a non-negative integer (below 2^53) in decimal. */
  int(value: number): void {
    // Digits straight into the buffer: no string per number. Above 10^9 the value is split, so that
    // every division is on a 32-bit integer (a double's % is a call into the C library).
    const v = Math.floor(value);
    if (v >= BILLION) {
      const high = Math.floor(v / BILLION);
      this.int(high);
      this.digits(v - high * BILLION, 9);
      return;
    }
    let width = 1;
    for (let t = v; t >= 10; t = (t / 10) | 0) width++;
    this.digits(v, width);
  }

  /** Writes `value` (below 10^9) as exactly `width` digits, zero-padded. */
  private digits(value: number, width: number): void {
    this.reserve(width);
    const out = this.buffer;
    let v = value | 0;
    for (let o = this.length + width - 1; o >= this.length; o--) {
      const next = (v / 10) | 0;
      out[o] = 0x30 + (v - next * 10);
      v = next;
    }
    this.length += width;
  }

  /**
   * Writes a JSON string literal: ASCII byte by byte (quotes and backslashes escaped in place, as
   * in a JSON text held in a string column), anything else through JSON.stringify. A lone UTF-16
   * surrogate (which a sender can write as `\ud800`) becomes U+FFFD, as in UTF-8 text: JSON.stringify
   * would write it as an escape that ClickHouse refuses, failing the whole insert.
   */
  jsonString(text: string): void {
    const n = text.length;
    this.reserve(2 * n + 2);
    const out = this.buffer;
    const start = this.length;
    let o = start;
    out[o++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22 || c === 0x5c) {
        out[o++] = 0x5c;
        out[o++] = c;
      } else if (c < 0x20 || c > 0x7e) {
        // Control characters need \u escapes and non-ASCII needs UTF-8: JSON.stringify does both.
        this.length = start;
        this.utf8(JSON.stringify(wellFormed(text)));
        return;
      } else {
        out[o++] = c;
      }
    }
    out[o++] = 0x22;
    this.length = o;
  }

  /** Writes a finite number as JSON does. */
  jsonNumber(value: number): void {
    if (Number.isSafeInteger(value) && value >= 0) this.int(value);
    else this.ascii(String(value));
  }

  // RowBinary, ClickHouse's binary row format: integers little-endian, strings and arrays prefixed
  // with their length as an unsigned LEB128.

  /** An unsigned integer (below 2^53) as LEB128: the length of a RowBinary string or array. */
  varUInt(value: number): void {
    this.reserve(8);
    const out = this.buffer;
    let o = this.length;
    let v = value;
    while (v >= 0x80) {
      out[o++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    out[o++] = v;
    this.length = o;
  }

  /** An unsigned integer of `bytes` bytes (1, 2 or 4), little-endian: UInt8, UInt16, UInt32. */
  uintLE(value: number, bytes: 1 | 2 | 4): void {
    this.reserve(bytes);
    const out = this.buffer;
    let o = this.length;
    let v = value >>> 0;
    for (let k = 0; k < bytes; k++) {
      out[o++] = v & 0xff;
      v >>>= 8;
    }
    this.length = o;
  }

  /** A safe integer as Int64 or UInt64, little-endian (two's complement when negative). */
  int64LE(value: number): void {
    const high = Math.floor(value / 4294967296);
    this.uintLE(value - high * 4294967296, 4);
    this.uintLE(high, 4);
  }

  /** An Int64 or UInt64 given as a BigInt, little-endian (for values beyond 2^53). */
  bigInt64LE(value: bigint): void {
    this.reserve(8);
    this.buffer.writeBigInt64LE(BigInt.asIntN(64, value), this.length);
    this.length += 8;
  }

  /** A RowBinary String: the UTF-8 byte length, then the bytes. */
  binaryString(text: string): void {
    const n = text.length;
    if (n < SHORT_TEXT) {
      // Short text is usually ASCII (ids, names): a loop beats a native call, and its length is one
      // byte, written once the text proves ASCII.
      this.reserve(n + 1);
      const out = this.buffer;
      const start = this.length;
      let o = start + 1;
      for (let i = 0; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) {
          this.binaryUtf8(text);
          return;
        }
        out[o++] = c;
      }
      out[start] = n;
      this.length = o;
      return;
    }
    this.binaryUtf8(text);
  }

  /**
   * A RowBinary String of any text: encoded once, a byte after where it starts, and moved up when
   * its length needs more than one byte (a lone surrogate is written as U+FFFD, as UTF-8 must).
   */
  private binaryUtf8(text: string): void {
    this.reserve(3 * text.length + 6);
    const start = this.length;
    const written = this.buffer.write(text, start + 1, 'utf8');
    let prefix = 1;
    for (let v = written; v >= 0x80; v = Math.floor(v / 0x80)) prefix++;
    if (prefix > 1) this.buffer.copyWithin(start + prefix, start + 1, start + 1 + written);
    this.varUInt(written);
    this.length += written;
  }

  /** A RowBinary Array of UInt8, UInt16 or UInt32: the count, then each element. */
  uintArray(values: ArrayLike<number>, count: number, bytes: 1 | 2 | 4): void {
    this.varUInt(count);
    this.reserve(count * bytes);
    const out = this.buffer;
    let o = this.length;
    for (let i = 0; i < count; i++) {
      const v = values[i]! >>> 0;
      out[o++] = v & 0xff;
      if (bytes === 1) continue;
      out[o++] = (v >>> 8) & 0xff;
      if (bytes === 2) continue;
      out[o++] = (v >>> 16) & 0xff;
      out[o++] = v >>> 24;
    }
    this.length = o;
  }

  /** Bytes `start` to `end` of `source`, as they are (a piece of a row written elsewhere). */
  bytes(source: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.reserve(n);
    this.buffer.set(source.subarray(start, end), this.length);
    this.length += n;
  }

  /** Ends a binary row (counted as a line, like a text row's). */
  endRow(): void {
    this.lines++;
  }

  /** A copy of the bytes written; the sink starts over in its own buffer (for sinks that are reused). */
  copyAndReset(): Buffer {
    const out = Buffer.from(this.buffer.subarray(0, this.length));
    this.length = 0;
    this.lines = 0;
    return out;
  }

  /** Ends the current line. */
  endLine(): void {
    this.reserve(1);
    this.buffer[this.length++] = 0x0a;
    this.lines++;
  }

  /** The bytes written so far; the sink starts over in a new buffer. */
  take(): Buffer {
    // Hand the bytes over without copying and carry on in a fresh buffer of the same size.
    const out = this.buffer.subarray(0, this.length);
    this.buffer = Buffer.allocUnsafe(this.buffer.length);
    this.length = 0;
    this.lines = 0;
    return out;
  }

  /** The bytes written; the sink is done (no new buffer, unlike `take`). */
  finish(): Buffer {
    const out = this.buffer.subarray(0, this.length);
    this.buffer = Buffer.alloc(0);
    this.length = 0;
    this.lines = 0;
    return out;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

const BILLION = 1_000_000_000;
/** Below this many characters, binaryString copies text in a loop; from it on, natively. */
const SHORT_TEXT = 24;
