import { mix32 } from '../lib/mix32.js';

/**
 * Remembers which messageIds each project has received during the dedupe window, so a re-delivered
 * event is acknowledged without being stored twice. Entries expire by the hour.
 *
 * Two tiers. Ids whose events may still be on their way to the store are kept exactly (a 96-bit
 * fingerprint). Ids whose events are in the store (`markStored`; at the latest two hours after their
 * claim), and ids read back from the store at start, are kept compactly (56 bits and an hour tag, in a
 * fuller table): when a new id matches a compact entry, the claim is 'unsure' and the store is asked
 * (`isStored`). A chance match costs a query, never an event; so does a stale entry (an erased event, a
 * request the log refused). Without `isStored` every id stays exact.
 *
 * The compact tier can be given a memory limit. When it is full, it drops its oldest hours (and grows
 * back an hour with each hour's turn); when the ids of the last two hours alone fill it, further ids are
 * dropped until the next turn. A dropped id's re-delivery is stored again, and the `events` table folds
 * the copies (ReplacingMergeTree, read with FINAL): a full window costs storage, never a count.
 */
export type ClaimOutcome = 'new' | 'duplicate' | 'unsure';

/** What the store is asked about an 'unsure' claim: the key of the event as it would be stored. */
export interface ClaimedEvent {
  message_id: string;
  event: string;
  /** The sender (userId, else anonymousId), as stored. */
  distinct_id: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

export interface MessageIdWindow {
  /**
   * Claims an id: 'new' (not seen in the window; recorded), 'duplicate' (claimed before), or 'unsure'
   * (a compact entry matches; recorded exactly, and `isStored` tells whether it is a duplicate).
   */
  claim(projectId: string, messageId: string, receivedAt: number): ClaimOutcome;
  /** Whether the store holds the event of an 'unsure' claim, i.e. whether it is a re-delivery. */
  isStored(projectId: string, event: ClaimedEvent): Promise<boolean>;
  /** Forgets an id claimed by a request that was then refused (e.g. the log could not write). */
  release(projectId: string, messageId: string): void;
  /**
   * Tells the window that every event claimed before `before` (ms) is in the store or was refused: its
   * id can leave the exact tier for the compact one, a few with each claim.
   */
  markStored(before: number): void;
  /** Moves the window's clock to `now` (before ids are read back at start: their order is not time's). */
  advanceTo(now: number): void;
  /** Records an id whose event is already in the store (read back at start). */
  remember(projectId: string, messageId: string, receivedAt: number): void;
  /** Live ids in both tiers. */
  size(): number;
  stats(): WindowStats;
  /**
   * The compact tier for a snapshot as of `now`, and the time before which every claimed id is in it
   * (the claim of the oldest id still exact). `everything` moves the exact tier into it first (at
   * shutdown: the window is not used after that), so it then holds every claim before `now`.
   */
  compactTier(now: number, options?: { everything: boolean }): CompactTier;
  /** Takes over a snapshot's compact tier (on an empty window, before any claim), expired as of `now`. */
  restore(tier: CompactTier, now: number): void;
}

export interface WindowStats {
  exactIds: number;
  /** Ids in the compact tier, those out of the window that the expiry under way has yet to drop left out. */
  compactIds: number;
  /** Ids out of the window that the compact tier's expiry under way has yet to drop (lookups pass over them). */
  expiringIds: number;
  /** Bytes of the tables' slots. */
  bytes: number;
  /** Ids dropped since start because the compact tier was at its memory limit (the store folds their copies). */
  droppedIds: number;
  /** The hours the compact tier keeps: the window, or fewer since it ran out of room. */
  keptHours: number;
  /** The hours it is configured to keep. */
  windowHours: number;
  /** Claims since start (whether ids came in since some moment). */
  claims: number;
}

export interface CompactTable {
  projectId: string;
  slots: Uint32Array<ArrayBufferLike>;
}

export interface CompactTier {
  /** Every id claimed before this time (ms) is in `tables` (or expired). */
  coveredUntil: number;
  /** The window the tables were kept for: ids older than that were dropped. */
  windowHours: number;
  /** The hour the tags are relative to: no entry is older than the window as of this hour. */
  hour: number;
  /**
   * The hours the tier kept as of `hour`: the window, or fewer once it ran out of room (the ids of the
   * hours before were dropped). Absent in snapshots written before it was recorded: the window.
   */
  keptHours?: number;
  tables: CompactTable[];
}

export interface WindowOptions {
  windowHours: number;
  /** Asks the store about an 'unsure' claim; without it there is no compact tier. */
  isStored?: (projectId: string, event: ClaimedEvent) => Promise<boolean>;
  /** Called after an hour's turn changed the compact tier (the moment to write a snapshot). */
  onCompacted?: () => void;
  /** The compact tier's memory limit in bytes (default: none). */
  maxCompactBytes?: number;
  /**
   * Called when the compact tier, full, drops its oldest hours, and when a tier restored from a
   * snapshot holds fewer hours than the window (`droppedIds`: ids it had no room for since start).
   */
  onShortened?: (shortened: { keptHours: number; droppedIds: number }) => void;
}

export const HOUR_MS = 3_600_000;
/** Ids claimed in this many latest hours stay exact (their events may not be in the store yet). */
const EXACT_HOURS = 2;
/** Hour tags count hours modulo this, so the window must be shorter (config caps it at 240). */
const TAG_CYCLE = 254;
export const MAX_WINDOW_HOURS = 240;

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

/** Grow when used slots pass this share; a new table is at most half full. */
const MAX_LOAD = 0.7;
const MIN_CAPACITY = 1 << 10;

function capacityFor(entries: number): number {
  let capacity = MIN_CAPACITY;
  while (capacity * 0.5 < entries) capacity *= 2;
  return capacity;
}

/**
 * The exact tier of one project: a slot holds a 96-bit fingerprint of the id and the second it was
 * claimed in, in four 32-bit words; open addressing with linear probing. Two different ids share a
 * fingerprint with probability 2^-96 per pair: at 10^9 live ids, once in ~10^11 years of claims.
 */
const WORDS = 4;
/** `stamp` word values: never used, released (a tombstone: probing goes on past it), else second + 2. */
const EMPTY = 0;
const RELEASED = 1;
const STAMP_BASE = 2;

const hourOfStamp = (stamp: number) => Math.floor((stamp - STAMP_BASE) / 3600);

/**
 * Old slots moved into the new table with each claim while a table is replaced. The new table is sized
 * for the live entries plus the claims made while they move (capacityFor(live + capacity / STEP)), so
 * it never fills before the move is done.
 */
const GROWTH_STEP = 8;

/**
 * Slots of the exact tier looked at with each claim, to move ids whose events are stored into the
 * compact tier. A table of capacity C is swept every C / 8 claims, so an id stays exact until the store
 * has it plus at most that many claims.
 */
const SWEEP_STEP = 8;

/**
 * Stored ids found by the sweep are moved in batches of this many: the compact tier is large and each
 * id lands at a random place in it, so a batch first touches all their places at once (the memory
 * reads overlap), then inserts them from the cache. One by one, each move waited for its own read:
 * ~0.9 µs a claim at 20M compact ids here, against ~0.2 µs batched.
 */
const MOVE_BATCH = 256;

/** Ids on their way from the exact to the compact tier. */
interface MoveBatch {
  fp0: Uint32Array;
  fp1: Uint32Array;
  hour: Int32Array;
}

/** How far the store has got, as told by `markStored`: one for the window, shared by its tables. */
interface StoredMark {
  /** Ids claimed before this second have their events in the store (0: nothing known yet). */
  beforeSecond: number;
}

/** How the exact tier hands stored ids to the compact tier. */
interface Sweep {
  stored: StoredMark;
  /** Takes the first `count` ids of `batch`. */
  moveOut(batch: MoveBatch, count: number): void;
}

const newMoveBatch = (): MoveBatch => ({
  fp0: new Uint32Array(MOVE_BATCH),
  fp1: new Uint32Array(MOVE_BATCH),
  hour: new Int32Array(MOVE_BATCH),
});

class ExactTable {
  private slots = new Uint32Array(MIN_CAPACITY * WORDS);
  private mask = MIN_CAPACITY - 1;
  /** Slots of `slots` holding an entry or a tombstone (probing passes both). */
  private used = 0;
  live = 0;
  /**
   * The table before the current growth, while its entries move into `slots` a few at a time (a
   * table of tens of millions of ids rebuilt at once held the serving thread for many seconds).
   * Entries are in one table or the other, never both; lookups try both.
   */
  private growing?: { slots: Uint32Array; mask: number; next: number };
  /** The next slot of `slots` the sweep looks at. */
  private cursor = 0;
  /** Word offsets in `slots` of stored ids the sweep found, still here until they move as a batch. */
  private readonly pending = new Int32Array(MOVE_BATCH);
  private pendingCount = 0;
  private readonly batch = newMoveBatch();

  constructor(private readonly sweep?: Sweep) {}

  get bytes(): number {
    return this.slots.byteLength + (this.growing?.slots.byteLength ?? 0);
  }

  /** The slot holding `fp` in `slots`, or -1. */
  private static findIn(slots: Uint32Array, mask: number, fp: Uint32Array): number {
    for (let i = fp[0]! & mask; ; i = (i + 1) & mask) {
      const o = i * WORDS;
      const stamp = slots[o + 3]!;
      if (stamp === EMPTY) return -1;
      if (stamp !== RELEASED && slots[o] === fp[0] && slots[o + 1] === fp[1] && slots[o + 2] === fp[2])
        return i;
    }
  }

  /** When the oldest id here was claimed (ms, to the second), or +Infinity when there is none. */
  oldestClaim(): number {
    let oldest = Number.POSITIVE_INFINITY;
    const scan = (slots: Uint32Array, from: number) => {
      for (let o = from * WORDS + 3; o < slots.length; o += WORDS) {
        const stamp = slots[o]!;
        if (stamp > RELEASED && stamp < oldest) oldest = stamp;
      }
    };
    scan(this.slots, 0);
    // Slots of the table being left before `next` have moved already.
    if (this.growing) scan(this.growing.slots, this.growing.next);
    return oldest === Number.POSITIVE_INFINITY ? oldest : (oldest - STAMP_BASE) * 1000;
  }

  /** Adds `fp`, claimed in `second`, unless present; answers whether it was added. */
  add(fp: Uint32Array, second: number): boolean {
    if (this.growing) this.moveSome(GROWTH_STEP);
    if (this.sweep && this.sweep.stored.beforeSecond > 0) this.sweepSome(this.sweep);
    if (ExactTable.findIn(this.slots, this.mask, fp) !== -1) return false;
    if (this.growing && this.findInGrowing(fp) !== -1) return false;
    if ((this.used + 1) / (this.mask + 1) > MAX_LOAD) this.replace();
    this.put(fp[0]!, fp[1]!, fp[2]!, second + STAMP_BASE);
    this.live++;
    return true;
  }

  /** Writes an entry known to be absent into `slots`, at the first tombstone or empty slot of its path. */
  private put(fp0: number, fp1: number, fp2: number, stamp: number): void {
    const slots = this.slots;
    let i = fp0 & this.mask;
    while (slots[i * WORDS + 3]! > RELEASED) i = (i + 1) & this.mask;
    const o = i * WORDS;
    if (slots[o + 3] === EMPTY) this.used++;
    slots[o] = fp0;
    slots[o + 1] = fp1;
    slots[o + 2] = fp2;
    slots[o + 3] = stamp;
  }

  /**
   * The slot holding `fp` in the table being left, or -1. Below `next` its entries have moved: a copy
   * left there is stale (the entry may have been released or swept out of the new table since).
   */
  private findInGrowing(fp: Uint32Array): number {
    const growing = this.growing!;
    const i = ExactTable.findIn(growing.slots, growing.mask, fp);
    return i < growing.next ? -1 : i;
  }

  remove(fp: Uint32Array): void {
    const i = ExactTable.findIn(this.slots, this.mask, fp);
    if (i !== -1) this.release(this.slots, i);
    else if (this.growing) {
      const old = this.findInGrowing(fp);
      if (old !== -1) this.release(this.growing.slots, old);
    }
  }

  private release(slots: Uint32Array, slot: number): void {
    slots[slot * WORDS + 3] = RELEASED;
    this.live--;
  }

  /** Looks at the next SWEEP_STEP slots for stored ids, moving them out once a batch is full. */
  private sweepSome(sweep: Sweep): void {
    const slots = this.slots;
    const limit = sweep.stored.beforeSecond + STAMP_BASE;
    const end = Math.min(slots.length, (this.cursor + SWEEP_STEP) * WORDS);
    for (let o = this.cursor * WORDS; o < end; o += WORDS) {
      const stamp = slots[o + 3]!;
      if (stamp > RELEASED && stamp < limit) {
        this.pending[this.pendingCount++] = o;
        if (this.pendingCount === MOVE_BATCH) this.movePending(sweep);
      }
    }
    this.cursor = end === slots.length ? 0 : end / WORDS;
    // Before the sweep comes round again, so that no slot is in the batch twice.
    if (this.cursor === 0) this.movePending(sweep);
  }

  /** Hands the batch of stored ids to the compact tier, skipping slots released or reused since. */
  private movePending(sweep: Sweep): void {
    const { slots, pending, batch } = this;
    const limit = sweep.stored.beforeSecond + STAMP_BASE;
    let count = 0;
    for (let k = 0; k < this.pendingCount; k++) {
      const o = pending[k]!;
      const stamp = slots[o + 3]!;
      if (stamp <= RELEASED || stamp >= limit) continue;
      batch.fp0[count] = slots[o]!;
      batch.fp1[count] = slots[o + 1]!;
      batch.hour[count] = hourOfStamp(stamp);
      count++;
      slots[o + 3] = RELEASED;
      this.live--;
    }
    this.pendingCount = 0;
    if (count > 0) sweep.moveOut(batch, count);
  }

  /**
   * Starts moving into a new table sized for `entries` (by default what is live and the claims made
   * while it moves: twice the capacity when the table is full of entries, the same or less when it is
   * full of tombstones), finishing a move under way first.
   */
  private replace(entries = this.live + (this.mask + 1) / GROWTH_STEP): void {
    this.finishGrowing();
    // Their offsets are of the table being left; they stay exact and are found again.
    this.pendingCount = 0;
    const capacity = capacityFor(entries);
    this.growing = { slots: this.slots, mask: this.mask, next: 0 };
    this.slots = new Uint32Array(capacity * WORDS);
    this.mask = capacity - 1;
    this.used = 0;
    this.cursor = 0;
  }

  /** Moves the entries of the next `count` slots of the table being left. */
  private moveSome(count: number): void {
    const growing = this.growing!;
    const old = growing.slots;
    const end = Math.min(old.length, (growing.next + count) * WORDS);
    for (let o = growing.next * WORDS; o < end; o += WORDS) {
      const stamp = old[o + 3]!;
      if (stamp > RELEASED) this.put(old[o]!, old[o + 1]!, old[o + 2]!, stamp);
    }
    growing.next = end / WORDS;
    if (end === old.length) this.growing = undefined;
  }

  private finishGrowing(): void {
    if (this.growing) this.moveSome(this.growing.mask + 1);
  }

  /**
   * Releases every entry claimed before `cutoffHour`; hands `moveTo` those claimed before `moveBefore`
   * (and not expired) on the way out.
   */
  expire(
    cutoffHour: number,
    moveBefore?: number,
    moveTo?: (fp0: number, fp1: number, hour: number) => void,
  ): void {
    this.finishGrowing();
    this.pendingCount = 0;
    const slots = this.slots;
    const cutoff = cutoffHour * 3600 + STAMP_BASE;
    const moveLimit = moveTo && moveBefore !== undefined ? moveBefore * 3600 + STAMP_BASE : 0;
    let released = 0;
    for (let o = 0; o < slots.length; o += WORDS) {
      const stamp = slots[o + 3]!;
      if (stamp <= RELEASED) continue;
      if (stamp < cutoff) {
        slots[o + 3] = RELEASED;
        released++;
      } else if (stamp < moveLimit) {
        moveTo!(slots[o]!, slots[o + 1]!, hourOfStamp(stamp));
        slots[o + 3] = RELEASED;
        released++;
      }
    }
    this.live -= released;
    // Mostly tombstones: start over at a size that fits what is left.
    if (this.used > 2 * this.live + MIN_CAPACITY) {
      this.replace(this.live);
      this.finishGrowing();
    }
  }
}

/**
 * The compact tier of one project: a slot is two 32-bit words, the fingerprint's first hash, and 24
 * bits of its second with an hour tag in the low 8 (0 empty, 1 tombstone, else the claim's hour modulo
 * TAG_CYCLE, plus 2). A new id matches some entry by chance with probability n × 2^-56 for n entries:
 * one claim in 400 million at 173M ids; the store is then asked. Unlike the exact tier, the table's
 * size is not a power of two (the home slot is the first hash scaled to it), so it can be kept 60–80 %
 * full: ~11 bytes an id, against ~30 in the exact tier.
 */
const COMPACT_WORDS = 2;
const TAG_BITS = 0xff;
const STAMP_BITS = 0xffffff00;
const TOMBSTONE = 1;
const TAG_BASE = 2;
const COMPACT_MAX_LOAD = 0.8;
const COMPACT_REBUILT_LOAD = 0.6;
const COMPACT_MIN_CAPACITY = 1024;
/**
 * Slots of the compact tier looked at with each add while an hour's expiry is under way: the pass
 * over a table of tens of millions of slots, made at once, held the serving thread ~1 s an hour at
 * the tier's memory limit. At 64 a table of 128M slots (1 GiB) is done after 2M adds.
 */
const EXPIRY_STEP = 64;
/**
 * Slots an expiry under way is hurried on by at a time when an add finds its table full and the memory
 * limit leaves no room to grow: the room it frees comes within a few steps, as dead entries are spread
 * over the whole table.
 */
const ROOM_STEP = 4096;

function tagOf(hour: number): number {
  return (hour % TAG_CYCLE) + TAG_BASE;
}

/** Hours from the tag's hour to `hour`, given that it is less than TAG_CYCLE. */
function ageOf(tag: number, hour: number): number {
  return ((((hour % TAG_CYCLE) - (tag - TAG_BASE)) % TAG_CYCLE) + TAG_CYCLE) % TAG_CYCLE;
}

/**
 * Which of the 256 tags mark entries more than `keptHours` old, their ages read as of `asOf` plus
 * `elapsed` hours (every entry was younger than the tag cycle at `asOf`): one look-up a slot in an
 * expiry, instead of an age computed.
 */
function deadTags(asOf: number, elapsed: number, keptHours: number): Uint8Array {
  const dead = new Uint8Array(TAG_BITS + 1);
  for (let tag = TAG_BASE; tag <= TAG_BITS; tag++) dead[tag] = ageOf(tag, asOf) + elapsed > keptHours ? 1 : 0;
  return dead;
}

/**
 * The home slot of a first hash in a table of `capacity` slots: the hash, mixed again, scaled to the
 * table. Mixed, because ids move here in the exact table's slot order, i.e. sorted by the low bits of
 * the same hash: scaled as it is, they crowded into a few hundred runs of the table (a turn of 20M ids
 * took 75 s instead of 2).
 */
function homeOf(fp0: number, capacity: number): number {
  return Math.min(capacity - 1, Math.floor((mix32(fp0 ^ 0x5bd1e995) * capacity) / 4294967296));
}

/** The compact tier's memory limit, shared by the projects' tables. */
interface CompactBudget {
  maxBytes: number;
  /** Bytes of the tables' current slot arrays (a table being replaced also holds its old one a while). */
  bytes: number;
}

/** The slot of a live entry matching the fingerprint in a compact slot array, or -1. */
function findCompact(
  slots: Uint32Array<ArrayBufferLike>,
  capacity: number,
  fp0: number,
  fp1: number,
): number {
  for (let i = homeOf(fp0, capacity); ; i = i + 1 === capacity ? 0 : i + 1) {
    const o = i * COMPACT_WORDS;
    const word = slots[o + 1]!;
    const tag = word & TAG_BITS;
    if (tag === EMPTY) return -1;
    if (tag >= TAG_BASE && slots[o] === fp0 && ((word ^ fp1) & STAMP_BITS) === 0) return i;
  }
}

class CompactTableOfProject {
  slots: Uint32Array<ArrayBufferLike>;
  private capacity: number;
  private used = 0;
  live = 0;
  /**
   * Live entries by hour tag, kept as entries come, change hour and go (entries awaiting an expiry
   * under way included): what the window needs to know of their ages without a pass over the table.
   */
  private readonly byTag = new Float64Array(TAG_BITS + 1);
  /** The table being left, while its entries move into `slots` with the next adds (as in the exact tier). */
  growing?: { slots: Uint32Array<ArrayBufferLike>; capacity: number; next: number };
  /**
   * An hour's expiry under way, EXPIRY_STEP slots with each add: entries of hours before `keptFrom`
   * (the tags `dead` marks) go; lookups pass over them meanwhile, and a growth does not move them.
   */
  private expiring?: {
    next: number;
    dead: Uint8Array;
    keptFrom: number;
    /** The oldest hour of the entries added since the pass started (it may have gone past them). */
    addedSince: number;
  };
  /**
   * No entry is of an hour before this one (undefined: not known, for a table read from a snapshot
   * until an expiry has been everywhere). While that keeps every entry younger than the tag cycle, an
   * hour's turn may start a pass over instead of finishing the one under way (startExpiry).
   */
  private oldestHour: number | undefined;

  constructor(
    private readonly budget: CompactBudget,
    slots: Uint32Array<ArrayBufferLike> = new Uint32Array(COMPACT_MIN_CAPACITY * COMPACT_WORDS),
  ) {
    this.slots = slots;
    this.capacity = slots.length / COMPACT_WORDS;
    budget.bytes += slots.byteLength;
    for (let o = 1; o < slots.length; o += COMPACT_WORDS) {
      const tag = slots[o]! & TAG_BITS;
      if (tag === EMPTY) continue;
      this.used++;
      if (tag >= TAG_BASE) {
        this.live++;
        this.byTag[tag]!++;
      }
    }
    // Entries read from a snapshot are of hours not known until an expiry has been everywhere.
    this.oldestHour = this.live > 0 ? undefined : Number.POSITIVE_INFINITY;
  }

  withinLoad(): boolean {
    return this.used <= COMPACT_MAX_LOAD * this.capacity;
  }

  get bytes(): number {
    return this.slots.byteLength + (this.growing?.slots.byteLength ?? 0);
  }

  /** The word where a lookup of a fingerprint with this first hash starts (for reading ahead). */
  homeWord(fp0: number): number {
    return this.slots[homeOf(fp0, this.capacity) * COMPACT_WORDS + 1]!;
  }

  has(fp: Uint32Array): boolean {
    const found = findCompact(this.slots, this.capacity, fp[0]!, fp[1]!);
    if (found !== -1) return !this.awaitsExpiry(this.slots[found * COMPACT_WORDS + 1]!);
    const growing = this.growing;
    if (growing === undefined) return false;
    const old = findCompact(growing.slots, growing.capacity, fp[0]!, fp[1]!);
    // Below `next` an entry has moved (or was dropped): what is left there is a stale copy.
    return old >= growing.next && !this.awaitsExpiry(growing.slots[old * COMPACT_WORDS + 1]!);
  }

  /**
   * Adds an entry, or makes a matching one as young as `hour` (ages are taken as of `nowHour`).
   * Answers false when the entry could not be kept: the table is full and the budget allows no more.
   */
  add(fp0: number, fp1: number, hour: number, nowHour: number): boolean {
    if (this.growing) this.moveSome(GROWTH_STEP);
    // Finished, the pass may have left many tombstones.
    if (this.expiring && this.expireSome(EXPIRY_STEP)) this.rebuildIfTombstoned();
    const tag = tagOf(hour);
    const word = ((fp1 & STAMP_BITS) | tag) >>> 0;
    // Ids of earlier hours come too: moved from the exact tier, read back at start.
    if (this.oldestHour !== undefined && hour < this.oldestHour) this.oldestHour = hour;
    if (this.expiring && hour < this.expiring.addedSince) this.expiring.addedSince = hour;
    if (this.refresh(this.slots, this.capacity, fp0, fp1, word, nowHour)) return true;
    const growing = this.growing;
    if (growing && this.refresh(growing.slots, growing.capacity, fp0, fp1, word, nowHour, growing.next))
      return true;
    if (this.used + 1 > COMPACT_MAX_LOAD * this.capacity && !this.makeRoom()) return false;
    this.put(fp0, word);
    this.live++;
    this.byTag[tag]!++;
    return true;
  }

  /**
   * Room for one more entry in a full table: a larger array while the memory limit allows one, else
   * the room an expiry under way is about to free, hurried on (a shortened window's oldest hours).
   */
  private makeRoom(): boolean {
    if (this.replace(this.live + 1 + this.capacity / GROWTH_STEP)) return true;
    while (this.expiring && this.used + 1 > COMPACT_MAX_LOAD * this.capacity) {
      if (this.expireSome(ROOM_STEP)) this.rebuildIfTombstoned();
    }
    return this.used + 1 <= COMPACT_MAX_LOAD * this.capacity;
  }

  /**
   * Makes a matching entry of `slots` as young as `word`'s tag; answers whether there was one. Slots
   * below `movedBefore` are of a table being left that have moved already (stale copies).
   */
  private refresh(
    slots: Uint32Array<ArrayBufferLike>,
    capacity: number,
    fp0: number,
    fp1: number,
    word: number,
    nowHour: number,
    movedBefore = 0,
  ): boolean {
    const found = findCompact(slots, capacity, fp0, fp1);
    if (found === -1 || found < movedBefore) return false;
    const o = found * COMPACT_WORDS + 1;
    const tag = slots[o]! & TAG_BITS;
    if (ageOf(word & TAG_BITS, nowHour) < ageOf(tag, nowHour)) {
      slots[o] = word;
      this.byTag[tag]!--;
      this.byTag[word & TAG_BITS]!++;
    }
    return true;
  }

  /** Writes an entry known to be absent into `slots`, at the first tombstone or empty slot of its path. */
  private put(fp0: number, word: number): void {
    const { slots, capacity } = this;
    let i = homeOf(fp0, capacity);
    while ((slots[i * COMPACT_WORDS + 1]! & TAG_BITS) >= TAG_BASE) i = i + 1 === capacity ? 0 : i + 1;
    const o = i * COMPACT_WORDS;
    if ((slots[o + 1]! & TAG_BITS) === EMPTY) this.used++;
    slots[o] = fp0;
    slots[o + 1] = word;
  }

  /** Makes room for `more` entries at once (one rebuild instead of one every third larger). */
  reserve(more: number): void {
    if (this.used + more > COMPACT_MAX_LOAD * this.capacity && this.replace(this.live + more))
      this.finishGrowing();
  }

  /**
   * Starts moving into a new array of room for `entries` at COMPACT_REBUILT_LOAD, as large as the
   * budget allows.
   * Answers false when the budget leaves no room for a table that would hold `entries`.
   */
  private replace(entries: number): boolean {
    const wanted = Math.max(COMPACT_MIN_CAPACITY, Math.ceil(entries / COMPACT_REBUILT_LOAD));
    const affordable = Math.floor(
      (this.budget.maxBytes - this.budget.bytes + this.slots.byteLength) / (COMPACT_WORDS * 4),
    );
    const capacity = Math.min(wanted, affordable);
    // Refused before anything is finished: at the memory limit a full table asks this at every add.
    if (capacity * COMPACT_MAX_LOAD < entries) return false;
    this.finishExpiring();
    this.finishGrowing();
    this.budget.bytes += capacity * COMPACT_WORDS * 4 - this.slots.byteLength;
    this.growing = { slots: this.slots, capacity: this.capacity, next: 0 };
    this.slots = new Uint32Array(capacity * COMPACT_WORDS);
    this.capacity = capacity;
    this.used = 0;
    return true;
  }

  /** Moves the entries of the next `count` slots of the array being left. */
  private moveSome(count: number): void {
    const growing = this.growing!;
    const old = growing.slots;
    const end = Math.min(old.length, (growing.next + count) * COMPACT_WORDS);
    for (let o = growing.next * COMPACT_WORDS; o < end; o += COMPACT_WORDS) {
      const word = old[o + 1]!;
      if ((word & TAG_BITS) < TAG_BASE) continue;
      // Moved behind the expiry's pass, an entry it drops would stay.
      if (this.awaitsExpiry(word)) {
        this.live--;
        this.byTag[word & TAG_BITS]!--;
      } else this.put(old[o]!, word);
    }
    growing.next = end / COMPACT_WORDS;
    if (end === old.length) this.growing = undefined;
  }

  finishGrowing(): void {
    if (this.growing) this.moveSome(this.growing.capacity);
  }

  /**
   * Live entries by age in hours as of `nowHour` (index = age), from the counts by tag. Entries an
   * expiry under way will drop are counted at their ages, all beyond the hours it keeps.
   */
  countByAge(nowHour: number, into: number[]): void {
    for (let tag = TAG_BASE; tag <= TAG_BITS; tag++) {
      const count = this.byTag[tag]!;
      if (count === 0) continue;
      const age = ageOf(tag, nowHour);
      into[age] = (into[age] ?? 0) + count;
    }
  }

  /**
   * Starts dropping, with the next adds, the entries more than `keptHours` old as of `hour` (an hour's
   * turn; `dead` marks their tags, deadTags(hour, 0, keptHours): entries added meanwhile are of this
   * hour). A pass under way that has not been everywhere starts over with these tags: the entries it
   * had yet to drop are older than these kept hours too (kept hours grow by at most an hour an hour).
   * That needs every entry younger than the tag cycle, or an old entry's tag would read as a young
   * one's; when the bound on ages cannot promise it, the pass under way is finished first (a pass over
   * the whole table on the serving thread, as every turn did before: a pass needs capacity/64 adds,
   * 2M at the 1 GiB limit, more than an hour's ids at low rates or after a late shortening).
   */
  startExpiry(dead: Uint8Array, hour: number, keptHours: number): void {
    const oldest = this.oldestHour;
    if (this.expiring && !(oldest !== undefined && hour - oldest < TAG_CYCLE)) this.finishExpiring();
    this.beginPass(dead, hour - keptHours);
  }

  /**
   * Drops, with the next adds, the entries more than `keptHours` old as of `hour` too, in the hour of
   * the pass under way (a window shortened for room): that pass starts over with the tags of both.
   * Finishing it first was a pass over the whole table on the serving thread.
   */
  expireAlso(dead: Uint8Array, hour: number, keptHours: number): void {
    const under = this.expiring;
    if (!under) this.beginPass(dead, hour - keptHours);
    // Both passes' tags go: what is kept starts at the later of their first kept hours.
    else
      this.beginPass(
        dead.map((d, tag) => d | under.dead[tag]!),
        Math.max(hour - keptHours, under.keptFrom),
      );
  }

  /**
   * Drops the entries whose tags `dead` marks, at once (after an idle spell: see turnTo), leaving none
   * more than `keptHours` old as of `hour`.
   */
  expire(dead: Uint8Array, hour: number, keptHours: number): void {
    this.finishExpiring();
    this.beginPass(dead, hour - keptHours);
    this.finishExpiring();
    this.rebuildIfTombstoned();
  }

  /** A pass from the first slot (any pass under way is replaced: its caller finished or widened it). */
  private beginPass(dead: Uint8Array, keptFrom: number): void {
    this.expiring = { next: 0, dead, keptFrom, addedSince: Number.POSITIVE_INFINITY };
  }

  /** Entries the expiry under way has yet to drop (from the counts by tag). */
  expiringEntries(): number {
    const dead = this.expiring?.dead;
    if (!dead) return 0;
    let count = 0;
    for (let tag = TAG_BASE; tag <= TAG_BITS; tag++) if (dead[tag] === 1) count += this.byTag[tag]!;
    return count;
  }

  /** Whether an entry's tag word is one the expiry under way drops when its pass gets there. */
  private awaitsExpiry(word: number): boolean {
    return this.expiring !== undefined && this.expiring.dead[word & TAG_BITS] === 1;
  }

  /**
   * Drops the entries of slots [from, end) of the current array that `dead` marks, leaving no
   * tombstone (deleteAt); answers how many went.
   */
  private expireCurrent(from: number, end: number, dead: Uint8Array): number {
    const slots = this.slots;
    let expired = 0;
    for (let i = from; i < end; ) {
      const tag = slots[i * COMPACT_WORDS + 1]! & TAG_BITS;
      if (dead[tag] === 1) {
        this.byTag[tag]!--;
        this.deleteAt(i);
        expired++;
        // An entry from further on may have moved into slot i: look at it too.
      } else i++;
    }
    return expired;
  }

  /**
   * Empties slot `i` of the current array without a tombstone (backward-shift deletion): each entry
   * after it in its run that could no longer be found from its home moves back into the gap. A table
   * that expires an hour of ids every hour then never fills with tombstones, so it is never rebuilt
   * into a second array of its size (which held up to twice the memory limit for the hours of the move).
   */
  private deleteAt(i: number): void {
    const { slots, capacity } = this;
    let gap = i;
    for (let j = i + 1 === capacity ? 0 : i + 1; ; j = j + 1 === capacity ? 0 : j + 1) {
      const word = slots[j * COMPACT_WORDS + 1]!;
      if ((word & TAG_BITS) === EMPTY) break;
      // An entry stays when its home lies cyclically after the gap and at or before it (a tombstone,
      // from a snapshot of an earlier version, has no home and moves).
      if ((word & TAG_BITS) >= TAG_BASE) {
        const home = homeOf(slots[j * COMPACT_WORDS]!, capacity);
        if (gap <= j ? gap < home && home <= j : gap < home || home <= j) continue;
      }
      slots[gap * COMPACT_WORDS] = slots[j * COMPACT_WORDS]!;
      slots[gap * COMPACT_WORDS + 1] = word;
      gap = j;
    }
    slots[gap * COMPACT_WORDS] = 0;
    slots[gap * COMPACT_WORDS + 1] = EMPTY;
    this.used--;
  }

  /** Tombstones the entries of slots [from, end) of the table being left that `dead` marks. */
  private expireLeft(
    slots: Uint32Array<ArrayBufferLike>,
    from: number,
    end: number,
    dead: Uint8Array,
  ): number {
    let expired = 0;
    for (let o = from * COMPACT_WORDS + 1; o < end * COMPACT_WORDS; o += COMPACT_WORDS) {
      const tag = slots[o]! & TAG_BITS;
      if (dead[tag] === 1) {
        this.byTag[tag]!--;
        slots[o] = TOMBSTONE;
        expired++;
      }
    }
    return expired;
  }

  /**
   * Expires the next `count` slots: of `slots`, then of the table being left (its slots not moved yet:
   * a growth lasts hours at low rates); answers whether that ended the pass.
   */
  private expireSome(count: number): boolean {
    const expiring = this.expiring!;
    let left = count;
    if (expiring.next < this.capacity) {
      const end = Math.min(this.capacity, expiring.next + left);
      this.live -= this.expireCurrent(expiring.next, end, expiring.dead);
      left -= end - expiring.next;
      expiring.next = end;
    }
    const growing = this.growing;
    if (growing && left > 0) {
      const from = Math.max(growing.next, expiring.next - this.capacity);
      const end = Math.min(growing.capacity, from + left);
      this.live -= this.expireLeft(growing.slots, from, end, expiring.dead);
      expiring.next = this.capacity + end;
    }
    if (expiring.next < this.capacity + (growing?.capacity ?? 0)) return false;
    this.expiring = undefined;
    // It dropped every entry it found older than its kept hours; those added meanwhile may be older.
    this.oldestHour = Math.min(expiring.keptFrom, expiring.addedSince);
    return true;
  }

  private finishExpiring(): void {
    if (this.expiring) this.expireSome(this.capacity + (this.growing?.capacity ?? 0));
  }

  /**
   * Many tombstones (lookups pass them; expiry leaves none in the current array, so they come from a
   * snapshot of an earlier version): starts over at a size that fits what is left and the adds made
   * while it moves, a few slots with each add. Sized for what is left alone, a table that had
   * lost most of its entries filled up before the move was done, and the rest of the move, made at
   * once, filled it to its last slot: the next insert never found a free one (the serving thread hung).
   */
  private rebuildIfTombstoned(): void {
    if (this.used - this.live > 0.25 * this.capacity && this.capacity > COMPACT_MIN_CAPACITY)
      this.replace(this.live + this.capacity / GROWTH_STEP);
  }

  /** The arrays a snapshot writes: the current one and, while it is being left, the old one. */
  snapshotSlots(): Uint32Array<ArrayBufferLike>[] {
    return this.growing ? [this.slots, this.growing.slots] : [this.slots];
  }

  /** Takes every live entry of another table of this project (a snapshot's second array). */
  addAll(slots: Uint32Array<ArrayBufferLike>, nowHour: number): void {
    for (let o = 0; o < slots.length; o += COMPACT_WORDS) {
      const word = slots[o + 1]!;
      const tag = word & TAG_BITS;
      if (tag < TAG_BASE) continue;
      const hour = nowHour - ageOf(tag, nowHour);
      this.add(slots[o]!, word, hour, nowHour);
    }
  }
}

export function createMessageIdWindow(options: WindowOptions | number): MessageIdWindow {
  const { windowHours, isStored, onCompacted, maxCompactBytes, onShortened } =
    typeof options === 'number' ? ({ windowHours: options } as WindowOptions) : options;
  if (windowHours > MAX_WINDOW_HOURS) throw new RangeError(`dedupe window over ${MAX_WINDOW_HOURS} hours`);
  const exact = new Map<string, ExactTable>();
  const compact = isStored ? new Map<string, CompactTableOfProject>() : undefined;
  const budget: CompactBudget = { maxBytes: maxCompactBytes ?? Number.POSITIVE_INFINITY, bytes: 0 };
  const fp = new Uint32Array(3);
  let newestHour = Number.NEGATIVE_INFINITY;
  const stored: StoredMark = { beforeSecond: 0 };
  /** What was read ahead, kept so that those reads are not optimised away. */
  const readAhead = { sum: 0 };
  /** Ids the compact tier had no room for, since start. */
  let droppedIds = 0;
  /** The hours the compact tier keeps: the window, or fewer since it ran out of room. */
  let keptHours = windowHours;
  /** Set when dropping hours freed no room: until the next turn, ids without room are dropped at once. */
  let full = false;
  let claims = 0;

  function keepCompact(table: CompactTableOfProject, fp0: number, fp1: number, hour: number): void {
    if (table.add(fp0, fp1, hour, newestHour)) return;
    if (!full && shorten() && table.add(fp0, fp1, hour, newestHour)) return;
    droppedIds++;
  }

  /**
   * Drops the compact tier's oldest hours, as many as it takes to leave its tables at most
   * COMPACT_REBUILT_LOAD full; answers whether any went. Their entries go as an hour's turn drops its
   * oldest hour, with the adds that follow (a full table hurries the pass on until it has room):
   * counting ages and dropping them at once were two passes over the tier (the claim that found it
   * full waited 0.7 s at a 128 MiB limit, seconds at 1 GiB), made about once an hour under a steady
   * stream as the window grows back an hour and fills again.
   */
  function shorten(): boolean {
    const tables = compact!;
    const byAge: number[] = [];
    let capacity = 0;
    for (const table of tables.values()) {
      table.countByAge(newestHour, byAge);
      capacity += table.slots.length / COMPACT_WORDS;
    }
    let kept = 0;
    let fits = 0;
    for (let hours = 0; hours <= keptHours; hours++) {
      kept += byAge[hours] ?? 0;
      if (kept > COMPACT_REBUILT_LOAD * capacity) break;
      fits = hours;
    }
    const hours = Math.max(EXACT_HOURS - 1, fits);
    if (hours >= keptHours) {
      full = true;
      return false;
    }
    keepHours(hours);
    return true;
  }

  /**
   * From now the compact tier keeps `hours` hours: the entries of the hours before go as its pass
   * reaches them, with the adds that follow.
   */
  function keepHours(hours: number): void {
    keptHours = hours;
    const dead = deadTags(newestHour, 0, keptHours);
    for (const table of compact!.values()) table.expireAlso(dead, newestHour, keptHours);
    onShortened?.({ keptHours, droppedIds });
  }

  function exactOf(projectId: string): ExactTable {
    let table = exact.get(projectId);
    if (!table) {
      if (compact) {
        const into = compactOf(compact, projectId);
        table = new ExactTable({
          stored,
          moveOut: (batch, count) => {
            // Their places in the compact table first, read together (see MOVE_BATCH).
            let sum = 0;
            for (let k = 0; k < count; k++) sum += into.homeWord(batch.fp0[k]!);
            readAhead.sum = sum;
            for (let k = 0; k < count; k++) keepCompact(into, batch.fp0[k]!, batch.fp1[k]!, batch.hour[k]!);
          },
        });
      } else table = new ExactTable();
      exact.set(projectId, table);
    }
    return table;
  }

  function compactOf(tables: Map<string, CompactTableOfProject>, projectId: string): CompactTableOfProject {
    let table = tables.get(projectId);
    if (!table) {
      table = new CompactTableOfProject(budget);
      tables.set(projectId, table);
    }
    return table;
  }

  /** The hour's turn: expire both tiers, and move exact ids older than EXACT_HOURS to the compact tier. */
  function turnTo(hour: number): void {
    const lastHour = newestHour;
    newestHour = hour;
    if (lastHour === Number.NEGATIVE_INFINITY) return;
    const cutoff = hour - windowHours;
    if (!compact) {
      for (const table of exact.values()) table.expire(cutoff);
      return;
    }
    // A window shortened for room grows back an hour an hour, until it is full again.
    keptHours = Math.min(windowHours, keptHours + (hour - lastHour));
    full = false;
    // Gradually, ages read as of this hour: that holds while no kept entry can be a tag cycle old.
    // After a longer idle spell, at once, ages read as of the last turn.
    if (hour - lastHour + windowHours < TAG_CYCLE) {
      const dead = deadTags(hour, 0, keptHours);
      for (const table of compact.values()) table.startExpiry(dead, hour, keptHours);
    } else {
      const dead = deadTags(lastHour, hour - lastHour, keptHours);
      for (const table of compact.values()) table.expire(dead, hour, keptHours);
    }
    const moveBefore = hour - (EXACT_HOURS - 1);
    for (const [projectId, table] of exact) {
      const into = compactOf(compact, projectId);
      into.reserve(table.live);
      table.expire(cutoff, moveBefore, (fp0, fp1, claimedHour) => keepCompact(into, fp0, fp1, claimedHour));
    }
    onCompacted?.();
  }

  function hourOf(receivedAt: number): number {
    const hour = Math.max(0, Math.floor(receivedAt / HOUR_MS));
    if (hour > newestHour) turnTo(hour);
    return hour;
  }

  return {
    claim(projectId, messageId, receivedAt) {
      claims++;
      hourOf(receivedAt);
      fingerprint(messageId, fp);
      if (!exactOf(projectId).add(fp, Math.max(0, Math.floor(receivedAt / 1000)))) return 'duplicate';
      // Recorded exactly either way: a second copy arriving while the store is asked is a duplicate.
      return compact?.get(projectId)?.has(fp) ? 'unsure' : 'new';
    },
    isStored(projectId, event) {
      return isStored ? isStored(projectId, event) : Promise.resolve(false);
    },
    release(projectId, messageId) {
      fingerprint(messageId, fp);
      exact.get(projectId)?.remove(fp);
    },
    markStored(before) {
      stored.beforeSecond = Math.max(stored.beforeSecond, Math.floor(before / 1000));
    },
    advanceTo(now) {
      hourOf(now);
    },
    remember(projectId, messageId, receivedAt) {
      const hour = hourOf(receivedAt);
      // Kept as long as a claim is: expiry drops hours before newestHour - windowHours.
      if (hour < newestHour - windowHours) return;
      fingerprint(messageId, fp);
      if (compact) keepCompact(compactOf(compact, projectId), fp[0]!, fp[1]!, hour);
      else exactOf(projectId).add(fp, Math.max(0, Math.floor(receivedAt / 1000)));
    },
    size() {
      const { exactIds, compactIds } = this.stats();
      return exactIds + compactIds;
    },
    stats() {
      let exactIds = 0;
      let compactIds = 0;
      let bytes = 0;
      for (const table of exact.values()) {
        exactIds += table.live;
        bytes += table.bytes;
      }
      let expiringIds = 0;
      for (const table of compact?.values() ?? []) {
        const expiring = table.expiringEntries();
        compactIds += table.live - expiring;
        expiringIds += expiring;
        bytes += table.bytes;
      }
      return { exactIds, compactIds, expiringIds, bytes, droppedIds, keptHours, windowHours, claims };
    },
    compactTier(now, options) {
      if (!compact) throw new Error('this dedupe window has no compact tier');
      let coveredUntil = now;
      if (options?.everything) {
        for (const [projectId, table] of exact) {
          const into = compactOf(compact, projectId);
          table.expire(newestHour - windowHours, Number.POSITIVE_INFINITY, (fp0, fp1, hour) =>
            keepCompact(into, fp0, fp1, hour),
          );
        }
      } else {
        for (const table of exact.values()) coveredUntil = Math.min(coveredUntil, table.oldestClaim());
      }
      const tables = [...compact].flatMap(([projectId, table]) =>
        table.snapshotSlots().map((slots) => ({ projectId, slots })),
      );
      return { coveredUntil, windowHours, hour: newestHour, keptHours, tables };
    },
    restore(tier, now) {
      if (!compact) throw new Error('this dedupe window has no compact tier');
      if (newestHour !== Number.NEGATIVE_INFINITY) throw new Error('restore into a window already in use');
      for (const { projectId, slots } of tier.tables) {
        const existing = compact.get(projectId);
        // A table written while it was being replaced comes as two arrays: the second joins the first.
        if (existing) {
          existing.addAll(slots, tier.hour);
          continue;
        }
        const table = new CompactTableOfProject(budget, slots);
        // Probing ends at an empty slot: a table fuller than tables ever get might not have one.
        if (!table.withinLoad()) throw new Error(`the snapshot's table of ${projectId} is too full to use`);
        compact.set(projectId, table);
      }
      newestHour = tier.hour;
      // A tier that had run out of room keeps holding as few hours as it did: its tables have no ids of
      // the hours before, and the entries it had yet to drop stay dropped (the pass starts again).
      if (tier.keptHours !== undefined && tier.keptHours < keptHours) keepHours(tier.keptHours);
      hourOf(now);
    },
  };
}
