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
  // Per project, message id → hour last seen. Keyed by the message id itself (the string the request
  // or the start-up query already holds) rather than a project+id text: half the memory per id.
  const seenAtHour = new Map<string, Map<string, number>>();
  // Per hour, the ids first claimed in it as flat (project map, message id) pairs, to expire them.
  const claimedInHour = new Map<number, (Map<string, number> | string)[]>();
  let oldestHour = Number.POSITIVE_INFINITY;
  let size = 0;

  function expire(nowHour: number): void {
    const cutoff = nowHour - windowHours;
    while (oldestHour < cutoff) {
      const pairs = claimedInHour.get(oldestHour) ?? [];
      for (let i = 0; i < pairs.length; i += 2) {
        const ids = pairs[i] as Map<string, number>;
        const id = pairs[i + 1] as string;
        if (ids.get(id) === oldestHour && ids.delete(id)) size -= 1;
      }
      claimedInHour.delete(oldestHour);
      oldestHour += 1;
    }
  }

  return {
    claim(projectId, messageId, receivedAt) {
      const hour = Math.floor(receivedAt / HOUR_MS);
      if (hour > oldestHour + windowHours) expire(hour);
      let ids = seenAtHour.get(projectId);
      if (!ids) {
        ids = new Map();
        seenAtHour.set(projectId, ids);
      }
      if (ids.has(messageId)) return false;
      ids.set(messageId, hour);
      size += 1;
      let pairs = claimedInHour.get(hour);
      if (!pairs) {
        pairs = [];
        claimedInHour.set(hour, pairs);
        oldestHour = Math.min(oldestHour, hour);
      }
      pairs.push(ids, messageId);
      return true;
    },
    release(projectId, messageId) {
      if (seenAtHour.get(projectId)?.delete(messageId)) size -= 1;
    },
    size: () => size,
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
