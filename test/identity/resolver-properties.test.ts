import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createIdentityResolver,
  type DistinctId,
  type IdentityChanges,
  type IdentityResolver,
} from '../../src/identity/resolver.js';

/**
 * The identity resolver against random message sequences over a few ids (so that they meet often):
 * shared devices, accounts sharing a unionid or a phone, aliases and merges by hand, in any order.
 * What must hold after every step:
 * - the graph is consistent: every id points to a person that lists it;
 * - the call belongs to its sender: the user id's person, else the anonymous id's;
 * - two user ids share a person only if an alias or a merge by hand joined them (never silently);
 * - the rows written so far, read back as the store keeps them (the latest version of each id and
 *   person, deleted ones left out) and loaded into a new resolver — what a restart does — give the
 *   same persons and the same traits.
 */

const USERS = ['u1', 'u2', 'u3', 'u4'];
const DEVICES = ['a1', 'a2', 'a3', 'a4', 'a5'];
const LINKED: DistinctId[] = [
  { id: 'unionid:X', type: 'unionid' },
  { id: 'unionid:Y', type: 'unionid' },
  { id: 'phone:P', type: 'phone_hash' },
  { id: 'openid:wechat_miniprogram:o1', type: 'openid' },
];

type Step =
  | {
      kind: 'message';
      userId?: string;
      anonymousId?: string;
      linked: DistinctId[];
      traits?: Record<string, number>;
      previousId?: string;
    }
  | { kind: 'merge'; a: string; b: string };

const messageStep = fc
  .record({
    userId: fc.option(fc.constantFrom(...USERS), { nil: undefined }),
    anonymousId: fc.option(fc.constantFrom(...DEVICES), { nil: undefined }),
    linked: fc.subarray(LINKED, { maxLength: 2 }),
    traits: fc.option(fc.dictionary(fc.constantFrom('tier', 'city', 'age'), fc.integer({ min: 0, max: 9 })), {
      nil: undefined,
    }),
    previousId: fc.option(fc.constantFrom(...USERS, ...DEVICES), { freq: 5, nil: undefined }),
  })
  .filter((m) => m.userId !== undefined || m.anonymousId !== undefined)
  // An alias names a previous id and the user id it becomes.
  .map((m): Step => {
    const step: Step = { kind: 'message', linked: m.linked };
    if (m.userId !== undefined) step.userId = m.userId;
    if (m.anonymousId !== undefined) step.anonymousId = m.anonymousId;
    if (m.traits !== undefined) step.traits = m.traits;
    if (m.previousId !== undefined && m.userId !== undefined) step.previousId = m.previousId;
    return step;
  });
const mergeStep = fc
  .record({ a: fc.constantFrom(...USERS, ...DEVICES), b: fc.constantFrom(...USERS, ...DEVICES) })
  .map((m): Step => ({ kind: 'merge', ...m }));
const steps = fc.array(fc.oneof({ arbitrary: messageStep, weight: 9 }, { arbitrary: mergeStep, weight: 1 }), {
  minLength: 1,
  maxLength: 40,
});

/** Union-find over user ids an alias or a merge by hand joined. */
class Joined {
  private readonly parent = new Map<string, string>();
  find(x: string): string {
    const p = this.parent.get(x);
    if (p === undefined || p === x) return x;
    const root = this.find(p);
    this.parent.set(x, root);
    return root;
  }
  join(a: string, b: string): void {
    this.parent.set(this.find(a), this.find(b));
  }
}

/** The store as ReplacingMergeTree … FINAL reads it: the latest version of each key. */
class StoreImage {
  readonly identities = new Map<string, { person: string; type: DistinctId['type']; version: number }>();
  readonly persons = new Map<
    string,
    { traits: string; deleted: boolean; version: number; createdAt: number }
  >();
  add(changes: IdentityChanges): void {
    for (const r of changes.identities) {
      const seen = this.identities.get(r.distinct_id);
      if (!seen || r.version > seen.version)
        this.identities.set(r.distinct_id, {
          person: r.person_id,
          type: r.id_type as DistinctId['type'],
          version: r.version,
        });
    }
    for (const r of changes.persons) {
      const seen = this.persons.get(r.person_id);
      if (!seen || r.version > seen.version)
        this.persons.set(r.person_id, {
          traits: r.traits,
          deleted: r.is_deleted === 1,
          version: r.version,
          createdAt: r.created_at,
        });
    }
  }
  /** A new resolver loaded from this image, as loadIdentityGraph loads one at start. */
  load(): IdentityResolver {
    const resolver = createIdentityResolver();
    for (const [id, r] of [...this.identities].sort(([a], [b]) => (a < b ? -1 : 1)))
      resolver.restoreIdentity('proj', id, r.type, r.person, r.version);
    for (const [personId, r] of this.persons)
      if (!r.deleted) resolver.restorePerson('proj', personId, JSON.parse(r.traits), r.createdAt);
    return resolver;
  }
}

const ALL_IDS = [...USERS, ...DEVICES, ...LINKED.map((l) => l.id)];

function checkGraph(r: IdentityResolver, joined: Joined): void {
  const personOf = new Map<string, string>();
  for (const id of ALL_IDS) {
    const person = r.personOf('proj', id);
    if (person === undefined) continue;
    personOf.set(id, person);
    // The person is current (a person id leads to itself).
    expect(r.currentPerson('proj', person), `person of ${id}`).toBe(person);
  }
  // User ids sharing a person were joined by an alias or a merge by hand.
  for (const a of USERS)
    for (const b of USERS) {
      if (a < b && personOf.get(a) !== undefined && personOf.get(a) === personOf.get(b)) {
        expect(joined.find(a), `${a} and ${b} share a person`).toBe(joined.find(b));
      }
    }
}

describe('identity resolver, random message sequences', () => {
  it('keeps the graph consistent, calls with their senders, known users apart, and restarts to the same graph', () => {
    fc.assert(
      fc.property(steps, (sequence) => {
        let n = 0;
        const r = createIdentityResolver(() => `p${++n}`);
        const joined = new Joined();
        const store = new StoreImage();
        let at = 1_700_000_000_000;
        for (const step of sequence) {
          at += 1000;
          if (step.kind === 'merge') {
            const into = r.currentPerson('proj', step.a);
            const from = r.currentPerson('proj', step.b);
            if (!into || !from || into === from) continue;
            const usersBefore = USERS.filter((u) => [into, from].includes(r.personOf('proj', u) ?? ''));
            store.add(
              r.mergePersons({
                projectId: 'proj',
                intoPersonId: into,
                fromPersonId: from,
                intoId: step.a,
                fromId: step.b,
                at,
                messageId: `merge-${at}`,
              }),
            );
            for (const u of usersBefore) joined.join(u, usersBefore[0]!);
          } else {
            if (
              step.previousId !== undefined &&
              step.userId !== undefined &&
              USERS.includes(step.previousId)
            ) {
              joined.join(step.previousId, step.userId);
            }
            const changes = r.resolve({
              projectId: 'proj',
              messageId: `m-${at}`,
              at,
              ...(step.userId !== undefined && { userId: step.userId }),
              ...(step.anonymousId !== undefined && { anonymousId: step.anonymousId }),
              ...(step.previousId !== undefined && { previousId: step.previousId }),
              ...(step.traits !== undefined && { traits: step.traits }),
              linkedIds: step.linked,
            });
            store.add(changes);
            const sender = step.userId ?? step.anonymousId!;
            expect(changes.personId, `sender ${sender}`).toBe(r.personOf('proj', sender));
            if (step.traits && Object.keys(step.traits).length > 0) {
              expect(r.traitsOf('proj', changes.personId)).toMatchObject(step.traits);
            }
          }
          checkGraph(r, joined);
        }
        // A restart: the rows written, read back as the store keeps them.
        const restarted = store.load();
        for (const id of ALL_IDS) {
          const person = r.personOf('proj', id);
          expect(restarted.personOf('proj', id), `${id} after a restart`).toBe(person);
          if (person)
            expect(restarted.traitsOf('proj', person), `traits of ${id}`).toEqual(r.traitsOf('proj', person));
        }
      }),
      { numRuns: 400 },
    );
  });
});
