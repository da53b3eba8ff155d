/**
 * Cuts the bytes of a CSV/TSV export into segments of whole records, for the engine to read one file
 * at a time (progress between segments, memory bounded by the segment size). A record ends at a line
 * break outside quotes. The bytes are scanned once, chunk by chunk, and never copied: a segment is the
 * list of chunks (the last one cut) that hold it.
 *
 * The engine and DelimitedParser agree on RFC 4180 quoting only: a quote that opens a field at its
 * start, doubled quotes inside, a closing quote followed by the delimiter or the line's end. Where
 * a file quotes otherwise (`ab"c`, `"ab"c`, `, "a"` after a space) the two would split it differently,
 * so the segmenter reports it (`irregular`) and the import is left to JavaScript.
 */

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** A segment: whole records, and how many (line breaks outside quotes, plus an unterminated last one). */
export interface Segment {
  chunks: Buffer[];
  bytes: number;
  records: number;
}

export class CsvSegmenter {
  /** Chunks scanned but not yet handed out; the first starts a record. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Where the last record of the pending bytes ends: chunk index and offset of its line break. */
  private boundary: { chunk: number; at: number } | undefined;
  /** Records ending in the pending bytes (all of them at or before `boundary`). */
  private records = 0;
  private quoted = false;
  /** The byte before the next chunk's first. */
  private previous = LF;
  /** A quote ended the last chunk inside a quoted field: doubled or closing, the next byte tells. */
  private quoteAtEnd = false;
  /** Set when the file quotes in a way the engine would read differently. */
  irregular = false;

  constructor(
    private readonly delimiter: number,
    private readonly segmentBytes: number,
  ) {}

  /** Adds bytes; answers the segments now complete (whole records, about segmentBytes each). */
  push(chunk: Buffer): Segment[] {
    if (this.irregular || chunk.length === 0) return [];
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (!this.scan(chunk, this.pending.length - 1)) return [];
    if (this.pendingBytes < this.segmentBytes || !this.boundary) return [];
    return [this.cut()];
  }

  /** The rest, at the end of the input. */
  end(): Segment[] {
    if (this.irregular || this.pendingBytes === 0) return [];
    if (this.quoteAtEnd) this.quoted = false; // the file's last byte closes the field
    if (this.quoted) {
      this.irregular = true; // an unclosed quote at the end of the file
      return [];
    }
    const last = this.pending[this.pending.length - 1]!;
    const unterminated = last[last.length - 1] !== LF ? 1 : 0;
    const segment = { chunks: this.pending, bytes: this.pendingBytes, records: this.records + unterminated };
    this.pending = [];
    this.pendingBytes = 0;
    return [segment];
  }

  /** The bytes not handed out as segments (after `irregular`, all of them from the irregular one on). */
  remaining(): Buffer[] {
    return this.pending;
  }

  /** Follows quotes and line breaks through one chunk; false when the quoting is irregular. */
  private scan(data: Buffer, index: number): boolean {
    let from = 0;
    if (this.quoteAtEnd) {
      this.quoteAtEnd = false;
      if (data[0] === QUOTE)
        from = 1; // a doubled quote
      else if (!this.closes(data[0]!)) return this.refuse();
      else this.quoted = false;
    }
    for (;;) {
      const quote = data.indexOf(QUOTE, from);
      const stop = quote < 0 ? data.length : quote;
      if (!this.quoted) {
        for (let lf = data.indexOf(LF, from); lf >= 0 && lf < stop; lf = data.indexOf(LF, lf + 1)) {
          this.records++;
          this.boundary = { chunk: index, at: lf };
        }
      }
      if (quote < 0) break;
      if (!this.quoted) {
        // A quote opens a field only at the field's start.
        const before = quote > 0 ? data[quote - 1]! : this.previous;
        if (before !== this.delimiter && before !== LF) return this.refuse();
        this.quoted = true;
        from = quote + 1;
        continue;
      }
      if (quote + 1 === data.length) {
        this.quoteAtEnd = true;
        break;
      }
      const after = data[quote + 1]!;
      if (after === QUOTE) {
        from = quote + 2;
        continue;
      }
      if (!this.closes(after)) return this.refuse();
      this.quoted = false;
      from = quote + 1;
    }
    this.previous = data[data.length - 1]!;
    return true;
  }

  /** Whether a byte may follow a closing quote. */
  private closes(after: number): boolean {
    return after === this.delimiter || after === LF || after === CR;
  }

  private refuse(): false {
    this.irregular = true;
    return false;
  }

  /** Hands out the pending bytes up to the last record's end; the rest starts the next segment. */
  private cut(): Segment {
    const { chunk, at } = this.boundary!;
    const chunks = this.pending.slice(0, chunk);
    const split = this.pending[chunk]!;
    chunks.push(split.subarray(0, at + 1));
    const rest = [split.subarray(at + 1), ...this.pending.slice(chunk + 1)].filter((c) => c.length > 0);
    const bytes = chunks.reduce((sum, c) => sum + c.length, 0);
    const segment = { chunks, bytes, records: this.records };
    // No record ends after the boundary: the scan state carries over unchanged.
    this.pending = rest;
    this.pendingBytes -= bytes;
    this.records = 0;
    this.boundary = undefined;
    return segment;
  }
}
