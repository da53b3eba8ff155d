import type { ByteSink } from '../lib/byte-sink.js';
import { CITIES, SOCIAL_PLATFORM_INFO, SOCIAL_PLATFORMS } from './catalogue.js';
import type { PersonProfile } from './persons.js';
import type { Rng } from './prng.js';
import type { PersonMemory } from './visit-context.js';

/**
 * A person's `identities` and `persons` rows, written after their visits so that only ids that
 * were really used appear. Identity rows map each id to the person (version 1); the phone hash is
 * the link a shop order or sign-up gives, which is how one person is known across platforms.
 */

/**
 * Writes the person's identity rows into `sink`; returns how many social platforms their events
 * came from. `projectJson` is the project id as a JSON string.
 */
export function writeIdentities(
  sink: ByteSink,
  projectJson: string,
  person: PersonProfile,
  memory: PersonMemory,
): number {
  const add = (distinctId: string, idType: string, atMs: number): void => {
    sink.utf8(`{"project_id":${projectJson}`);
    sink.ascii(',"distinct_id":"');
    sink.ascii(distinctId);
    sink.ascii('","id_type":"');
    sink.ascii(idType);
    sink.ascii('","person_id":"');
    sink.ascii(person.personId);
    sink.ascii('","version":1,"updated_at":');
    sink.int(atMs);
    sink.ascii('}');
    sink.endLine();
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

export function personRow(
  rng: Rng,
  projectId: string,
  calendarStartMs: number,
  person: PersonProfile,
  memory: PersonMemory,
): string {
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
  return `{"project_id":${JSON.stringify(projectId)},"person_id":"${person.personId}","traits":${JSON.stringify(JSON.stringify(traits))},"consent":${JSON.stringify(JSON.stringify(consent))},"created_at":${createdAt},"updated_at":${memory.lastEventMs},"version":1}`;
}
