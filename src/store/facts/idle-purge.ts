/**
 * Gives the embedded engine's freed memory back to the system once the engine has been idle for a
 * while. Its allocator keeps freed memory for 30 s (CHDB_MALLOC_CONF), so that ingestion does not take
 * the same pages again every second; an idle server should not hold on to what a demo build, a
 * start-up load or a large query used, so it is purged as soon as no work has run for `idleMs`.
 */
export interface IdlePurge {
  /** Runs engine work, counted as activity (no purge while it runs, nor for `idleMs` after). */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** No more purges; resolves once one under way has finished. */
  stop(): Promise<void>;
}

export function startIdlePurge(purge: () => Promise<void>, idleMs: number): IdlePurge {
  let running = 0;
  let lastActivity = Date.now();
  /** Counts work started; a purge is for the idle spell after the work it saw (one purge each). */
  let activity = 0;
  let purgedAfter = -1;
  let purging: Promise<void> | undefined;
  const timer = setInterval(
    () => {
      if (
        running > 0 ||
        purging !== undefined ||
        purgedAfter === activity ||
        Date.now() - lastActivity < idleMs
      )
        return;
      const spell = activity;
      purging = purge()
        // A purge that fails leaves the memory to the allocator's own decay: nothing to report.
        .catch(() => undefined)
        .finally(() => {
          purging = undefined;
          purgedAfter = spell;
        });
    },
    Math.max(10, Math.floor(idleMs / 2)),
  );
  // The timer alone must not keep a process alive.
  timer.unref();
  return {
    async run<T>(work: () => Promise<T>): Promise<T> {
      running += 1;
      activity += 1;
      try {
        return await work();
      } finally {
        running -= 1;
        lastActivity = Date.now();
      }
    },
    async stop() {
      clearInterval(timer);
      await purging;
    },
  };
}
