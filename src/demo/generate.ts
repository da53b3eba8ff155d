import type { FactsEngine } from '../store/facts/engine.js';
import { PathTally } from './attribution-truth.js';
import { DAY_MS } from './calendar.js';
import { addTallies, chunksOf } from './chunk.js';
import { defaultDemoThreads, openChunkPool } from './chunk-pool.js';
import { backgroundCommentRows } from './comments.js';
import { contentStatsRows } from './content-stats.js';
import { eventLoadTableName, expansionParams, monthBoundaries, stagingTableName } from './event-expansion.js';
import { buildGroundTruth, emptyChurnTally, type GroundTruth } from './ground-truth.js';
import { demoScaleProblem, demoSeedProblem } from './limits.js';
import { IDENTITY_ROW_COLUMNS, PERSON_ROW_COLUMNS } from './person-rows.js';
import { emptyExperimentTally } from './shop-visit.js';
import { buildDemoWorld, type WorldSettings } from './world.js';
import { FactsWriter, PendingRows } from './writer.js';

/**
 * `generateDemoWorld`: the seeded demo world of a tea brand selling on eight platforms, written
 * into the facts store, with its planted truths. The steps: calendar and catalogue → ad spend,
 * touches and content → persons in chunks, the anomalous day's visitors last (plan visits, assign
 * sharers, emit events and rows; on worker threads, chunk-pool.ts) → staged visits expanded into
 * events → ground truth.
 */

export interface DemoOptions {
  projectId: string;
  /** Same seed and options → the same data, byte for byte. Default 1. */
  seed?: number;
  /** Multiplies persons and events; 1 ≈ 54k persons and 5M events. Default 1. */
  scale?: number;
  /** Last day (YYYY-MM-DD, Asia/Shanghai). Default 2025-06-30. */
  endDate?: string;
  /** Number of days. Default 90. */
  days?: number;
  onProgress?: (progress: DemoProgress) => void;
  /** Worker threads that generate persons (0: the calling thread). Default: one per core, up to four. */
  threads?: number;
  /** How the events are sent to the store (tests make them small to run several expansions). */
  batching?: { eventsPerBatch: number; eventsPerExpansion: number };
}

export interface DemoProgress {
  phase: 'catalogue' | 'persons' | 'finishing';
  done: number;
  total: number;
  events: number;
}

export interface DemoCounts {
  events: number;
  identities: number;
  persons: number;
  content_stats: number;
  ad_spend: number;
  orders: number;
  comments: number;
  /** Identity conflicts: members who signed in on another member's device (shared-devices.ts). */
  identity_log: number;
}

export interface DemoSummary {
  projectId: string;
  seed: number;
  scale: number;
  startDate: string;
  endDate: string;
  days: number;
  /** Worker threads that generated persons (0: the calling thread did). */
  threads: number;
  counts: DemoCounts;
  truth: GroundTruth;
}

export const DEFAULT_END_DATE = '2025-06-30';
/** Events per batch of visits sent to the staging table. */
const EVENTS_PER_BATCH = 700_000;
/**
 * Staged events expanded into `events` at a time. A scale-1 world (≈ 5.1M events) is expanded in
 * one step once JavaScript is done, with both cores to itself: measured 20 s instead of 26–30 s
 * for expanding every batch as it came, which competes with generation and leaves many parts to
 * merge. Bigger worlds expand every 6M events, so the staging table stays under ≈ 300 MB.
 */
const EVENTS_PER_EXPANSION = 6_000_000;

/** Generates the demo world into `engine` (migrated facts schema) and returns counts and ground truth. */
export async function generateDemoWorld(engine: FactsEngine, options: DemoOptions): Promise<DemoSummary> {
  const settings = validateOptions(options);
  const { projectId, seed, scale } = settings;
  const progress = options.onProgress ?? (() => undefined);
  const { eventsPerBatch, eventsPerExpansion } = options.batching ?? {
    eventsPerBatch: EVENTS_PER_BATCH,
    eventsPerExpansion: EVENTS_PER_EXPANSION,
  };
  progress({ phase: 'catalogue', done: 0, total: 1, events: 0 });

  const world = buildDemoWorld(settings);
  const { calendar, content, adSpend, touches } = world;
  const chunks = chunksOf(world);
  const pool = openChunkPool(settings, options.threads ?? defaultDemoThreads(), chunks.length);

  const writer = new FactsWriter(
    engine,
    stagingTableName(projectId, seed),
    eventLoadTableName(projectId, seed),
    expansionParams(projectId, seed, touches, content),
    monthBoundaries(calendar.startMs - DAY_MS, calendar.endMs),
  );
  try {
    await writer.prepare();
  } catch (error) {
    await pool.close();
    throw error;
  }
  try {
    const total = world.regularPersons + world.spikeVisitors;
    const counts: DemoCounts = {
      events: 0,
      identities: 0,
      persons: 0,
      content_stats: 0,
      ad_spend: 0,
      orders: 0,
      comments: 0,
      identity_log: 0,
    };
    const pending = {
      visits: new PendingRows(),
      events: 0,
      identities: new PendingRows(),
      persons: new PendingRows(),
      orders: new PendingRows(),
      comments: new PendingRows(),
      // Shared-device sign-ins: their `$identify` events go straight into `events`, their conflicts into `identity_log`.
      sharedDeviceEvents: new PendingRows(),
      identityLog: new PendingRows(),
    };
    const tallies = {
      paths: new PathTally(),
      churn: emptyChurnTally(),
      experiment: emptyExperimentTally(),
    };
    let multiPlatformPersons = 0;

    let staged = 0;
    // Visits go to the staging table every batch (they are the bulk); the other tables' rows wait for
    // the expansion, so that each is one insert per expansion instead of one per batch (an insert into
    // `events` or `orders` costs ~25 ms however few its rows, and each part is one more to merge).
    const flush = async (final: boolean): Promise<void> => {
      counts.events += pending.events;
      staged += pending.events;
      pending.events = 0;
      await writer.stageVisits(pending.visits);
      if (!final && staged < eventsPerExpansion) return;
      counts.identities += pending.identities.lines;
      counts.persons += pending.persons.lines;
      counts.orders += pending.orders.lines;
      counts.comments += pending.comments.lines;
      counts.identity_log += pending.identityLog.lines;
      writer.writeBinaryRows('identities', pending.identities, IDENTITY_ROW_COLUMNS);
      writer.writeBinaryRows('persons', pending.persons, PERSON_ROW_COLUMNS);
      writer.writeRows('orders', pending.orders);
      writer.writeRows('comments', pending.comments);
      writer.writeRows('events', pending.sharedDeviceEvents);
      writer.writeRows('identity_log', pending.identityLog);
      writer.expandStaged();
      staged = 0;
    };

    let personsDone = 0;
    // The worker threads generate persons from here on, while this thread writes the catalogue (its
    // rows are queued first: chunk outputs are consumed only once this thread is free).
    const generating = pool.generate(world, chunks, async (chunk) => {
      pending.visits.add(chunk.visits);
      pending.identities.add(chunk.identities);
      pending.persons.add(chunk.personRows);
      pending.orders.add(chunk.orders);
      pending.comments.add(chunk.comments);
      pending.sharedDeviceEvents.add(chunk.sharedDeviceEvents);
      pending.identityLog.add(chunk.identityLog);
      pending.events += chunk.events;
      addTallies(tallies, chunk);
      multiPlatformPersons += chunk.multiPlatformPersons;
      personsDone += chunk.persons;
      if (pending.events >= eventsPerBatch) await flush(false);
      progress({ phase: 'persons', done: personsDone, total, events: counts.events + pending.events });
    });
    try {
      const statsRows = contentStatsRows(content, calendar, projectId, seed);
      const backgroundComments = backgroundCommentRows(content, calendar, projectId, seed, scale);
      writer.writeRows('ad_spend', adSpend.rows);
      writer.writeRows('content_stats', statsRows);
      writer.writeRows('comments', backgroundComments);
      counts.ad_spend = adSpend.rows.length;
      counts.content_stats = statsRows.length;
      counts.comments += backgroundComments.length;
      progress({ phase: 'catalogue', done: 1, total: 1, events: 0 });
    } catch (error) {
      generating.catch(() => undefined); // the catalogue's error is the one to report; abandon() and close() below stop the rest
      throw error;
    }
    await generating;
    await flush(true);
    progress({ phase: 'finishing', done: total, total, events: counts.events });
    await writer.finish();

    const truth = buildGroundTruth({
      projectId,
      seed,
      scale,
      calendar,
      paths: tallies.paths,
      experiment: tallies.experiment,
      experimentDays: world.behaviourWorld.experimentDays,
      churn: tallies.churn,
      cohortLastFirstDay: world.sessionWorld.cohortLastFirstDay,
      observationLastDay: world.sessionWorld.observationLastDay,
      viralDay: world.viralDay,
      spikeVisitors: world.spikeVisitors,
      viralContentId: content.posts[content.viralPost]!.contentId,
      persons: counts.persons,
      multiPlatformPersons,
      sharedDeviceConflicts: counts.identity_log,
    });
    return {
      projectId,
      seed,
      scale,
      startDate: calendar.startDate,
      endDate: calendar.endDate,
      days: calendar.days.length,
      threads: pool.threads,
      counts,
      truth,
    };
  } catch (error) {
    await writer.abandon();
    throw error;
  } finally {
    await pool.close();
  }
}

function validateOptions(options: DemoOptions): WorldSettings {
  const { projectId } = options;
  if (typeof projectId !== 'string' || projectId.length === 0 || projectId.length > 200) {
    throw new RangeError('projectId must be a non-empty string of at most 200 characters');
  }
  const seed = options.seed ?? 1;
  const seedProblem = demoSeedProblem(seed);
  if (seedProblem) throw new RangeError(`seed ${seedProblem.en}, got ${seed}`);
  const scale = options.scale ?? 1;
  const scaleProblem = demoScaleProblem(scale);
  if (scaleProblem) throw new RangeError(`scale ${scaleProblem.en}, got ${scale}`);
  const days = options.days ?? 90;
  if (!Number.isInteger(days) || days < 28 || days > 366)
    throw new RangeError(`days must be an integer from 28 to 366, got ${days}`);
  return { projectId, seed, scale, endDate: options.endDate ?? DEFAULT_END_DATE, days };
}
