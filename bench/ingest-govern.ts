import { type IdentifyMix, runIngestLoad } from './ingest-load.js';
import { type IngestServer, serverStatus, startIngestServer, stopIngestServer } from './server-process.js';

/**
 * The ingestion cost of governance (issue 6: "≤ 10 % lower throughput than without"): sustained
 * /v1/batch ingestion against two `pulseloop serve` processes, one with PULSELOOP_INGEST_GOVERNANCE
 * on and one with it off, same traffic: track calls with 5 % identify calls carrying phone, e-mail
 * and name traits (encrypted when on), a fifth of those with consent traits (consent records when
 * on). Rounds alternate off/on so that the machine's other load falls on both alike, and each
 * round starts once both servers have stored what they acknowledged and paused a moment, so that one
 * side's leftover inserts and merges do not run inside the other's round.
 */

export interface GovernBenchResult {
  offEventsPerSecond: number;
  onEventsPerSecond: number;
  /** on / off: 1 means no cost, 0.9 is the target's limit. */
  ratio: number;
  rounds: number;
  failedRequests: { off: number; on: number };
  mix: IdentifyMix;
}

const MIX: IdentifyMix = { identifyShare: 0.05, consentShare: 0.2 };

interface Side extends IngestServer {
  events: number;
  seconds: number;
  failed: number;
}

async function startSide(governance: 'on' | 'off'): Promise<Side> {
  const server = await startIngestServer(`govern-${governance}`, { PULSELOOP_INGEST_GOVERNANCE: governance });
  return { ...server, events: 0, seconds: 0, failed: 0 };
}

/** Waits until neither server has rows waiting for the store (at most 20 s), then a second more for merges. */
async function settle(sides: readonly Side[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const side of sides) {
    while ((await serverStatus(side.server)).writer.pendingRows > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1000));
}

export async function benchGovernance(
  options: { roundMs?: number; rounds?: number; concurrency?: number; log?: (line: string) => void } = {},
): Promise<GovernBenchResult> {
  const log = options.log ?? (() => {});
  const rounds = options.rounds ?? 5;
  const load = (side: Side, durationMs: number) =>
    runIngestLoad({
      url: side.server.url,
      writeKey: side.writeKey,
      durationMs,
      eventsPerRequest: 100,
      concurrency: options.concurrency ?? 16,
      mix: MIX,
    });
  const sides: Side[] = [];
  try {
    const off = await startSide('off');
    sides.push(off);
    const on = await startSide('on');
    sides.push(on);
    log('warming up both servers');
    await load(off, 2000);
    await load(on, 2000);
    for (let round = 1; round <= rounds; round += 1) {
      for (const side of round % 2 === 1 ? [off, on] : [on, off]) {
        await settle(sides);
        const result = await load(side, options.roundMs ?? 6000);
        side.events += result.acknowledgedEvents;
        side.seconds += result.seconds;
        side.failed += result.failedRequests;
        log(
          `round ${round} governance ${side === on ? 'on ' : 'off'}: ${Math.round(result.eventsPerSecond)} events/s`,
        );
      }
    }
    const offRate = off.events / off.seconds;
    const onRate = on.events / on.seconds;
    return {
      offEventsPerSecond: offRate,
      onEventsPerSecond: onRate,
      ratio: onRate / offRate,
      rounds,
      failedRequests: { off: off.failed, on: on.failed },
      mix: MIX,
    };
  } finally {
    for (const side of sides) await stopIngestServer(side);
  }
}
