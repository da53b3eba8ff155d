import type { LoadResult } from './ingest-load.js';
import { type IngestServer, serverStatus, startIngestServer, stopIngestServer } from './server-process.js';

/**
 * Two `pulseloop serve` processes that differ in one setting, under the same load in alternating
 * rounds, so that the machine's other load (and its drift: these hosts' speed changes by ±20 % within
 * minutes) falls on both alike. Each round starts once both servers have stored what they
 * acknowledged and paused a moment, so that one side's leftover inserts and merges do not run inside
 * the other's round.
 */

export interface AlternatingSide {
  label: string;
  /** Settings of this side's server (environment variables). */
  env: Record<string, string>;
}

export interface SideResult {
  label: string;
  eventsPerSecond: number;
  failedRequests: number;
}

interface RunningSide extends IngestServer {
  label: string;
  events: number;
  seconds: number;
  failed: number;
}

/** Waits until neither server has rows waiting for the store (at most 20 s), then a second more for merges. */
async function settle(sides: readonly RunningSide[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const side of sides) {
    while ((await serverStatus(side.server)).writer.pendingRows > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1000));
}

/**
 * Runs `rounds` rounds of `roundMs` on each side (first A then B, then B then A, …) after a warm-up,
 * and answers each side's events/s over all its rounds, in the order the sides were given.
 */
export async function runAlternating(
  sideSettings: readonly [AlternatingSide, AlternatingSide],
  options: {
    rounds: number;
    roundMs: number;
    load: (target: { url: string; writeKey: string }, durationMs: number) => Promise<LoadResult>;
    log?: (line: string) => void;
  },
): Promise<[SideResult, SideResult]> {
  const log = options.log ?? (() => {});
  const sides: RunningSide[] = [];
  try {
    for (const { label, env } of sideSettings) {
      const server = await startIngestServer(label.replace(/\W+/g, '-'), env);
      sides.push({ ...server, label, events: 0, seconds: 0, failed: 0 });
    }
    log('warming up both servers');
    for (const side of sides) await options.load({ url: side.server.url, writeKey: side.writeKey }, 2000);
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const side of round % 2 === 1 ? sides : [...sides].reverse()) {
        await settle(sides);
        const result = await options.load({ url: side.server.url, writeKey: side.writeKey }, options.roundMs);
        side.events += result.acknowledgedEvents;
        side.seconds += result.seconds;
        side.failed += result.failedRequests;
        log(`round ${round} ${side.label}: ${Math.round(result.eventsPerSecond)} events/s`);
      }
    }
    const [a, b] = sides.map((side) => ({
      label: side.label,
      eventsPerSecond: side.events / side.seconds,
      failedRequests: side.failed,
    }));
    return [a!, b!];
  } finally {
    for (const side of sides) await stopIngestServer(side);
  }
}
