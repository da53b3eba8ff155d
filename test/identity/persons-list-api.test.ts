import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/govern/tokens.js';
import { createUser, setProjectRole } from '../../src/govern/users.js';
import type { ListedPerson } from '../../src/identity/persons-list.js';
import { sendIdentityStory, storyAt } from '../support/identity-story.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * The persons a project saw in a period, as the People page lists them before any lookup: built by
 * real calls to the collection API (the identity story: a shared tablet with Alice and Bob, one
 * WeChat user on two devices merged by the unionid), read back through the API.
 */

let t: TestServer;
let analystToken: string;

const list = async (query: string, token?: string) => {
  const path = `/api/v1/projects/${t.projectId}/persons?${query}`;
  const response = token
    ? await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${token}` } })
    : await t.api(path);
  // biome-ignore lint/suspicious/noExplicitAny: error bodies are checked field by field
  return { status: response.status, body: (await response.json()) as any };
};
const DAY = 'from=2026-11-20&to=2026-11-20';

beforeAll(async () => {
  t = await startTestServer();
  await sendIdentityStory(t);
  const user = await createUser(t.server.metadata, {
    email: 'analyst@list.example.com',
    password: 'pw-123456789',
  });
  await setProjectRole(t.server.metadata, t.projectId, user.id, 'analyst');
  analystToken = (
    await createApiToken(t.server.metadata, {
      userId: user.id,
      projectId: t.projectId,
      role: 'analyst',
      readOnly: true,
      name: 'analyst',
    })
  ).token;
});
afterAll(() => t.close());

describe('the persons of a period', () => {
  it('lists each person once, most recently seen first, a merged user with the events of both devices', async () => {
    const { status, body } = await list(DAY);
    expect(status).toBe(200);
    expect(body.total).toBe(3);
    const [bob, wechat, alice] = body.persons as ListedPerson[];
    // Bob signed in last (minute 5), the WeChat user at minute 3, Alice at minute 1.
    expect(bob).toMatchObject({ userIds: ['u-bob'], events: 1, lastSeen: Date.parse(storyAt(5)) });
    expect(alice).toMatchObject({
      userIds: ['u-alice'],
      events: 2,
      firstSeen: Date.parse(storyAt(0)),
      lastSeen: Date.parse(storyAt(1)),
      // Her user id and the tablet: Bob's sign-in on it did not take it.
      idsTotal: 2,
    });
    // The mini program's and Channels' events are one person's, the screen before the identify too.
    expect(wechat).toMatchObject({ userIds: [], events: 3, firstSeen: Date.parse(storyAt(2)) });
    expect(wechat!.idsTotal).toBeGreaterThanOrEqual(5);
    expect(wechat!.traits.nickname).toBe('爱喝茶的鱼');
    // Each is the person its lookup finds.
    for (const person of [bob, wechat, alice]) {
      const identity = await t.api(`/api/v1/projects/${t.projectId}/persons/${person!.personId}/identity`);
      expect(identity.status).toBe(200);
    }
  });

  it('puts the most active first when asked, and pages with the total kept', async () => {
    const { body } = await list(`${DAY}&sort=events`);
    expect((body.persons as ListedPerson[]).map((p) => p.events)).toEqual([3, 2, 1]);
    const second = await list(`${DAY}&sort=events&limit=1&offset=1`);
    expect(second.body.total).toBe(3);
    expect(second.body.persons.map((p: ListedPerson) => p.personId)).toEqual([body.persons[1].personId]);
    // A page past the end is empty but still says how many there are.
    const past = await list(`${DAY}&limit=2&offset=10`);
    expect(past.body).toEqual({ total: 3, persons: [] });
  });

  it('keeps to the period and the platforms asked for', async () => {
    const before = await list('from=2026-11-19&to=2026-11-19');
    expect(before.body).toEqual({ total: 0, persons: [] });
    // A platform nobody in the story used.
    const douyin = await list(`${DAY}&platform=douyin`);
    expect(douyin.body.total).toBe(0);
    const all = await list(DAY);
    const platforms = [...new Set((all.body.persons as ListedPerson[]).flatMap((p) => p.platforms))];
    const narrowed = await list(`${DAY}&platform=${platforms.join(',')}`);
    expect(narrowed.body.total).toBe(3);
  });

  it('narrows to the persons who did an event, counted and dated by it', async () => {
    const identified = await list(`${DAY}&event=$identify&sort=events`);
    expect(identified.body.total).toBe(3);
    // The WeChat user identified on both devices; Alice and Bob once each.
    expect((identified.body.persons as ListedPerson[]).map((p) => p.events)).toEqual([2, 1, 1]);
    const pageViews = await list(`${DAY}&event=$pageview`);
    expect(pageViews.body.persons.map((p: ListedPerson) => [p.userIds, p.events, p.lastSeen])).toEqual([
      [['u-alice'], 1, Date.parse(storyAt(0))],
    ]);
    expect((await list(`${DAY}&event=never_sent`)).body).toEqual({ total: 0, persons: [] });
  });

  it('masks PII traits for a role without pii.read, as the profile does', async () => {
    const owner = (await list(DAY)).body.persons.find((p: ListedPerson) => p.traits.nickname);
    const analyst = (await list(DAY, analystToken)).body.persons.find((p: ListedPerson) => p.traits.nickname);
    expect(owner.traits.phone).toBe('+86 138 0013 8000');
    expect(analyst.traits.phone).not.toContain('0013 8000');
    expect(analyst.traits.email).not.toBe(owner.traits.email);
  });

  it('drops an erased person from the list at once, also from a list read just before, and only that person', async () => {
    const before = await list(DAY);
    expect(before.body.persons.map((p: ListedPerson) => p.userIds[0])).toContain('u-bob');
    const erased = await t.api(`/api/v1/projects/${t.projectId}/persons/u-bob`, { method: 'DELETE' });
    expect(erased.status).toBe(200);
    const after = await list(DAY);
    expect(after.body.total).toBe(before.body.total - 1);
    expect(JSON.stringify(after.body)).not.toContain('u-bob');
    // Alice, whose tablet Bob signed in on, keeps both her events.
    expect(after.body.persons.find((p: ListedPerson) => p.userIds[0] === 'u-alice')?.events).toBe(2);
  });

  it('refuses a missing or bad period, sort, page size or offset, naming the parameter in both languages', async () => {
    for (const [query, field] of [
      ['to=2026-11-20', 'from'],
      ['from=2026-11-20&to=2026-11-32', 'to'],
      ['from=2026-11-21&to=2026-11-20', 'from'],
      [`${DAY}&sort=name`, 'sort'],
      [`${DAY}&limit=500`, 'limit'],
      [`${DAY}&offset=-1`, 'offset'],
      [`${DAY}&event=${'x'.repeat(201)}`, 'event'],
    ] as const) {
      const { status, body } = await list(query);
      expect(status, query).toBe(400);
      expect(body.error.code, query).toBe('invalid_query');
      expect(body.error.message, query).toContain(field);
      expect(body.error.message_zh, query).toBeTruthy();
    }
  });
});
