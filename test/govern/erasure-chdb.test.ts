import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setAsideRows } from '../../src/collect/set-aside.js';
import { recordConsent } from '../../src/govern/consent.js';
import { backfillKeyedContactIds } from '../../src/govern/pii/contact-ids.js';
import {
  decryptField,
  encryptField,
  encryptPiiFields,
  keyedContactHash,
  keyedContactId,
} from '../../src/govern/pii/crypto.js';
import { loadPiiKeyring, type PiiKeyring, rotatePiiKey } from '../../src/govern/pii/keys.js';
import { countUnderKey, reencryptFacts, retireKeyWhenUnused } from '../../src/govern/pii/rotation.js';
import { applyRetentionTtl, enforceRetention, setRetention } from '../../src/govern/retention.js';
import { createSuppressionList, erasePerson, exportPerson } from '../../src/govern/subjects.js';
import { ByteSink } from '../../src/lib/byte-sink.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import { type FactsEngine, FactsQueryError } from '../../src/store/facts/engine.js';
import { writeEventBinary } from '../../src/store/facts/event-binary.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import { FACTS_TABLES } from '../../src/store/facts/schema.js';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import { type MetadataStore, openMetadataStore } from '../../src/store/metadata/open.js';
import { createOrganisation } from '../../src/store/metadata/organisations.js';
import { createProject } from '../../src/store/metadata/projects.js';
import { recordingAnswerSizes } from '../support/answer-sizes.js';
import { diskBytes } from '../support/disk-bytes.js';
import { EMPTY_EVENT } from '../support/event-rows.js';

// chdb binds one data directory per process: this file opens exactly one engine.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-govern-chdb-'));
let facts: FactsEngine;
let metadata: MetadataStore;
let ring: PiiKeyring;
let P: string;
let Q: string;

const AT = Date.parse('2025-03-01T08:00:00Z');
const lines = (rows: object[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

async function seedPerson(
  projectId: string,
  personId: string,
  who: { user: string; anon: string; phone: string; email: string; name: string },
) {
  const phoneId = `phone:${keyedContactHash(ring, 'phone', who.phone)}`;
  await facts.insertJsonEachRow(
    'events',
    lines([
      {
        project_id: projectId,
        message_id: `${personId}-1`,
        type: 'page',
        event: '$pageview',
        timestamp: AT,
        received_at: AT,
        distinct_id: who.anon,
        anonymous_id: who.anon,
        person_id: personId,
        page_url: `https://shop.example/${personId}-${projectId.slice(0, 8)}`,
        properties: '{}',
      },
      {
        project_id: projectId,
        message_id: `${personId}-2`,
        type: 'identify',
        event: '$identify',
        timestamp: AT + 1000,
        received_at: AT + 1000,
        distinct_id: who.user,
        anonymous_id: who.anon,
        user_id: who.user,
        person_id: personId,
        properties: JSON.stringify(
          encryptPiiFields(ring, { email: who.email, phone: who.phone, plan: 'gold' }),
        ),
      },
    ]),
  );
  await facts.insertJsonEachRow(
    'identities',
    lines(
      [
        [who.anon, 'anonymous'],
        [who.user, 'user'],
        [phoneId, 'phone_hash'],
      ].map(([id, type]) => ({
        project_id: projectId,
        distinct_id: id,
        id_type: type,
        person_id: personId,
        version: 1,
        is_deleted: 0,
        updated_at: AT,
      })),
    ),
  );
  await facts.insertJsonEachRow(
    'identity_log',
    lines([
      {
        project_id: projectId,
        at: AT + 1000,
        kind: 'merge',
        person_id: personId,
        other_person_id: '',
        distinct_id: who.user,
        other_distinct_id: who.anon,
        reason: 'identify',
        message_id: `${personId}-2`,
      },
    ]),
  );
  await facts.insertJsonEachRow(
    'persons',
    lines([
      {
        project_id: projectId,
        person_id: personId,
        traits: JSON.stringify(
          encryptPiiFields(ring, { phone: who.phone, email: who.email, name: who.name, plan: 'gold' }),
        ),
        consent: '',
        created_at: AT,
        updated_at: AT,
        version: 1,
      },
    ]),
  );
  await facts.insertJsonEachRow(
    'orders',
    lines([
      {
        project_id: projectId,
        order_id: `${personId}-o1`,
        distinct_id: who.user,
        person_id: personId,
        platform: 'web',
        created_at: AT + 2000,
        status: 'paid',
        amount: 99,
        currency: 'CNY',
        items: '[]',
        updated_at: AT + 2000,
      },
    ]),
  );
  await facts.insertJsonEachRow(
    'comments',
    lines([
      {
        project_id: projectId,
        platform: 'douyin',
        content_id: 'v1',
        comment_id: `${personId}-c1`,
        author_id: who.user,
        author_name: encryptField(ring, who.name),
        text: '好喝',
        created_at: AT + 3000,
        updated_at: AT + 3000,
      },
    ]),
  );
  await facts.insertJsonEachRow(
    'quarantine',
    lines([
      {
        project_id: projectId,
        id: `${personId}-q1`,
        received_at: AT + 4000,
        origin: 'api',
        reason_code: 'invalid_timestamp',
        reason: 'bad time',
        raw: JSON.stringify({ userId: who.user, timestamp: 'yesterday' }),
      },
    ]),
  );
  // An events row the store refused, set aside in quarantine (kept readable, so found by its ids).
  const refused = new ByteSink(64);
  writeEventBinary(refused, {
    ...EMPTY_EVENT,
    project_id: projectId,
    message_id: `${personId}-refused`,
    distinct_id: who.user,
    user_id: who.user,
    timestamp: AT + 5000,
  });
  await facts.insertJsonEachRow(
    'quarantine',
    setAsideRows(
      { table: 'events', rows: refused.copyAndReset(), rowCount: 1, format: 'RowBinary' },
      `${personId}-set-aside`,
      new FactsQueryError('Code: 6. Cannot parse text', 6, 'INSERT INTO events'),
    ).payload,
  );
  await recordConsent(metadata, projectId, [
    { subjectId: who.user, purpose: 'email', granted: true, source: 'identify' },
    { subjectId: who.anon, purpose: 'analytics', granted: true, source: 'api' },
  ]);
}

const victim = {
  user: 'u-victim-7',
  anon: 'anon-victim-7',
  phone: '13811112222',
  email: 'victim7@example.com',
  name: '王小明',
};
const bystander = {
  user: 'u-other-8',
  anon: 'anon-other-8',
  phone: '13933334444',
  email: 'other8@example.com',
  name: '李四',
};

beforeAll(async () => {
  facts = await openChdbEngine(join(dataDir, 'chdb'), 'pulseloop_test');
  await migrateFacts(facts);
  metadata = await openMetadataStore({ dataDir });
  await migrateMetadata(metadata);
  const organisation = await createOrganisation(metadata, { name: 'Org' });
  const project = (name: string) =>
    createProject(metadata, {
      organisationId: organisation.id,
      name,
      timeZone: 'Asia/Shanghai',
      currency: 'CNY',
    });
  P = (await project('P')).id;
  Q = (await project('Q')).id;
  ring = loadPiiKeyring({ dataDir });
  await seedPerson(P, 'p-victim', victim);
  await seedPerson(P, 'p-other', bystander);
  // The same user id in another project is another tenant's person: untouched by P's erasure.
  await seedPerson(Q, 'q-victim', { ...victim, anon: 'anon-victim-q' });
});

afterAll(async () => {
  await facts?.close();
  await metadata?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('PII at rest', () => {
  it('is unreadable in the raw chdb files, while a plaintext control value is found there', async () => {
    // A plaintext control in an LZ4 column shows the grep would find an unencrypted value.
    await facts.insertJsonEachRow(
      'events',
      lines([
        {
          project_id: Q,
          message_id: 'control',
          event: 'x',
          timestamp: AT,
          received_at: AT,
          user_agent: 'CONTROL-13700001111-PLAIN',
        },
      ]),
    );
    const bytes = diskBytes(join(dataDir, 'chdb'));
    expect(bytes.includes('CONTROL-13700001111-PLAIN')).toBe(true);
    for (const pii of [victim.phone, victim.email, bystander.phone, bystander.email, victim.name]) {
      expect(bytes.includes(pii), pii).toBe(false);
    }
    // …and the SQLite metadata file (consent records hold ids, never PII).
    const sqlite = diskBytes(dataDir).toString('latin1');
    expect(sqlite.includes(victim.phone)).toBe(false);
  });
});

describe('data subject export', () => {
  it('returns everything stored about the person from a distinct id, decrypted, and nothing of others', async () => {
    const exported = await exportPerson(facts, metadata, P, victim.anon, ring);
    expect(exported.subject.personIds).toEqual(['p-victim']);
    expect(exported.subject.distinctIds.sort()).toEqual(
      [victim.anon, victim.user, `phone:${keyedContactHash(ring, 'phone', victim.phone)}`].sort(),
    );
    const counts = Object.fromEntries(Object.entries(exported.facts).map(([t, rows]) => [t, rows.length]));
    expect(counts).toEqual({
      events: 2,
      identities: 3,
      identity_log: 1,
      persons: 1,
      orders: 1,
      comments: 1,
      quarantine: 2,
    });
    expect(exported.consent).toHaveLength(2);
    const text = JSON.stringify(exported);
    for (const value of [victim.phone, victim.email, victim.name]) expect(text).toContain(value);
    for (const value of [bystander.user, bystander.anon, 'p-other', 'q-victim'])
      expect(text).not.toContain(value);
  });
});

describe('erasure on the real chdb store', () => {
  it('removes the person from every table and metadata, reports counts, and suppresses the ids', async () => {
    const suppression = await createSuppressionList(metadata, ring);
    expect(suppression.isSuppressed(P, victim.user)).toBe(false);
    const report = await erasePerson(facts, metadata, ring, P, victim.user, suppression);
    expect(report.removed).toEqual({
      events: 2,
      identities: 3,
      identity_log: 1,
      persons: 1,
      orders: 1,
      comments: 1,
      quarantine: 2,
      consent_records: 2,
    });
    expect(report.personCount).toBe(1);
    expect(report.suppressedIdHashes).toHaveLength(4);
    expect(JSON.stringify(report)).not.toContain(victim.user);

    const needles = [victim.user, victim.anon, 'p-victim', keyedContactHash(ring, 'phone', victim.phone)];
    for (const table of FACTS_TABLES) {
      // Table names come from the schema's own list.
      const rows = await facts.query(`SELECT * FROM ${table} WHERE project_id = {P:String}`, { P });
      const text = JSON.stringify(rows.map((r) => ({ ...r, ...decryptedColumns(r) })));
      for (const needle of [...needles, victim.phone, victim.email, victim.name]) {
        expect(text.includes(needle), `${table} still holds ${needle}`).toBe(false);
      }
    }
    // The bystander and the other tenant's same-named user are all still there.
    const [kept] = await facts.query<{ n: number }>(
      `SELECT count() AS n FROM events WHERE (project_id = {P:String} AND person_id = 'p-other') OR project_id = {Q:String}`,
      { P, Q },
    );
    expect(Number(kept!.n)).toBe(2 + 2 + 1);
    expect((await exportPerson(facts, metadata, Q, victim.user)).facts.persons).toHaveLength(1);

    // Analyses no longer count them.
    const [persons] = await facts.query<{ n: number }>(
      'SELECT uniqExact(person_id) AS n FROM events WHERE project_id = {P:String}',
      { P },
    );
    expect(Number(persons!.n)).toBe(1);
    const [rollup] = await facts.query<{ n: number }>(
      'SELECT sum(events) AS n FROM event_rollup_hourly WHERE project_id = {P:String}',
      { P },
    );
    expect(Number(rollup!.n)).toBe(2);

    // Later events with their ids are recognised, in this process and in a fresh one.
    for (const id of [victim.user, victim.anon]) expect(suppression.isSuppressed(P, id)).toBe(true);
    expect(suppression.isSuppressed(Q, victim.user)).toBe(false);
    const reloaded = await createSuppressionList(metadata, ring);
    expect(reloaded.isSuppressed(P, victim.anon)).toBe(true);
    expect(reloaded.isSuppressed(P, bystander.anon)).toBe(false);
    // The suppression list keeps keyed hashes, not the ids.
    const suppressed = await metadata.db
      .withTables<{ suppressed_ids: { id_hash: string } }>()
      .selectFrom('suppressed_ids')
      .select('id_hash')
      .execute();
    expect(suppressed.map((r) => r.id_hash).sort()).toEqual([...report.suppressedIdHashes].sort());
    expect(JSON.stringify(suppressed)).not.toContain(victim.user);

    // The metadata file and its WAL no longer hold the erased ids (secure_delete + checkpoint).
    const sqliteBytes = Buffer.concat(
      readdirSync(dataDir)
        .filter((name) => name.startsWith('metadata.sqlite'))
        .map((name) => readFileSync(join(dataDir, name))),
    );
    expect(sqliteBytes.includes(victim.anon)).toBe(false);

    const after = await exportPerson(facts, metadata, P, victim.user);
    expect(Object.values(after.facts).every((rows) => rows.length === 0)).toBe(true);
    expect(after.consent).toEqual([]);
  });
});

function decryptedColumns(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (typeof v !== 'string') continue;
    out[k] = v.replace(/enc:v1:[A-Za-z0-9_:-]+/g, (m) => decryptField(ring, m));
  }
  return out;
}

describe('key rotation on stored data', () => {
  it('re-encrypts person traits and event properties under the new key, then retires the old key', async () => {
    const oldKey = ring.activeKeyId;
    const before = await countUnderKey(facts, oldKey);
    expect(before).toBeGreaterThan(0);
    const rotated = rotatePiiKey(ring);
    await expect(retireKeyWhenUnused(facts, rotated, oldKey)).rejects.toMatchObject({
      code: 'pii_key_in_use',
    });
    const rewritten = await reencryptFacts(facts, rotated);
    expect(rewritten.persons! + rewritten.events! + rewritten.comments!).toBe(before);
    expect(await countUnderKey(facts, oldKey)).toBe(0);
    expect(await countUnderKey(facts, rotated.activeKeyId)).toBe(before);
    ring = await retireKeyWhenUnused(facts, rotated, oldKey);
    expect([...ring.keys.keys()]).toEqual([rotated.activeKeyId]);
    // Still readable with only the new key.
    const exported = await exportPerson(facts, metadata, P, bystander.user, loadPiiKeyring({ dataDir }));
    expect(JSON.stringify(exported.facts.persons)).toContain(bystander.phone);
    expect(await reencryptFacts(facts, ring)).toEqual({ persons: 0, events: 0, comments: 0 });
    expect(JSON.stringify(exported.facts.comments)).toContain(bystander.name);
  });
});

describe('key rotation at size', () => {
  it('re-encrypts 25,000 events page by page, and gives rows sharing an id each its own text', async () => {
    const oldKey = ring.activeKeyId;
    await facts.command(
      `INSERT INTO events (project_id, message_id, event, timestamp, received_at, distinct_id, properties)
       SELECT 'rot', 'rot-' || toString(number), 'e' || toString(number % 7), now64(3), now64(3),
              'u' || toString(number % 500), {properties:String}
       FROM numbers(25000)`,
      { properties: JSON.stringify({ email: encryptField(ring, 'someone@example.com'), plan: 'gold' }) },
    );
    // One message id sent by two senders with different properties: two rows no merge folds (their
    // keys differ), as unmerged versions of a person are. Each must keep its own value.
    for (const [sender, email] of [
      ['sender-a', 'a@example.com'],
      ['sender-b', 'b@example.com'],
    ] as const) {
      await facts.command(
        `INSERT INTO events (project_id, message_id, event, timestamp, received_at, distinct_id, properties)
         VALUES ('rot', 'shared-id', 'e', now64(3), now64(3), {sender:String}, {properties:String})`,
        { sender, properties: JSON.stringify({ email: encryptField(ring, email) }) },
      );
    }
    // Rows of the tests above are under the same key, and are re-encrypted too.
    const before = await countUnderKey(facts, oldKey);
    expect(before).toBeGreaterThanOrEqual(25_002);
    const rotated = rotatePiiKey(ring);
    const recorded = recordingAnswerSizes(facts);
    const progress: Array<[string, number, number]> = [];
    const rewritten = await reencryptFacts(recorded.engine, rotated, (table, done, total) =>
      progress.push([table, done, total]),
    );
    ring = rotated;
    expect(rewritten.persons! + rewritten.events! + rewritten.comments!).toBe(before);
    expect(recorded.largestAnswer()).toBeLessThanOrEqual(10_000);
    expect(progress.filter(([table]) => table === 'events').at(-1)).toEqual([
      'events',
      rewritten.events,
      rewritten.events,
    ]);
    expect(await countUnderKey(facts, oldKey)).toBe(0);
    const shared = await facts.query<{ distinct_id: string; properties: string }>(
      `SELECT distinct_id, properties FROM events WHERE project_id = 'rot' AND message_id = 'shared-id' ORDER BY distinct_id`,
    );
    expect(shared.map((row) => decryptField(ring, JSON.parse(row.properties).email))).toEqual([
      'a@example.com',
      'b@example.com',
    ]);
    const [event] = await facts.query<{ properties: string }>(
      `SELECT properties FROM events WHERE project_id = 'rot' AND message_id = 'rot-24999'`,
    );
    expect(JSON.parse(event!.properties)).toMatchObject({ plan: 'gold' });
    expect(decryptField(ring, JSON.parse(event!.properties).email)).toBe('someone@example.com');
  });
});

describe('retention', () => {
  it('deletes rows older than the period, for that project only, and sets a TTL only when every project has one', async () => {
    const now = AT + 10 * 86_400_000;
    await setRetention(metadata, P, { quarantine: 5, orders: 30 });
    const removed = await enforceRetention(facts, metadata, P, now);
    expect(removed).toEqual({ quarantine: 1, orders: 0 });
    const [left] = await facts.query<{ n: number }>(
      'SELECT count() AS n FROM quarantine WHERE project_id = {Q:String}',
      { Q },
    );
    // Q keeps both of its rows (its rejected payload and its set-aside row).
    expect(Number(left!.n)).toBe(2);

    const tableTtl = async (table: string) =>
      (
        await facts.query<{ engine_full: string }>(
          'SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {table:String}',
          { table },
        )
      )[0]!.engine_full;
    let applied = await applyRetentionTtl(facts, metadata);
    expect(applied.quarantine).toBeNull();
    expect(await tableTtl('quarantine')).not.toMatch(/ TTL /);
    await setRetention(metadata, Q, { quarantine: 90 });
    applied = await applyRetentionTtl(facts, metadata);
    expect(applied.quarantine).toBe(90);
    expect(await tableTtl('quarantine')).toMatch(/TTL toDateTime\(received_at\) \+ toIntervalDay\(90\)/);
    await setRetention(metadata, Q, { quarantine: null });
    await applyRetentionTtl(facts, metadata);
    expect(await tableTtl('quarantine')).not.toMatch(/ TTL /);
  });
});

describe('moving to keyed contact ids', () => {
  it("links each stored phone and e-mail's keyed id to the person it belongs to, once", async () => {
    const first = await backfillKeyedContactIds(facts, ring, Q);
    expect(first).toEqual({ persons: 1, linked: 2, alreadyLinked: 0, conflicts: 0 });
    const rows = await facts.query<{ distinct_id: string; person_id: string; id_type: string }>(
      `SELECT distinct_id, person_id, id_type FROM identities FINAL
       WHERE project_id = {Q:String} AND distinct_id LIKE '%\\_k:%' ORDER BY id_type`,
      { Q },
    );
    expect(rows).toEqual([
      {
        distinct_id: keyedContactId(ring, 'email', victim.email),
        person_id: 'q-victim',
        id_type: 'email_hash',
      },
      {
        distinct_id: keyedContactId(ring, 'phone', victim.phone),
        person_id: 'q-victim',
        id_type: 'phone_hash',
      },
    ]);
    expect(JSON.stringify(rows)).not.toContain(victim.phone);
    expect(await backfillKeyedContactIds(facts, ring, Q)).toEqual({
      persons: 1,
      linked: 0,
      alreadyLinked: 2,
      conflicts: 0,
    });
  });

  it('reads a project of 300,000 persons page by page, never in one answer', async () => {
    // Phones as ingestion stores them without a PII key (plain); every 1000th person erased, and
    // person 7 given a second, later version with another phone.
    await facts.command(
      `INSERT INTO persons (project_id, person_id, traits, version, is_deleted)
       SELECT 'bulk', 'person-' || leftPad(toString(number), 6, '0'),
              '{"phone":"+86 138' || leftPad(toString(number), 8, '0') || '"}', 1, number % 1000 = 999
       FROM numbers(300000)`,
    );
    await facts.command(
      `INSERT INTO persons (project_id, person_id, traits, version) VALUES ('bulk', 'person-000007', '{"phone":"+86 13900000007"}', 2)`,
    );
    const recorded = recordingAnswerSizes(facts);
    const progress: Array<[number, number]> = [];
    const report = await backfillKeyedContactIds(recorded.engine, ring, 'bulk', {
      onProgress: (done, total) => progress.push([done, total]),
    });
    // Pages of 25,000 persons (profiles with many traits are kilobytes each).
    expect(progress).toEqual(Array.from({ length: 13 }, (_, page) => [page * 25_000, 300_000]));
    expect(report).toEqual({ persons: 299_700, linked: 299_700, alreadyLinked: 0, conflicts: 0 });
    expect(recorded.largestAnswer()).toBeLessThanOrEqual(25_000);
    const linked = async (phone: string) =>
      (
        await facts.query<{ person_id: string }>(
          `SELECT person_id FROM identities FINAL WHERE project_id = 'bulk' AND distinct_id = {id:String}`,
          { id: keyedContactId(ring, 'phone', phone) },
        )
      ).map((row) => row.person_id);
    expect(await linked('+86 13800299998')).toEqual(['person-299998']);
    expect(await linked('+86 13800000999')).toEqual([]);
    expect(await linked('+86 13900000007')).toEqual(['person-000007']);
    expect(await linked('+86 13800000007')).toEqual([]);
  });
});
