import { runAlternating } from './alternating.js';
import { type IdentifyMix, runIngestLoad } from './ingest-load.js';

/**
 * The ingestion cost of governance (issue 6: "≤ 10 % lower throughput than without"): sustained
 * /v1/batch ingestion against two `pulseloop serve` processes, one with PULSELOOP_INGEST_GOVERNANCE
 * on and one with it off, same traffic: track calls with 5 % identify calls carrying phone, e-mail
 * and name traits (encrypted when on), a fifth of those with consent traits (consent records when
 * on), in alternating rounds (alternating.ts).
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

export async function benchGovernance(
  options: { roundMs?: number; rounds?: number; concurrency?: number; log?: (line: string) => void } = {},
): Promise<GovernBenchResult> {
  const rounds = options.rounds ?? 5;
  const [off, on] = await runAlternating(
    [
      { label: 'governance off', env: { PULSELOOP_INGEST_GOVERNANCE: 'off' } },
      { label: 'governance on', env: { PULSELOOP_INGEST_GOVERNANCE: 'on' } },
    ],
    {
      rounds,
      roundMs: options.roundMs ?? 6000,
      load: (target, durationMs) =>
        runIngestLoad({
          ...target,
          durationMs,
          eventsPerRequest: 100,
          concurrency: options.concurrency ?? 16,
          mix: MIX,
        }),
      ...(options.log ? { log: options.log } : {}),
    },
  );
  return {
    offEventsPerSecond: off.eventsPerSecond,
    onEventsPerSecond: on.eventsPerSecond,
    ratio: on.eventsPerSecond / off.eventsPerSecond,
    rounds,
    failedRequests: { off: off.failedRequests, on: on.failedRequests },
    mix: MIX,
  };
}
