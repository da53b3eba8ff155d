/**
 * One chunk of an import on its way to the store: each row encoded once, as a line of bytes in one
 * growing buffer, and indexed by its natural key. Rows are not kept as objects: a chunk of 100,000
 * rows is a few MiB off the JavaScript heap plus its keys, so the garbage collector has little to
 * trace and nothing grows with the size of the file.
 */
export class RowChunk {
  private bytes: Buffer;
  private used = 0;
  /** Byte offset where row i starts; row i ends where row i + 1 starts (its line break included). */
  private starts: number[] = [];
  /** Natural key → index of the latest row with that key (a later row of the same key wins). */
  readonly keys = new Map<string, number>();
  /** Rows whose key an earlier row of this chunk had. */
  duplicates = 0;
  /** Smallest and largest value of the kind's range column among the rows. */
  lo: string | number | undefined;
  hi: string | number | undefined;

  /** A chunk in a new buffer of `space` bytes, or in a buffer an earlier chunk released. */
  constructor(space: number | Buffer = 1 << 20) {
    this.bytes = typeof space === 'number' ? Buffer.allocUnsafe(space) : space;
  }

  /** Hands the buffer over for the next chunk; this chunk is done with (its payload written). */
  release(): Buffer {
    const bytes = this.bytes;
    this.bytes = Buffer.alloc(0);
    this.starts = [];
    this.used = 0;
    return bytes;
  }

  /** Number of distinct keys (the rows that will be written). */
  get size(): number {
    return this.keys.size;
  }

  /** Number of rows added, duplicates included (what the buffer holds). */
  get rows(): number {
    return this.starts.length;
  }

  /** Adds a row: its natural key, its encoded line (without line break), its range value if any. */
  add(key: string, line: string, rangeValue?: string | number): void {
    // UTF-8 never takes more than 3 bytes per UTF-16 unit; one more for the line break.
    const room = line.length * 3 + 1;
    if (this.used + room > this.bytes.length) this.grow(this.used + room);
    const index = this.starts.length;
    this.starts.push(this.used);
    this.used += this.bytes.write(line, this.used);
    this.bytes[this.used++] = 10;
    const distinct = this.keys.size;
    this.keys.set(key, index);
    if (this.keys.size === distinct) this.duplicates++;
    if (rangeValue !== undefined) {
      if (this.lo === undefined || rangeValue < this.lo) this.lo = rangeValue;
      if (this.hi === undefined || rangeValue > this.hi) this.hi = rangeValue;
    }
  }

  private grow(needed: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(needed, this.bytes.length * 2));
    this.bytes.copy(bigger, 0, 0, this.used);
    this.bytes = bigger;
  }

  /** Row `index` as text, without its line break. */
  line(index: number): string {
    const end = index + 1 < this.starts.length ? this.starts[index + 1]! : this.used;
    return this.bytes.toString('utf8', this.starts[index]!, end - 1);
  }

  /**
   * The payload of the rows `keep` accepts (all by default), in file order, the latest row per key;
   * rows in `replaced` with their new line. Without duplicates and with every row kept as it is, it
   * is the buffer itself, not a copy.
   */
  payload(keep?: (index: number) => boolean, replaced?: ReadonlyMap<number, string>): Buffer {
    const changed = replaced !== undefined && replaced.size > 0;
    if (!keep && !changed && this.duplicates === 0) return this.bytes.subarray(0, this.used);
    const latest = this.duplicates === 0 ? undefined : new Set(this.keys.values());
    const parts: Buffer[] = [];
    // Runs of neighbouring kept rows are copied as one slice.
    let runStart = -1;
    let runEnd = -1;
    for (let i = 0; i < this.starts.length; i++) {
      if ((latest && !latest.has(i)) || (keep && !keep(i))) continue;
      const line = changed ? replaced.get(i) : undefined;
      if (line !== undefined) {
        if (runStart >= 0) parts.push(this.bytes.subarray(runStart, runEnd));
        parts.push(Buffer.from(`${line}\n`));
        runStart = -1;
        runEnd = -1;
        continue;
      }
      const start = this.starts[i]!;
      const end = i + 1 < this.starts.length ? this.starts[i + 1]! : this.used;
      if (start !== runEnd) {
        if (runStart >= 0) parts.push(this.bytes.subarray(runStart, runEnd));
        runStart = start;
      }
      runEnd = end;
    }
    if (runStart >= 0) parts.push(this.bytes.subarray(runStart, runEnd));
    return Buffer.concat(parts);
  }
}
