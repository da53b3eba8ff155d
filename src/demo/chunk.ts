import { ByteSink } from '../lib/byte-sink.js';
import { PathTally } from './attribution-truth.js';
import { emitPerson, emptyOutput } from './behaviour.js';
import { SessionRecorder } from './event-plan.js';
import { type ChurnTally, emptyChurnTally, tallyChurn } from './ground-truth.js';
import { drawPerson, drawSpikeVisitor, type PersonProfile } from './persons.js';
import { rngFor } from './prng.js';
import { planPerson } from './sessions.js';
import { type AppMember, plantSharedDevices } from './shared-devices.js';
import { assignSharers } from './sharing.js';
import type { ExperimentTally } from './shop-visit.js';
import type { WorldCounters } from './visit-context.js';
import type { DemoWorld } from './world.js';

/**
 * One chunk of persons, generated on its own: its output depends only on the world and the chunk,
 * so chunks can be generated in any order, on any thread, and give the same data. Visit, order,
 * comment and share numbers start at the chunk's own base (index × CHUNK_ID_STRIDE).
 */

/** Persons planned together; sharers are found within a chunk. A constant, so results do not depend on scale. */
export const PERSONS_PER_CHUNK = 2048;
/** Numbers a chunk may use for its visits, orders, comments and shares. */
const CHUNK_ID_STRIDE = 1_000_000;

export interface ChunkSpec {
  index: number;
  /** Person numbers [from, to): regular persons, or the anomalous day's visitors when `spike`. */
  from: number;
  to: number;
  spike: boolean;
}

/** A payload and its row count. */
export interface ChunkRows {
  bytes: Uint8Array;
  lines: number;
}

export interface ChunkOutput {
  index: number;
  persons: number;
  events: number;
  visits: ChunkRows;
  identities: ChunkRows;
  personRows: ChunkRows;
  orders: ChunkRows;
  comments: ChunkRows;
  /** `$identify` events of members signing in on another member's device (JSON lines for `events`). */
  sharedDeviceEvents: ChunkRows;
  /** The identity conflicts those sign-ins make (JSON lines for `identity_log`). */
  identityLog: ChunkRows;
  paths: { persons: Float64Array; converted: Float64Array };
  churn: ChurnTally;
  experiment: ExperimentTally;
  multiPlatformPersons: number;
}

/** The chunks of a world: regular persons in chunks of PERSONS_PER_CHUNK, then one of the spike's visitors. */
export function chunksOf(world: DemoWorld): ChunkSpec[] {
  const chunks: ChunkSpec[] = [];
  const regular = world.regularPersons;
  for (let from = 0; from < regular; from += PERSONS_PER_CHUNK) {
    chunks.push({
      index: chunks.length,
      from,
      to: Math.min(regular, from + PERSONS_PER_CHUNK),
      spike: false,
    });
  }
  chunks.push({ index: chunks.length, from: regular, to: regular + world.spikeVisitors, spike: true });
  return chunks;
}

function rowsOf(sink: ByteSink): ChunkRows {
  const lines = sink.lines;
  return { bytes: sink.finish(), lines };
}

export function generateChunk(world: DemoWorld, chunk: ChunkSpec): ChunkOutput {
  const { seed } = world.settings;
  const profiles: PersonProfile[] = [];
  for (let i = chunk.from; i < chunk.to; i++) {
    profiles.push(
      chunk.spike ? drawSpikeVisitor(seed, i, world.viralDay) : drawPerson(seed, i, world.dayWeights),
    );
  }
  const plans = profiles.map((person) => planPerson(person, world.sessionWorld));
  assignSharers(plans, world.touches, world.calendar.days.length, rngFor(seed, 'sharing', chunk.index));

  const base = chunk.index * CHUNK_ID_STRIDE;
  const counters: WorldCounters = { visits: base, orders: base, comments: base, shares: base };
  const out = emptyOutput(1 << 20);
  const recorder = new SessionRecorder();
  const paths = new PathTally();
  const churn = emptyChurnTally();
  const appMembers: AppMember[] = [];
  for (const plan of plans) {
    if (plan.sessions.length === 0) continue;
    paths.add(plan.pathChannels, plan.converted);
    tallyChurn(churn, plan);
    const memory = emitPerson(plan, world.behaviourWorld, counters, recorder, out);
    const appFirstSeenMs = memory?.firstSeenMs.get('app');
    if (memory && appFirstSeenMs !== undefined && memory.signedUpAtMs >= 0) {
      appMembers.push({
        person: plan.person,
        appFirstSeenMs,
        signedUpAtMs: memory.signedUpAtMs,
        lastEventMs: memory.lastEventMs,
      });
    }
  }
  const shared = { events: new ByteSink(16 << 10), identityLog: new ByteSink(16 << 10) };
  const sharedDevices = plantSharedDevices(
    appMembers,
    rngFor(seed, 'shared-devices', chunk.index),
    { projectId: world.settings.projectId, endMs: world.calendar.endMs, chunkIndex: chunk.index },
    shared,
  );
  for (const used of Object.values(counters)) {
    if (used - base >= CHUNK_ID_STRIDE) throw new RangeError(`chunk ${chunk.index} numbered past its stride`);
  }
  return {
    index: chunk.index,
    persons: chunk.to - chunk.from,
    events: out.events + sharedDevices,
    visits: rowsOf(out.visits),
    identities: rowsOf(out.identities),
    personRows: rowsOf(out.persons),
    orders: rowsOf(out.orders),
    comments: rowsOf(out.comments),
    sharedDeviceEvents: rowsOf(shared.events),
    identityLog: rowsOf(shared.identityLog),
    paths: { persons: paths.persons, converted: paths.converted },
    churn,
    experiment: out.experiment,
    multiPlatformPersons: out.multiPlatformPersons,
  };
}

/**
 * The buffers of an output, to hand them to another thread without copying. Each is a sink's own
 * allocation, never Node's shared pool for small buffers (emptyOutput's smallest sink is 16 KiB).
 */
export function transferablesOf(output: ChunkOutput): ArrayBuffer[] {
  const rows = [
    output.visits,
    output.identities,
    output.personRows,
    output.orders,
    output.comments,
    output.sharedDeviceEvents,
    output.identityLog,
  ];
  return rows.map((r) => r.bytes.buffer as ArrayBuffer);
}

/** Adds a chunk's tallies into the world's. */
export function addTallies(
  into: { paths: PathTally; churn: ChurnTally; experiment: ExperimentTally },
  chunk: ChunkOutput,
): void {
  for (let k = 0; k < into.paths.persons.length; k++) {
    into.paths.persons[k]! += chunk.paths.persons[k]!;
    into.paths.converted[k]! += chunk.paths.converted[k]!;
  }
  into.churn.cohort += chunk.churn.cohort;
  into.churn.churned += chunk.churn.churned;
  for (const side of ['withFeature', 'withoutFeature'] as const) {
    for (const [name, [persons, churned]] of Object.entries(chunk.churn[side])) {
      const bucket = into.churn[side][name as keyof ChurnTally['withFeature']];
      bucket[0] += persons;
      bucket[1] += churned;
    }
  }
  for (let v = 0; v < into.experiment.exposed.length; v++) {
    into.experiment.exposed[v]! += chunk.experiment.exposed[v]!;
    into.experiment.converted[v]! += chunk.experiment.converted[v]!;
  }
}
