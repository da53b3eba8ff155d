import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IDENTITY_REASONS } from '../../src/identity/inspect.js';
import { linkedIdsOf } from '../../src/identity/linked-ids.js';
import {
  createIdentityResolver,
  type IdentityInput,
  loadIdentityGraph,
} from '../../src/identity/resolver.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import { recordingAnswerSizes } from '../support/answer-sizes.js';

function resolverWithCounter() {
  let n = 0;
  return createIdentityResolver(() => `p${++n}`);
}

const base = (fields: Partial<IdentityInput>): IdentityInput => ({
  projectId: 'proj',
  messageId: `m${Math.random()}`,
  at: 1_700_000_000_000,
  ...fields,
});

describe('identity resolution', () => {
  it('gives a new anonymous visitor a person of their own', () => {
    const r = resolverWithCounter();
    const changes = r.resolve(base({ anonymousId: 'a1' }));
    expect(changes.personId).toBe('p1');
    expect(changes.identities.map((i) => [i.distinct_id, i.id_type, i.person_id])).toEqual([
      ['a1', 'anonymous', 'p1'],
    ]);
    expect(changes.persons).toHaveLength(1);
  });

  it('keeps a returning visitor on the same person without writing anything', () => {
    const r = resolverWithCounter();
    r.resolve(base({ anonymousId: 'a1' }));
    const again = r.resolve(base({ anonymousId: 'a1' }));
    expect(again.personId).toBe('p1');
    expect(again.identities).toEqual([]);
    expect(again.persons).toEqual([]);
  });

  it('joins an anonymous id to the user id it identifies as, keeping the earlier person', () => {
    const r = resolverWithCounter();
    r.resolve(base({ anonymousId: 'a1' }));
    const changes = r.resolve(base({ anonymousId: 'a1', userId: 'u1', traits: { name: 'Li' } }));
    expect(changes.personId).toBe('p1');
    expect(r.personOf('proj', 'u1')).toBe('p1');
    expect(r.traitsOf('proj', 'p1')).toEqual({ name: 'Li' });
  });

  it('merges an anonymous-only person into the known user it meets and records the merge', () => {
    const r = resolverWithCounter();
    r.resolve(base({ userId: 'u1' })); // p1
    r.resolve(base({ anonymousId: 'phone-device' })); // p2
    const changes = r.resolve(base({ anonymousId: 'phone-device', userId: 'u1' }));
    expect(changes.personId).toBe('p1');
    expect(r.personOf('proj', 'phone-device')).toBe('p1');
    expect(changes.log).toMatchObject([{ kind: 'merge', person_id: 'p1', other_person_id: 'p2' }]);
    expect(changes.persons.find((p) => p.person_id === 'p2')?.is_deleted).toBe(1);
  });

  it('moves every id of a person that collected many (a shared device) when it merges, and keeps the user ids', () => {
    const r = resolverWithCounter();
    r.resolve(base({ userId: 'u1', anonymousId: 'phone' })); // p1
    // p2: one anonymous id, then 40 platform ids, more than a short list holds.
    for (let i = 0; i < 40; i++) {
      r.resolve(base({ anonymousId: 'tablet', linkedIds: [{ id: `open-${i}`, type: 'openid' }] }));
    }
    expect(r.personOf('proj', 'open-39')).toBe('p2');
    const changes = r.resolve(base({ anonymousId: 'tablet', userId: 'u1' }));
    expect(changes.log).toMatchObject([{ kind: 'merge', person_id: 'p1', other_person_id: 'p2' }]);
    const moved = changes.identities
      .filter((i) => i.person_id === 'p1')
      .map((i) => [i.distinct_id, i.id_type]);
    expect(moved).toHaveLength(41);
    expect(moved).toContainEqual(['open-3', 'openid']);
    expect(moved).toContainEqual(['tablet', 'anonymous']);
    for (let i = 0; i < 40; i++) expect(r.personOf('proj', `open-${i}`)).toBe('p1');
    // A second user id on the merged person is still a conflict, not a merge.
    const other = r.resolve(base({ userId: 'u2', anonymousId: 'open-7' }));
    expect(other.log).toMatchObject([{ kind: 'conflict' }]);
    expect(r.personOf('proj', 'open-7')).toBe('p1');
  });

  it('never merges two different known users: the conflict is recorded and both stay apart', () => {
    const r = resolverWithCounter();
    r.resolve(base({ userId: 'u1', anonymousId: 'shared-tablet' })); // p1
    const changes = r.resolve(base({ userId: 'u2', anonymousId: 'shared-tablet' }));
    expect(r.personOf('proj', 'u1')).toBe('p1');
    expect(r.personOf('proj', 'u2')).not.toBe('p1');
    expect(changes.personId).toBe(r.personOf('proj', 'u2'));
    expect(changes.log.map((l) => l.kind)).toEqual(['conflict']);
  });

  it("gives an identify's traits to its sender, not to the other known user of a shared device", () => {
    const r = resolverWithCounter();
    r.resolve(base({ userId: 'u1', anonymousId: 'shared-tablet', traits: { name: 'Alice' } }));
    r.resolve(base({ userId: 'u2', anonymousId: 'shared-tablet', traits: { name: 'Bob', city: '杭州' } }));
    expect(r.traitsOf('proj', r.personOf('proj', 'u1')!)).toEqual({ name: 'Alice' });
    expect(r.traitsOf('proj', r.personOf('proj', 'u2')!)).toEqual({ name: 'Bob', city: '杭州' });
  });

  it("links ids nobody has seen yet to the sender's own person when the message's known id is another user's", () => {
    const r = resolverWithCounter();
    r.resolve(
      base({ userId: 'shop-1', anonymousId: 'web-1', linkedIds: [{ id: 'phone:x', type: 'phone_hash' }] }),
    ); // p1
    // A second account with the same phone, from a device never seen: a conflict over the phone…
    const changes = r.resolve(
      base({ userId: 'app-1', anonymousId: 'app-dev-1', linkedIds: [{ id: 'phone:x', type: 'phone_hash' }] }),
    );
    expect(changes.log.map((l) => [l.kind, l.reason])).toEqual([
      ['conflict', 'contact already belongs to a different known user'],
    ]);
    // …and the new device is the app account's, not the web-shop account's.
    expect(r.personOf('proj', 'app-dev-1')).toBe(r.personOf('proj', 'app-1'));
    expect(r.personOf('proj', 'phone:x')).toBe('p1');
    expect(r.personOf('proj', 'app-1')).not.toBe('p1');
  });

  it('says which kind of id the two known users shared: a device, a contact or a platform account', () => {
    const r = resolverWithCounter();
    r.resolve(
      base({ userId: 'mum', anonymousId: 'tablet', linkedIds: [{ id: 'unionid:U', type: 'unionid' }] }),
    );
    const reasonOf = (changes: { log: readonly { reason: string }[] }) => changes.log.map((l) => l.reason);
    expect(reasonOf(r.resolve(base({ userId: 'son', anonymousId: 'tablet' })))).toEqual([
      'id already belongs to a different known user',
    ]);
    expect(
      reasonOf(r.resolve(base({ userId: 'aunt', linkedIds: [{ id: 'unionid:U', type: 'unionid' }] }))),
    ).toEqual(['platform id already belongs to a different known user']);
    const contact = r.resolve(base({ userId: 'dad', linkedIds: [{ id: 'phone:M', type: 'phone_hash' }] }));
    expect(contact.log).toEqual([]);
    const shared = r.resolve(base({ userId: 'nephew', linkedIds: [{ id: 'phone:M', type: 'phone_hash' }] }));
    expect(reasonOf(shared)).toEqual(['contact already belongs to a different known user']);
    // Each is worded, with its code, for the lists and the person's history.
    expect(
      [...reasonOf(shared), 'platform id already belongs to a different known user'].map(
        (reason) => IDENTITY_REASONS[reason]?.code,
      ),
    ).toEqual(['user_with_other_users_contact', 'user_with_other_users_platform_id']);
  });

  it('links a new id to the person an earlier id of the same message was merged into', () => {
    const r = resolverWithCounter();
    r.resolve(base({ userId: 'member-1', linkedIds: [{ id: 'unionid:U1', type: 'unionid' }] })); // p1
    r.resolve(base({ anonymousId: 'mini-device' })); // p2
    // The device identifies with the member's unionid and an openid never seen: all of it is p1's.
    const changes = r.resolve(
      base({
        anonymousId: 'mini-device',
        linkedIds: [
          { id: 'unionid:U1', type: 'unionid' },
          { id: 'openid:wechat_miniprogram:o-1', type: 'openid' },
        ],
      }),
    );
    expect(changes.personId).toBe('p1');
    expect(r.personOf('proj', 'mini-device')).toBe('p1');
    expect(r.personOf('proj', 'openid:wechat_miniprogram:o-1')).toBe('p1');
    expect(changes.identities.every((i) => i.person_id === 'p1')).toBe(true);
  });

  it('merges two known users on request: ids, traits (the kept one wins), a log row, the other deleted', () => {
    const r = resolverWithCounter();
    r.resolve(base({ userId: 'shop-1', anonymousId: 'web-1', traits: { tier: 'gold' } })); // p1
    r.resolve(base({ userId: 'app-1', anonymousId: 'app-dev-1', traits: { tier: 'silver', city: '杭州' } })); // p2
    const changes = r.mergePersons({
      projectId: 'proj',
      intoPersonId: 'p1',
      fromPersonId: 'p2',
      intoId: 'shop-1',
      fromId: 'app-1',
      at: 1_700_000_100_000,
      messageId: 'manual-merge:1',
    });
    expect(changes.personId).toBe('p1');
    for (const id of ['shop-1', 'web-1', 'app-1', 'app-dev-1']) expect(r.personOf('proj', id)).toBe('p1');
    expect(changes.identities.map((i) => [i.distinct_id, i.person_id]).sort()).toEqual([
      ['app-1', 'p1'],
      ['app-dev-1', 'p1'],
    ]);
    expect(changes.log).toMatchObject([
      {
        kind: 'merge',
        person_id: 'p1',
        other_person_id: 'p2',
        reason: 'merged by hand',
        message_id: 'manual-merge:1',
      },
    ]);
    expect(changes.persons.map((p) => [p.person_id, p.is_deleted]).sort()).toEqual([
      ['p1', 0],
      ['p2', 1],
    ]);
    expect(r.traitsOf('proj', 'p1')).toEqual({ tier: 'gold', city: '杭州' });
    expect(r.currentPerson('proj', 'p2')).toBeUndefined();
    expect(r.currentPerson('proj', 'app-1')).toBe('p1');
    // Both user ids now send as one person, with nothing more to record.
    expect(r.resolve(base({ userId: 'app-1', anonymousId: 'web-1' }))).toMatchObject({
      personId: 'p1',
      log: [],
    });
    expect(() =>
      r.mergePersons({
        projectId: 'proj',
        intoPersonId: 'p1',
        fromPersonId: 'p1',
        intoId: 'a',
        fromId: 'b',
        at: 0,
        messageId: 'x',
      }),
    ).toThrow(/two different current persons/);
  });

  it('renames a user id through alias, keeping the same person', () => {
    const r = resolverWithCounter();
    r.resolve(base({ userId: 'old-id', anonymousId: 'a' }));
    const changes = r.resolve(base({ userId: 'new-id', previousId: 'old-id' }));
    expect(changes.personId).toBe('p1');
    expect(r.personOf('proj', 'new-id')).toBe('p1');
    expect(changes.log).toEqual([]);
  });

  it("merges through alias when the previous id is the other person's only user id, and records it", () => {
    const r = resolverWithCounter();
    r.resolve(base({ userId: 'u1' }));
    r.resolve(base({ userId: 'u2' }));
    const changes = r.resolve(base({ userId: 'u2', previousId: 'u1' }));
    expect(changes.log.map((l) => l.kind)).toEqual(['merge']);
    expect(r.personOf('proj', 'u1')).toBe(r.personOf('proj', 'u2'));
  });

  it("gives an alias's previous id to the user it names, also when the message's other ids lead to another known user", () => {
    const r = resolverWithCounter();
    r.resolve(base({ userId: 'u1', linkedIds: [{ id: 'phone:P', type: 'phone_hash' }] })); // p1
    r.resolve(base({ anonymousId: 'guest-7' })); // p2
    // alias(guest-7 → u4) with u1's phone: u4 is kept apart from u1, and guest-7 becomes u4's.
    const changes = r.resolve(
      base({ userId: 'u4', previousId: 'guest-7', linkedIds: [{ id: 'phone:P', type: 'phone_hash' }] }),
    );
    expect(changes.log.map((l) => [l.kind, l.reason])).toEqual([
      ['conflict', 'contact already belongs to a different known user'],
      ['merge', 'alias'],
    ]);
    expect(r.personOf('proj', 'guest-7')).toBe(r.personOf('proj', 'u4'));
    expect(r.personOf('proj', 'u4')).not.toBe(r.personOf('proj', 'u1'));
    // A previous id never seen goes with the user too.
    r.resolve(
      base({ userId: 'u5', previousId: 'guest-8', linkedIds: [{ id: 'phone:P', type: 'phone_hash' }] }),
    );
    expect(r.personOf('proj', 'guest-8')).toBe(r.personOf('proj', 'u5'));
  });

  it('records a conflict instead of merging when an alias would join two persons with other user ids', () => {
    const r = resolverWithCounter();
    r.resolve(base({ userId: 'u1' }));
    r.resolve(base({ userId: 'u1-renamed', previousId: 'u1' })); // p1 now holds two user ids
    r.resolve(base({ userId: 'u2' }));
    const changes = r.resolve(base({ userId: 'u2', previousId: 'u1-renamed' }));
    expect(changes.log.map((l) => l.kind)).toEqual(['conflict']);
    expect(r.personOf('proj', 'u1')).not.toBe(r.personOf('proj', 'u2'));
  });

  it('merges persons across platforms through a shared unionid', () => {
    const r = resolverWithCounter();
    const wechatMiniProgram = linkedIdsOf(
      { unionid: 'UNION-1', openid: 'o-mini', platform: 'wechat_miniprogram' },
      {},
    );
    const wechatChannels = linkedIdsOf(
      { unionid: 'UNION-1', openid: 'o-channels', platform: 'wechat_channels' },
      {},
    );
    r.resolve(base({ anonymousId: 'mini-device', linkedIds: wechatMiniProgram }));
    r.resolve(base({ anonymousId: 'channels-device', linkedIds: wechatChannels }));
    expect(r.personOf('proj', 'mini-device')).toBe(r.personOf('proj', 'channels-device'));
  });

  it('hashes phone numbers and e-mails so the plain value is never an id', () => {
    const ids = linkedIdsOf({ phone: '+86 138-0013-8000', email: 'Li@Example.com' }, {});
    expect(ids.map((i) => i.type).sort()).toEqual(['email_hash', 'phone_hash']);
    expect(JSON.stringify(ids)).not.toContain('13800138000');
    expect(JSON.stringify(ids)).not.toContain('example.com');
    expect(linkedIdsOf({ email: ' li@example.com ' }, {})).toEqual(
      linkedIdsOf({ email: 'LI@EXAMPLE.COM' }, {}),
    );
  });

  it('gives only keyed contact ids under a key, and the unkeyed ones too only while moving over', () => {
    const keyed = (kind: 'phone' | 'email', value: string) => `${kind}_k:${value.length}`;
    const traits = { phone: '13800138000', email: 'li@example.com' };
    const context = { externalIds: [{ id: '13900139000', type: 'phone', collection: 'users' }] };
    const only = linkedIdsOf(traits, context, { keyed }).map((i) => i.id);
    expect(only.sort()).toEqual(['email_k:14', 'phone_k:11']);
    const both = linkedIdsOf(traits, context, { keyed, keepUnkeyed: true }).map((i) => i.id);
    expect(both.filter((id) => id.startsWith('phone:'))).toHaveLength(2);
    expect(both.filter((id) => id.startsWith('email:'))).toHaveLength(1);
    expect(both).toEqual(expect.arrayContaining(only));
  });

  it('keeps traits with their latest values', () => {
    const r = resolverWithCounter();
    r.resolve(base({ userId: 'u1', traits: { city: '上海', tier: 'gold' } }));
    r.resolve(base({ userId: 'u1', traits: { city: '杭州' } }));
    expect(r.traitsOf('proj', 'p1')).toEqual({ city: '杭州', tier: 'gold' });
  });

  it('keeps projects apart', () => {
    const r = resolverWithCounter();
    r.resolve(base({ userId: 'u1' }));
    r.resolve({ ...base({ userId: 'u1' }), projectId: 'other' });
    expect(r.personOf('proj', 'u1')).not.toBe(r.personOf('other', 'u1'));
  });

  it('writes identity versions that only grow, so the latest mapping wins in the store', () => {
    const r = resolverWithCounter();
    const first = r.resolve(base({ anonymousId: 'a' }));
    const second = r.resolve(base({ anonymousId: 'a', userId: 'u', at: 1_600_000_000_000 }));
    const versions = [...first.identities, ...second.identities].map((i) => i.version);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
  });
});

describe('the identity graph after a restart', () => {
  it('is loaded page by page with the latest version of each id and person, deleted ones left out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulseloop-graph-load-'));
    const engine = await openChdbEngine(join(dir, 'facts'), 'graph_load');
    try {
      await migrateFacts(engine);
      // 300,000 ids of 150,000 persons in two projects; then id 7 moves to person 1 (a later version),
      // id 8 and person 9 are erased.
      await engine.command(
        `INSERT INTO identities (project_id, distinct_id, id_type, person_id, version, updated_at)
         SELECT 'p' || toString(number % 2), 'd-' || toString(number), 'anonymous', 'person-' || toString(intDiv(number, 2)), 1, now64(3)
         FROM numbers(300000)`,
      );
      await engine.command(
        `INSERT INTO persons (project_id, person_id, traits, created_at, updated_at, version)
         SELECT 'p' || toString(number % 2), 'person-' || toString(number), '{"n":' || toString(number) || '}', now64(3), now64(3), 1
         FROM numbers(150000)`,
      );
      await engine.insertJsonEachRow(
        'identities',
        `${JSON.stringify({ project_id: 'p1', distinct_id: 'd-7', id_type: 'user', person_id: 'person-1', version: 2 })}\n` +
          `${JSON.stringify({ project_id: 'p0', distinct_id: 'd-8', id_type: 'anonymous', person_id: 'person-4', version: 2, is_deleted: 1 })}\n`,
      );
      await engine.insertJsonEachRow(
        'persons',
        `${JSON.stringify({ project_id: 'p1', person_id: 'person-9', traits: '{}', version: 2, is_deleted: 1 })}\n`,
      );
      const recorded = recordingAnswerSizes(engine);
      const resolver = createIdentityResolver();
      expect(await loadIdentityGraph(resolver, recorded.engine)).toEqual({
        identities: 299_999,
        persons: 149_999,
      });
      expect(recorded.largestAnswer()).toBeLessThanOrEqual(250_000);
      expect(resolver.personOf('p0', 'd-0')).toBe('person-0');
      expect(resolver.personOf('p1', 'd-299999')).toBe('person-149999');
      expect(resolver.personOf('p1', 'd-7')).toBe('person-1');
      expect(resolver.personOf('p0', 'd-8')).toBeUndefined();
      expect(resolver.traitsOf('p0', 'person-149998')).toEqual({ n: 149_998 });
      // The erased person's traits are not restored (its ids still name it, as before).
      expect(resolver.traitsOf('p1', 'person-9')).toEqual({});
    } finally {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
