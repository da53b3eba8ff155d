import type { Message, SendOutcome } from './queue.js';

/**
 * Sending batches to `POST /v1/batch`. Bodies go as text/plain with the write key inside, a
 * "simple" cross-origin request that needs no CORS preflight (and the form sendBeacon uses).
 */

/** sendBeacon refuses bodies above 64 KB; keepalive fetches share the same budget. */
export const BEACON_MAX_CHARS = 60_000;

export interface Transport {
  send(batch: Message[]): Promise<SendOutcome>;
  /** Hands a batch to the browser to deliver even if the page goes away; false when it refused. */
  beacon(batch: Message[]): boolean;
}

function retryAfterMs(header: string | null, body: unknown): number | undefined {
  if (header) {
    const seconds = Number(header);
    if (Number.isFinite(seconds)) return seconds * 1000;
    const date = Date.parse(header);
    if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  }
  // Cross-origin pages cannot read Retry-After unless the server exposes it; the error body says it too.
  const details = (body as { error?: { details?: { retryAfterSeconds?: unknown } } } | undefined)?.error
    ?.details;
  const seconds = Number(details?.retryAfterSeconds);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

/** What a response status means for the batch. */
export async function outcomeOf(response: Response): Promise<SendOutcome> {
  if (response.ok) return { status: 'delivered' };
  const body: unknown = await response.json().catch(() => undefined);
  const code = (body as { error?: { code?: string } } | undefined)?.error?.code ?? `http_${response.status}`;
  if (response.status === 408 || response.status === 429 || response.status >= 500) {
    const wait = retryAfterMs(response.headers.get('Retry-After'), body);
    return wait === undefined
      ? { status: 'retry', reason: code }
      : { status: 'retry', reason: code, retryAfterMs: wait };
  }
  return { status: 'rejected', reason: code };
}

export function createTransport(host: string, writeKey: string): Transport {
  const url = `${host.replace(/\/+$/, '')}/v1/batch`;
  const bodyOf = (batch: Message[]) => JSON.stringify({ batch, sentAt: new Date().toISOString(), writeKey });

  return {
    async send(batch) {
      const body = bodyOf(batch);
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain' },
          body,
          credentials: 'omit',
          keepalive: body.length < BEACON_MAX_CHARS,
        });
      } catch (error) {
        return { status: 'retry', reason: `network: ${String(error)}` };
      }
      return outcomeOf(response);
    },
    beacon(batch) {
      const body = bodyOf(batch);
      if (body.length > BEACON_MAX_CHARS) return false;
      try {
        if (typeof navigator.sendBeacon === 'function' && navigator.sendBeacon(url, body)) return true;
        void fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain' },
          body,
          keepalive: true,
        }).catch(() => undefined);
        return true;
      } catch {
        return false;
      }
    },
  };
}
