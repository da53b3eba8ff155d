/**
 * A growable byte buffer for insert payloads (JSON lines, tab-separated rows), used by the demo
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
   * in a JSON text held in a string column), anything else through JSON.stringify.
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
        this.utf8(JSON.stringify(text));
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

  /** A copy of the bytes written; the sink starts over in its own buffer (for sinks that are reused). */
  copyAndReset(): Buffer {
    const out = Buffer.from(this.buffer.subarray(0, this.length));
    this.length = 0;
    this.lines = 0;
    return out;
  }

  /** Writes one byte (a separator). */
  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  /** Ends the current field of a tab-separated row. */
  tab(): void {
    this.byte(0x09);
  }

  /** Ends the current line. */
  endLine(): void {
    this.reserve(1);
    this.buffer[this.length++] = 0x0a;
    this.lines++;
  }

  /** Base64 of `bytes[0, count)`, written directly (standard alphabet with padding). */
  base64(bytes: Uint8Array, count: number): void {
    this.reserve(Math.ceil(count / 3) * 4);
    const out = this.buffer;
    let o = this.length;
    let i = 0;
    for (; i + 2 < count; i += 3) {
      const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
      out[o++] = BASE64[n >>> 18]!;
      out[o++] = BASE64[(n >>> 12) & 63]!;
      out[o++] = BASE64[(n >>> 6) & 63]!;
      out[o++] = BASE64[n & 63]!;
    }
    if (i < count) {
      const rest = count - i;
      const n = (bytes[i]! << 16) | (rest > 1 ? bytes[i + 1]! << 8 : 0);
      out[o++] = BASE64[n >>> 18]!;
      out[o++] = BASE64[(n >>> 12) & 63]!;
      out[o++] = rest > 1 ? BASE64[(n >>> 6) & 63]! : 0x3d;
      out[o++] = 0x3d;
    }
    this.length = o;
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

  /** Appends lines written by another sink. */
  append(bytes: Uint8Array, lines: number): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    this.lines += lines;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

const BILLION = 1_000_000_000;

const BASE64 = Uint8Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', (c) =>
  c.charCodeAt(0),
);
