import { describe, expect, it } from 'vitest';
import { type ClaimedEvent, createMessageIdWindow, type MessageIdWindow } from '../../src/collect/dedupe.js';

/**
 * The window's two tiers: ids of the current and the previous hour exact, older ones compact and
 * confirmed by the store. `storedIds` stands for the store here (test/collect/dedupe-store.test.ts
 * asks the real one): the ids whose events it holds.
 */

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 30, 10, 30);

function tieredWindow(windowHours: number, storedIds = new Set<string>()) {
  const asked: string[] = [];
  let compactions = 0;
  const window = createMessageIdWindow({
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
    const hourly = window.compactTier();
    // Ids claimed before the previous hour began are in it.
    expect(hourly.coveredUntil).toBe(Math.floor((T0 + HOUR) / HOUR) * HOUR);
    const restoredHourly = tieredWindow(48).window;
    restoredHourly.restore(hourly, T0 + 2 * HOUR);
    expect(restoredHourly.stats()).toMatchObject({ exactIds: 0, compactIds: 100 });

    const closing = window.compactTier({ everything: true, now: T0 + 2 * HOUR + 5000 });
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
