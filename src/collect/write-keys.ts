import type { MetadataStore } from '../store/metadata/open.js';
import { type ActiveWriteKey, findActiveWriteKey } from '../store/metadata/sources.js';

/**
 * Looks write keys up with a short cache: every ingestion request needs one, and the metadata store
 * should not be asked thousands of times a second. A revocation takes effect within `ttlMs`.
 */
export interface WriteKeyCache {
  find(key: string): Promise<ActiveWriteKey | undefined>;
  forget(key: string): void;
}

export function createWriteKeyCache(store: MetadataStore, ttlMs = 1000): WriteKeyCache {
  const cache = new Map<string, { value: ActiveWriteKey | undefined; expiresAt: number }>();
  return {
    async find(key) {
      const now = Date.now();
      const hit = cache.get(key);
      if (hit && hit.expiresAt > now) return hit.value;
      const value = await findActiveWriteKey(store, key);
      if (cache.size > 10_000) cache.clear();
      cache.set(key, { value, expiresAt: now + ttlMs });
      return value;
    },
    forget: (key) => cache.delete(key),
  };
}
