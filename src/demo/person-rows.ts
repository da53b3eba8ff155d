import type { ByteSink } from '../lib/byte-sink.js';
import { CITIES, SOCIAL_PLATFORM_INFO, SOCIAL_PLATFORMS } from './catalogue.js';
import type { PersonProfile } from './persons.js';
import type { Rng } from './prng.js';
import type { PersonMemory } from './visit-context.js';

/**
 * A person's `identities` and `persons` rows, written after their visits so that only ids that
 * were really used appear. Identity rows map each id to the person (version 1); the phone hash is
 * the link a shop order or sign-up gives, which is how one person is known across platforms.
 *
 * Both are RowBinary in the columns below (the rest take their defaults): the engine reads them
 * several times cheaper than JSON lines (identities and persons were ~half of the world's 91 MB of
 * JSON rows, ~1.7–2.5 s of the engine's CPU in all).
 */

/** The columns of `writeIdentities`' rows, in order. */
export const IDENTITY_ROW_COLUMNS = [
  'project_id',
  'distinct_id',
  'id_type',
  'person_id',
  'version',
  'updated_at',
] as const;

/** The columns of `writePersonRow`'s rows, in order. */
export const PERSON_ROW_COLUMNS = [
  'project_id',
  'person_id',
  'traits',
  'consent',
  'created_at',
  'updated_at',
  'version',
] as const;

/**
 * Writes the person's identity rows into `sink`; returns how many social platforms their events
 * came from.
 */
export function writeIdentities(
  sink: ByteSink,
  projectId: string,
  person: PersonProfile,
  memory: PersonMemory,
): number {
  const add = (distinctId: string, idType: string, atMs: number): void => {
    sink.binaryString(projectId);
    sink.binaryString(distinctId);
    sink.binaryString(idType);
    sink.binaryString(person.personId);
    sink.int64LE(1);
    sink.int64LE(atMs);
    sink.endRow();
  };
  const web = memory.firstSeenMs.get('web');
  if (web !== undefined) add(person.webAnonymousId, 'anonymous', web);
  const app = memory.firstSeenMs.get('app');
  if (app !== undefined) add(person.appAnonymousId, 'anonymous', app);
  if (memory.signedUpAtMs >= 0) add(person.userId, 'user', memory.signedUpAtMs);
  let socialPlatformsUsed = 0;
  let firstSeen = Number.POSITIVE_INFINITY;
  for (const seen of memory.firstSeenMs.values()) firstSeen = Math.min(firstSeen, seen);
  for (const platform of SOCIAL_PLATFORMS) {
    const seen = memory.firstSeenMs.get(platform);
    if (seen === undefined) continue;
    socialPlatformsUsed++;
    add(person.platformIds[platform]!, SOCIAL_PLATFORM_INFO[platform].idType, seen);
    if (platform === 'wechat_channels') add(person.wechatUnionId, 'unionid', seen);
  }
  // A phone number (hashed) comes with a sign-up or a platform shop order; it links the platforms.
  if (
    person.phoneHash !== '' &&
    (memory.signedUpAtMs >= 0 || memory.socialPurchase || socialPlatformsUsed >= 2)
  ) {
    add(person.phoneHash, 'phone_hash', firstSeen);
  }
  return socialPlatformsUsed;
}

/** Writes the person's `persons` row into `sink`. */
export function writePersonRow(
  sink: ByteSink,
  rng: Rng,
  projectId: string,
  calendarStartMs: number,
  person: PersonProfile,
  memory: PersonMemory,
): void {
  const city = CITIES[person.city]!;
  let firstSeen = Number.POSITIVE_INFINITY;
  for (const seen of memory.firstSeenMs.values()) firstSeen = Math.min(firstSeen, seen);
  // Customers known before the window were created some time in the past year.
  const createdAt = person.existing
    ? calendarStartMs - rng.between(1, 365) * 86_400_000 + rng.int(86_400_000)
    : firstSeen;
  const platforms: string[] = [];
  for (const platform of memory.firstSeenMs.keys()) platforms.push(platform);
  platforms.sort();
  const traits = {
    nickname: person.nickname,
    language: person.language,
    city: city.city,
    region: city.region,
    country: city.country,
    platforms,
    signed_up: memory.signedUpAtMs >= 0,
    email_opt_in: person.emailOptIn,
    sms_opt_in: person.smsOptIn,
  };
  const consent = { analytics: true, email: person.emailOptIn, sms: person.smsOptIn };
  sink.binaryString(projectId);
  sink.binaryString(person.personId);
  sink.binaryString(JSON.stringify(traits));
  sink.binaryString(JSON.stringify(consent));
  sink.int64LE(createdAt);
  sink.int64LE(memory.lastEventMs);
  sink.int64LE(1);
  sink.endRow();
}
