import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RESPONSE_CURVES } from './ads.js';
import { attributionTruth, type ChannelTruth, type PathTally } from './attribution-truth.js';
import { TIME_ZONE, WEEKDAY_WEIGHTS, type WorldCalendar } from './calendar.js';
import { BRAND, CHANNELS, type Channel } from './catalogue.js';
import { COMPLETION_MODEL, PLAYS_MODEL } from './content.js';
import { CHURN_MODEL, type ChurnFeatureName, CONVERSION_MODEL, EXPERIMENT_MODEL } from './models.js';
import type { PersonPlan } from './sessions.js';
import type { ExperimentTally } from './shop-visit.js';

/**
 * The planted truths of a generated world, as written to the ground-truth file. Every analysis
 * test can read what it should find: the channel contributions, the experiment's lift, the churn
 * drivers, the anomalous day and the content formulas.
 */
export interface GroundTruth {
  version: 1;
  projectId: string;
  seed: number;
  scale: number;
  brand: { name: string; nameZh: string; currency: string; timeZone: string };
  dateRange: { startDate: string; endDate: string; days: number };
  attribution: {
    conversionEvent: 'order_completed';
    definition: string;
    formula: string;
    baseRate: number;
    /** Channels by planted lift, highest first. */
    plantedOrder: Channel[];
    /** Channels by expected Shapley conversions over the world's paths, highest first. */
    contributionOrder: Channel[];
    paths: number;
    convertedPaths: number;
    channels: ChannelTruth[];
  };
  experiment: {
    key: string;
    exposureEvent: string;
    conversionEvent: string;
    variants: readonly string[];
    startDate: string;
    endDate: string;
    assignment: string;
    conversionDefinition: string;
    controlRate: number;
    trueRelativeLift: number;
    exposed: { control: number; treatment: number };
    converted: { control: number; treatment: number };
    observedRelativeLift: number;
  };
  churn: {
    definition: string;
    cohortFirstSeenBy: string;
    observationWindow: { startDate: string; endDate: string };
    churnWindow: { startDate: string; endDate: string };
    formula: string;
    baseLogOdds: number;
    features: {
      name: ChurnFeatureName;
      definition: string;
      logOddsEffect: number;
      cohortPersons: number;
      churnRateWith: number;
      churnRateWithout: number;
    }[];
    cohortPersons: number;
    churnedPersons: number;
    churnRate: number;
  };
  anomaly: {
    date: string;
    kind: 'spike';
    description: string;
    metric: {
      table: 'events';
      event: '$pageview';
      filter: { platform: string; utm_source: string; utm_medium: string };
      aggregation: 'count per day';
    };
    extraVisitors: number;
    viralContentId: string;
  };
  content: {
    completionFormula: string;
    completionModel: { floor: number; amplitude: number; tauSeconds: number };
    playsFormula: string;
    paretoAlpha: number;
  };
  adSpend: {
    formula: string;
    currency: string;
    responseCurves: { platform: string; alpha: number; k: number }[];
  };
  identity: {
    persons: number;
    multiPlatformPersons: number;
    description: string;
    /** Members who signed in once on another member's device: identity conflicts, kept apart. */
    sharedDeviceConflicts: number;
    sharedDevicesDescription: string;
  };
  rhythms: { weekdayWeightsMondayFirst: readonly number[]; peakHoursLocal: number[] };
}

export interface ChurnTally {
  cohort: number;
  churned: number;
  withFeature: Record<ChurnFeatureName, [persons: number, churned: number]>;
  withoutFeature: Record<ChurnFeatureName, [persons: number, churned: number]>;
}

export function emptyChurnTally(): ChurnTally {
  const zero = (): Record<ChurnFeatureName, [number, number]> =>
    Object.fromEntries(CHURN_MODEL.features.map((f) => [f.name, [0, 0]])) as Record<
      ChurnFeatureName,
      [number, number]
    >;
  return { cohort: 0, churned: 0, withFeature: zero(), withoutFeature: zero() };
}

export function tallyChurn(tally: ChurnTally, plan: PersonPlan): void {
  if (!plan.inChurnCohort || !plan.churnFeatures) return;
  tally.cohort++;
  if (plan.churned) tally.churned++;
  for (const feature of CHURN_MODEL.features) {
    const bucket = plan.churnFeatures[feature.name] ? tally.withFeature : tally.withoutFeature;
    bucket[feature.name][0]++;
    if (plan.churned) bucket[feature.name][1]++;
  }
}

export interface TruthInputs {
  projectId: string;
  seed: number;
  scale: number;
  calendar: WorldCalendar;
  paths: PathTally;
  experiment: ExperimentTally;
  experimentDays: [number, number];
  churn: ChurnTally;
  cohortLastFirstDay: number;
  observationLastDay: number;
  viralDay: number;
  spikeVisitors: number;
  viralContentId: string;
  persons: number;
  multiPlatformPersons: number;
  sharedDeviceConflicts: number;
}

export function buildGroundTruth(input: TruthInputs): GroundTruth {
  const { calendar } = input;
  const date = (day: number): string => calendar.days[day]!.date;
  const last = calendar.days.length - 1;
  const channels = attributionTruth(input.paths);
  const rate = (pair: [number, number]): number => (pair[0] === 0 ? 0 : round(pair[1] / pair[0], 4));
  const exp = input.experiment;
  const [exposedControl = 0, exposedTreatment = 0] = exp.exposed;
  const [convertedControl = 0, convertedTreatment = 0] = exp.converted;
  const controlRate = exposedControl ? convertedControl / exposedControl : 0;
  const treatmentRate = exposedTreatment ? convertedTreatment / exposedTreatment : 0;
  let paths = 0;
  let convertedPaths = 0;
  input.paths.persons.forEach((n) => {
    paths += n;
  });
  input.paths.converted.forEach((n) => {
    convertedPaths += n;
  });
  return {
    version: 1,
    projectId: input.projectId,
    seed: input.seed,
    scale: input.scale,
    brand: { name: BRAND.name, nameZh: BRAND.nameZh, currency: BRAND.currency, timeZone: TIME_ZONE },
    dateRange: { startDate: calendar.startDate, endDate: calendar.endDate, days: calendar.days.length },
    attribution: {
      conversionEvent: 'order_completed',
      definition:
        'A path is a person’s sessions (events.channel of each session) from their first event in the window up to and including the session of their first order_completed; persons who never buy contribute their whole history as a non-converting path.',
      formula: CONVERSION_MODEL.formula,
      baseRate: CONVERSION_MODEL.baseRate,
      plantedOrder: [...CHANNELS].sort((a, b) => CONVERSION_MODEL.lifts[b] - CONVERSION_MODEL.lifts[a]),
      contributionOrder: [...channels]
        .sort((a, b) => b.expectedShapleyConversions - a.expectedShapleyConversions)
        .map((c) => c.channel),
      paths,
      convertedPaths,
      channels,
    },
    experiment: {
      key: EXPERIMENT_MODEL.key,
      exposureEvent: EXPERIMENT_MODEL.exposureEvent,
      conversionEvent: EXPERIMENT_MODEL.conversionEvent,
      variants: EXPERIMENT_MODEL.variants,
      startDate: date(input.experimentDays[0]),
      endDate: date(input.experimentDays[1]),
      assignment:
        'per person, 50/50 by hash; exposure on the first product view (web or app) while the test runs',
      conversionDefinition: 'the person has a coupon_claimed event after their first $experiment_exposure',
      controlRate: EXPERIMENT_MODEL.controlRate,
      trueRelativeLift: EXPERIMENT_MODEL.trueRelativeLift,
      exposed: { control: exposedControl, treatment: exposedTreatment },
      converted: { control: convertedControl, treatment: convertedTreatment },
      observedRelativeLift: controlRate === 0 ? 0 : round(treatmentRate / controlRate - 1, 4),
    },
    churn: {
      definition: `A person first seen on or before ${date(input.cohortLastFirstDay)} churns when they have no event from ${date(input.observationLastDay + 1)} to ${date(last)}.`,
      cohortFirstSeenBy: date(input.cohortLastFirstDay),
      observationWindow: { startDate: date(0), endDate: date(input.observationLastDay) },
      churnWindow: { startDate: date(input.observationLastDay + 1), endDate: date(last) },
      formula:
        'P(churn) = logistic(baseLogOdds + Σ logOddsEffect · feature), features 0/1 measured in the observation window',
      baseLogOdds: CHURN_MODEL.baseLogOdds,
      features: CHURN_MODEL.features.map((f) => ({
        name: f.name,
        definition: f.definition,
        logOddsEffect: f.logOddsEffect,
        cohortPersons: input.churn.withFeature[f.name][0],
        churnRateWith: rate(input.churn.withFeature[f.name]),
        churnRateWithout: rate(input.churn.withoutFeature[f.name]),
      })),
      cohortPersons: input.churn.cohort,
      churnedPersons: input.churn.churned,
      churnRate: rate([input.churn.cohort, input.churn.churned]),
    },
    anomaly: {
      date: date(input.viralDay),
      kind: 'spike',
      description: `A cold-brew video goes viral on Weibo at 11:00; ${input.spikeVisitors} extra visitors land on the web shop the same day.`,
      metric: {
        table: 'events',
        event: '$pageview',
        filter: { platform: 'web', utm_source: 'weibo', utm_medium: 'social' },
        aggregation: 'count per day',
      },
      extraVisitors: input.spikeVisitors,
      viralContentId: input.viralContentId,
    },
    content: {
      completionFormula: COMPLETION_MODEL.formula,
      completionModel: {
        floor: COMPLETION_MODEL.floor,
        amplitude: COMPLETION_MODEL.amplitude,
        tauSeconds: COMPLETION_MODEL.tauSeconds,
      },
      playsFormula: PLAYS_MODEL.formula,
      paretoAlpha: PLAYS_MODEL.paretoAlpha,
    },
    adSpend: {
      formula:
        'per ad_spend row (day × platform × campaign × ad group × creative): conversions ~ Poisson(k · spend^alpha · creative appeal), appeal ~ logNormal(1, 0.2)',
      currency: BRAND.currency,
      responseCurves: Object.values(RESPONSE_CURVES).map((c) => ({
        platform: c.platform,
        alpha: c.alpha,
        k: c.k,
      })),
    },
    identity: {
      persons: input.persons,
      multiPlatformPersons: input.multiPlatformPersons,
      description:
        'Persons whose events come from two or more social platforms, each with its own platform id, linked to one person_id through identities (phone hash).',
      sharedDeviceConflicts: input.sharedDeviceConflicts,
      sharedDevicesDescription:
        "Members who signed in to the app once on another member's device: each is an identity conflict (identity_log, kind conflict) with their $identify event; both persons stay apart.",
    },
    rhythms: { weekdayWeightsMondayFirst: WEEKDAY_WEIGHTS, peakHoursLocal: [20, 21] },
  };
}

/** Writes the ground truth as pretty JSON, creating the directory if needed. */
export async function writeGroundTruth(path: string, truth: GroundTruth): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(truth, null, 2)}\n`, 'utf8');
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
