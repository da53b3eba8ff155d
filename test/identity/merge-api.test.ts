import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * Merging by hand two persons the resolver kept apart: one shopper signed in to the web shop as
 * `shop-88` and to the app as `app-88`, both with the same phone number. The resolver never merges
 * two known users on its own (a conflict); the brand knows they are one and merges them through the
 * API. Everything after must see one person: the identity, every analysis, new events, a restart.
 */

let t: TestServer;
const PHONE = '+86 139 1111 2222';
const T0 = Date.parse('2026-11-21T09:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const DAY = at(0).slice(0, 10);

const api = async (path: string, init?: RequestInit) => {
  const response = await t.api(`/api/v1/projects/${t.projectId}${path}`, init);
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};
/** POSTs `body` (JSON, or text sent as it is). */
const post = (path: string, body: unknown) =>
  api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const merge = (body: unknown) => post('/persons/merge', body);
const send = async (path: string, body: Record<string, unknown>) =>
  expect((await t.collect(path, body)).status).toBe(200);

/** Distinct persons with any event on the story's day, as the trends analysis counts them. */
async function activePersons(): Promise<number> {
  const { status, body } = await post('/analyses/trends', {
    metrics: ['active_persons'],
    dateRange: { from: DAY, to: DAY },
    granularity: 'total',
  });
  expect(status).toBe(200);
  return body.result.totals.find((m: { metric: string }) => m.metric === 'active_persons').value;
}

async function sendShopper(): Promise<void> {
  await send('/v1/identify', {
    userId: 'shop-88',
    anonymousId: 'web-device-88',
    traits: { phone: PHONE, name: 'Lin', tier: 'gold' },
    timestamp: at(0),
  });
  await send('/v1/track', { userId: 'shop-88', event: 'Order Completed', timestamp: at(1) });
  await send('/v1/identify', {
    userId: 'app-88',
    anonymousId: 'app-device-88',
    traits: { phone: PHONE, tier: 'silver', city: '杭州' },
    timestamp: at(10),
  });
  await send('/v1/track', { userId: 'app-88', event: 'Video Played', timestamp: at(11) });
  await t.settle();
}

beforeAll(async () => {
  t = await startTestServer();
  await sendShopper();
});
/** The data directory the restarted server was given (its own `close` leaves it in place). */
let restartedDir: string | undefined;
afterAll(async () => {
  await t.close();
  if (restartedDir) rmSync(restartedDir, { recursive: true, force: true });
});

describe('merging two persons by hand', () => {
  let kept: string;
  let merged: string;
  let reference: string;

  it('starts as a conflict: two known users kept apart, counted as two', async () => {
    const { body } = await api('/identity/conflicts');
    expect(body.total).toBe(1);
    expect(body.conflicts[0]).toMatchObject({ distinctId: 'app-88', mergedSince: false });
    kept = (await api('/persons/shop-88/identity')).body.personId;
    merged = (await api('/persons/app-88/identity')).body.personId;
    expect(kept).not.toBe(merged);
    expect(await activePersons()).toBe(2);
  });

  it('merges on request: the ids of one move to the other, and the answer names both persons', async () => {
    const { status, body } = await merge({ into: 'shop-88', from: ' app-88 ' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ personId: kept, mergedFrom: merged });
    expect(body.movedIds).toBeGreaterThanOrEqual(1);
    expect(body.reference).toMatch(/^manual-merge:/);
    reference = body.reference;

    const identity = (await api('/persons/app-88/identity')).body;
    expect(identity.personId).toBe(kept);
    const ids = identity.ids.map((i: { id: string; type: string }) => `${i.type}:${i.id}`);
    expect(ids).toEqual(expect.arrayContaining(['user:shop-88', 'user:app-88', 'anonymous:web-device-88']));
    // The kept person's traits win; the merged one's fill what it lacked.
    expect(identity.traits).toMatchObject({ name: 'Lin', tier: 'gold', city: '杭州' });
    const manual = identity.history.find((h: { reasonCode: string }) => h.reasonCode === 'manual');
    expect(manual).toMatchObject({
      kind: 'merge',
      personId: kept,
      otherPersonId: merged,
      distinctId: 'shop-88',
      otherDistinctId: 'app-88',
      messageId: reference,
    });
    expect(manual.reasonZh).toMatch(/手动合并/);
    const conflict = identity.history.find((h: { kind: string }) => h.kind === 'conflict');
    expect(conflict.mergedSince).toBe(true);
    // The merged-away person id leads to the kept one.
    expect((await api(`/persons/${merged}/identity`)).body).toMatchObject({
      personId: kept,
      mergedFrom: merged,
    });
  });

  it('counts one person in analyses from then on (the cached answer is dropped), and lists the conflict as merged', async () => {
    expect(await activePersons()).toBe(1);
    const { body } = await api('/identity/conflicts');
    expect(body.total).toBe(1);
    expect(body.open).toBe(0);
    expect(body.conflicts[0].mergedSince).toBe(true);
  });

  it('is in the audit log without the ids themselves', async () => {
    const response = await t.api(`/api/v1/projects/${t.projectId}/audit?action=person.merge`);
    const text = await response.text();
    const { entries } = JSON.parse(text);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: 'person.merge', outcome: 'success' });
    expect(entries[0].details).toMatchObject({ reference, movedIds: expect.any(Number) });
    for (const id of ['shop-88', 'app-88', kept, merged]) expect(text).not.toContain(id);
  });

  it('refuses what cannot be merged, saying why in both languages', async () => {
    const again = await merge({ into: 'app-88', from: 'web-device-88' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('persons_already_one');
    expect(again.body.error.message).toMatch(/app-88.*web-device-88.*already belong to one person/);
    expect(again.body.error.message_zh).toMatch(/已属于同一人员/);

    const unknown = await merge({ into: 'shop-88', from: 'nobody-42' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/nobody-42/);

    const missing = await merge({ into: 'shop-88' });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/from/);
    const extra = await merge({ into: 'shop-88', from: 'x', why: 'same' });
    expect(extra.status).toBe(400);
    const broken = await merge('{"into": "shop-88",');
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('invalid_json');
  });

  it('finds the persons by a phone number too, as the identity lookup does', async () => {
    await send('/v1/identify', { userId: 'kiosk-5', anonymousId: 'kiosk-device-5', timestamp: at(20) });
    await t.settle();
    const { status, body } = await merge({ into: PHONE, from: 'kiosk-device-5' });
    expect(status).toBe(200);
    expect(body.personId).toBe(kept);
  });

  it('cannot bring an erased person back: its ids are gone from the graph as from the store', async () => {
    await send('/v1/identify', { userId: 'gone-1', anonymousId: 'gone-device', timestamp: at(25) });
    await send('/v1/identify', { userId: 'stay-1', timestamp: at(26) });
    await t.settle();
    const erased = await t.api(`/api/v1/projects/${t.projectId}/persons/gone-1`, { method: 'DELETE' });
    expect(erased.status).toBe(200);
    for (const body of [
      { into: 'stay-1', from: 'gone-1' },
      { into: 'gone-device', from: 'stay-1' },
    ]) {
      const refused = await merge(body);
      expect(refused.status).toBe(404);
      expect(refused.body.error.code).toBe('person_not_found');
    }
    const rows = await t.server.facts.query<{ n: string }>(
      `SELECT count() AS n FROM identities WHERE project_id = {p:String} AND distinct_id IN ('gone-1', 'gone-device')`,
      { p: t.projectId },
    );
    expect(Number(rows[0]?.n)).toBe(0);
  });

  it('holds after a restart, and new events of the merged ids belong to the kept person', async () => {
    const { dataDir, projectId, writeKey } = t;
    await t.server.close();
    t = await startTestServer({}, dataDir);
    restartedDir = dataDir;
    const sent = await t.collect(
      '/v1/track',
      { userId: 'app-88', event: 'Added To Cart', messageId: 'after-restart-1', timestamp: at(30) },
      writeKey,
    );
    expect(sent.status).toBe(200);
    await t.settle();
    const [row] = await t.server.facts.query<{ person_id: string }>(
      'SELECT person_id FROM events FINAL WHERE project_id = {p:String} AND message_id = {m:String}',
      { p: projectId, m: 'after-restart-1' },
    );
    expect(row?.person_id).toBe(kept);
    const persons = await t.server.facts.query<{ id: string; person_id: string }>(
      `SELECT distinct_id AS id, argMax(person_id, version) AS person_id FROM identities
       WHERE project_id = {p:String} GROUP BY distinct_id ORDER BY id`,
      { p: projectId },
    );
    expect(new Set(persons.filter((p) => p.id.endsWith('-88')).map((p) => p.person_id))).toEqual(
      new Set([kept]),
    );
  });
});
