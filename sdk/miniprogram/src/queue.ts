/**
 * The delivery queue: events wait in persistent storage until the server has acknowledged them,
 * leave in batches (every `flushAt` events or `flushIntervalMs`), and are retried with exponential
 * back-off after a network error, a 5xx, 408 or 429 (honouring Retry-After). Each event keeps its
 * messageId across retries, so a batch the server stored but could not acknowledge is recognised
 * as a re-delivery and stored once.
 *
 * The storage is the queue: every change re-reads it, so two tabs (or a restarted app) sharing it
 * never overwrite each other's events; if both send the same event, the server keeps one copy.
 *
 * This file is the same in @pulseloop/sdk-browser and @pulseloop/sdk-miniprogram (a test checks).
 */

/** One call in the Segment format, ready to send. */
export type Message = { messageId: string } & Record<string, unknown>;

/** Where the queue is kept between page loads or app launches. */
export interface QueueStore {
  read(): string | null | undefined;
  write(text: string): void;
}

export type SendOutcome =
  | { status: 'delivered' }
  /** Worth trying again later: network error, 5xx, 408, 429. */
  | { status: 'retry'; reason: string; retryAfterMs?: number }
  /** Refused for good (a 4xx such as an unknown write key): dropped and reported. */
  | { status: 'rejected'; reason: string };

export interface QueueOptions {
  store: QueueStore;
  send(batch: Message[]): Promise<SendOutcome>;
  /** Send as soon as this many events wait. */
  flushAt: number;
  /** Send waiting events at least this often. */
  flushIntervalMs: number;
  /** Events per request (the server takes up to 2,500 and 500 KB). */
  maxBatchEvents: number;
  /** Beyond this many waiting events the oldest are dropped (and reported). */
  maxQueuedEvents: number;
  retryBaseMs: number;
  retryMaxMs: number;
  onError(reason: string, dropped: number): void;
}

export interface Queue {
  push(message: Message): void;
  /** Sends what waits now; resolves when this round has ended (delivered, or waiting to retry). */
  flush(): Promise<void>;
  /** The waiting events, oldest first, without removing them. */
  peek(): Message[];
  /** Drops every waiting event (consent withdrawn). */
  clear(): void;
  /** Stops the timers (the queue itself stays in storage). */
  stop(): void;
}

/** Requests above this size are split (the server refuses requests over 500 KB). */
const MAX_BATCH_CHARS = 400_000;

export function createQueue(options: QueueOptions): Queue {
  let memory: Message[] = [];
  let storageWorks = true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerAt = 0;
  let retryUntil = 0;
  let attempts = 0;
  let inFlight: Promise<void> | undefined;
  let stopped = false;

  function load(): Message[] {
    if (!storageWorks) return memory;
    try {
      const parsed: unknown = JSON.parse(options.store.read() || '[]');
      return Array.isArray(parsed) ? parsed.filter(isMessage) : [];
    } catch {
      return memory;
    }
  }

  function save(list: Message[]): void {
    memory = list;
    if (!storageWorks) return;
    try {
      options.store.write(JSON.stringify(list));
    } catch {
      // Storage full or forbidden: keep the queue in memory for the rest of this page or app run.
      storageWorks = false;
    }
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    const at = Date.now() + delayMs;
    if (timer !== undefined && timerAt <= at) return;
    if (timer !== undefined) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, delayMs);
  }

  /** The next batch: oldest first, within the event and size limits. */
  function nextBatch(list: Message[]): Message[] {
    const batch: Message[] = [];
    let chars = 0;
    for (const message of list) {
      const size = JSON.stringify(message).length;
      if (batch.length > 0 && (batch.length >= options.maxBatchEvents || chars + size > MAX_BATCH_CHARS))
        break;
      batch.push(message);
      chars += size;
    }
    return batch;
  }

  function remove(sent: Message[]): void {
    const ids = new Set(sent.map((m) => m.messageId));
    save(load().filter((m) => !ids.has(m.messageId)));
  }

  async function sendAll(): Promise<void> {
    for (;;) {
      if (stopped) return;
      const batch = nextBatch(load());
      if (batch.length === 0) return;
      let outcome: SendOutcome;
      try {
        outcome = await options.send(batch);
      } catch (error) {
        outcome = { status: 'retry', reason: String(error) };
      }
      if (outcome.status === 'retry') {
        attempts += 1;
        const backoff = Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** (attempts - 1));
        // Jitter spreads the retries of many clients after an outage.
        const delay = Math.max(outcome.retryAfterMs ?? 0, backoff * (0.5 + Math.random() * 0.5));
        retryUntil = Date.now() + delay;
        schedule(delay);
        return;
      }
      attempts = 0;
      remove(batch);
      if (outcome.status === 'rejected') options.onError(outcome.reason, batch.length);
    }
  }

  function flush(): Promise<void> {
    if (inFlight) return inFlight;
    const wait = retryUntil - Date.now();
    if (wait > 0) {
      schedule(wait);
      return Promise.resolve();
    }
    inFlight = sendAll().finally(() => {
      inFlight = undefined;
      if (!stopped && load().length > 0 && Date.now() >= retryUntil) schedule(options.flushIntervalMs);
    });
    return inFlight;
  }

  function push(message: Message): void {
    const list = load();
    list.push(message);
    const overflow = list.length - options.maxQueuedEvents;
    if (overflow > 0) {
      list.splice(0, overflow);
      options.onError('queue_full', overflow);
    }
    save(list);
    if (list.length >= options.flushAt) void flush();
    else schedule(options.flushIntervalMs);
  }

  // Events left by an earlier page load or app run leave at the first opportunity.
  if (load().length > 0) schedule(0);

  return {
    push,
    flush() {
      // An explicit flush does not wait out a back-off.
      retryUntil = 0;
      return flush();
    },
    peek: load,
    clear() {
      save([]);
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && typeof (value as Message).messageId === 'string';
}
