import type { FactsEngine } from '../store/facts/engine.js';
import { readInKeyPages } from '../store/facts/key-pages.js';
import { type ClaimedEvent, HOUR_MS, type MessageIdWindow } from './dedupe.js';

/** The dedupe window's dealings with the facts store: filling it at start, and confirming 'unsure' claims. */

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

export interface WindowLoad {
  windowHours: number;
  now: number;
  /** Ids received before this time are already in the window (restored from a snapshot). */
  coveredUntil?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Fills the window from the events received during it (after the log has been replayed), or since
 * `coveredUntil` when a snapshot holds the ones before, page by page along the events table's sort key
 * (readInKeyPages): read in one answer, a window of millions of ids did not fit one string, and the
 * server could not start. `onProgress` gets ids read so far and the total. Answers the ids read.
 */
export async function loadMessageIdWindow(
  window: MessageIdWindow,
  engine: FactsEngine,
  load: WindowLoad,
): Promise<number> {
  const since = Math.max(load.now - load.windowHours * HOUR_MS, load.coveredUntil ?? 0);
  window.advanceTo(load.now);
  const [counted] = await engine.query<{ n: number }>(
    `SELECT count() AS n FROM events WHERE ${WINDOW_SINCE}`,
    { since },
  );
  const total = Number(counted?.n ?? 0);
  let loaded = 0;
  load.onProgress?.(0, total);
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
      for (const row of rows) window.remember(row.project_id, row.message_id, Number(row.received_ms));
      loaded += rows.length;
      load.onProgress?.(loaded, Math.max(total, loaded));
    },
  });
  return loaded;
}

/**
 * Whether the store holds an event with the claim's message id, received during the window: asked
 * when a new id matches the window's compact tier. The copy is looked for under the same project,
 * event name and sender, within the window around the claim's timestamp: a re-delivery's timestamp
 * differs from the first copy's by the senders' clock correction, or, when it has none, by when each
 * was received. The sort key (project, event, day, sender, id) narrows the read to the sender's rows
 * of those days (8 granules of 246 for one event of 2M rows, against all 246 without the sender).
 */
export function storedEventCheck(
  engine: FactsEngine,
  windowHours: number,
  clock: () => number = Date.now,
): (projectId: string, event: ClaimedEvent) => Promise<boolean> {
  const reach = (windowHours + 1) * HOUR_MS;
  return async (projectId, event) => {
    const found = await engine.query<{ found: number }>(
      `SELECT 1 AS found FROM events
       WHERE project_id = {p:String} AND event = {e:String}
         AND timestamp BETWEEN fromUnixTimestamp64Milli({from:Int64}) AND fromUnixTimestamp64Milli({to:Int64})
         AND distinct_id = {u:String} AND message_id = {m:String}
         AND received_at >= fromUnixTimestamp64Milli({since:Int64})
       LIMIT 1`,
      {
        p: projectId,
        e: event.event,
        u: event.distinct_id,
        m: event.message_id,
        from: event.timestamp - reach,
        to: event.timestamp + reach,
        since: clock() - reach,
      },
    );
    return found.length > 0;
  };
}
