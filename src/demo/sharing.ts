import type { Platform } from './catalogue.js';
import type { PersonProfile } from './persons.js';
import type { Rng } from './prng.js';
import type { PersonPlan, SessionPlan } from './sessions.js';
import type { TouchCatalogue } from './touches.js';

/**
 * Share links: every visit that arrives through a share link gets a sharer, a visit of someone
 * else a little earlier that sends the link (a `content_shared` event). The visit carries the
 * sharer's distinct id in `sharer_id`, so referral analyses can credit the sharer.
 *
 * Sharers are looked for among the persons planned together (a chunk is a random sample of the
 * population, so this is no bias).
 */

/** A visit can only be shared from at least this long before the shared visit starts. */
const MIN_LEAD_MS = 2 * 3600_000;
const LOOKBACK_DAYS = 3;

interface Candidate {
  person: PersonProfile;
  session: SessionPlan;
}

export interface SharingReport {
  shareVisits: number;
  withoutSharer: number;
}

/** Assigns a sharer to every share visit of the planned persons. */
export function assignSharers(
  plans: PersonPlan[],
  touches: TouchCatalogue,
  days: number,
  rng: Rng,
): SharingReport {
  const inApp: Candidate[][] = Array.from({ length: days }, () => []);
  const douyin: Candidate[][] = Array.from({ length: days }, () => []);
  for (const plan of plans) {
    for (const session of plan.sessions) {
      if (session.platform === 'douyin') douyin[session.day]!.push({ person: plan.person, session });
      else if (canShareByWechat(session.platform)) inApp[session.day]!.push({ person: plan.person, session });
    }
  }
  const report: SharingReport = { shareVisits: 0, withoutSharer: 0 };
  for (const plan of plans) {
    for (const session of plan.sessions) {
      if (session.channel !== 'share') continue;
      report.shareVisits++;
      const byDay = touches.touches[session.touch]!.utmSource === 'douyin' ? douyin : inApp;
      const sharer = findSharer(rng, byDay, plan.person, session);
      if (!sharer) {
        report.withoutSharer++;
        continue;
      }
      // Half of the time the visit comes from a link already sent (a group chat brings several).
      if (sharer.session.shares === 0 || rng.chance(0.5)) sharer.session.shares++;
      session.sharerId = distinctIdAtEnd(sharer.person, sharer.session);
    }
  }
  return report;
}

function canShareByWechat(platform: Platform): boolean {
  return platform === 'web' || platform === 'app' || platform === 'wechat_channels';
}

function findSharer(
  rng: Rng,
  byDay: Candidate[][],
  recipient: PersonProfile,
  session: SessionPlan,
): Candidate | undefined {
  const fits = (c: Candidate): boolean =>
    c.person !== recipient && c.session.startMs <= session.startMs - MIN_LEAD_MS;
  for (let attempt = 0; attempt < 24; attempt++) {
    const day = session.day - rng.int(LOOKBACK_DAYS);
    const list = byDay[day];
    if (!list || list.length === 0) continue;
    const candidate = list[rng.int(list.length)]!;
    if (fits(candidate)) return candidate;
  }
  for (let day = session.day; day >= Math.max(0, session.day - LOOKBACK_DAYS * 3); day--) {
    const found = byDay[day]?.find(fits);
    if (found) return found;
  }
  return undefined;
}

/** The distinct id a person sends with at the end of a visit (after any sign-up or login in it). */
export function distinctIdAtEnd(person: PersonProfile, session: SessionPlan): string {
  switch (session.platform) {
    case 'web':
      return session.identified || session.signup || session.login ? person.userId : person.webAnonymousId;
    case 'app':
      return session.identified || session.signup || session.login ? person.userId : person.appAnonymousId;
    default:
      return person.platformIds[session.platform] ?? '';
  }
}
