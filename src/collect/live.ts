import type { EventRow, QuarantineRow } from '../store/facts/rows.js';

/**
 * The live feed of a project's incoming events (the dashboard's events explorer). Ingestion publishes
 * only after the write-ahead log holds the events, so the feed never shows what was not kept; with no
 * listener for a project, publishing costs one map lookup.
 */
export type LiveItem = { kind: 'event'; row: EventRow } | { kind: 'quarantine'; row: QuarantineRow };

export interface LiveFeed {
  hasListeners(projectId: string): boolean;
  publish(projectId: string, items: LiveItem[]): void;
  /** Calls `listener` with each published batch of the project; returns the unsubscribe function. */
  subscribe(projectId: string, listener: (items: LiveItem[]) => void): () => void;
}

export function createLiveFeed(): LiveFeed {
  const listeners = new Map<string, Set<(items: LiveItem[]) => void>>();
  return {
    hasListeners: (projectId) => (listeners.get(projectId)?.size ?? 0) > 0,
    publish(projectId, items) {
      for (const listener of listeners.get(projectId) ?? []) {
        try {
          listener(items);
        } catch {
          // A failing listener (a closed connection) must not affect ingestion.
        }
      }
    },
    subscribe(projectId, listener) {
      let set = listeners.get(projectId);
      if (!set) {
        set = new Set();
        listeners.set(projectId, set);
      }
      set.add(listener);
      const own = set;
      return () => {
        own.delete(listener);
        if (own.size === 0) listeners.delete(projectId);
      };
    },
  };
}
