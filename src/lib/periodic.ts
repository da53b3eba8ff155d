/**
 * A job the server runs on its own every so often (retention, connector syncs): one round at a time,
 * timers that do not keep the process alive, and a stop that waits for the round in progress so that
 * the stores can close under it.
 */

export interface Periodic<Round> {
  /** One round now (what the timer runs); joins the round in progress if there is one. */
  runOnce(): Promise<Round>;
  /**
   * A round that sees work queued just now: one at once, or, while a round is in progress (it may
   * already be past the point where it looks for work), one more right after it.
   */
  runAfterCurrent(): Promise<Round>;
  /** Stops the timer (after `beforeWait`, e.g. aborting the round) and waits for the round in progress. */
  stop(): Promise<void>;
}

export function runPeriodically<Round>(
  round: () => Promise<Round>,
  options: {
    /** Time between rounds; 0 runs no timer (rounds only on runOnce). */
    intervalMs: number;
    /** Delay before the first round, so start-up is not slowed (default: a minute or the interval). */
    firstDelayMs?: number;
    /** A failed round is reported here; the next one runs at the next tick. */
    onError(error: unknown): void;
    /** Called by stop() before it waits for the round in progress. */
    beforeWait?: () => void;
  },
): Periodic<Round> {
  let running: Promise<Round> | undefined;
  const runOnce = () => {
    running ??= round().finally(() => {
      running = undefined;
    });
    return running;
  };
  let again: Promise<Round> | undefined;
  const runAfterCurrent = () => {
    if (!running) return runOnce();
    again ??= running
      .catch(() => undefined)
      .then(() => {
        again = undefined;
        return runOnce();
      });
    return again;
  };
  const tick = () => {
    runOnce().catch(options.onError);
  };
  // An interval of 0 keeps no timer: rounds run only when runOnce is called.
  const timed = options.intervalMs > 0;
  const first = timed
    ? setTimeout(tick, options.firstDelayMs ?? Math.min(60_000, options.intervalMs))
    : undefined;
  const timer = timed ? setInterval(tick, options.intervalMs) : undefined;
  first?.unref();
  timer?.unref();
  return {
    runOnce,
    runAfterCurrent,
    async stop() {
      clearTimeout(first);
      clearInterval(timer);
      options.beforeWait?.();
      await running?.catch(() => undefined);
    },
  };
}
