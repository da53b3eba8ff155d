import type { FactsEngine } from '../store/facts/engine.js';

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

export function createMessageIdWindow(windowHours: number): MessageIdWindow {
  const seenAtHour = new Map<string, number>();
  const keysByHour = new Map<number, string[]>();
  let oldestHour = Number.POSITIVE_INFINITY;

  function expire(nowHour: number): void {
    const cutoff = nowHour - windowHours;
    while (oldestHour < cutoff) {
      for (const key of keysByHour.get(oldestHour) ?? []) {
        if (seenAtHour.get(key) === oldestHour) seenAtHour.delete(key);
      }
      keysByHour.delete(oldestHour);
      oldestHour += 1;
    }
  }

  return {
    claim(projectId, messageId, receivedAt) {
      const key = `${projectId}\u0001${messageId}`;
      const hour = Math.floor(receivedAt / HOUR_MS);
      if (hour > oldestHour + windowHours) expire(hour);
      if (seenAtHour.has(key)) return false;
      seenAtHour.set(key, hour);
      let bucket = keysByHour.get(hour);
      if (!bucket) {
        bucket = [];
        keysByHour.set(hour, bucket);
        oldestHour = Math.min(oldestHour, hour);
      }
      bucket.push(key);
      return true;
    },
    release(projectId, messageId) {
      seenAtHour.delete(`${projectId}\u0001${messageId}`);
    },
    size: () => seenAtHour.size,
  };
}

/** Fills the window from the events stored during it (after the log has been replayed). */
export async function loadMessageIdWindow(
  window: MessageIdWindow,
  engine: FactsEngine,
  windowHours: number,
  now: number,
): Promise<number> {
  const rows = await engine.query<{ project_id: string; message_id: string; received_ms: number }>(
    `SELECT project_id, message_id, toUnixTimestamp64Milli(received_at) AS received_ms
     FROM events
     WHERE received_at >= fromUnixTimestamp64Milli({since:Int64})`,
    { since: now - windowHours * HOUR_MS },
  );
  for (const row of rows) window.claim(row.project_id, row.message_id, Number(row.received_ms));
  return rows.length;
}
