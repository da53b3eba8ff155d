import type { ByteSink } from '../lib/byte-sink.js';
import { DAY_MS } from './calendar.js';
import { identifyTraits, type PersonProfile } from './persons.js';
import type { Rng } from './prng.js';

/**
 * Shared devices: a few members sign in to the brand's app on another member's phone or tablet
 * (a household's tablet, a shop assistant's phone). The identity graph never merges two known
 * users, so each such sign-in is a conflict: the newcomer stays their own person, the device stays
 * with its owner. Written as ingestion writes them — the newcomer's `$identify` event sent with the
 * device's anonymous id, and an `identity_log` conflict row — so that the demo's identity page and
 * `pulseloop identity conflicts` have something true to show.
 */

/** A member who signed up and used the app: a device owner or a newcomer on someone's device. */
export interface AppMember {
  person: PersonProfile;
  appFirstSeenMs: number;
  signedUpAtMs: number;
  /** The member's last event: a sign-in elsewhere happens while they are still active. */
  lastEventMs: number;
}

/** Share of app members who sign in once on another member's device. */
export const SHARED_DEVICE_SHARE = 0.02;
/** The resolver's words for the case (identity/resolver.ts), which the identity page translates. */
const CONFLICT_REASON = 'two different known users';

/**
 * Plants shared-device sign-ins among one chunk's app members; returns how many. Pairs are drawn
 * within the chunk (households live close together), in member order, so the result depends only
 * on the chunk.
 */
export function plantSharedDevices(
  members: readonly AppMember[],
  rng: Rng,
  world: { projectId: string; endMs: number; chunkIndex: number },
  out: { events: ByteSink; identityLog: ByteSink },
): number {
  let planted = 0;
  if (members.length < 2) return 0;
  for (const newcomer of members) {
    if (!rng.chance(SHARED_DEVICE_SHARE)) continue;
    let owner = members[rng.int(members.length)]!;
    if (owner === newcomer) owner = members[(members.indexOf(owner) + 1) % members.length]!;
    // Once the device exists and the newcomer has an account, within ten days, while the newcomer
    // is still active (a churned member's last event stays their last), never past the end.
    const from = Math.max(owner.appFirstSeenMs, newcomer.signedUpAtMs) + DAY_MS / 24;
    const at = from + rng.int(10 * DAY_MS);
    if (at >= Math.min(world.endMs, newcomer.lastEventMs)) continue;
    const messageId = `m_shared_${world.chunkIndex}_${planted}`;
    const device = owner.person.appAnonymousId;
    writeJsonLine(out.events, {
      project_id: world.projectId,
      message_id: messageId,
      type: 'identify',
      event: '$identify',
      timestamp: at,
      // The app's SDK delivers within seconds.
      received_at: at + 40 + rng.int(2500),
      distinct_id: newcomer.person.userId,
      anonymous_id: device,
      user_id: newcomer.person.userId,
      person_id: newcomer.person.personId,
      session_id: `s_shared_${world.chunkIndex}_${planted}`,
      source_id: 'src_app_sdk',
      platform: 'app',
      properties: identifyTraits(newcomer.person),
    });
    writeJsonLine(out.identityLog, {
      project_id: world.projectId,
      at,
      kind: 'conflict',
      person_id: newcomer.person.personId,
      other_person_id: owner.person.personId,
      distinct_id: newcomer.person.userId,
      other_distinct_id: device,
      reason: CONFLICT_REASON,
      message_id: messageId,
    });
    planted++;
  }
  return planted;
}

function writeJsonLine(sink: ByteSink, row: Record<string, string | number>): void {
  sink.utf8(JSON.stringify(row));
  sink.endLine();
}
