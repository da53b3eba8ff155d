import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ClaimedEvent,
  createMessageIdWindow,
  type MessageIdWindow,
  type WindowOptions,
} from '../../src/collect/dedupe.js';
import { readWindowSnapshot, writeWindowSnapshot } from '../../src/collect/dedupe-snapshot.js';
import { seededIntegers } from '../support/seeded.js';

/**
 * The window's two tiers: ids of the current and the previous hour exact, older ones compact and
 * confirmed by the store. `storedIds` stands for the store here (test/collect/dedupe-store.test.ts
 * asks the real one): the ids whose events it holds.
 */

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 30, 10, 30);

function tieredWindow(
  windowHours: number,
  storedIds = new Set<string>(),
  options: Pick<WindowOptions, 'maxCompactBytes' | 'onShortened'> = {},
) {
  const asked: string[] = [];
  let compactions = 0;
  const window = createMessageIdWindow({
    ...options,
    windowHours,
    isStored: async (projectId: string, event: ClaimedEvent) => {
      asked.push(`${projectId}/${event.message_id}`);
      return storedIds.has(event.message_id);
    },
    onCompacted: () => {
      compactions++;
    },
  });
  return { window, asked, storedIds, compactions: () => compactions };
}

const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

function claimAll(window: MessageIdWindow, projectId: string, messageIds: string[], at: number) {
  const outcomes = { new: 0, duplicate: 0, unsure: 0 };
  for (const id of messageIds) outcomes[window.claim(projectId, id, at)]++;
  return outcomes;
}

describe('the dedupe window in two tiers', () => {
  it('answers re-deliveries of the current and previous hour itself, and asks about older ones', async () => {
    const { window } = tieredWindow(48);
    expect(window.claim('p', 'a', T0)).toBe('new');
    expect(window.claim('p', 'a', T0 + HOUR)).toBe('duplicate');
    expect(window.stats()).toMatchObject({ exactIds: 1, compactIds: 0 });
    // Two hours on, 'a' has moved to the compact tier: a copy may be a re-delivery, the store decides.
    expect(window.claim('p', 'b', T0 + 2 * HOUR)).toBe('new');
    expect(window.stats()).toMatchObject({ exactIds: 1, compactIds: 1 });
    expect(window.claim('p', 'a', T0 + 2 * HOUR)).toBe('unsure');
    // The unsure claim is recorded exactly: a second copy while the store is asked is a duplicate.
    expect(window.claim('p', 'a', T0 + 2 * HOUR)).toBe('duplicate');
    // Other projects do not share ids.
    expect(window.claim('q', 'a', T0 + 2 * HOUR)).toBe('new');
  });

  it('keeps older ids in less than half the memory, and a new id rarely needs the store', () => {
    const { window } = tieredWindow(48);
    const old = ids('old', 1_000_000);
    claimAll(window, 'p', old, T0);
    const exactBytes = window.stats().bytes;
    // Move them to the compact tier.
    window.claim('p', 'turn', T0 + 2 * HOUR);
    const { compactIds, bytes } = window.stats();
    expect(compactIds).toBe(1_000_000);
    expect(exactBytes / 1_000_000).toBeGreaterThan(20);
    // Slots of 8 bytes at a load of 60–80 %: 10–13.3 bytes an id (16-byte slots, 35–70 % in the exact tier).
    expect(bytes / 1_000_000).toBeLessThan(13.4);
    expect(exactBytes / bytes).toBeGreaterThan(2);
    // A million new ids of the same shape: a chance match is one claim in 2^56 / 10^6.
    const fresh = claimAll(window, 'p', ids('new', 1_000_000), T0 + 2 * HOUR);
    expect(fresh.duplicate).toBe(0);
    expect(fresh.unsure).toBe(0);
    // Every old id is found again.
    const again = claimAll(window, 'p', old, T0 + 3 * HOUR);
    expect(again.unsure).toBe(1_000_000);
  });

  it('forgets compact ids after the window, through a year of hours (the hour tags wrap around)', () => {
    const { window } = tieredWindow(24);
    let missing = 0;
    let kept = 0;
    // Each hour: a new id; the id of 24 hours ago must still be known, the one of 25 hours ago not.
    // A probe that is not 'new' is released again, so that it does not renew the id it asks about.
    const probe = (id: string, at: number) => {
      const outcome = window.claim('p', id, at);
      if (outcome !== 'duplicate') window.release('p', id);
      return outcome;
    };
    for (let hour = 0; hour < 24 * 365; hour++) {
      const at = T0 + hour * HOUR;
      window.claim('p', `h-${hour}`, at);
      if (hour >= 24 && probe(`h-${hour - 24}`, at) === 'new') missing++;
      if (hour >= 25 && probe(`h-${hour - 25}`, at) !== 'new') kept++;
    }
    expect({ missing, kept }).toEqual({ missing: 0, kept: 0 });
  });

  it("expires the compact tier over the claims after the hour's turn, not in one pass, and never answers from an expired id", () => {
    const { window } = tieredWindow(24);
    claimAll(window, 'p', ids('old', 200_000), T0);
    window.claim('p', 'turn', T0 + 2 * HOUR);
    expect(window.stats().compactIds).toBe(200_000);
    // 25 hours after the old ids: their hour is out of the window.
    const later = T0 + 25 * HOUR;
    window.claim('p', 'next-turn', later);
    // The turn did not go through the table: they are still there...
    expect(window.stats().expiringIds).toBeGreaterThan(190_000);
    // ...but no lookup finds them.
    expect(claimAll(window, 'p', ids('old', 1000), later)).toEqual({ new: 1000, duplicate: 0, unsure: 0 });
    // Each id moving to the compact tier takes the pass a few slots further, until it has been everywhere.
    window.markStored(later + 1000);
    claimAll(window, 'p', ids('fresh', 20_000), later);
    claimAll(window, 'p', ids('fresher', 1000), later + 5000);
    const { compactIds } = window.stats();
    expect(compactIds).toBeLessThanOrEqual(21_002);
    expect(compactIds).toBeGreaterThan(20_000);
    expect(claimAll(window, 'p', ids('fresh', 20_000), later + 6000).unsure).toBe(20_000);
  });

  it("starts an hour's expiry over at the next turn rather than finishing the one still under way", () => {
    const { window } = tieredWindow(24);
    claimAll(window, 'p', ids('old', 200_000), T0);
    window.claim('p', 'turn', T0 + 2 * HOUR);
    // 25 hours after the old ids, and an hour later again, with hardly an id moved in between: the
    // first turn's pass has gone over a few hundred slots of the table's 330,000.
    const later = T0 + 25 * HOUR;
    window.claim('p', 'next-turn', later);
    window.claim('p', 'another-turn', later + HOUR);
    // That turn did not finish it (a pass over the whole table at once): the old ids are still there,
    // counted as leaving, not as in the window...
    expect(window.stats().expiringIds).toBeGreaterThan(190_000);
    expect(window.stats().compactIds).toBeLessThan(10);
    // ...but no lookup finds them, and the new pass drops them as ids come in.
    expect(claimAll(window, 'p', ids('old', 1000), later + HOUR)).toEqual({
      new: 1000,
      duplicate: 0,
      unsure: 0,
    });
    window.markStored(later + HOUR + 1000);
    claimAll(window, 'p', ids('fresh', 20_000), later + HOUR);
    claimAll(window, 'p', ids('fresher', 1000), later + HOUR + 5000);
    expect(window.stats().compactIds).toBeLessThanOrEqual(21_004);
    expect(claimAll(window, 'p', ids('fresh', 20_000), later + HOUR + 6000).unsure).toBe(20_000);
  });

  it('finishes an expiry still under way before an old id could read as a young one (hour tags come round every 254 hours)', () => {
    const { window } = tieredWindow(240);
    claimAll(window, 'p', ids('old', 200_000), T0);
    window.claim('p', 'turn', T0 + 2 * HOUR);
    // An id an hour moves in, so each turn's pass has hardly begun when the next turn comes. From 241
    // hours on the old ids are out of the window; at 254 hours their tag is the new hour's.
    let found = 0;
    for (let hour = 3; hour <= 260; hour++) {
      const at = T0 + hour * HOUR;
      window.markStored(at - 1000);
      window.claim('p', `hourly-${hour}`, at);
      if (hour > 240) found += 1000 - createProbe(window)(ids('old', 1000), at).new;
    }
    expect(found).toBe(0);
  });

  it('expires a compact table in the middle of its growth without finishing the growth first', () => {
    const { window } = tieredWindow(24);
    claimAll(window, 'p', ids('a', 100_000), T0);
    const b = T0 + 2 * HOUR;
    window.markStored(b + 1000);
    // 'b' ids are stored as they come: they move to the compact tier until its table is caught growing.
    let claimed = 0;
    while (claimed % 16 !== 0 || window.compactTier(b).tables.length < 2) {
      window.claim('p', `b-${claimed++}`, b);
      if (claimed > 1_000_000) throw new Error('the compact table was never caught growing');
    }
    // 25 hours after 'a': its hour is out of the window, the hour of 'b' is not.
    const later = T0 + 25 * HOUR;
    window.claim('p', 'turn', later);
    expect(window.compactTier(later).tables).toHaveLength(2);
    expect(claimAll(window, 'p', ids('a', 2000), later)).toEqual({ new: 2000, duplicate: 0, unsure: 0 });
    expect(claimAll(window, 'p', ids('b', 2000), later).unsure).toBe(2000);
    // New stored ids until the growth and the expiry are both done.
    window.markStored(later + 1000);
    let more = 0;
    while (window.compactTier(later).tables.length > 1 || more < 50_000)
      window.claim('p', `c-${more++}`, later);
    claimAll(window, 'p', ['flush'], later + 5000);
    // The 'a' ids claimed again at `later` are known (again); the others are gone, every 'b' id is kept.
    expect(claimAll(window, 'p', ids('a', 100_000), later + 6000).new).toBe(98_000);
    expect(claimAll(window, 'p', ids('b', claimed), later + 6000).new).toBe(0);
    expect(window.stats().compactIds).toBeLessThan(claimed + more + 2010);
  });

  it('takes new ids after most of the compact tier expired at once', () => {
    const { window } = tieredWindow(24);
    claimAll(window, 'p', ids('early', 300_000), T0);
    claimAll(window, 'p', ids('later', 100_000), T0 + 10 * HOUR);
    window.claim('p', 'turn', T0 + 12 * HOUR);
    expect(window.stats().compactIds).toBe(400_000);
    // 'early' leaves the window: three quarters of the table turn to tombstones, and it is rebuilt.
    const at = T0 + 25 * HOUR;
    window.markStored(at + 1000);
    const fresh = claimAll(window, 'p', ids('fresh', 300_000), at);
    expect(fresh.new).toBe(300_000);
    claimAll(window, 'p', ['flush'], at + 5000);
    expect(claimAll(window, 'p', ids('later', 100_000), at + 6000).unsure).toBe(100_000);
    expect(claimAll(window, 'p', ids('early', 1000), at + 6000).new).toBe(1000);
  });

  it('at its memory limit stays within it hour after hour: expired ids leave no tombstones to rebuild away', () => {
    const maxCompactBytes = 4 << 20;
    const { window } = tieredWindow(48, new Set(), { maxCompactBytes });
    let claimed = 0;
    let peakAfterLimit = 0;
    for (let hour = 0; hour < 30; hour++) {
      const at = T0 + hour * HOUR;
      // 50,000 ids an hour, stored 2 s after their claim: the limit holds about 8 hours of them.
      for (let i = 0; i < 50_000; i++) {
        window.markStored(at + i * 50 - 2000);
        window.claim('p', `h${hour}-${claimed++}`, at + i * 50);
        if (hour >= 10 && i % 500 === 0) peakAfterLimit = Math.max(peakAfterLimit, window.stats().bytes);
      }
    }
    expect(window.stats().keptHours).toBeLessThan(10);
    // The compact tier's one array, and the exact tier's few hundred ids. Before, an array of the same
    // size was built beside it whenever expired hours had left a quarter of it tombstones (~2×).
    expect(peakAfterLimit).toBeLessThan(maxCompactBytes * 1.05);
    // The newest hours are all known.
    const newest = Array.from({ length: 50_000 }, (_, i) => `h29-${claimed - 50_000 + i}`);
    expect(claimAll(window, 'p', newest, T0 + 30 * HOUR).new).toBe(0);
  });

  it('at its memory limit drops its oldest hours over the claims that follow, not in one pass, and keeps every new id', () => {
    const maxCompactBytes = 4 << 20;
    let shortenedAt: { compactIds: number; keptHours: number } | undefined;
    let compactIds = 0;
    const { window } = tieredWindow(48, new Set(), {
      maxCompactBytes,
      onShortened: ({ keptHours }) => {
        shortenedAt ??= { compactIds, keptHours };
      },
    });
    // 100,000 ids an hour, each hour's stored before the next, until the tier (room for ~419,000) fills.
    let hour = 0;
    for (; shortenedAt === undefined; hour++) {
      const at = T0 + hour * HOUR;
      for (let i = 0; i < 100_000 && shortenedAt === undefined; i++) {
        window.claim('p', `h${hour}-${i}`, at);
        compactIds = window.stats().compactIds;
      }
      window.markStored(at + 1000);
    }
    const filledIn = hour - 1;
    const { keptHours } = shortenedAt;
    expect(keptHours).toBeLessThan(filledIn);
    // Dropping the oldest hour (100,000 ids) did not go through the table: its entries are still there...
    const { compactIds: keptIds, expiringIds } = window.stats();
    expect(keptIds + expiringIds).toBeGreaterThan(shortenedAt.compactIds - 50_000);
    expect(expiringIds).toBeGreaterThan(50_000);
    // ...but no lookup finds them, and the hours kept are all known.
    const probe = createProbe(window);
    const at = T0 + filledIn * HOUR;
    const droppedHour = filledIn - keptHours - 1;
    expect(probe(ids(`h${droppedHour}`, 1000), at)).toEqual({ new: 1000, duplicate: 0, unsure: 0 });
    expect(probe(ids(`h${filledIn - 2}`, 1000), at).unsure).toBe(1000);
    // The claims that follow find room as the pass frees it: no id is dropped, the limit holds.
    // Stored 2 s after their claim, as the server reports it: they move to the compact tier as claims go.
    for (let i = 0; i < 100_000; i++) {
      window.markStored(at + i - 2000);
      window.claim('p', `more-${i}`, at + 1000 + i);
    }
    window.markStored(at + 200_000);
    claimAll(window, 'p', ids('flush', 10), at + 201_000);
    const after = window.stats();
    expect(after.droppedIds).toBe(0);
    expect(after.compactIds).toBeLessThan((0.8 * maxCompactBytes) / 8);
    expect(probe(ids('more', 100_000), at + 202_000).new).toBe(0);
    expect(probe(ids(`h${droppedHour}`, 1000), at + 202_000).new).toBe(1000);
    // Written to a snapshot meanwhile and restored at the same limit: it keeps the hours it kept (the
    // entries the pass had not reached stay dropped), and every id claimed after still finds room.
    const restored = tieredWindow(48, new Set(), { maxCompactBytes }).window;
    restored.restore(window.compactTier(at + 203_000, { everything: true }), at + 203_000);
    for (let i = 0; i < 100_000; i++) {
      restored.markStored(at + 204_000 + i - 2000);
      restored.claim('p', `after-${i}`, at + 204_000 + i);
    }
    restored.markStored(at + 400_000);
    claimAll(restored, 'p', ids('flush-again', 10), at + 401_000);
    expect(restored.stats().droppedIds).toBe(0);
    expect(restored.stats().keptHours).toBeLessThan(48);
    expect(restored.stats().compactIds).toBeLessThan((0.8 * maxCompactBytes) / 8);
    const probeRestored = createProbe(restored);
    expect(probeRestored(ids('after', 100_000), at + 402_000).new).toBe(0);
    expect(probeRestored(ids('more', 100_000), at + 402_000).new).toBe(0);
  });

  it('restarted from its snapshot file, a window that ran out of room still holds, and says it holds, only the hours it kept', async () => {
    const maxCompactBytes = 4 << 20;
    const { window } = tieredWindow(48, new Set(), { maxCompactBytes });
    // 100,000 ids an hour for 8 hours: the tier (room for ~419,000) drops its oldest hours.
    for (let hour = 0; hour < 8; hour++) {
      const at = T0 + hour * HOUR;
      claimAll(window, 'p', ids(`h${hour}`, 100_000), at);
      window.markStored(at + 1000);
    }
    const at = T0 + 8 * HOUR;
    claimAll(window, 'p', ids('turn', 1), at);
    // As at shutdown: the exact tier joins the compact one (which may drop another hour for room).
    const tier = window.compactTier(at, { everything: true });
    const { keptHours } = window.stats();
    expect(keptHours).toBeLessThan(8);
    const droppedHour = 8 - keptHours - 1;
    expect(createProbe(window)(ids(`h${droppedHour}`, 1000), at).new).toBe(1000);

    const path = join(mkdtempSync(join(tmpdir(), 'pulseloop-dedupe-tiers-')), 'window.snapshot');
    try {
      await writeWindowSnapshot(path, tier);
      const read = await readWindowSnapshot(path);
      if (!('tier' in read)) throw new Error('snapshot not read back');
      const shortened: number[] = [];
      const restored = tieredWindow(48, new Set(), {
        maxCompactBytes,
        onShortened: ({ keptHours }) => shortened.push(keptHours),
      }).window;
      restored.restore(read.tier, at + 1000);
      // Before, the restored window said it held all 48 hours, and ids of the hours it had dropped
      // whose entries were still in its tables (awaiting their pass) were found again.
      expect(restored.stats().keptHours).toBe(keptHours);
      // It says so as a shortening does (the server logs it at each start).
      expect(shortened).toEqual([keptHours]);
      const probe = createProbe(restored);
      expect(probe(ids(`h${droppedHour}`, 1000), at + 1000).new).toBe(1000);
      expect(probe(ids('h7', 1000), at + 1000).unsure).toBe(1000);
      // It grows back an hour an hour, as it would have without the restart.
      claimAll(restored, 'p', ids('later', 1), at + 2 * HOUR);
      expect(restored.stats().keptHours).toBe(keptHours + 2);

      // A snapshot written before the kept hours were recorded restores as the whole window, as then.
      const { keptHours: _, ...older } = tier;
      await writeWindowSnapshot(path, older);
      const readOlder = await readWindowSnapshot(path);
      if (!('tier' in readOlder)) throw new Error('older snapshot not read back');
      expect(readOlder.tier.keptHours).toBeUndefined();
      const fromOlder = tieredWindow(48, new Set(), {
        maxCompactBytes,
        onShortened: ({ keptHours }) => shortened.push(keptHours),
      }).window;
      fromOlder.restore(readOlder.tier, at + 1000);
      expect(fromOlder.stats().keptHours).toBe(48);
      expect(shortened).toEqual([keptHours]);
    } finally {
      rmSync(dirname(path), { recursive: true, force: true });
    }
  });

  it('drops everything after an idle spell longer than the window', () => {
    const { window } = tieredWindow(24);
    claimAll(window, 'p', ids('a', 1000), T0);
    window.claim('p', 'turn', T0 + 3 * HOUR);
    expect(window.stats().compactIds).toBe(1000);
    // 300 hours later (more than the tag cycle): nothing is mistaken for recent.
    expect(window.claim('p', 'a-1', T0 + 300 * HOUR)).toBe('new');
    expect(window.size()).toBe(1);
  });

  it('counts an id whose store copy is confirmed as a re-delivery, and one that is not as new', async () => {
    const stored = new Set(['stored-1']);
    const { window, asked } = tieredWindow(48, stored);
    window.remember('p', 'stored-1', T0);
    window.remember('p', 'erased-1', T0);
    window.advanceTo(T0 + 5 * HOUR);
    expect(window.claim('p', 'stored-1', T0 + 5 * HOUR)).toBe('unsure');
    expect(
      await window.isStored('p', { message_id: 'stored-1', event: 'e', distinct_id: 'u', timestamp: T0 }),
    ).toBe(true);
    expect(window.claim('p', 'erased-1', T0 + 5 * HOUR)).toBe('unsure');
    expect(
      await window.isStored('p', { message_id: 'erased-1', event: 'e', distinct_id: 'u', timestamp: T0 }),
    ).toBe(false);
    expect(asked).toEqual(['p/stored-1', 'p/erased-1']);
  });

  it('reads ids back from the store into the compact tier, but not ids older than the window', () => {
    const { window } = tieredWindow(24);
    window.advanceTo(T0);
    window.remember('p', 'in', T0 - 10 * HOUR);
    // 23 h 45 min before 10:30: its hour is 24 hours back, which a claim made then would still be kept for.
    window.remember('p', 'edge', T0 - 23.75 * HOUR);
    window.remember('p', 'out', T0 - 30 * HOUR);
    expect(window.stats()).toMatchObject({ exactIds: 0, compactIds: 2 });
    expect(window.claim('p', 'in', T0)).toBe('unsure');
    expect(window.claim('p', 'edge', T0)).toBe('unsure');
    expect(window.claim('p', 'out', T0)).toBe('new');
  });

  it('hands its compact tier over for a snapshot: hourly the older hours, at shutdown everything', () => {
    const { window, compactions } = tieredWindow(48);
    claimAll(window, 'p', ids('a', 100), T0);
    claimAll(window, 'p', ids('b', 100), T0 + 2 * HOUR);
    expect(compactions()).toBe(1);
    const hourly = window.compactTier(T0 + 2 * HOUR + 5000);
    // Ids claimed before the oldest id still exact ('b', the turn moved 'a') are in it.
    expect(hourly.coveredUntil).toBe(T0 + 2 * HOUR);
    const restoredHourly = tieredWindow(48).window;
    restoredHourly.restore(hourly, T0 + 2 * HOUR);
    expect(restoredHourly.stats()).toMatchObject({ exactIds: 0, compactIds: 100 });

    const closing = window.compactTier(T0 + 2 * HOUR + 5000, { everything: true });
    expect(closing.coveredUntil).toBe(T0 + 2 * HOUR + 5000);
    const restored = tieredWindow(48).window;
    restored.restore(closing, T0 + 3 * HOUR);
    expect(restored.stats()).toMatchObject({ exactIds: 0, compactIds: 200 });
    expect(claimAll(restored, 'p', [...ids('a', 100), ...ids('b', 100)], T0 + 3 * HOUR).unsure).toBe(200);
    // Restored ids expire on time: at hour 50, 'a' (hour 0) is past the 48-hour window, 'b' (hour 2) is not.
    const later = tieredWindow(48).window;
    later.restore(closing, T0 + 3 * HOUR);
    expect(later.claim('p', 'b-1', T0 + 50 * HOUR)).toBe('unsure');
    expect(later.claim('p', 'a-1', T0 + 50 * HOUR)).toBe('new');
  });

  it('without a store to ask, keeps every id exact', () => {
    const window = createMessageIdWindow(48);
    window.claim('p', 'a', T0);
    window.claim('p', 'b', T0 + 5 * HOUR);
    expect(window.stats()).toMatchObject({ exactIds: 2, compactIds: 0 });
    expect(window.claim('p', 'a', T0 + 5 * HOUR)).toBe('duplicate');
  });
});

describe('ids whose events are stored leave the exact tier', () => {
  it('moves them to the compact tier a few with each claim, once the store has them', () => {
    const { window } = tieredWindow(48);
    const first = ids('first', 100_000);
    claimAll(window, 'p', first, T0);
    expect(window.stats()).toMatchObject({ exactIds: 100_000, compactIds: 0 });
    // The store has everything claimed before T0 + 1 s; the next claims sweep the first ids out.
    window.markStored(T0 + 1000);
    const second = ids('second', 100_000);
    claimAll(window, 'p', second, T0 + 2000);
    expect(window.stats()).toMatchObject({ exactIds: 100_000, compactIds: 100_000 });
    // A first id is in the store now: its copy is asked about. A second one is not yet: a duplicate.
    expect(window.claim('p', 'first-7', T0 + 3000)).toBe('unsure');
    expect(window.claim('p', 'second-7', T0 + 3000)).toBe('duplicate');
    // Nothing claimed after the mark moved, and an earlier mark does not move it back.
    window.markStored(T0);
    claimAll(window, 'p', ids('third', 100_000), T0 + 3000);
    expect(window.stats()).toMatchObject({ compactIds: 100_000 });
  });

  it('under a steady stream with the store keeping up, holds a fraction of the memory of two exact hours', () => {
    // 3M ids at 50,000 a second; the store is 2 s behind.
    const marked = tieredWindow(48).window;
    const unmarked = tieredWindow(48).window;
    const total = 3_000_000;
    let at = T0;
    for (let i = 0; i < total; i++) {
      at = T0 + Math.floor(i / 50);
      const id = `s-${i}`;
      marked.claim('p', id, at);
      unmarked.claim('p', id, at);
      if (i % 5_000 === 0) marked.markStored(at - 2000);
    }
    const kept = marked.stats();
    const exactOnly = unmarked.stats();
    expect(exactOnly).toMatchObject({ exactIds: total, compactIds: 0 });
    expect(kept.exactIds + kept.compactIds).toBe(total);
    // Exact: the last ~2 s (100,000 ids) and those the sweep has not reached yet.
    expect(kept.exactIds).toBeLessThan(600_000);
    expect(kept.bytes / exactOnly.bytes).toBeLessThan(0.5);
    // Every id is still known: a re-delivery is a duplicate, or asked about.
    let fresh = 0;
    for (let i = 0; i < total; i += 7) if (marked.claim('p', `s-${i}`, at) === 'new') fresh++;
    expect(fresh).toBe(0);
  });

  it('answers as a set would while ids move between tiers and both tiers replace their tables', async () => {
    const stored = new Set<string>();
    const { window } = tieredWindow(48, stored);
    const model = new Set<string>();
    const next = seededIntegers(777);
    let at = T0;
    for (let op = 0; op < 200_000; op++) {
      at += 3;
      if (op % 1000 === 0) {
        // Everything claimed until a second ago is stored (a released id never was).
        window.markStored(at - 1000);
        for (const id of model) stored.add(id);
      }
      if (op === 120_000) at += HOUR;
      const id = `m-${next(150_000)}`;
      if (next(20) === 0) {
        // Only a request the log refused releases its ids: their events never reach the store.
        if (!stored.has(id)) {
          window.release('p', id);
          model.delete(id);
        }
        continue;
      }
      const expected = model.has(id) ? 'duplicate' : 'new';
      let answer = window.claim('p', id, at);
      if (answer === 'unsure') {
        answer = (await window.isStored('p', { message_id: id, event: 'e', distinct_id: 'u', timestamp: at }))
          ? 'duplicate'
          : 'new';
      }
      if (answer !== expected) throw new Error(`op ${op}: ${id} answered ${answer}, expected ${expected}`);
      model.add(id);
    }
    const { compactIds } = window.stats();
    expect(compactIds).toBeGreaterThan(50_000);
  });

  it('hands over a compact table being replaced as two arrays, and takes it back whole', () => {
    const { window } = tieredWindow(48);
    let claimed = 0;
    window.markStored(T0 + 1000);
    // Claim until a snapshot would catch the compact table in the middle of a replacement.
    while (claimed % 16 !== 0 || window.compactTier(T0 + 3000).tables.length < 2) {
      window.claim('p', `r-${claimed++}`, T0 + 2000);
      window.markStored(T0 + 3000);
      if (claimed > 1_000_000) throw new Error('the compact table was never caught while being replaced');
    }
    const tier = window.compactTier(T0 + 3000);
    expect(tier.tables.map((table) => table.projectId)).toEqual(['p', 'p']);
    const restored = tieredWindow(48).window;
    restored.restore(tier, T0 + 3000);
    const { compactIds } = window.stats();
    expect(restored.stats().compactIds).toBe(compactIds);
  });

  it('at its memory limit drops its oldest hours first, keeps the newest, and grows back hour by hour', () => {
    const shortened: { keptHours: number; droppedIds: number }[] = [];
    const maxCompactBytes = 4 << 20;
    const { window } = tieredWindow(48, new Set(), {
      maxCompactBytes,
      onShortened: (event) => shortened.push(event),
    });
    // 8 bytes a slot, at most 80 % full.
    const room = (0.8 * maxCompactBytes) / 8;
    // 100,000 ids an hour for six hours, each hour's stored before the next: 600,000 ids, room for ~419,000.
    for (let hour = 0; hour < 6; hour++) {
      claimAll(window, 'p', ids(`h${hour}`, 100_000), T0 + hour * HOUR);
      window.markStored(T0 + hour * HOUR + 1000);
    }
    const full = window.stats();
    expect(full.compactIds).toBeLessThanOrEqual(room);
    expect(full.keptHours).toBeLessThan(48);
    expect(shortened.length).toBeGreaterThan(0);
    // The oldest hours went, not the newest.
    const outcomes = (hour: number) => {
      const probe = createProbe(window);
      return probe(ids(`h${hour}`, 1000), T0 + 6 * HOUR);
    };
    expect(outcomes(0).new).toBe(1000);
    expect(outcomes(4).new).toBe(0);
    expect(outcomes(5).new).toBe(0);
    // Once the last exact ids have moved (at the turn after next), and with no more ids coming in, the
    // window grows back an hour with each hour's turn.
    window.advanceTo(T0 + 7 * HOUR);
    const keptThen = window.stats().keptHours;
    window.advanceTo(T0 + 8 * HOUR);
    window.advanceTo(T0 + 9 * HOUR);
    expect(window.stats().keptHours).toBe(keptThen + 2);
    expect(outcomes(5).new).toBe(0);
  });
});

/** Claims ids and releases each that was not a duplicate again, so that probing does not record them. */
function createProbe(window: MessageIdWindow) {
  return (messageIds: string[], at: number) => {
    const outcomes = { new: 0, duplicate: 0, unsure: 0 };
    for (const id of messageIds) {
      const outcome = window.claim('p', id, at);
      outcomes[outcome]++;
      if (outcome !== 'duplicate') window.release('p', id);
    }
    return outcomes;
  };
}
