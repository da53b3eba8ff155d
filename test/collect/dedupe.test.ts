import { describe, expect, it } from 'vitest';
import { createMessageIdWindow } from '../../src/collect/dedupe.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 30, 10, 59);

describe('the messageId dedupe window', () => {
  it('accepts an id once per project and refuses its re-deliveries', () => {
    const window = createMessageIdWindow(24);
    expect(window.claim('p1', 'm-1', T0)).toBe(true);
    expect(window.claim('p1', 'm-1', T0 + 1000)).toBe(false);
    expect(window.claim('p2', 'm-1', T0)).toBe(true);
    expect(window.claim('p1', 'm-2', T0)).toBe(true);
    expect(window.size()).toBe(3);
  });

  it('forgets a released id, so the retry of a refused request is not a duplicate', () => {
    const window = createMessageIdWindow(24);
    window.claim('p', 'a', T0);
    window.claim('p', 'b', T0);
    window.release('p', 'a');
    window.release('p', 'never-claimed');
    window.release('other-project', 'b');
    expect(window.size()).toBe(1);
    expect(window.claim('p', 'b', T0)).toBe(false);
    expect(window.claim('p', 'a', T0)).toBe(true);
    expect(window.size()).toBe(2);
  });

  it('remembers an id for at least the window, and forgets it after', () => {
    const window = createMessageIdWindow(24);
    expect(window.claim('p', 'old', T0)).toBe(true);
    // Claimed at 10:59: exactly 24 hours later it is still known.
    expect(window.claim('p', 'old', T0 + 24 * HOUR)).toBe(false);
    expect(window.claim('p', 'late', T0 + 24 * HOUR)).toBe(true);
    expect(window.size()).toBe(2);
    // From 11:00 the next day (the 25th hour after the one it was claimed in) it is forgotten;
    // the id claimed later is not.
    expect(window.claim('p', 'other', T0 + 24 * HOUR + 60_000)).toBe(true);
    expect(window.size()).toBe(2);
    expect(window.claim('p', 'old', T0 + 24 * HOUR + 120_000)).toBe(true);
    expect(window.claim('p', 'late', T0 + 24 * HOUR + 120_000)).toBe(false);
  });

  it('keeps every one of a million ids apart, through growth, re-deliveries and expiry', () => {
    const window = createMessageIdWindow(2);
    const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `msg-${from + i}`);
    // Ids of one shape that differ in one character are where a weak hash would collide.
    let accepted = 0;
    for (const id of ids(0, 1_000_000)) if (window.claim('p', id, T0)) accepted++;
    expect(accepted).toBe(1_000_000);
    expect(window.size()).toBe(1_000_000);
    let refused = 0;
    for (const id of ids(0, 1_000_000)) if (!window.claim('p', id, T0 + 1000)) refused++;
    expect(refused).toBe(1_000_000);
    // Three hours on, the million expire; new ids are taken and the old ones are new again.
    accepted = 0;
    for (const id of ids(1_000_000, 1_100_000)) if (window.claim('p', id, T0 + 3 * HOUR)) accepted++;
    expect(accepted).toBe(100_000);
    expect(window.size()).toBe(100_000);
    expect(window.claim('p', 'msg-5', T0 + 3 * HOUR)).toBe(true);
    expect(window.claim('p', 'msg-1000005', T0 + 3 * HOUR)).toBe(false);
  });

  it('stays correct when ids are claimed and released over and over', () => {
    const window = createMessageIdWindow(24);
    for (let round = 0; round < 50; round++) {
      let accepted = 0;
      for (let i = 0; i < 2000; i++) if (window.claim('p', `r-${i}`, T0)) accepted++;
      expect(accepted).toBe(2000);
      for (let i = 0; i < 2000; i++) window.release('p', `r-${i}`);
    }
    expect(window.size()).toBe(0);
    expect(window.claim('p', 'r-7', T0)).toBe(true);
    expect(window.claim('p', 'r-7', T0)).toBe(false);
  });
});
