import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMessageIdWindow } from '../../src/collect/dedupe.js';
import { loadMessageIdWindow } from '../../src/collect/dedupe-store.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import { recordingAnswerSizes } from '../support/answer-sizes.js';
import { seededIntegers } from '../support/seeded.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 30, 10, 59);

describe('the messageId dedupe window', () => {
  it('accepts an id once per project and refuses its re-deliveries', () => {
    const window = createMessageIdWindow(24);
    expect(window.claim('p1', 'm-1', T0)).toBe('new');
    expect(window.claim('p1', 'm-1', T0 + 1000)).toBe('duplicate');
    expect(window.claim('p2', 'm-1', T0)).toBe('new');
    expect(window.claim('p1', 'm-2', T0)).toBe('new');
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
    expect(window.claim('p', 'b', T0)).toBe('duplicate');
    expect(window.claim('p', 'a', T0)).toBe('new');
    expect(window.size()).toBe(2);
  });

  it('remembers an id for at least the window, and forgets it after', () => {
    const window = createMessageIdWindow(24);
    expect(window.claim('p', 'old', T0)).toBe('new');
    // Claimed at 10:59: exactly 24 hours later it is still known.
    expect(window.claim('p', 'old', T0 + 24 * HOUR)).toBe('duplicate');
    expect(window.claim('p', 'late', T0 + 24 * HOUR)).toBe('new');
    expect(window.size()).toBe(2);
    // From 11:00 the next day (the 25th hour after the one it was claimed in) it is forgotten;
    // the id claimed later is not.
    expect(window.claim('p', 'other', T0 + 24 * HOUR + 60_000)).toBe('new');
    expect(window.size()).toBe(2);
    expect(window.claim('p', 'old', T0 + 24 * HOUR + 120_000)).toBe('new');
    expect(window.claim('p', 'late', T0 + 24 * HOUR + 120_000)).toBe('duplicate');
  });

  it('keeps every one of a million ids apart, through growth, re-deliveries and expiry', () => {
    const window = createMessageIdWindow(2);
    const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `msg-${from + i}`);
    // Ids of one shape that differ in one character are where a weak hash would collide.
    let accepted = 0;
    for (const id of ids(0, 1_000_000)) if (window.claim('p', id, T0) === 'new') accepted++;
    expect(accepted).toBe(1_000_000);
    expect(window.size()).toBe(1_000_000);
    let refused = 0;
    for (const id of ids(0, 1_000_000)) if (window.claim('p', id, T0 + 1000) === 'duplicate') refused++;
    expect(refused).toBe(1_000_000);
    // Three hours on, the million expire; new ids are taken and the old ones are new again.
    accepted = 0;
    for (const id of ids(1_000_000, 1_100_000))
      if (window.claim('p', id, T0 + 3 * HOUR) === 'new') accepted++;
    expect(accepted).toBe(100_000);
    expect(window.size()).toBe(100_000);
    expect(window.claim('p', 'msg-5', T0 + 3 * HOUR)).toBe('new');
    expect(window.claim('p', 'msg-1000005', T0 + 3 * HOUR)).toBe('duplicate');
  });

  it('answers as a set would while its table grows step by step, with releases and an hour’s turn mid-growth', () => {
    const window = createMessageIdWindow(24);
    const model = new Set<string>();
    const next = seededIntegers(12345);
    let at = T0;
    for (let op = 0; op < 60_000; op++) {
      // Growth happens at 717, 1,434, 2,868 … live ids; the hour turns twice during the run.
      if (op === 20_000 || op === 40_000) at += HOUR;
      const id = `g-${next(30_000)}`;
      if (next(10) === 0) {
        window.release('p', id);
        model.delete(id);
        continue;
      }
      const expected = model.has(id) ? 'duplicate' : 'new';
      const answer = window.claim('p', id, at);
      if (answer !== expected) throw new Error(`op ${op}: ${id} answered ${answer}, expected ${expected}`);
      model.add(id);
    }
    expect(window.size()).toBe(model.size);
    for (const id of model) expect(window.claim('p', id, at)).toBe('duplicate');
  });

  it('claims an id released while its table grows as new again, wherever the growth has got to', () => {
    const window = createMessageIdWindow(24);
    const first = Array.from({ length: 700 }, (_, i) => `first-${i}`);
    for (const id of first) window.claim('p', id, T0);
    // The table grows at 717 ids; its old slots then move 8 with each claim.
    const { bytes } = window.stats();
    let more = 0;
    while (window.stats().bytes === bytes) window.claim('p', `more-${more++}`, T0);
    for (let i = 0; i < 60; i++) window.claim('p', `during-${i}`, T0);
    // About half of the old table has moved: some of these ids are in the new table, some in the old.
    for (const id of first) window.release('p', id);
    const again = first.filter((id) => window.claim('p', id, T0) === 'new');
    expect(again).toHaveLength(700);
    expect(window.size()).toBe(700 + more + 60);
  });

  it('stays correct when ids are claimed and released over and over', () => {
    const window = createMessageIdWindow(24);
    for (let round = 0; round < 50; round++) {
      let accepted = 0;
      for (let i = 0; i < 2000; i++) if (window.claim('p', `r-${i}`, T0) === 'new') accepted++;
      expect(accepted).toBe(2000);
      for (let i = 0; i < 2000; i++) window.release('p', `r-${i}`);
    }
    expect(window.size()).toBe(0);
    expect(window.claim('p', 'r-7', T0)).toBe('new');
    expect(window.claim('p', 'r-7', T0)).toBe('duplicate');
  });
});

describe('the window after a restart', () => {
  it('is filled from the store page by page, never in one answer, with every id of the window', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulseloop-dedupe-load-'));
    const engine = await openChdbEngine(join(dir, 'facts'), 'dedupe_load');
    try {
      await migrateFacts(engine);
      const now = Date.now();
      // 600,000 events in the window over three projects (a re-delivered copy of some), 1,000 before it.
      await engine.command(
        `INSERT INTO events (project_id, message_id, event, timestamp, received_at, distinct_id)
         SELECT 'p' || toString(number % 3), 'm-' || toString(number), 'e' || toString(number % 5),
                fromUnixTimestamp64Milli({now:Int64}) - toIntervalSecond(number % 86400),
                fromUnixTimestamp64Milli({now:Int64}) - toIntervalSecond(number % 86400),
                'u' || toString(number % 1000)
         FROM numbers(600000)`,
        { now },
      );
      await engine.command(
        `INSERT INTO events (project_id, message_id, event, timestamp, received_at)
         SELECT 'p1', 'm-' || toString(number), 'e1', fromUnixTimestamp64Milli({now:Int64}), fromUnixTimestamp64Milli({now:Int64})
         FROM numbers(1, 1000, 3)`,
        { now },
      );
      await engine.command(
        `INSERT INTO events (project_id, message_id, event, timestamp, received_at)
         SELECT 'p0', 'old-' || toString(number), 'e', fromUnixTimestamp64Milli({old:Int64}), fromUnixTimestamp64Milli({old:Int64})
         FROM numbers(1000)`,
        { old: now - 49 * HOUR },
      );
      // Answers are counted as the store gives them: a whole window in one answer cannot be held.
      const recorded = recordingAnswerSizes(engine);
      const window = createMessageIdWindow(48);
      const progress: Array<[number, number]> = [];
      const loaded = await loadMessageIdWindow(window, recorded.engine, {
        windowHours: 48,
        now,
        onProgress: (done, total) => progress.push([done, total]),
      });
      expect(window.size()).toBe(600_000);
      expect(loaded).toBe(600_334);
      expect(recorded.largestAnswer()).toBeLessThanOrEqual(250_000);
      expect(progress[0]).toEqual([0, 600_334]);
      expect(progress.at(-1)).toEqual([600_334, 600_334]);
      for (const id of [0, 1, 299_999, 599_999])
        expect(window.claim(`p${id % 3}`, `m-${id}`, now), `m-${id}`).toBe('duplicate');
      expect(window.claim('p0', 'old-1', now)).toBe('new');
      expect(window.claim('p0', 'm-1', now)).toBe('new');
    } finally {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
