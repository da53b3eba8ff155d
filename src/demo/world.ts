import { type AdSpendPlan, planAdSpend } from './ads.js';
import { buildCalendar, DAY_MS, type WorldCalendar } from './calendar.js';
import { dayRange } from './campaigns.js';
import { type ContentWorld, planContent } from './content.js';
import { ANOMALY_MODEL, EXPERIMENT_MODEL } from './models.js';
import { acquisitionDayWeights } from './persons.js';
import { buildSessionWorld, type SessionWorld } from './sessions.js';
import { buildTouches, type TouchCatalogue } from './touches.js';
import type { BehaviourWorld } from './visit-context.js';

/** Regular persons at scale 1 (the anomalous day adds 3% more). */
export const PERSONS_AT_SCALE_1 = 52_000;

/** The validated options of one generation run. */
export interface WorldSettings {
  projectId: string;
  seed: number;
  scale: number;
  endDate: string;
  days: number;
}

/**
 * Everything persons are generated against: calendar, ad spend, touches, content and the session
 * model. Built from the settings alone, so a worker thread builds the same world as the main thread.
 */
export interface DemoWorld {
  settings: WorldSettings;
  calendar: WorldCalendar;
  viralDay: number;
  adSpend: AdSpendPlan;
  touches: TouchCatalogue;
  content: ContentWorld;
  sessionWorld: SessionWorld;
  behaviourWorld: BehaviourWorld;
  dayWeights: number[];
  /** Regular persons, then the anomalous day's visitors. */
  regularPersons: number;
  spikeVisitors: number;
}

export function buildDemoWorld(settings: WorldSettings): DemoWorld {
  const { projectId, seed, scale } = settings;
  const calendar = buildCalendar(settings.endDate, settings.days);
  const days = calendar.days.length;
  const viralDay = dayRange(ANOMALY_MODEL.dayFraction, ANOMALY_MODEL.dayFraction, days)[0];
  const adSpend = planAdSpend(calendar, projectId, seed);
  const touches = buildTouches(days, adSpend);
  const content = planContent(calendar, seed, viralDay);
  const sessionWorld = buildSessionWorld(calendar, touches, seed, viralDay);
  const regularPersons = Math.max(1, Math.round(PERSONS_AT_SCALE_1 * scale));
  return {
    settings,
    calendar,
    viralDay,
    adSpend,
    touches,
    content,
    sessionWorld,
    behaviourWorld: {
      projectId,
      seed,
      calendar,
      content,
      touches,
      experimentDays: dayRange(EXPERIMENT_MODEL.startFraction, EXPERIMENT_MODEL.endFraction, days),
      springDays: dayRange(0, 0.38, days),
      saleDays: dayRange(0.62, 0.87, days),
      observationEndMs: calendar.startMs + (sessionWorld.observationLastDay + 1) * DAY_MS,
    },
    dayWeights: acquisitionDayWeights(calendar),
    regularPersons,
    spikeVisitors: Math.round(regularPersons * ANOMALY_MODEL.visitorsPerPerson),
  };
}
