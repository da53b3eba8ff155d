/**
 * A memo of a pure function's results that holds at most `capacity` entries and forgets the oldest
 * first (insertion order). Made for ingestion's hot paths, where the same few thousand people send
 * the same values again and again and a full LRU's bookkeeping would cost more than it saves.
 */
export class BoundedMemo<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly capacity: number) {
    if (!(capacity > 0)) throw new RangeError(`capacity must be positive, got ${capacity}`);
  }

  /** The remembered value for `key`, or `compute()`'s result, remembered. */
  get(key: string, compute: () => V): V {
    const known = this.entries.get(key);
    if (known !== undefined) return known;
    const value = compute();
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, value);
    return value;
  }

  get size(): number {
    return this.entries.size;
  }
}
