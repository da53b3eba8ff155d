import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageIdWindow } from '../../src/collect/dedupe.js';
import {
  startMessageIdWindow,
  WINDOW_SNAPSHOT_FILE,
  type WindowStart,
} from '../../src/collect/dedupe-lifecycle.js';
import { readWindowSnapshot, writeWindowSnapshot } from '../../src/collect/dedupe-snapshot.js';
import { storedEventCheck } from '../../src/collect/dedupe-store.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';

const HOUR = 3_600_000;
const root = mkdtempSync(join(tmpdir(), 'pulseloop-dedupe-store-'));
let engine: FactsEngine;
const logger = pino({ level: 'silent' });

/** The server's window over the test store, for a data directory: 48 hours unless `options` say else. */
const startWindow = (dataDir: string, options: Partial<WindowStart> = {}) =>
  startMessageIdWindow({ engine, dataDir, windowHours: 48, logger, ...options });

beforeAll(async () => {
  engine = await openChdbEngine(join(root, 'facts'), 'dedupe_store_test');
  await migrateFacts(engine);
});

afterAll(async () => {
  await engine?.close();
  rmSync(root, { recursive: true, force: true });
});

/** `count` events of project `p`, event `e`, ids `${prefix}-0…`, received (and timestamped) at `at`. */
async function storeEvents(project: string, prefix: string, count: number, at: number) {
  await engine.command(
    `INSERT INTO events (project_id, message_id, event, timestamp, received_at, distinct_id)
     SELECT {p:String}, {prefix:String} || '-' || toString(number), 'e',
            fromUnixTimestamp64Milli({at:Int64}), fromUnixTimestamp64Milli({at:Int64}), 'u' || toString(number % 97)
     FROM numbers({count:UInt32})`,
    { p: project, prefix, at, count },
  );
}

describe("the store's answer about an unsure claim", () => {
  it('finds the first copy of a re-delivery within the window, and nothing else', async () => {
    // Months before the restart tests below, which count every id of their window.
    const now = Date.UTC(2026, 5, 1, 12);
    await storeEvents('check', 'm', 3, now - 5 * HOUR);
    await storeEvents('check', 'old', 1, now - 60 * HOUR);
    const isStored = storedEventCheck(engine, 48, () => now);
    // storeEvents sends event number n as user `u${n % 97}`.
    const senderOf = (messageId: string) => `u${Number(messageId.split('-')[1]) % 97}`;
    const asked = (
      message_id: string,
      timestamp = now - 5 * HOUR,
      event = 'e',
      project = 'check',
      distinct_id = senderOf(message_id),
    ) => isStored(project, { message_id, event, distinct_id, timestamp });
    expect(await asked('m-1')).toBe(true);
    // A copy sent without a timestamp is stamped with its own receipt time, hours after the first.
    expect(await asked('m-2', now)).toBe(true);
    expect(await asked('m-9')).toBe(false);
    expect(await asked('m-1', now - 5 * HOUR, 'other event')).toBe(false);
    expect(await asked('m-1', now - 5 * HOUR, 'e', 'other project')).toBe(false);
    expect(await asked('m-1', now - 5 * HOUR, 'e', 'check', 'another sender')).toBe(false);
    // Received before the window: not a re-delivery the window answers for.
    expect(await asked('old-0', now - 60 * HOUR)).toBe(false);
  });
});

describe('the dedupe window snapshot', () => {
  const tier = () => {
    const window = createMessageIdWindow({ windowHours: 48, isStored: async () => true });
    const t = Date.UTC(2026, 11, 1, 8);
    for (let i = 0; i < 5000; i++) window.claim(`p${i % 2}`, `id-${i}`, t);
    return window.compactTier(t + 60_000, { everything: true });
  };

  it('reads back what was written', async () => {
    const path = join(root, 'round-trip.snapshot');
    const written = tier();
    await writeWindowSnapshot(path, written);
    const read = await readWindowSnapshot(path);
    expect('tier' in read && read.tier).toEqual(written);
  });

  it('refuses a file that is damaged, cut short or not a snapshot, and tells which', async () => {
    const path = join(root, 'damaged.snapshot');
    await writeWindowSnapshot(path, tier());
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1]! ^= 0x40;
    writeFileSync(path, bytes);
    expect(await readWindowSnapshot(path)).toEqual({
      unusable: 'its checksum does not match (changed while written, or damaged)',
    });
    await writeWindowSnapshot(path, tier());
    truncateSync(path, 1000);
    expect(await readWindowSnapshot(path)).toMatchObject({
      unusable: expect.stringContaining('does not match its header'),
    });
    writeFileSync(path, 'hello');
    expect(await readWindowSnapshot(path)).toEqual({ unusable: 'not a dedupe window snapshot' });
    // A header length beyond the file is refused before anything that large is allocated.
    writeFileSync(path, Buffer.concat([Buffer.from('PLDEDUP1'), Buffer.from([0xff, 0xff, 0xff, 0xff])]));
    expect(await readWindowSnapshot(path)).toEqual({ unusable: 'cut short in its header' });
    expect(await readWindowSnapshot(root)).toMatchObject({
      unusable: expect.stringContaining('cannot be read'),
    });
    expect(await readWindowSnapshot(join(root, 'absent.snapshot'))).toEqual({ missing: true });
  });

  it('is whole when the window goes on taking ids while it is written', async () => {
    const window = createMessageIdWindow({ windowHours: 48, isStored: async () => true });
    const t = Date.UTC(2026, 11, 1, 8);
    for (let i = 0; i < 1_500_000; i++) window.remember('p', `old-${i}`, t);
    const path = join(root, 'written-under-load.snapshot');
    const { compactIds } = window.stats();
    let written = false;
    const writing = writeWindowSnapshot(path, window.compactTier(t + HOUR)).then(() => {
      written = true;
    });
    // The serving thread goes on between the file's writes, as under load.
    let added = 0;
    while (!written) {
      for (let k = 0; k < 500; k++) window.remember('p', `new-${added++}`, t + HOUR);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await writing;
    expect(added).toBeGreaterThan(0);
    const read = await readWindowSnapshot(path);
    if (!('tier' in read)) throw new Error(`snapshot not usable: ${JSON.stringify(read)}`);
    const restored = createMessageIdWindow({ windowHours: 48, isStored: async () => true });
    restored.restore(read.tier, t + HOUR);
    // Everything there when it was taken; some of what came during the write, perhaps.
    expect(restored.size()).toBeGreaterThanOrEqual(compactIds);
    for (let i = 0; i < 1_500_000; i += 997) expect(restored.claim('p', `old-${i}`, t + HOUR)).toBe('unsure');
  });
});

describe('the window across restarts', () => {
  it('comes back from its snapshot and reads from the store only what came after it', async () => {
    const dataDir = mkdtempSync(join(root, 'restart-'));
    let clock = Date.UTC(2026, 11, 1, 9, 10);
    const now = () => clock;
    await storeEvents('life', 'before', 1000, clock - 3 * HOUR);

    const first = await startWindow(dataDir, { now });
    expect({ restored: first.restored, loaded: first.loaded }).toEqual({ restored: 0, loaded: 1000 });
    // Read back from the store: compact, so the store confirms.
    expect(first.window.claim('life', 'before-7', clock)).toBe('unsure');
    expect(
      await first.window.isStored('life', {
        message_id: 'before-7',
        event: 'e',
        distinct_id: 'u7',
        timestamp: clock - 3 * HOUR,
      }),
    ).toBe(true);
    expect(first.window.claim('life', 'during-1', clock)).toBe('new');
    await first.close();
    expect(existsSync(join(dataDir, WINDOW_SNAPSHOT_FILE))).toBe(true);

    // While the server was down another 30 events came in (say, through another replica's log).
    clock += 10 * 60_000;
    await storeEvents('life', 'after', 30, clock - 60_000);
    const progress: number[] = [];
    const second = await startWindow(dataDir, {
      now,
      onProgress: (done) => progress.push(done),
    });
    expect({ restored: second.restored, loaded: second.loaded }).toEqual({ restored: 1001, loaded: 30 });
    expect(progress.at(-1)).toBe(30);
    for (const id of ['before-0', 'before-999', 'during-1', 'after-29'])
      expect(second.window.claim('life', id, clock), id).toBe('unsure');
    expect(second.window.claim('life', 'never-seen', clock)).toBe('new');
    await second.close();

    // A damaged snapshot is put aside: the window is read from the store in full, and a new one written.
    const path = join(dataDir, WINDOW_SNAPSHOT_FILE);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(path, bytes);
    const third = await startWindow(dataDir, { now });
    expect({ restored: third.restored, loaded: third.loaded }).toEqual({ restored: 0, loaded: 1030 });
    await third.close();
    expect('tier' in (await readWindowSnapshot(path))).toBe(true);
  });

  it("writes a snapshot once the start-up load is done, at every hour's turn, and at close", async () => {
    const dataDir = mkdtempSync(join(root, 'hourly-'));
    let clock = Date.UTC(2026, 11, 1, 10, 59);
    await storeEvents('hourly', 'stored', 500, clock - HOUR);
    const running = await startWindow(dataDir, {
      now: () => clock,
    });
    const path = join(dataDir, WINDOW_SNAPSHOT_FILE);
    const snapshotCovers = async (coveredUntil: number, ids: number) => {
      const read = await readWindowSnapshot(path);
      if (!('tier' in read)) return false;
      const restored = createMessageIdWindow({ windowHours: 48, isStored: async () => true });
      restored.restore(read.tier, clock);
      return read.tier.coveredUntil === coveredUntil && restored.size() >= ids;
    };
    // After the load: what was read is in it, and nothing is exact; the cover ends a margin before
    // now, for requests received before it that claim their ids after it.
    await expect.poll(() => snapshotCovers(clock - 30_000, 500)).toBe(true);
    running.window.claim('hourly', 'a', clock);
    clock += 2 * HOUR;
    running.window.claim('hourly', 'b', clock);
    // The turn moved 'a' to the compact tier and wrote it; 'b' is exact, so the cover ends before it.
    await expect.poll(() => snapshotCovers(clock - 30_000, 501)).toBe(true);
    await running.close();
    expect(await snapshotCovers(clock, 502)).toBe(true);
  });

  it('writes the window every few minutes while ids come in, covering up to the oldest id still exact', async () => {
    const dataDir = mkdtempSync(join(root, 'periodic-'));
    const T = Date.UTC(2026, 11, 1, 14, 20);
    let clock = T;
    let storedUntil = 0;
    const running = await startWindow(dataDir, {
      now: () => clock,
      storedBefore: () => storedUntil,
      snapshotEveryMs: 100,
    });
    const path = join(dataDir, WINDOW_SNAPSHOT_FILE);
    const snapshot = async () => {
      const read = await readWindowSnapshot(path);
      return 'tier' in read ? read.tier : undefined;
    };
    const claimAll = (prefix: string, at: number) => {
      for (let i = 0; i < 300; i++) running.window.claim('periodic', `${prefix}-${i}`, at);
    };
    claimAll('first', T);
    // The 'first' ids are exact (nothing is known stored): the snapshot covers the time before them.
    await expect.poll(async () => (await snapshot())?.coveredUntil).toBe(T - 30_000);
    // The writer reports them stored; the next claims move them to the compact tier.
    storedUntil = T + 10_000;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    clock = T + 60_000;
    claimAll('second', clock);
    await expect.poll(async () => (await snapshot())?.coveredUntil).toBe(T + 30_000);
    const tier = await snapshot();
    const restored = createMessageIdWindow({ windowHours: 48, isStored: async () => true });
    restored.restore(tier!, clock);
    expect(restored.claim('periodic', 'first-7', clock)).toBe('unsure');
    expect(restored.claim('periodic', 'second-7', clock)).toBe('new');
    // No claims, no writes.
    const { mtimeMs } = statSync(path);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(statSync(path).mtimeMs).toBe(mtimeMs);
    await running.close();
  });

  it('writes the window at a tick only once an eighth of it is new since the last write', async () => {
    const dataDir = mkdtempSync(join(root, 'share-'));
    const T = Date.UTC(2026, 11, 1, 15, 20);
    const running = await startWindow(dataDir, { now: () => T, snapshotEveryMs: 50 });
    const path = join(dataDir, WINDOW_SNAPSHOT_FILE);
    await expect.poll(() => existsSync(path)).toBe(true);
    const writtenAt = () => statSync(path).mtimeMs;
    const claim = (prefix: string, count: number) => {
      for (let i = 0; i < count; i++) running.window.claim('share', `${prefix}-${i}`, T);
    };
    // The time the file was last written, once no write follows for a while.
    const settled = async () => {
      for (;;) {
        const last = writtenAt();
        await new Promise((resolve) => setTimeout(resolve, 250));
        if (writtenAt() === last) return last;
      }
    };
    // A window of new ids only: written at the next tick (and at the hour's turn, if the first
    // claim turned it).
    let before = writtenAt();
    claim('fill', 8_000);
    await expect.poll(writtenAt).not.toBe(before);
    // A tenth of the window more: many ticks, no write (each would rewrite the whole window).
    before = await settled();
    const size = running.window.size();
    claim('few', Math.floor(size / 10));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(writtenAt()).toBe(before);
    // Past an eighth of it with a twentieth more: written again.
    claim('more', Math.ceil(size / 20));
    await expect.poll(writtenAt).not.toBe(before);
    await running.close();
  });

  it('moves ids to the compact tier once the batch writer reports their events stored', async () => {
    const dataDir = mkdtempSync(join(root, 'stored-'));
    let storedUntil = 0;
    const running = await startWindow(dataDir, {
      storedBefore: () => storedUntil,
    });
    // Ids of the other tests' events, read from the store at start.
    const fromStore = running.window.stats().compactIds;
    const at = Date.now();
    for (let i = 0; i < 100; i++) running.window.claim('moving', `early-${i}`, at);
    // Nothing stored yet: claims go on and the ids stay exact.
    for (let i = 0; i < 500; i++) running.window.claim('moving', `late-${i}`, at);
    expect(running.window.stats()).toMatchObject({ exactIds: 600 });
    // The writer catches up; the window asks it every second and keeps a margin for requests in flight.
    storedUntil = at + 60_000;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    for (let i = 0; i < 500; i++) running.window.claim('moving', `later-${i}`, at + 100_000);
    expect(running.window.stats().compactIds - fromStore).toBe(600);
    expect(running.window.claim('moving', 'early-3', at + 100_000)).toBe('unsure');
    await running.close();
  });

  it('reads the store in full when the snapshot was kept for a shorter window, or is too full to use', async () => {
    const dataDir = mkdtempSync(join(root, 'shorter-'));
    const clock = Date.UTC(2026, 11, 1, 12, 30);
    await storeEvents('shorter', 'x', 40, clock - 30 * HOUR);
    const first = await startWindow(dataDir, { windowHours: 24, now: () => clock });
    await first.close();
    // Now 48 hours: the events of 30 hours ago were never in the 24-hour snapshot.
    const longer = await startWindow(dataDir, { now: () => clock });
    expect(longer.restored).toBe(0);
    // The other tests' events are all of the last 24 hours.
    expect(longer.loaded).toBe(first.loaded + 40);
    expect(longer.window.claim('shorter', 'x-3', clock)).toBe('unsure');
    await longer.close();
    // A table with no empty slot (only a crafted file has one): lookups would not end.
    const path = join(dataDir, WINDOW_SNAPSHOT_FILE);
    const read = await readWindowSnapshot(path);
    if (!('tier' in read)) throw new Error('no snapshot');
    const full = new Uint32Array(2048).map((_, i) => (i % 2 === 0 ? i : 0x100 | 2));
    await writeWindowSnapshot(path, { ...read.tier, tables: [{ projectId: 'crafted', slots: full }] });
    const again = await startWindow(dataDir, { now: () => clock });
    expect(again.restored).toBe(0);
    expect(again.loaded).toBe(longer.loaded);
    await again.close();
  });
});
