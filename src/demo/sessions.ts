import type { WorldCalendar } from './calendar.js';
import { DAY_MS, sampleTimeOfDayMs, WEEKDAY_WEIGHTS } from './calendar.js';
import { campaignIntensity, dayRange } from './campaigns.js';
import { CHANNELS, type Channel, isSocialPlatform, type Platform, type SocialPlatform } from './catalogue.js';
import { churnFeatures, featureDefiningDay } from './churn-features.js';
import { CHURN_MODEL, type ChurnFeatureName, CONVERSION_MODEL, logistic } from './models.js';
import type { PersonProfile } from './persons.js';
import { type Rng, rngFor } from './prng.js';
import { pickTouch, type TouchCatalogue } from './touches.js';
import { acquisitionChannel, landingPlatform, returnChannel } from './visit-channels.js';

/**
 * When each person visits, through which channel and on which platform, and what the visit
 * decides: a first purchase or a repeat one, a sign-up, a login, a negative comment, an NPS answer.
 * This is where the planted truths are drawn: the channel lifts (first purchase) and the churn
 * model. What happens inside a visit is `behaviour.ts`.
 */

export interface SessionPlan {
  day: number;
  startMs: number;
  channel: Channel;
  touch: number;
  platform: Platform;
  /** 0 none, 1 the person's first purchase in the window, 2 a repeat purchase. */
  purchase: 0 | 1 | 2;
  /** The person signs up in this visit ($identify mid-visit). */
  signup: boolean;
  /** A signed-up person logs in on this device at the start ($identify at the start). */
  login: boolean;
  /** The device already knows the user id when the visit starts. */
  identified: boolean;
  negativeComment: boolean;
  survey: boolean;
  /** Distinct id of the person whose share link brought this visit ('' unless channel = share). */
  sharerId: string;
  /** Share events this visit sends (links that bring other people's visits). */
  shares: number;
}

export interface PersonPlan {
  person: PersonProfile;
  sessions: SessionPlan[];
  inChurnCohort: boolean;
  churnFeatures: Record<ChurnFeatureName, boolean> | undefined;
  churned: boolean;
  converted: boolean;
  /** Bit set over CHANNELS: the channels on the path to the first purchase (all channels if none). */
  pathChannels: number;
}

export interface SessionWorld {
  calendar: WorldCalendar;
  touches: TouchCatalogue;
  seed: number;
  /** Last day index on which a person can be first seen and still be in the churn cohort. */
  cohortLastFirstDay: number;
  /** Last day of the churn observation window. */
  observationLastDay: number;
  viralDay: number;
  /** For each day, the channels that have a running touch. */
  runnable: boolean[][];
}

const MIN_GAP_BETWEEN_SESSIONS_MS = 2 * 3600_000;

export function buildSessionWorld(
  calendar: WorldCalendar,
  touches: TouchCatalogue,
  seed: number,
  viralDay: number,
): SessionWorld {
  const days = calendar.days.length;
  const runnable = calendar.days.map((day) =>
    CHANNELS.map((channel) =>
      (touches.byChannel.get(channel) ?? []).some((t) => touches.touches[t]!.weightByDay[day.index]! > 0),
    ),
  );
  return {
    calendar,
    touches,
    seed,
    cohortLastFirstDay: dayRange(0, CHURN_MODEL.cohortFirstSeenFraction, days)[1],
    observationLastDay: dayRange(0, CHURN_MODEL.observationFraction, days)[1],
    viralDay,
    runnable,
  };
}

interface PassState {
  seen: number;
  purchased: boolean;
  firstSessionDone: boolean;
  signedUp: boolean;
  loggedInWeb: boolean;
  loggedInApp: boolean;
  webAppSessions: number;
  signupAtWebAppSession: number;
  surveyPending: boolean;
  negativeCommentDone: boolean;
  pathChannels: number;
}

/** Plans every visit of one person over the window. */
export function planPerson(person: PersonProfile, world: SessionWorld): PersonPlan {
  const rng = rngFor(world.seed, 'sessions', person.index);
  const state: PassState = {
    seen: 0,
    purchased: false,
    firstSessionDone: false,
    signedUp: person.signedUpBefore,
    loggedInWeb: person.signedUpBefore,
    loggedInApp: person.signedUpBefore,
    webAppSessions: 0,
    signupAtWebAppSession: 1 + rng.weighted([0.35, 0.35, 0.3]),
    surveyPending: false,
    negativeCommentDone: false,
    pathChannels: 0,
  };
  const lastDay = world.calendar.days.length - 1;
  if (person.spikeVisitor) {
    const sessions = [spikeSession(rng, person, world, state)];
    return finishPlan(person, sessions, false, undefined, false);
  }
  if (person.firstDay > world.cohortLastFirstDay) {
    const sessions = visits(
      rng,
      person,
      world,
      state,
      sessionStarts(rng, person, world, person.firstDay, lastDay),
    );
    return finishPlan(person, sessions, false, undefined, false);
  }
  // Churn cohort: live the observation window, measure the features, then draw churn from them.
  const windowStarts = sessionStarts(rng, person, world, person.firstDay, world.observationLastDay);
  const sessions = visits(rng, person, world, state, windowStarts);
  const firstSeenDay = sessions[0]?.day ?? lastDay + 1;
  if (firstSeenDay > world.cohortLastFirstDay) {
    // A known customer who stays away until late is not first seen in time for the cohort.
    sessions.push(
      ...visits(
        rng,
        person,
        world,
        state,
        sessionStarts(rng, person, world, world.observationLastDay + 1, lastDay),
      ),
    );
    return finishPlan(person, sessions, false, undefined, false);
  }
  addMissingFeatureVisits(rng, person, world, state, sessions);
  const features = churnFeatures(person, sessions);
  const logOdds = CHURN_MODEL.features.reduce<number>(
    (sum, feature) => sum + (features[feature.name] ? feature.logOddsEffect : 0),
    CHURN_MODEL.baseLogOdds,
  );
  const churned = rng.chance(logistic(logOdds));
  if (churned) {
    // The person drifts away some time after the visits that define their features.
    const keepUntil = featureDefiningDay(person, sessions);
    const churnDay = rng.between(keepUntil, world.observationLastDay);
    const kept = sessions.filter((s) => s.day <= churnDay);
    return finishPlan(person, kept, true, features, true);
  }
  let laterStarts = sessionStarts(rng, person, world, world.observationLastDay + 1, lastDay);
  if (laterStarts.length === 0) {
    const day = rng.between(world.observationLastDay + 1, lastDay);
    laterStarts = [
      world.calendar.days[day]!.startMs + sampleTimeOfDayMs(rng, world.calendar.days[day]!.weekday),
    ];
  }
  sessions.push(...visits(rng, person, world, state, laterStarts));
  return finishPlan(person, sessions, true, features, false);
}

function finishPlan(
  person: PersonProfile,
  sessions: SessionPlan[],
  inChurnCohort: boolean,
  churnFeatures: Record<ChurnFeatureName, boolean> | undefined,
  churned: boolean,
): PersonPlan {
  const firstPurchase = sessions.findIndex((s) => s.purchase === 1);
  let pathChannels = 0;
  const pathEnd = firstPurchase >= 0 ? firstPurchase : sessions.length - 1;
  for (let i = 0; i <= pathEnd; i++) pathChannels |= 1 << CHANNELS.indexOf(sessions[i]!.channel);
  return {
    person,
    sessions,
    inChurnCohort,
    churnFeatures,
    churned,
    converted: firstPurchase >= 0,
    pathChannels,
  };
}

/** Session start times between two days (inclusive), following the person's activity and the calendar. */
function sessionStarts(
  rng: Rng,
  person: PersonProfile,
  world: SessionWorld,
  fromDay: number,
  toDay: number,
): number[] {
  const { calendar } = world;
  const starts: number[] = [];
  for (let day = fromDay; day <= toDay; day++) {
    const calendarDay = calendar.days[day]!;
    const age = day - person.firstDay;
    // New people are most active right after they find the brand; known customers are steady.
    const engagement = person.existing ? 0.8 : 0.35 + 0.65 * Math.exp(-age / 25);
    const mean =
      person.activity *
      WEEKDAY_WEIGHTS[calendarDay.weekday]! *
      campaignIntensity(day, calendar.days.length) *
      engagement;
    let count = rng.poisson(mean);
    if (day === person.firstDay && !person.existing) count = Math.max(1, count);
    const todays: number[] = [];
    for (let k = 0; k < count; k++)
      todays.push(calendarDay.startMs + sampleTimeOfDayMs(rng, calendarDay.weekday));
    todays.sort((a, b) => a - b);
    for (const start of todays) {
      const previous = starts[starts.length - 1];
      if (previous === undefined || start - previous >= MIN_GAP_BETWEEN_SESSIONS_MS) starts.push(start);
    }
  }
  return starts;
}

/** Turns start times into visits, in time order, carrying the purchase and sign-up state along. */
function visits(
  rng: Rng,
  person: PersonProfile,
  world: SessionWorld,
  state: PassState,
  starts: number[],
): SessionPlan[] {
  return starts.map((startMs) => {
    const day = Math.floor((startMs - world.calendar.startMs) / DAY_MS);
    const wanted =
      state.firstSessionDone || person.existing
        ? returnChannel(rng, person, world, state.signedUp, day)
        : acquisitionChannel(rng, person, world, day);
    const touch = pickTouch(rng, world.touches, wanted, day, person.socialPlatforms);
    // The touch decides the channel the events carry (direct when nothing of the channel runs).
    const channel = world.touches.touches[touch]!.channel;
    const platform = landingPlatform(rng, person, world, touch);
    return visit(rng, person, state, day, startMs, channel, touch, platform);
  });
}

function visit(
  rng: Rng,
  person: PersonProfile,
  state: PassState,
  day: number,
  startMs: number,
  channel: Channel,
  touch: number,
  platform: Platform,
): SessionPlan {
  const session: SessionPlan = {
    day,
    startMs,
    channel,
    touch,
    platform,
    purchase: 0,
    signup: false,
    login: false,
    identified: false,
    negativeComment: false,
    survey: false,
    sharerId: '',
    shares: 0,
  };
  decidePurchase(rng, state, session);
  const webOrApp = platform === 'web' || platform === 'app';
  if (webOrApp) {
    state.webAppSessions++;
    const loggedIn = platform === 'web' ? state.loggedInWeb : state.loggedInApp;
    if (!state.signedUp) {
      // Buying in the web shop or the app needs an account; others sign up after a few visits.
      const plannedSignup = person.willSignUp && state.webAppSessions >= state.signupAtWebAppSession;
      if (session.purchase > 0 || plannedSignup) {
        session.signup = true;
        state.signedUp = true;
      }
    } else if (!loggedIn) {
      session.login = true;
    } else {
      session.identified = true;
    }
    if (state.signedUp) {
      if (platform === 'web') state.loggedInWeb = true;
      else state.loggedInApp = true;
    }
    if (state.surveyPending) {
      session.survey = true;
      state.surveyPending = false;
    }
  } else if (person.negativeCommenter && !state.negativeCommentDone) {
    session.negativeComment = true;
    state.negativeCommentDone = true;
  }
  state.firstSessionDone = true;
  return session;
}

/** The planted conversion process (CONVERSION_MODEL): a purchase can happen at each new channel. */
function decidePurchase(rng: Rng, state: PassState, session: SessionPlan): void {
  const bit = 1 << CHANNELS.indexOf(session.channel);
  if (!state.purchased) {
    let probability = state.firstSessionDone ? 0 : CONVERSION_MODEL.baseRate;
    if ((state.seen & bit) === 0)
      probability = 1 - (1 - probability) * (1 - CONVERSION_MODEL.lifts[session.channel]);
    state.seen |= bit;
    if (probability > 0 && rng.chance(probability)) {
      session.purchase = 1;
      state.purchased = true;
      // About four in ten buyers answer the NPS survey on their next web or app visit.
      state.surveyPending = rng.chance(0.4);
    }
    return;
  }
  const crm = session.channel === 'email' || session.channel === 'sms';
  if (rng.chance(crm ? CONVERSION_MODEL.repurchasePerCrmSession : CONVERSION_MODEL.repurchasePerSession))
    session.purchase = 2;
}

/**
 * Best effort to give a cohort person the visits their latent traits imply (an app user uses the
 * app, a negative commenter comments, a low watcher watches), appended after their last visit in
 * the observation window. Churn is drawn from the features as they end up, so the truth holds
 * even when there is no room left.
 */
function addMissingFeatureVisits(
  rng: Rng,
  person: PersonProfile,
  world: SessionWorld,
  state: PassState,
  sessions: SessionPlan[],
): void {
  const needs: Platform[] = [];
  if (person.appUser && !sessions.some((s) => s.platform === 'app')) needs.push('app');
  const main = person.socialPlatforms[0];
  const hasSocial = sessions.some((s) => isSocialPlatform(s.platform));
  if (main && (person.negativeCommenter || person.lowWatcher) && !hasSocial) needs.push(main);
  const windowEnd = world.calendar.startMs + (world.observationLastDay + 1) * DAY_MS;
  for (const platform of needs) {
    const last = sessions[sessions.length - 1];
    const earliest = last
      ? last.startMs + MIN_GAP_BETWEEN_SESSIONS_MS
      : world.calendar.startMs + person.firstDay * DAY_MS;
    if (earliest >= windowEnd - 3600_000) return;
    const startMs = Math.floor(rng.uniform(earliest, Math.min(windowEnd - 3600_000, earliest + 14 * DAY_MS)));
    const day = Math.floor((startMs - world.calendar.startMs) / DAY_MS);
    const channel: Channel = platform === 'app' ? 'direct' : 'organic_social';
    const touch =
      platform === 'app' ? 0 : pickTouch(rng, world.touches, channel, day, [platform as SocialPlatform]);
    sessions.push(visit(rng, person, state, day, startMs, channel, touch, platform));
  }
}

function spikeSession(rng: Rng, person: PersonProfile, world: SessionWorld, state: PassState): SessionPlan {
  const dayStart = world.calendar.startMs + world.viralDay * DAY_MS;
  // Visitors pour in after the video is posted at 11:00 and fade out by midnight.
  const offset = Math.min(23.5 * 3600_000, 11.2 * 3600_000 + rng.exponential(3 * 3600_000));
  const startMs = dayStart + Math.floor(offset);
  return visit(
    rng,
    person,
    state,
    world.viralDay,
    startMs,
    'organic_social',
    world.touches.viralTouch,
    'web',
  );
}
