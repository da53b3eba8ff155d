import { CHANNELS, type Channel, type Platform } from './catalogue.js';
import { ACQUISITION_MIX, RETURN_MIX, SOCIAL_RETURN_BOOST } from './models.js';
import type { PersonProfile } from './persons.js';
import type { Rng } from './prng.js';
import type { SessionWorld } from './sessions.js';

/**
 * Which channel brings a visit and where it lands. The mixes are in `models.ts`; a channel can
 * only bring a visit on a day one of its touches runs.
 */

/** The person's way in, or another one when theirs does not run that day (no KOL post live, say). */
export function acquisitionChannel(
  rng: Rng,
  person: PersonProfile,
  world: SessionWorld,
  day: number,
): Channel {
  // Nobody can have sent a share link before the first day.
  const runs = (channel: Channel, i: number): boolean =>
    world.runnable[day]![i]! && !(channel === 'share' && day === 0);
  if (runs(person.acquisitionChannel, CHANNELS.indexOf(person.acquisitionChannel)))
    return person.acquisitionChannel;
  return CHANNELS[
    rng.weighted(CHANNELS.map((channel, i) => (runs(channel, i) ? ACQUISITION_MIX[channel] : 0)))
  ]!;
}

/** How a known person comes back: CRM only once signed up and opted in, share links only after day 0. */
export function returnChannel(
  rng: Rng,
  person: PersonProfile,
  world: SessionWorld,
  signedUp: boolean,
  day: number,
): Channel {
  const runnable = world.runnable[day]!;
  const weights = CHANNELS.map((channel, i) => {
    if (!runnable[i]) return 0;
    if (channel === 'email' && !(signedUp && person.emailOptIn)) return 0;
    if (channel === 'sms' && !(signedUp && person.smsOptIn)) return 0;
    if (channel === 'share' && day === 0) return 0;
    const boost = person.socialPlatforms.length > 0 ? (SOCIAL_RETURN_BOOST[channel] ?? 1) : 1;
    return RETURN_MIX[channel] * boost;
  });
  return CHANNELS[rng.weighted(weights)]!;
}

/** Where a visit lands: in the platform's own app for social touches, else the web shop or the app. */
export function landingPlatform(
  rng: Rng,
  person: PersonProfile,
  world: SessionWorld,
  touchIndex: number,
): Platform {
  const touch = world.touches.touches[touchIndex]!;
  const source = touch.sourcePlatform;
  if (source !== undefined && person.socialPlatforms.includes(source)) {
    const inApp =
      { paid_social: 0.72, kol: 0.68, organic_social: 0.85, share: 1 }[touch.channel as string] ?? 0.6;
    if (rng.chance(inApp)) return source;
  }
  const appShare =
    { direct: 0.65, email: 0.35, sms: 0.5, share: 0.15 }[touch.channel as string] ??
    (source !== undefined ? 0.25 : 0);
  return person.appUser && rng.chance(appShare) ? 'app' : 'web';
}
