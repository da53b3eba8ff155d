import type { FactsEngine } from '../store/facts/engine.js';
import { planAdSpend } from './ads.js';
import { PathTally } from './attribution-truth.js';
import { emitPerson, emptyOutput } from './behaviour.js';
import { buildCalendar, DAY_MS } from './calendar.js';
import { dayRange } from './campaigns.js';
import { backgroundCommentRows } from './comments.js';
import { planContent } from './content.js';
import { contentStatsRows } from './content-stats.js';
import { expansionParams, monthBoundaries, stagingTableName } from './event-expansion.js';
import { SessionRecorder } from './event-plan.js';
import { buildGroundTruth, emptyChurnTally, type GroundTruth, tallyChurn } from './ground-truth.js';
import { ANOMALY_MODEL, EXPERIMENT_MODEL } from './models.js';
import { acquisitionDayWeights, drawPerson, drawSpikeVisitor, type PersonProfile } from './persons.js';
import { rngFor } from './prng.js';
import { buildSessionWorld, planPerson } from './sessions.js';
import { assignSharers } from './sharing.js';
import { buildTouches } from './touches.js';
import type { BehaviourWorld, WorldCounters } from './visit-context.js';
import { FactsWriter } from './writer.js';

/**
 * `generateDemoWorld`: the seeded demo world of a tea brand selling on eight platforms, written
 * into the facts store, with its planted truths. The steps: calendar and catalogue → ad spend,
 * touches and content → persons in chunks (plan visits, assign sharers, emit events and rows) →
 * the anomalous day's visitors → ground truth.
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
}

export interface DemoSummary {
  projectId: string;
  seed: number;
  scale: number;
  startDate: string;
  endDate: string;
  days: number;
  counts: DemoCounts;
  truth: GroundTruth;
}

export const DEFAULT_END_DATE = '2025-06-30';
/** Regular persons at scale 1 (the anomalous day adds 3% more). */
export const PERSONS_AT_SCALE_1 = 52_000;
/** Persons planned together; sharers are found within a chunk. A constant, so results do not depend on scale. */
const PERSONS_PER_CHUNK = 2048;
const PERSONS_BETWEEN_YIELDS = 128;
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
  progress({ phase: 'catalogue', done: 0, total: 1, events: 0 });

  const calendar = buildCalendar(settings.endDate, settings.days);
  const days = calendar.days.length;
  const viralDay = dayRange(ANOMALY_MODEL.dayFraction, ANOMALY_MODEL.dayFraction, days)[0];
  const adSpend = planAdSpend(calendar, projectId, seed);
  const touches = buildTouches(days, adSpend);
  const content = planContent(calendar, seed, viralDay);
  const sessionWorld = buildSessionWorld(calendar, touches, seed, viralDay);
  const behaviourWorld: BehaviourWorld = {
    projectId,
    seed,
    calendar,
    content,
    touches,
    experimentDays: dayRange(EXPERIMENT_MODEL.startFraction, EXPERIMENT_MODEL.endFraction, days),
    springDays: dayRange(0, 0.38, days),
    saleDays: dayRange(0.62, 0.87, days),
    observationEndMs: calendar.startMs + (sessionWorld.observationLastDay + 1) * DAY_MS,
  };

  const writer = new FactsWriter(
    engine,
    stagingTableName(projectId, seed),
    expansionParams(projectId, seed, touches, content),
    monthBoundaries(calendar.startMs - DAY_MS, calendar.endMs),
  );
  await writer.prepare();
  try {
    const statsRows = contentStatsRows(content, calendar, projectId, seed);
    const backgroundComments = backgroundCommentRows(content, calendar, projectId, seed, scale);
    writer.writeRows('ad_spend', adSpend.rows);
    writer.writeRows('content_stats', statsRows);
    writer.writeRows('comments', backgroundComments);
    progress({ phase: 'catalogue', done: 1, total: 1, events: 0 });

    const regular = Math.max(1, Math.round(PERSONS_AT_SCALE_1 * scale));
    const spikeVisitors = Math.round(regular * ANOMALY_MODEL.visitorsPerPerson);
    const total = regular + spikeVisitors;
    const dayWeights = acquisitionDayWeights(calendar);
    const counters: WorldCounters = { visits: 0, orders: 0, comments: 0, shares: 0 };
    const counts: DemoCounts = {
      events: 0,
      identities: 0,
      persons: 0,
      content_stats: statsRows.length,
      ad_spend: adSpend.rows.length,
      orders: 0,
      comments: backgroundComments.length,
    };
    const out = emptyOutput();
    const recorder = new SessionRecorder();
    const paths = new PathTally();
    const churn = emptyChurnTally();

    let staged = 0;
    const flush = async (final: boolean): Promise<void> => {
      counts.events += out.events;
      counts.identities += out.identities.lines;
      counts.persons += out.persons.lines;
      counts.orders += out.orders.lines;
      counts.comments += out.comments.lines;
      staged += out.events;
      out.events = 0;
      await writer.stageVisits(out.visits);
      if (final || staged >= EVENTS_PER_EXPANSION) {
        writer.expandStaged();
        staged = 0;
      }
      writer.writeRows('identities', out.identities);
      writer.writeRows('persons', out.persons);
      writer.writeRows('orders', out.orders);
      writer.writeRows('comments', out.comments);
    };

    const runChunk = async (profiles: PersonProfile[], chunkIndex: number): Promise<void> => {
      const plans = profiles.map((person) => planPerson(person, sessionWorld));
      assignSharers(plans, touches, days, rngFor(seed, 'sharing', chunkIndex));
      for (let i = 0; i < plans.length; i++) {
        const plan = plans[i]!;
        if (plan.sessions.length > 0) {
          paths.add(plan.pathChannels, plan.converted);
          tallyChurn(churn, plan);
          emitPerson(plan, behaviourWorld, counters, recorder, out);
        }
        // Let the engine's finished inserts hand over to the next queued one without waiting for the chunk.
        if (i % PERSONS_BETWEEN_YIELDS === PERSONS_BETWEEN_YIELDS - 1) await yieldToEventLoop();
        if (out.events >= EVENTS_PER_BATCH) await flush(false);
      }
    };

    let chunkIndex = 0;
    for (let start = 0; start < regular; start += PERSONS_PER_CHUNK) {
      const end = Math.min(regular, start + PERSONS_PER_CHUNK);
      const profiles: PersonProfile[] = [];
      for (let i = start; i < end; i++) profiles.push(drawPerson(seed, i, dayWeights));
      await runChunk(profiles, chunkIndex++);
      progress({ phase: 'persons', done: end, total, events: counts.events + out.events });
    }
    const spikeProfiles: PersonProfile[] = [];
    for (let i = regular; i < total; i++) spikeProfiles.push(drawSpikeVisitor(seed, i, viralDay));
    await runChunk(spikeProfiles, chunkIndex++);
    const multiPlatformPersons = out.multiPlatformPersons;
    const experiment = out.experiment;
    await flush(true);
    progress({ phase: 'finishing', done: total, total, events: counts.events });
    await writer.finish();

    const truth = buildGroundTruth({
      projectId,
      seed,
      scale,
      calendar,
      paths,
      experiment,
      experimentDays: behaviourWorld.experimentDays,
      churn,
      cohortLastFirstDay: sessionWorld.cohortLastFirstDay,
      observationLastDay: sessionWorld.observationLastDay,
      viralDay,
      spikeVisitors,
      viralContentId: content.posts[content.viralPost]!.contentId,
      persons: counts.persons,
      multiPlatformPersons,
    });
    return {
      projectId,
      seed,
      scale,
      startDate: calendar.startDate,
      endDate: calendar.endDate,
      days,
      counts,
      truth,
    };
  } catch (error) {
    await writer.abandon();
    throw error;
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface Settings {
  projectId: string;
  seed: number;
  scale: number;
  endDate: string;
  days: number;
}

function validateOptions(options: DemoOptions): Settings {
  const { projectId } = options;
  if (typeof projectId !== 'string' || projectId.length === 0 || projectId.length > 200) {
    throw new RangeError('projectId must be a non-empty string of at most 200 characters');
  }
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new RangeError(`seed must be an integer from 0 to 4294967295, got ${seed}`);
  const scale = options.scale ?? 1;
  if (!Number.isFinite(scale) || scale <= 0 || scale > 100)
    throw new RangeError(`scale must be a number above 0 and at most 100, got ${scale}`);
  const days = options.days ?? 90;
  if (!Number.isInteger(days) || days < 28 || days > 366)
    throw new RangeError(`days must be an integer from 28 to 366, got ${days}`);
  return { projectId, seed, scale, endDate: options.endDate ?? DEFAULT_END_DATE, days };
}
