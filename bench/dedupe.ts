import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createMessageIdWindow, type MessageIdWindow } from '../src/collect/dedupe.js';
import { readWindowSnapshot, writeWindowSnapshot } from '../src/collect/dedupe-snapshot.js';
import { loadMessageIdWindow } from '../src/collect/dedupe-store.js';
import { openChdbEngine } from '../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../src/store/facts/engine.js';
import { migrateFacts } from '../src/store/facts/migrate.js';

/**
 * The dedupe window at size: bytes an id in each tier, the cost of a claim, the hour's turn that moves
 * ids to the compact tier, and the two ways of filling the window at start (the snapshot file, the store).
 */

const HOUR = 3_600_000;
/** Ids of the shape the Segment libraries send (UUIDs), spread over a few projects. */
const PROJECTS = ['proj-a', 'proj-b', 'proj-c', 'proj-d'];
const idOf = (i: number) =>
  `${(i * 2654435761).toString(16).padStart(8, '0').slice(-8)}-4f1c-4a0b-9c3e-${i.toString(16).padStart(12, '0')}`;

export interface DedupeBench {
  ids: number;
  exactBytesPerId: number;
  compactBytesPerId: number;
  /** ns a claim of a new id: exact-only window vs the tiered one holding `ids` compact ids. */
  claimNs: { exact: number; tiered: number };
  /** The turn that moves `ids` exact ids to the compact tier (the serving thread waits for it). */
  turnMs: number;
  /**
   * An hour at 1,000 events/s, the store reported 2 s behind as claims go on (as the server does): ns a
   * claim (ids moving to the compact tier included), ids still exact at the hour's end, and the turn.
   */
  hourlyTurn: {
    claimed: number;
    claimNs: number;
    exactAtTurn: number;
    compactIds: number;
    ms: number;
    /** A claim in the 6 minutes after the turn, its expiry going over the compact tier meanwhile. */
    afterTurnNs: number;
  };
  snapshot: { bytes: number; writeMs: number; servingMs: number; longestStretchMs: number; readMs: number };
  store: { ids: number; loadMs: number };
  /** The ids of the last 6 minutes read from a store holding months more. */
  recentLoad: { ids: number; events: number; ms: number };
}

/**
 * Claims `count` new ids a millisecond apart from `start` (1,000 events/s), reporting the store 2 s
 * behind every 1,000 claims (a second), as the server does: ns a claim, ids moving to the compact tier
 * included.
 */
function streamClaims(window: MessageIdWindow, start: number, count: number, offset: number): number {
  const began = performance.now();
  for (let i = 0; i < count; i++) {
    const at = start + i;
    if (i % 1000 === 0) window.markStored(at - 2000);
    window.claim(PROJECTS[i & 3]!, idOf(offset + i), at);
  }
  return ((performance.now() - began) * 1e6) / count;
}

/** Stores `count` events received (and timestamped) `fromSeconds` to `fromSeconds + spanSeconds` ago. */
async function storeEvents(
  engine: FactsEngine,
  now: number,
  count: number,
  fromSeconds: number,
  spanSeconds: number,
): Promise<void> {
  await engine.command(
    `INSERT INTO events (project_id, message_id, event, timestamp, received_at, distinct_id)
     SELECT 'proj-' || toString(number % 4), generateUUIDv4(), 'e' || toString(number % 20),
            fromUnixTimestamp64Milli({now:Int64}) - toIntervalSecond({from:UInt32} + number % {span:UInt32}) AS at,
            at, 'user-' || toString(number % 100000)
     FROM numbers({n:UInt64})`,
    { now, n: count, from: fromSeconds, span: spanSeconds },
  );
}

function timeClaims(claim: (projectId: string, id: string) => void, count: number, offset: number): number {
  const start = performance.now();
  for (let i = 0; i < count; i++) claim(PROJECTS[i & 3]!, idOf(offset + i));
  return ((performance.now() - start) * 1e6) / count;
}

export async function benchDedupe(options: {
  ids: number;
  storeIds: number;
  /** Events received months before the window, stored beside them. */
  oldStoreIds: number;
  log: (line: string) => void;
}): Promise<DedupeBench> {
  const { ids, log } = options;
  const t0 = Date.UTC(2026, 11, 1, 10, 5);
  const exactOnly = createMessageIdWindow(48);
  const tiered = createMessageIdWindow({ windowHours: 48, isStored: async () => true });
  log(`dedupe: claiming ${ids.toLocaleString('en-US')} ids in each window`);
  for (let i = 0; i < ids; i++) {
    const project = PROJECTS[i & 3]!;
    const id = idOf(i);
    exactOnly.claim(project, id, t0);
    tiered.claim(project, id, t0);
  }
  const exactBytesPerId = exactOnly.stats().bytes / ids;
  const turnStart = performance.now();
  tiered.advanceTo(t0 + 2 * HOUR);
  const turnMs = performance.now() - turnStart;
  const compactBytesPerId = tiered.stats().bytes / ids;
  log(
    `dedupe: ${exactBytesPerId.toFixed(1)} B/id exact, ${compactBytesPerId.toFixed(1)} B/id compact; turn ${turnMs.toFixed(0)} ms`,
  );

  // New ids claimed in both, alternating rounds so that the host's hour affects both alike.
  const claimRounds = { exact: [] as number[], tiered: [] as number[] };
  const perRound = 200_000;
  for (let round = 0; round < 5; round++) {
    const offset = ids + round * 2 * perRound;
    claimRounds.exact.push(timeClaims((p, id) => exactOnly.claim(p, id, t0 + 2 * HOUR), perRound, offset));
    claimRounds.tiered.push(
      timeClaims((p, id) => tiered.claim(p, id, t0 + 2 * HOUR), perRound, offset + perRound),
    );
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

  // An hour at a sustained 1,000 events/s: 3.6M ids a millisecond apart; every 1,000 claims (a second)
  // the store is reported 2 s behind, as the server does, so ids move to the compact tier as claims go.
  const hourOfIds = 3_600_000;
  const hourStart = Math.floor((t0 + 2 * HOUR) / HOUR) * HOUR;
  const streamNs = streamClaims(tiered, hourStart, hourOfIds, ids * 2);
  const exactAtTurn = tiered.stats().exactIds;
  const hourlyTurnStart = performance.now();
  tiered.advanceTo(hourStart + 2 * HOUR);
  const hourlyTurnMs = performance.now() - hourlyTurnStart;
  const compactAtTurn = tiered.stats().compactIds;
  // The next 6 minutes at the same rate: the turn's expiry goes over the compact tier with these claims.
  const afterTurnIds = 360_000;
  const afterTurnNs = streamClaims(tiered, hourStart + 2 * HOUR, afterTurnIds, ids * 2 + hourOfIds);
  log(
    `dedupe: an hour of ${hourOfIds} ids at ${streamNs.toFixed(0)} ns a claim, ${exactAtTurn} still exact; the turn took ${hourlyTurnMs.toFixed(0)} ms; ${afterTurnNs.toFixed(0)} ns a claim after it`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'pulseloop-bench-dedupe-'));
  try {
    const path = join(dir, 'window.snapshot');
    const tier = tiered.compactTier(t0 + 2 * HOUR, { everything: true });
    // The serving thread's share of a write (copying and summing its pieces)...
    const eluBefore = performance.eventLoopUtilization();
    const writeStart = performance.now();
    await writeWindowSnapshot(path, tier);
    const writeMs = performance.now() - writeStart;
    const servingMs = performance.eventLoopUtilization(eluBefore).active;
    // ...and, written again with a ticker beside it, its longest stretch there.
    let writing = true;
    let longestStretchMs = 0;
    const ticks = (async () => {
      for (let last = performance.now(); writing; ) {
        await new Promise((resolve) => setImmediate(resolve));
        const tick = performance.now();
        longestStretchMs = Math.max(longestStretchMs, tick - last);
        last = tick;
      }
    })();
    await writeWindowSnapshot(path, tier);
    writing = false;
    await ticks;
    const readStart = performance.now();
    const read = await readWindowSnapshot(path);
    if (!('tier' in read)) throw new Error('the snapshot just written could not be read');
    createMessageIdWindow({ windowHours: 48, isStored: async () => true }).restore(read.tier, t0 + 3 * HOUR);
    const readMs = performance.now() - readStart;
    log(
      `dedupe: snapshot written in ${writeMs.toFixed(0)} ms (${servingMs.toFixed(0)} ms on the serving thread, at most ${longestStretchMs.toFixed(0)} ms at a time), read in ${readMs.toFixed(0)} ms`,
    );

    // The same start from the store: events received in the window, read back page by page.
    const engine = await openChdbEngine(join(dir, 'facts'), 'bench_dedupe');
    try {
      await migrateFacts(engine);
      const now = Date.now();
      log(`dedupe: storing ${options.storeIds.toLocaleString('en-US')} events to read back`);
      await storeEvents(engine, now, options.storeIds, 0, 86_400);
      const loadStart = performance.now();
      const fromStore = createMessageIdWindow({ windowHours: 48, isStored: async () => true });
      const loaded = await loadMessageIdWindow(fromStore, engine, { windowHours: 48, now });
      const loadMs = performance.now() - loadStart;
      log(`dedupe: ${loaded.toLocaleString('en-US')} ids read from the store in ${loadMs.toFixed(0)} ms`);

      // After a crash: the ids of the last minutes, in a store that also holds months older than the
      // window (received_at is not in the sort key: the read goes through that column of every row).
      log(`dedupe: storing ${options.oldStoreIds.toLocaleString('en-US')} events of the 3 months before`);
      await storeEvents(engine, now, options.oldStoreIds, 3 * 86_400, 87 * 86_400);
      await engine.command('OPTIMIZE TABLE events FINAL');
      const recentStart = performance.now();
      const recentIds = await loadMessageIdWindow(
        createMessageIdWindow({ windowHours: 48, isStored: async () => true }),
        engine,
        { windowHours: 48, now, coveredUntil: now - 6 * 60_000 },
      );
      const recentMs = performance.now() - recentStart;
      log(`dedupe: ${recentIds} ids of the last 6 minutes read in ${recentMs.toFixed(0)} ms`);
      return {
        ids,
        exactBytesPerId,
        compactBytesPerId,
        claimNs: { exact: median(claimRounds.exact), tiered: median(claimRounds.tiered) },
        turnMs,
        hourlyTurn: {
          claimed: hourOfIds,
          claimNs: streamNs,
          exactAtTurn,
          compactIds: compactAtTurn,
          ms: hourlyTurnMs,
          afterTurnNs,
        },
        snapshot: { bytes: statSync(path).size, writeMs, servingMs, longestStretchMs, readMs },
        store: { ids: loaded, loadMs },
        recentLoad: { ids: recentIds, events: options.storeIds + options.oldStoreIds, ms: recentMs },
      };
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface AtLimitBench {
  limitBytes: number;
  idsPerHour: number;
  hours: number;
  /** Times the full tier dropped its oldest hours. */
  shortenings: number;
  keptHours: number;
  droppedIds: number;
  /** The longest stretch of 1,000 claims that shortened the window (the serving thread waits meanwhile). */
  longestShorteningMs: number;
  /** The longest stretch of 1,000 claims that did not, once the limit was reached (growth, the hour's turns). */
  longestOtherMs: number;
  /** A claim, median of the stretches of 1,000 after the limit was reached. */
  claimNs: number;
}

/**
 * The window at its memory limit under a steady stream: ids a few hours old fill the compact tier, which
 * then drops its oldest hours, and grows back an hour with each hour's turn, so it fills and drops again
 * about once an hour. Claims are timed in stretches of 1,000 (the store reported 2 s behind at each).
 */
export function benchAtLimit(options: {
  limitBytes: number;
  idsPerHour: number;
  hours: number;
  log: (line: string) => void;
}): AtLimitBench {
  const { limitBytes, idsPerHour, hours } = options;
  let shortenedNow = false;
  let shortenings = 0;
  const window = createMessageIdWindow({
    windowHours: 48,
    isStored: async () => true,
    maxCompactBytes: limitBytes,
    onShortened: () => {
      shortenedNow = true;
      shortenings++;
    },
  });
  const start = Date.UTC(2026, 11, 1, 10, 0);
  const gapMs = HOUR / idsPerHour;
  const stretch = 1000;
  const afterLimit: number[] = [];
  let longestShorteningMs = 0;
  let longestOtherMs = 0;
  const total = idsPerHour * hours;
  for (let i = 0; i < total; i += stretch) {
    const at = start + i * gapMs;
    window.markStored(at - 2000);
    const began = performance.now();
    for (let k = 0; k < stretch; k++) window.claim(PROJECTS[k & 3]!, idOf(i + k), at + k * gapMs);
    const ms = performance.now() - began;
    if (shortenedNow) longestShorteningMs = Math.max(longestShorteningMs, ms);
    else if (shortenings > 0) longestOtherMs = Math.max(longestOtherMs, ms);
    if (shortenings > 0) afterLimit.push(ms);
    shortenedNow = false;
    if (i % idsPerHour === 0)
      options.log(`dedupe at its limit: hour ${i / idsPerHour}, ${shortenings} shortenings`);
  }
  afterLimit.sort((a, b) => a - b);
  const { keptHours, droppedIds } = window.stats();
  return {
    limitBytes,
    idsPerHour,
    hours,
    shortenings,
    keptHours,
    droppedIds,
    longestShorteningMs,
    longestOtherMs,
    claimNs: ((afterLimit[afterLimit.length >> 1] ?? 0) * 1e6) / stretch,
  };
}
