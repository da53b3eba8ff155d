/**
 * Waiting between attempts: exponential back-off with "equal jitter" (half the step fixed, half
 * random), so retries from many workers spread out while each wait is still at least as long as the
 * one before; and the Retry-After a server sends is never undercut.
 */

export interface BackoffPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** The step of the first retry; each later step doubles. */
  baseDelayMs: number;
  /** No single wait is longer than this; a server asking for more ends the in-process retries. */
  maxDelayMs: number;
}

export const DEFAULT_HTTP_BACKOFF: BackoffPolicy = { maxAttempts: 6, baseDelayMs: 1_000, maxDelayMs: 60_000 };

/** The wait before retry number `retry` (1 for the first retry), given a random number in [0, 1). */
export function backoffDelayMs(policy: BackoffPolicy, retry: number, random: number = Math.random()): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(step / 2 + (random * step) / 2);
}

/**
 * Milliseconds a Retry-After header asks for: delta-seconds or an HTTP date; undefined when absent
 * or unreadable.
 */
export function retryAfterMs(
  header: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Spaces requests so that no more than `perSecond` start in any second (one stream's rate limit). */
export interface Pacer {
  wait(signal?: AbortSignal): Promise<void>;
}

export function createPacer(perSecond: number, now: () => number = Date.now): Pacer {
  const gapMs = perSecond > 0 ? 1000 / perSecond : 0;
  let nextAt = 0;
  return {
    async wait(signal) {
      const at = now();
      const start = Math.max(at, nextAt);
      nextAt = start + gapMs;
      if (start > at) await sleep(start - at, signal);
    },
  };
}
