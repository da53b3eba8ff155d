import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FactsEngine } from '../store/facts/engine.js';
import { type CompactTier, createMessageIdWindow, HOUR_MS, type MessageIdWindow } from './dedupe.js';
import { readWindowSnapshot, removeWindowSnapshot, writeWindowSnapshot } from './dedupe-snapshot.js';
import { loadMessageIdWindow, storedEventCheck } from './dedupe-store.js';

export const WINDOW_SNAPSHOT_FILE = 'dedupe-window.snapshot';
const STORED_POLL_MS = 1000;
/**
 * Ids claimed this long before the oldest event still waiting for the store stay exact too: a request
 * claims its ids before its events reach the log. Moved too early, an id's re-delivery would only cost
 * a store lookup (and, were its event still not stored, a second copy that queries fold).
 */
const STORED_MARGIN_MS = 5_000;
/**
 * While ids come in, the window is written this often (besides every hour's turn), so that a restart
 * after a crash reads from the store only the ids of the last minutes: ~200,000 ids a second here,
 * against the hour or two a snapshot at the hour's turn left to read (30 minutes at 50,000 events/s).
 */
export const SNAPSHOT_EVERY_MS = 5 * 60_000;
/**
 * A periodic write waits until the ids claimed since the last write are at least this share of the
 * window's ids. Each write is the whole window: written every 5 minutes whatever came in, a full
 * 1 GiB window at 1,000 events/s was rewritten 12 times an hour (12 GiB for 3.6M new ids). Now it is
 * rewritten at most once per eighth of it that is new (at that rate, in practice at the hour's
 * turn only); a restart after a crash reads from the store less than that eighth plus 5 minutes'
 * ids, and never more than the hour's since its turn.
 */
export const SNAPSHOT_AFTER_SHARE = 1 / 8;
/**
 * A snapshot's cover ends this long before the oldest id still exact: a request claims its ids a
 * moment after it was received (and the claim is stamped with the receipt), so a request received
 * before the snapshot may claim after it.
 */
const IN_FLIGHT_MARGIN_MS = 30_000;

export interface WindowStart {
  engine: FactsEngine;
  dataDir: string;
  windowHours: number;
  /** The compact tier's memory limit in bytes. */
  maxCompactBytes?: number;
  /**
   * The time before which every acknowledged event is in the store (asked every STORED_POLL_MS), so
   * that its id can leave the exact tier.
   */
  storedBefore?: () => number;
  logger: Logger;
  onProgress?: (done: number, total: number) => void;
  now?: () => number;
  /** How often the window is written while ids come in (default SNAPSHOT_EVERY_MS). */
  snapshotEveryMs?: number;
}

export interface RunningWindow {
  window: MessageIdWindow;
  /** Ids taken from the snapshot and ids read from the store at start. */
  restored: number;
  loaded: number;
  /** Writes the whole window to the snapshot, after the last claim (at shutdown). */
  close(): Promise<void>;
}

/**
 * The server's dedupe window from start to shutdown: restored from its snapshot when there is a usable
 * one, then filled with the ids the store received since; snapshotted every SNAPSHOT_EVERY_MS while ids
 * come in (once SNAPSHOT_AFTER_SHARE of the window is new), at every hour's turn and at close.
 */
export async function startMessageIdWindow(start: WindowStart): Promise<RunningWindow> {
  const now = start.now ?? Date.now;
  const path = join(start.dataDir, WINDOW_SNAPSHOT_FILE);
  let writing: Promise<void> | undefined;
  // Until the start-up load is done, the compact tier does not yet hold what a snapshot would claim.
  let loading = true;

  // One write at a time; a turn during a write is written after it, from the tier as it is then.
  let nextTier: (() => CompactTier) | undefined;
  const save = (tier: () => CompactTier): Promise<void> => {
    nextTier = tier;
    if (writing) return writing;
    writing = (async () => {
      while (nextTier) {
        const take = nextTier;
        nextTier = undefined;
        try {
          await writeWindowSnapshot(path, take());
        } catch (error) {
          start.logger.warn({ err: error }, 'writing the dedupe window snapshot failed');
        }
      }
      writing = undefined;
    })();
    return writing;
  };

  const newWindow = () =>
    createMessageIdWindow({
      windowHours: start.windowHours,
      isStored: storedEventCheck(start.engine, start.windowHours, now),
      onCompacted: () => {
        if (!loading) void saveCovered();
      },
      ...(start.maxCompactBytes !== undefined ? { maxCompactBytes: start.maxCompactBytes } : {}),
      onShortened: ({ keptHours, droppedIds }) =>
        // Also at each start while the restored window holds fewer hours than configured.
        start.logger.warn(
          { keptHours, droppedIds, windowHours: start.windowHours },
          'the dedupe window reached its memory limit (PULSELOOP_DEDUPE_MEMORY_MB) and keeps fewer hours; re-deliveries older than that are stored again and folded by queries',
        ),
    });
  let window = newWindow();
  let claimsSaved = -1;
  const saveCovered = () =>
    save(() => {
      claimsSaved = window.stats().claims;
      const tier = window.compactTier(now());
      return { ...tier, coveredUntil: tier.coveredUntil - IN_FLIGHT_MARGIN_MS };
    });

  const startedAt = now();
  let coveredUntil: number | undefined;
  const fromStore = 'reading the window from the store';
  const snapshot = await readWindowSnapshot(path);
  if ('tier' in snapshot) {
    const { tier } = snapshot;
    const windowStart = startedAt - start.windowHours * HOUR_MS;
    if (tier.coveredUntil <= windowStart || tier.hour > Math.floor(startedAt / HOUR_MS)) {
      start.logger.info(`the dedupe window snapshot is older than the window; ${fromStore}`);
    } else if (tier.windowHours < start.windowHours) {
      // Kept for a shorter window, so the ids before it were dropped: they are in the store.
      start.logger.info(`the dedupe window snapshot was kept for a shorter window; ${fromStore}`);
    } else {
      try {
        window.restore(tier, startedAt);
        coveredUntil = tier.coveredUntil;
      } catch (error) {
        start.logger.warn({ err: error }, `the dedupe window snapshot is not usable; ${fromStore}`);
        window = newWindow();
        await removeWindowSnapshot(path);
      }
    }
  } else if ('unusable' in snapshot) {
    start.logger.warn(
      { reason: snapshot.unusable },
      `the dedupe window snapshot is not usable; ${fromStore}`,
    );
    await removeWindowSnapshot(path);
  }
  const restored = window.size();
  const loaded = await loadMessageIdWindow(window, start.engine, {
    windowHours: start.windowHours,
    now: startedAt,
    ...(coveredUntil !== undefined ? { coveredUntil } : {}),
    ...(start.onProgress ? { onProgress: start.onProgress } : {}),
  });
  loading = false;
  // What was just read, so that a crash soon after does not mean reading it all again.
  void saveCovered();
  const { storedBefore } = start;
  const polling = storedBefore
    ? setInterval(() => window.markStored(storedBefore() - STORED_MARGIN_MS), STORED_POLL_MS)
    : undefined;
  polling?.unref();
  const snapshots = setInterval(() => {
    const { claims, exactIds, compactIds } = window.stats();
    const claimedSince = claims - claimsSaved;
    if (claimedSince > 0 && claimedSince >= (exactIds + compactIds) * SNAPSHOT_AFTER_SHARE)
      void saveCovered();
  }, start.snapshotEveryMs ?? SNAPSHOT_EVERY_MS);
  snapshots.unref();
  return {
    window,
    restored,
    loaded,
    close() {
      clearInterval(polling);
      clearInterval(snapshots);
      return save(() => window.compactTier(now(), { everything: true }));
    },
  };
}
