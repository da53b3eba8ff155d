import { parseJsonBodyScanned } from '../src/collect/segment/body.js';
import { type NormaliseEnv, toEventRow } from '../src/collect/segment/normalise.js';
import {
  readBatchEnvelope,
  type SegmentMessage,
  validateBatchItem,
} from '../src/collect/segment/validate.js';

/**
 * Micro-benchmark of the Segment pipeline steps on the main thread, on realistic `/v1/batch`
 * bodies of 100 track events: parse (bytes → object), validate (envelope and each event) and
 * normalise (event → row), in µs per event. Run through the built output:
 * `node -e "import('./dist/bench/segment-pipeline.js').then(m=>console.log(m.benchSegmentPipeline()))"`.
 */

export interface SegmentPipelineTimes {
  parseUs: number;
  validateUs: number;
  normaliseUs: number;
}

const BODIES = 200;
const EVENTS_PER_BODY = 100;
const ROUNDS = 5;
const WARM_UP_ROUNDS = 3;

function trackEvent(n: number, now: string): string {
  const person = (n * 7919) % 20000;
  return `{"type":"track","messageId":"id-${n}","anonymousId":"anon-${person}","userId":"user-${person}","event":"video_play","timestamp":"${now}","properties":{"platform":"douyin","content_id":"video-${n % 500}","revenue":0,"currency":"CNY","duration_seconds":${n % 90}},"context":{"ip":"10.0.1.2","userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15","locale":"zh-CN","campaign":{"source":"douyin","medium":"paid_social","name":"double11"}}}`;
}

/** The bodies, as the route receives them: one Buffer per request. */
function batchBodies(): Buffer[] {
  const now = new Date().toISOString();
  const bodies: Buffer[] = [];
  let n = 0;
  for (let b = 0; b < BODIES; b++) {
    const items: string[] = [];
    for (let i = 0; i < EVENTS_PER_BODY; i++) items.push(trackEvent(n++, now));
    bodies.push(Buffer.from(`{"batch":[${items.join(',')}],"sentAt":"${now}"}`));
  }
  return bodies;
}

interface StepTotals {
  parse: number;
  validate: number;
  normalise: number;
}

/**
 * Runs every body through the three steps once; adds each step's time (ms) to `totals`. With
 * `useScan`, validation gets what the byte scan learned about each event's text.
 */
function runRound(bodies: Buffer[], totals: StepTotals, useScan: boolean): number {
  let rows = 0;
  for (const buf of bodies) {
    const started = performance.now();
    const { body, scan } = parseJsonBodyScanned(buf);
    const parsed = performance.now();

    const read = readBatchEnvelope(body, useScan ? scan.batch : undefined);
    if (!read.ok) throw read.error;
    const { items, sentAt, itemTexts } = read.envelope;
    const messages: SegmentMessage[] = [];
    for (let index = 0; index < items.length; index++) {
      const validated = validateBatchItem(items[index], itemTexts?.[index]);
      if (!validated.ok) throw validated.error;
      messages.push(validated.message);
    }
    const validated = performance.now();

    const env: NormaliseEnv = { projectId: 'p1', sourceId: 's1', receivedAt: Date.now(), ip: '127.0.0.1' };
    if (sentAt !== undefined) env.batchSentAt = sentAt;
    for (const message of messages) {
      const normalised = toEventRow(message, env);
      if (!normalised.ok) throw normalised.error;
      rows++;
    }
    const normalised = performance.now();

    totals.parse += parsed - started;
    totals.validate += validated - parsed;
    totals.normalise += normalised - validated;
  }
  return rows;
}

/**
 * µs per event of each step, over ROUNDS rounds of BODIES bodies, after warming the JIT up.
 * `useScan: false` measures validation as a caller that does not pass the scan's hints.
 */
export function benchSegmentPipeline(options: { useScan?: boolean } = {}): SegmentPipelineTimes {
  const useScan = options.useScan ?? true;
  const bodies = batchBodies();
  for (let round = 0; round < WARM_UP_ROUNDS; round++) {
    runRound(bodies, { parse: 0, validate: 0, normalise: 0 }, useScan);
  }
  const totals: StepTotals = { parse: 0, validate: 0, normalise: 0 };
  let events = 0;
  for (let round = 0; round < ROUNDS; round++) events += runRound(bodies, totals, useScan);
  const usPerEvent = (ms: number) => Math.round((ms * 1000 * 100) / events) / 100;
  return {
    parseUs: usPerEvent(totals.parse),
    validateUs: usPerEvent(totals.validate),
    normaliseUs: usPerEvent(totals.normalise),
  };
}
