import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendIdentityStory, STORY_T0 as T0 } from '../support/identity-story.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * The identity graph as people see it through the API: a person's ids and how they were joined,
 * and the conflicts the ingestion kept apart, built here by real calls to the collection API.
 */

let t: TestServer;

const api = async (path: string, init?: RequestInit) => {
  const response = await t.api(`/api/v1/projects/${t.projectId}${path}`, init);
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

beforeAll(async () => {
  t = await startTestServer();
  await sendIdentityStory(t);
});
afterAll(() => t.close());

describe('identity conflicts', () => {
  it('lists the conflicts newest first, with both ids, both persons and the reason in both languages', async () => {
    const { status, body } = await api('/identity/conflicts');
    expect(status).toBe(200);
    expect(body.total).toBe(1);
    expect(body.conflicts).toHaveLength(1);
    const [conflict] = body.conflicts;
    expect(conflict).toMatchObject({
      kind: 'conflict',
      at: T0 + 5 * 60_000,
      distinctId: 'u-bob',
      otherDistinctId: 'tablet-1',
      reasonCode: 'user_on_other_known_person',
    });
    expect(conflict.reason).toMatch(/another known user/);
    expect(conflict.reasonZh).toMatch(/另一个已知用户/);
    const bob = await api('/persons/u-bob/identity');
    const alice = await api('/persons/u-alice/identity');
    expect(conflict.personId).toBe(bob.body.personId);
    expect(conflict.otherPersonId).toBe(alice.body.personId);
    expect(bob.body.personId).not.toBe(alice.body.personId);
  });

  it('pages by time and refuses a bad page size with the field named', async () => {
    const first = await api('/identity/conflicts?limit=1');
    const next = await api(`/identity/conflicts?limit=1&before=${first.body.conflicts[0].at}`);
    expect(next.body).toEqual({ conflicts: [], total: 1, open: 1 });
    const bad = await api('/identity/conflicts?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/limit/);
  });
});

describe('a conflict met again', () => {
  it('is one conflict, seen as often as it was met, not a new row in the list each time', async () => {
    const other = await t.newProject('Shared kiosk');
    const send = async (minutes: number, userId: string) =>
      expect(
        (
          await t.collect(
            '/v1/identify',
            { anonymousId: 'kiosk-1', userId, timestamp: new Date(T0 + minutes * 60_000).toISOString() },
            other.writeKey,
          )
        ).status,
      ).toBe(200);
    await send(0, 'u-owner');
    // Another member signs in on the owner's kiosk three times (each a conflict the resolver refuses).
    for (const minutes of [10, 20, 30]) await send(minutes, 'u-guest');
    await t.settle();
    const response = await t.api(`/api/v1/projects/${other.projectId}/identity/conflicts`);
    const body = (await response.json()) as { total: number; conflicts: Record<string, unknown>[] };
    expect(body.total).toBe(1);
    expect(body.conflicts).toHaveLength(1);
    expect(body.conflicts[0]).toMatchObject({
      distinctId: 'u-guest',
      otherDistinctId: 'kiosk-1',
      at: T0 + 30 * 60_000,
      firstAt: T0 + 10 * 60_000,
      times: 3,
    });
    const guest = await t.api(`/api/v1/projects/${other.projectId}/persons/u-guest/identity`);
    const identity = (await guest.json()) as { conflicts: number; history: { times: number }[] };
    expect(identity.conflicts).toBe(1);
    expect(identity.history).toMatchObject([{ times: 3 }]);
  });
});

describe("a person's identity", () => {
  it("shows a known user's ids and the conflict that kept another user off them", async () => {
    const { status, body } = await api('/persons/tablet-1/identity');
    expect(status).toBe(200);
    expect(body.askedFor).toBe('tablet-1');
    expect(body.ids.map((i: { id: string; type: string }) => [i.id, i.type]).sort()).toEqual([
      ['tablet-1', 'anonymous'],
      ['u-alice', 'user'],
    ]);
    expect(body.conflicts).toBe(1);
    expect(body.history.map((h: { kind: string }) => h.kind)).toEqual(['conflict']);
    expect(body.traits).toEqual({});
  });

  it('shows ids joined across platforms with the merge that joined them; a merged-away person id leads there', async () => {
    const { body } = await api('/persons/channels-device/identity');
    const ids = body.ids.map((i: { id: string }) => i.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'mini-device',
        'channels-device',
        'unionid:UNION-7',
        'openid:wechat_channels:o-channels-7',
      ]),
    );
    expect(body.conflicts).toBe(0);
    expect(body.traits).toMatchObject({ nickname: '爱喝茶的鱼' });
    const merges = body.history.filter((h: { kind: string }) => h.kind === 'merge');
    expect(merges).toHaveLength(1);
    expect(merges[0]).toMatchObject({ reasonCode: 'identified', at: T0 + 3 * 60_000 });
    expect(merges[0].personId).toBe(body.personId);

    const absorbed = merges[0].otherPersonId;
    expect(absorbed).not.toBe(body.personId);
    const viaOld = await api(`/persons/${absorbed}/identity`);
    expect(viaOld.status).toBe(200);
    expect(viaOld.body).toMatchObject({ personId: body.personId, mergedFrom: absorbed });
    const viaPerson = await api(`/persons/${body.personId}/identity`);
    expect(viaPerson.body.personId).toBe(body.personId);
    expect(viaPerson.body.mergedFrom).toBeUndefined();
  });

  it("lists a person's events by all its ids, also those sent before a merge under another person id", async () => {
    const { body: person } = await api('/persons/mini-device/identity');
    const { status, body } = await api(`/events?distinct_id=${person.personId}`);
    expect(status).toBe(200);
    const events = body.events as { event: string; distinct_id: string; person_id: string }[];
    const senders = new Set(events.map((e) => e.distinct_id));
    expect(senders).toEqual(new Set(['mini-device', 'channels-device']));
    // One device's events were stored under the person it had before the unionid joined them.
    const storedUnderOther = events.filter((e) => e.person_id !== person.personId);
    expect(storedUnderOther.length).toBeGreaterThan(0);
    // Any of its ids finds the same events.
    const viaOpenid = await api(`/events?distinct_id=${encodeURIComponent('unionid:UNION-7')}`);
    expect(viaOpenid.body.events).toHaveLength(events.length);
  });

  it('finds a person by what support staff have at hand: a phone number, an e-mail, a bare unionid or openid', async () => {
    const { body: person } = await api('/persons/mini-device/identity');
    for (const typed of ['+86 138-0013-8000', ' tea.lover@example.com', 'UNION-7', 'o-channels-7']) {
      const { status, body } = await api(`/persons/${encodeURIComponent(typed)}/identity`);
      expect(status, typed).toBe(200);
      expect(body.personId, typed).toBe(person.personId);
      expect(body.askedFor).toBe(typed);
      expect(person.ids.map((i: { id: string }) => i.id)).toContain(body.matched);
    }
    // Stored as join ids only: the phone number itself is nowhere among the ids.
    const stored = JSON.stringify(person.ids);
    for (const plain of ['13800138000', '0013 8000', 'Tea.Lover', 'tea.lover'])
      expect(stored).not.toContain(plain);
    const other = await api(`/persons/${encodeURIComponent('+86 139 0000 0000')}/identity`);
    expect(other.status).toBe(404);
  });

  it('answers a person with thousands of ids (a bot) with the oldest thousand and the count of all', async () => {
    const batch = Array.from({ length: 1_005 }, (_, i) => ({
      type: 'track',
      event: 'Crawled',
      userId: 'bot-user',
      anonymousId: `bot-device-${i}`,
    }));
    expect((await t.collect('/v1/batch', { batch })).status).toBe(200);
    await t.settle();
    const { status, body } = await api('/persons/bot-device-7/identity');
    expect(status).toBe(200);
    expect(body.ids).toHaveLength(1_000);
    expect(body.idsTotal).toBe(1_006);
  });

  it('answers 404 in both languages for an id the project has never seen, and needs a signed-in reader', async () => {
    const missing = await api('/persons/nobody-123/identity');
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/nobody-123/);
    expect(missing.body.error.message_zh).toMatch(/没有人员或标识/);
    const anonymous = await fetch(`${t.url}/api/v1/projects/${t.projectId}/persons/u-alice/identity`);
    expect(anonymous.status).toBe(401);
    const other = await t.newProject('Other brand');
    const elsewhere = await t.api(`/api/v1/projects/${other.projectId}/persons/u-alice/identity`);
    expect(elsewhere.status).toBe(404);
  });
});

describe('deciding about a conflict', () => {
  const decide = (body: unknown) =>
    api('/identity/conflicts/decision', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('takes a conflict decided "kept apart" off the open list, keeps it in the full one, and can reopen it', async () => {
    expect((await api('/identity/conflicts?status=open')).body).toMatchObject({ total: 1, open: 1 });
    const kept = await decide({ distinctId: 'u-bob', otherDistinctId: 'tablet-1', decision: 'kept_apart' });
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({
      decision: 'kept_apart',
      reference: expect.stringMatching(/^conflict-decision:/),
    });

    const open = await api('/identity/conflicts?status=open');
    expect(open.body).toEqual({ conflicts: [], total: 1, open: 0 });
    const all = await api('/identity/conflicts');
    expect(all.body.conflicts[0]).toMatchObject({
      distinctId: 'u-bob',
      decision: 'kept_apart',
      decidedAt: kept.body.decidedAt,
      mergedSince: false,
    });
    const bob = await api('/persons/u-bob/identity');
    expect(bob.body.history.find((h: { kind: string }) => h.kind === 'conflict')).toMatchObject({
      decision: 'kept_apart',
    });
    const audit = await t.api(`/api/v1/projects/${t.projectId}/audit?action=conflict.decide`);
    const text = await audit.text();
    expect(JSON.parse(text).entries[0].details).toMatchObject({
      decision: 'kept_apart',
      reference: kept.body.reference,
    });
    expect(text).not.toContain('u-bob');

    expect(
      (await decide({ distinctId: 'u-bob', otherDistinctId: 'tablet-1', decision: 'open' })).status,
    ).toBe(200);
    const reopened = await api('/identity/conflicts?status=open');
    expect(reopened.body.open).toBe(1);
    expect(reopened.body.conflicts[0].decision).toBeUndefined();
  });

  it('refuses a pair that is no conflict, an unknown decision and an unknown list, naming the problem', async () => {
    const none = await decide({ distinctId: 'tablet-1', otherDistinctId: 'u-bob', decision: 'kept_apart' });
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('conflict_not_found');
    expect(none.body.error.message_zh).toMatch(/没有.*冲突/);
    const bad = await decide({ distinctId: 'u-bob', otherDistinctId: 'tablet-1', decision: 'ignore' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/decision/);
    const list = await api('/identity/conflicts?status=closed');
    expect(list.status).toBe(400);
    expect(list.body.error.message).toMatch(/status/);
  });
});
