import { mix32 } from '../lib/mix32.js';
import type { FactsEngine } from '../store/facts/engine.js';
import { readInKeyPages } from '../store/facts/key-pages.js';

/**
 * Remembers which messageIds each project has received during the dedupe window, so a re-delivered
 * event is acknowledged without being stored twice. Filled at start from the events stored during
 * the window, then kept up to date by ingestion; entries expire by the hour.
 */
export interface MessageIdWindow {
  /** True when the id was not seen in the window; records it. */
  claim(projectId: string, messageId: string, receivedAt: number): boolean;
  /** Forgets an id claimed by a request that was then refused (e.g. the log could not write). */
  release(projectId: string, messageId: string): void;
  size(): number;
}

const HOUR_MS = 3_600_000;

/**
 * A slot holds a 96-bit fingerprint of the message id and the hour it was claimed in, in four
 * 32-bit words. Ids are not kept as strings: a day of ids at a few thousand events a second is
 * hundreds of millions of entries, which as JavaScript strings in a Map cost ~100 bytes each and
 * keep the garbage collector busy; here a slot costs 16 bytes, 23–46 bytes an id at the table's load.
 * Two different ids share a fingerprint with probability 2^-96 per pair: at 10^9 live ids, once in
 * ~10^11 years of claims.
 */
const WORDS = 4;
/** `hour` word values: never used, released (a tombstone: probing goes on past it), else hour + 2. */
const EMPTY = 0;
const RELEASED = 1;
const HOUR_BASE = 2;
const MIN_CAPACITY = 1 << 10;
/** Grow (or sweep) when used slots pass this share; rebuild to at most half full. */
const MAX_LOAD = 0.7;

/** Three 32-bit hashes of a string (FNV-1a style with distinct primes and seeds, then mixed). */
function fingerprint(text: string, out: Uint32Array): void {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  let c = 0x9747b28c;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x5bd1e995);
    c = Math.imul(c ^ code, 0x27d4eb2d);
  }
  out[0] = mix32(a ^ text.length);
  out[1] = mix32(b);
  out[2] = mix32(c + Math.imul(text.length, 0x9e3779b1));
}

/** One project's fingerprints: open addressing with linear probing, expired slots swept hourly. */
class FingerprintTable {
  private slots = new Uint32Array(MIN_CAPACITY * WORDS);
  private mask = MIN_CAPACITY - 1;
  /** Slots holding an entry or a tombstone (probing passes both). */
  private used = 0;
  live = 0;

  /** The slot holding `fp`, or -1. */
  private find(fp: Uint32Array): number {
    const slots = this.slots;
    for (let i = fp[0]! & this.mask; ; i = (i + 1) & this.mask) {
      const o = i * WORDS;
      const hour = slots[o + 3]!;
      if (hour === EMPTY) return -1;
      if (hour !== RELEASED && slots[o] === fp[0] && slots[o + 1] === fp[1] && slots[o + 2] === fp[2])
        return i;
    }
  }

  /** Adds `fp` unless present; answers whether it was added. */
  add(fp: Uint32Array, hour: number): boolean {
    if (this.find(fp) !== -1) return false;
    if ((this.used + 1) / (this.mask + 1) > MAX_LOAD) this.rebuild(this.live + 1);
    const slots = this.slots;
    let i = fp[0]! & this.mask;
    // The first tombstone or empty slot on the probe path (the id is known to be absent).
    while (slots[i * WORDS + 3]! > RELEASED) i = (i + 1) & this.mask;
    const o = i * WORDS;
    if (slots[o + 3] === EMPTY) this.used++;
    slots[o] = fp[0]!;
    slots[o + 1] = fp[1]!;
    slots[o + 2] = fp[2]!;
    slots[o + 3] = hour + HOUR_BASE;
    this.live++;
    return true;
  }

  remove(fp: Uint32Array): void {
    const i = this.find(fp);
    if (i === -1) return;
    this.slots[i * WORDS + 3] = RELEASED;
    this.live--;
  }

  /** Releases every entry claimed before `cutoffHour`. */
  expire(cutoffHour: number): void {
    const slots = this.slots;
    let expired = 0;
    for (let o = 3; o < slots.length; o += WORDS) {
      const hour = slots[o]!;
      if (hour > RELEASED && hour - HOUR_BASE < cutoffHour) {
        slots[o] = RELEASED;
        expired++;
      }
    }
    this.live -= expired;
    // Mostly tombstones: start over at a size that fits what is left.
    if (this.used > 2 * this.live + MIN_CAPACITY) this.rebuild(this.live);
  }

  private rebuild(entries: number): void {
    const old = this.slots;
    let capacity = MIN_CAPACITY;
    while (capacity * 0.5 < entries) capacity *= 2;
    this.slots = new Uint32Array(capacity * WORDS);
    this.mask = capacity - 1;
    this.used = 0;
    const slots = this.slots;
    for (let o = 0; o < old.length; o += WORDS) {
      if (old[o + 3]! <= RELEASED) continue;
      let i = old[o]! & this.mask;
      while (slots[i * WORDS + 3] !== EMPTY) i = (i + 1) & this.mask;
      slots.set(old.subarray(o, o + WORDS), i * WORDS);
      this.used++;
    }
  }
}

export function createMessageIdWindow(windowHours: number): MessageIdWindow {
  const tables = new Map<string, FingerprintTable>();
  const fp = new Uint32Array(3);
  let newestHour = Number.NEGATIVE_INFINITY;

  // Ids claimed more than `windowHours` whole hours before the newest claim's hour are forgotten.
  function expire(nowHour: number): void {
    for (const table of tables.values()) table.expire(nowHour - windowHours);
  }

  return {
    claim(projectId, messageId, receivedAt) {
      const hour = Math.floor(receivedAt / HOUR_MS);
      if (hour > newestHour) {
        if (newestHour !== Number.NEGATIVE_INFINITY) expire(hour);
        newestHour = hour;
      }
      let table = tables.get(projectId);
      if (!table) {
        table = new FingerprintTable();
        tables.set(projectId, table);
      }
      fingerprint(messageId, fp);
      return table.add(fp, Math.max(0, hour));
    },
    release(projectId, messageId) {
      const table = tables.get(projectId);
      if (!table) return;
      fingerprint(messageId, fp);
      table.remove(fp);
    },
    size() {
      let live = 0;
      for (const table of tables.values()) live += table.live;
      return live;
    },
  };
}

/** The events table's sort key: pages of the window's ids are read in its order, each after the last. */
const EVENTS_KEY = 'project_id, event, toDate(timestamp), distinct_id, message_id';
const WINDOW_COLUMNS = `project_id, event, toString(toDate(timestamp)) AS day, distinct_id, message_id,
  toUnixTimestamp64Milli(received_at) AS received_ms`;
const WINDOW_SINCE = 'received_at >= fromUnixTimestamp64Milli({since:Int64})';
interface WindowRow {
  project_id: string;
  event: string;
  day: string;
  distinct_id: string;
  message_id: string;
  received_ms: number;
}

/**
 * Fills the window from the events stored during it (after the log has been replayed), page by page
 * along the events table's sort key (readInKeyPages): read in one answer, a window of millions of ids
 * did not fit one string, and the server could not start. `onProgress` gets ids read so far and the window's total.
 */
export async function loadMessageIdWindow(
  window: MessageIdWindow,
  engine: FactsEngine,
  windowHours: number,
  now: number,
  onProgress?: (done: number, total: number) => void,
): Promise<number> {
  const since = now - windowHours * HOUR_MS;
  const [counted] = await engine.query<{ n: number }>(
    `SELECT count() AS n FROM events WHERE ${WINDOW_SINCE}`,
    { since },
  );
  const total = Number(counted?.n ?? 0);
  let loaded = 0;
  onProgress?.(0, total);
  await readInKeyPages<WindowRow>(engine, {
    first: `SELECT ${WINDOW_COLUMNS} FROM events WHERE ${WINDOW_SINCE}
            ORDER BY ${EVENTS_KEY} LIMIT {limit:UInt32}`,
    next: `SELECT ${WINDOW_COLUMNS} FROM events
           WHERE ${WINDOW_SINCE} AND (${EVENTS_KEY}) > ({p:String}, {e:String}, toDate({d:String}), {u:String}, {m:String})
           ORDER BY ${EVENTS_KEY} LIMIT {limit:UInt32}`,
    params: { since },
    cursor: (last) => ({
      p: last.project_id,
      e: last.event,
      d: last.day,
      u: last.distinct_id,
      m: last.message_id,
    }),
    onPage(rows) {
      for (const row of rows) window.claim(row.project_id, row.message_id, Number(row.received_ms));
      loaded += rows.length;
      onProgress?.(loaded, Math.max(total, loaded));
    },
  });
  return loaded;
}
