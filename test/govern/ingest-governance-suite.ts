import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentHistory, recordConsent } from '../../src/govern/consent.js';
import { DEFAULT_PII_FIELDS, decryptField, keyedContactId } from '../../src/govern/pii/crypto.js';
import { setPiiFields } from '../../src/govern/pii/fields.js';
import { erasePerson } from '../../src/govern/subjects.js';
import { diskBytes } from '../support/disk-bytes.js';
import { basicAuth, startTestServer, type TestServer } from '../support/server.js';

// Ingestion with governance on (the default), through a real server (chdb + SQLite), with the PII
// keys given as PULSELOOP_PII_KEYS. The same calls with governance off: ingest-governance-off.test.ts.
// Run twice: with batches prepared on the serving thread (ingest-governance.test.ts) and on an
// ingestion thread (ingest-governance-threads.test.ts), as servers with more than one core do.

const PII_KEYS = JSON.stringify({
  version: 1,
  active: 'k1',
  hashKey: randomBytes(32).toString('base64'),
  keys: [{ id: 'k1', key: randomBytes(32).toString('base64'), createdAt: '2025-01-01T00:00:00Z' }],
});

/** The governance suite on a server that prepares batches on ingestion threads or not. */
export function describeIngestGovernanceSuite(options: { ingestThreads: boolean }): void {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(
      { piiKeys: PII_KEYS, ingest: { threads: options.ingestThreads ? 1 : 0 } },
      undefined,
      options,
    );
  });
  afterAll(async () => {
    await t.close();
  });

  const iso = (offsetMs: number) => new Date(Date.now() - 3_600_000 + offsetMs).toISOString();

  async function batch(items: object[], writeKey = t.writeKey) {
    const response = await fetch(`${t.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(writeKey) },
      body: JSON.stringify({ batch: items }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  async function eventsOfIds(ids: string[]) {
    await t.settle();
    return t.server.facts.query<{ message_id: string; event: string; properties: string; context: string }>(
      `SELECT message_id, event, properties, context FROM events
       WHERE project_id = {project:String}
         AND (distinct_id IN {ids:Array(String)} OR user_id IN {ids:Array(String)} OR anonymous_id IN {ids:Array(String)})
       ORDER BY timestamp, message_id`,
      { project: t.projectId, ids },
    );
  }

  async function identitiesOf(ids: string[]) {
    await t.settle();
    return t.server.facts.query<{ distinct_id: string; person_id: string }>(
      `SELECT distinct_id, argMax(person_id, version) AS person_id FROM identities
       WHERE project_id = {project:String} AND distinct_id IN {ids:Array(String)}
       GROUP BY distinct_id HAVING argMax(is_deleted, version) = 0 ORDER BY distinct_id`,
      { project: t.projectId, ids },
    );
  }

  function walBytes(): Buffer {
    const dir = join(t.dataDir, 'wal');
    return Buffer.concat(readdirSync(dir).map((name) => readFileSync(join(dir, name))));
  }

  describe('consent from identify traits', () => {
    it('records consent and consent_<purpose> traits with source identify and the event time', async () => {
      const sentAt = iso(1000);
      const response = await batch([
        {
          type: 'identify',
          userId: 'u-consent',
          anonymousId: 'a-consent',
          messageId: 'consent-1',
          timestamp: sentAt,
          traits: { plan: 'gold', consent: { email: true, push: false }, consent_sms: true },
        },
      ]);
      expect(response.status).toBe(200);
      const history = await consentHistory(t.server.metadata, t.projectId, ['u-consent']);
      expect(
        history
          .map((r) => [r.purpose, r.granted, r.source, r.occurredAt])
          .sort((a, b) => `${a}`.localeCompare(`${b}`)),
      ).toEqual([
        ['email', true, 'identify', new Date(sentAt).toISOString()],
        ['push', false, 'identify', new Date(sentAt).toISOString()],
        ['sms', true, 'identify', new Date(sentAt).toISOString()],
      ]);
      // The anonymous id of the same call is the same person: it gets the same records.
      expect(await consentHistory(t.server.metadata, t.projectId, ['a-consent'])).toHaveLength(3);
      // Granting contact purposes does not withdraw analytics: the identify itself is stored.
      expect((await eventsOfIds(['u-consent'])).map((e) => e.message_id)).toEqual(['consent-1']);
    });
  });

  describe('consent that cannot be recorded', () => {
    it('answers 503 when the consent of an identify cannot be written, and a retry is stored once', async () => {
      // A real SQLite refusal (as a full disk would give): a trigger that fails every consent insert.
      await sql`CREATE TRIGGER refuse_consent BEFORE INSERT ON consent_records BEGIN SELECT RAISE(FAIL, 'disk full'); END`.execute(
        t.server.metadata.db,
      );
      const call = {
        type: 'identify',
        userId: 'u-refused',
        messageId: 'consent-refused-1',
        timestamp: iso(2000),
        traits: { consent_email: true },
      };
      try {
        const refused = await batch([call]);
        expect(refused.status).toBe(503);
        expect((refused.json.error as { code: string }).code).toBe('overloaded');
      } finally {
        await sql`DROP TRIGGER refuse_consent`.execute(t.server.metadata.db);
      }
      const retried = await batch([call]);
      expect(retried.status).toBe(200);
      const history = await consentHistory(t.server.metadata, t.projectId, ['u-refused']);
      expect(history.map((r) => [r.purpose, r.granted])).toEqual([['email', true]]);
      // The refused attempt may have reached the log; stored twice, the same message id counts once.
      await t.settle();
      const [row] = await t.server.facts.query<{ n: string }>(
        `SELECT count() AS n FROM events FINAL WHERE project_id = {project:String} AND message_id = 'consent-refused-1'`,
        { project: t.projectId },
      );
      expect(Number(row?.n)).toBe(1);
    });
  });

  describe('consent from identify traits, longest ids', () => {
    it('records consent for the longest user id the collection API accepts', async () => {
      const longId = `u-${'x'.repeat(253)}`;
      const response = await batch([
        {
          type: 'identify',
          userId: longId,
          messageId: 'consent-long',
          timestamp: iso(0),
          traits: { consent_push: true },
        },
      ]);
      expect(response).toMatchObject({ status: 200, json: { accepted: 1 } });
      const history = await consentHistory(t.server.metadata, t.projectId, [longId]);
      expect(history.map((r) => [r.purpose, r.granted])).toEqual([['push', true]]);
    });
  });

  describe('analytics opt-out', () => {
    it("stops storing an opted-out person's new events, answers 200 so clients do not retry, and leaves others alone", async () => {
      const before = await batch([
        { type: 'track', userId: 'u-out', event: 'video_play', messageId: 'out-0', timestamp: iso(0) },
      ]);
      expect(before.json).toMatchObject({ accepted: 1 });
      const response = await batch([
        { type: 'track', userId: 'u-stay', event: 'video_play', messageId: 'stay-1', timestamp: iso(2000) },
        {
          type: 'identify',
          userId: 'u-out',
          anonymousId: 'a-out',
          messageId: 'out-1',
          timestamp: iso(2000),
          traits: { consent_analytics: false },
        },
        { type: 'track', userId: 'u-out', event: 'video_play', messageId: 'out-2', timestamp: iso(3000) },
        // The anonymous id the opt-out came with (before login on another page).
        { type: 'page', anonymousId: 'a-out', messageId: 'out-3', timestamp: iso(3000) },
        // Invalid (no event name): not quarantined either, since it would keep their data.
        { type: 'track', userId: 'u-out', messageId: 'out-4', properties: { email: 'out@example.com' } },
        { type: 'track', userId: 'u-stay', event: 'like', messageId: 'stay-2', timestamp: iso(4000) },
        { type: 'track', userId: 'u-stay', messageId: 'stay-bad' },
      ]);
      expect(response.status).toBe(200);
      expect(response.json).toMatchObject({ accepted: 5, quarantined: 2 });
      const later = await batch([
        { type: 'track', userId: 'u-out', event: 'share', messageId: 'out-5', timestamp: iso(5000) },
      ]);
      expect(later).toMatchObject({ status: 200, json: { accepted: 1 } });

      expect((await eventsOfIds(['u-out', 'a-out'])).map((e) => e.message_id)).toEqual(['out-0']);
      expect((await eventsOfIds(['u-stay'])).map((e) => e.message_id)).toEqual(['stay-1', 'stay-2']);
      const quarantine = await t.server.facts.query<{ raw: string }>(
        'SELECT raw FROM quarantine WHERE project_id = {project:String}',
        { project: t.projectId },
      );
      expect(quarantine.some((q) => q.raw.includes('stay-bad'))).toBe(true);
      expect(quarantine.some((q) => q.raw.includes('u-out'))).toBe(false);
      const analytics = (await consentHistory(t.server.metadata, t.projectId, ['u-out'])).filter(
        (r) => r.purpose === 'analytics',
      );
      expect(analytics).toMatchObject([{ granted: false, source: 'identify' }]);
    });

    it('honours an opt-out recorded through the consent API, and storing resumes after opting in again', async () => {
      await recordConsent(
        t.server.metadata,
        t.projectId,
        [{ subjectId: 'u-api-out', purpose: 'analytics', granted: false, source: 'api', occurredAt: iso(0) }],
        t.server.governance.consent,
      );
      await batch([
        { type: 'track', userId: 'u-api-out', event: 'like', messageId: 'api-out-1', timestamp: iso(1000) },
      ]);
      await batch([
        {
          type: 'identify',
          userId: 'u-api-out',
          messageId: 'api-out-2',
          timestamp: iso(2000),
          traits: { consent_analytics: true },
        },
        { type: 'track', userId: 'u-api-out', event: 'like', messageId: 'api-out-3', timestamp: iso(3000) },
      ]);
      expect((await eventsOfIds(['u-api-out'])).map((e) => e.message_id)).toEqual(['api-out-2', 'api-out-3']);
    });
  });

  describe('erased persons', () => {
    it("does not store or re-link an erased person's ids when they send again", async () => {
      const phone = '13900001111';
      await batch([
        {
          type: 'identify',
          userId: 'u-erase',
          anonymousId: 'a-erase',
          messageId: 'erase-1',
          timestamp: iso(0),
          traits: { phone, plan: 'gold' },
        },
        {
          type: 'track',
          userId: 'u-erase',
          event: 'order_completed',
          messageId: 'erase-2',
          timestamp: iso(1000),
        },
      ]);
      await t.settle();
      const keyedPhone = keyedContactId(t.server.governance.keyring, 'phone', phone);
      expect((await identitiesOf(['u-erase', 'a-erase', keyedPhone])).length).toBe(3);

      const report = await erasePerson(
        t.server.facts,
        t.server.metadata,
        t.server.governance.keyring,
        t.projectId,
        'u-erase',
        t.server.governance.suppression,
      );
      expect(report.removed.events).toBe(2);

      const again = await batch([
        { type: 'track', userId: 'u-erase', event: 'like', messageId: 'erase-3', timestamp: iso(5000) },
        { type: 'page', anonymousId: 'a-erase', messageId: 'erase-4', timestamp: iso(5000) },
        // A new device whose identify carries the erased phone: the phone must not join it to anyone.
        {
          type: 'identify',
          anonymousId: 'a-erase-new-device',
          messageId: 'erase-5',
          timestamp: iso(6000),
          traits: { phone },
        },
        {
          type: 'alias',
          previousId: 'u-erase',
          userId: 'u-erase-renamed',
          messageId: 'erase-6',
          timestamp: iso(6000),
        },
        { type: 'track', userId: 'u-other', event: 'like', messageId: 'other-1', timestamp: iso(6000) },
      ]);
      expect(again).toMatchObject({ status: 200, json: { accepted: 5, quarantined: 0 } });
      const ids = ['u-erase', 'a-erase', 'a-erase-new-device', 'u-erase-renamed', keyedPhone];
      expect(await eventsOfIds(ids)).toEqual([]);
      expect(await identitiesOf(ids)).toEqual([]);
      // Someone else's events in the same request are stored.
      expect((await eventsOfIds(['u-other'])).map((e) => e.message_id)).toEqual(['other-1']);
    });
  });

  describe('erasing one of two members of a shared tablet', () => {
    it("leaves the tablet's owner, her events and the tablet itself, and her later events from it are stored", async () => {
      await batch([
        { type: 'page', anonymousId: 'tablet-x', messageId: 'tab-1', timestamp: iso(0) },
        {
          type: 'identify',
          anonymousId: 'tablet-x',
          userId: 'u-owner',
          messageId: 'tab-2',
          timestamp: iso(1000),
        },
        // Another member signs in on her tablet: a conflict; his sign-in carries the tablet's id.
        {
          type: 'identify',
          anonymousId: 'tablet-x',
          userId: 'u-guest',
          messageId: 'tab-3',
          timestamp: iso(2000),
        },
      ]);
      await t.settle();
      const response = await t.api(`/api/v1/projects/${t.projectId}/persons/u-guest`, { method: 'DELETE' });
      expect(response.status).toBe(200);
      const report = (await response.json()) as { distinctIdCount: number; removed: Record<string, number> };
      expect(report).toMatchObject({ distinctIdCount: 1, removed: { events: 1, identities: 1 } });
      expect((await eventsOfIds(['u-guest'])).map((e) => e.message_id)).toEqual([]);
      expect((await eventsOfIds(['tablet-x', 'u-owner'])).map((e) => e.message_id).sort()).toEqual([
        'tab-1',
        'tab-2',
      ]);
      expect((await identitiesOf(['tablet-x', 'u-owner'])).length).toBe(2);
      // The tablet is not suppressed: its owner's next visit is stored, as hers.
      const next = await batch([
        { type: 'page', anonymousId: 'tablet-x', messageId: 'tab-4', timestamp: iso(3000) },
      ]);
      expect(next).toMatchObject({ status: 200, json: { accepted: 1 } });
      await t.settle();
      expect((await eventsOfIds(['tablet-x'])).map((e) => e.message_id)).toContain('tab-4');
    });
  });

  describe('erasing the owner of a shared tablet', () => {
    it("keeps the other member's later events from it, without the tablet's id, and none of hers", async () => {
      await batch([
        {
          type: 'identify',
          anonymousId: 'tablet-y',
          userId: 'u-tablet-owner',
          messageId: 'own-1',
          timestamp: iso(0),
        },
        {
          type: 'identify',
          anonymousId: 'tablet-y',
          userId: 'u-tablet-guest',
          messageId: 'own-2',
          timestamp: iso(1000),
        },
      ]);
      await t.settle();
      const erased = await t.api(`/api/v1/projects/${t.projectId}/persons/u-tablet-owner`, {
        method: 'DELETE',
      });
      expect(erased.status).toBe(200);
      const after = await batch([
        // The guest goes on using the tablet: his event is his.
        {
          type: 'track',
          event: 'like',
          userId: 'u-tablet-guest',
          anonymousId: 'tablet-y',
          messageId: 'own-3',
          timestamp: iso(2000),
        },
        // The tablet alone, or the owner herself: hers, withheld.
        { type: 'page', anonymousId: 'tablet-y', messageId: 'own-4', timestamp: iso(3000) },
        { type: 'track', event: 'like', userId: 'u-tablet-owner', messageId: 'own-5', timestamp: iso(3000) },
        // An alias from the tablet's id would join it to someone: withheld.
        {
          type: 'alias',
          previousId: 'tablet-y',
          userId: 'u-tablet-guest',
          messageId: 'own-6',
          timestamp: iso(3000),
        },
      ]);
      expect(after).toMatchObject({ status: 200, json: { accepted: 4, quarantined: 0 } });
      await t.settle();
      const stored = await t.server.facts.query<{
        message_id: string;
        anonymous_id: string;
        distinct_id: string;
      }>(
        `SELECT message_id, anonymous_id, distinct_id FROM events
         WHERE project_id = {project:String} AND message_id IN ('own-3', 'own-4', 'own-5', 'own-6')`,
        { project: t.projectId },
      );
      expect(stored).toEqual([{ message_id: 'own-3', anonymous_id: '', distinct_id: 'u-tablet-guest' }]);
      expect(await identitiesOf(['tablet-y', 'u-tablet-owner'])).toEqual([]);
    });
  });

  describe('erasure through the API while events arrive', () => {
    const walText = () =>
      readdirSync(t.server.wal.dir)
        .filter((f) => f.endsWith('.wal'))
        .map((f) => readFileSync(join(t.server.wal.dir, f)).toString('latin1'))
        .join('');

    it("deletes the events acknowledged just before, and leaves none of the person's ids in the write-ahead log", async () => {
      const sent = await batch([
        {
          type: 'identify',
          userId: 'u-wal-erase',
          messageId: 'wal-erase-1',
          timestamp: iso(0),
          traits: { plan: 'gold' },
        },
        {
          type: 'track',
          userId: 'u-wal-erase',
          event: 'like',
          messageId: 'wal-erase-2',
          timestamp: iso(1000),
        },
        { type: 'track', userId: 'u-wal-keep', event: 'like', messageId: 'wal-keep-1', timestamp: iso(1000) },
      ]);
      expect(sent.status).toBe(200);
      // Acknowledged, so in the log; not necessarily stored yet.
      expect(walText()).toContain('u-wal-erase');
      const response = await t.api(`/api/v1/projects/${t.projectId}/persons/u-wal-erase`, {
        method: 'DELETE',
      });
      expect(response.status).toBe(200);
      const report = (await response.json()) as { removed: { events: number } };
      expect(report.removed.events).toBe(2);
      expect(walText()).not.toContain('u-wal-erase');
      expect(await eventsOfIds(['u-wal-erase'])).toEqual([]);
      // Someone else's event of the same request is kept.
      expect((await eventsOfIds(['u-wal-keep'])).map((e) => e.message_id)).toEqual(['wal-keep-1']);
    });
  });

  describe('PII encryption at rest', () => {
    const who = {
      phone: '13712345678',
      email: 'li.lei.pii@example.com',
      name: '李雷测试',
      address: '上海市浦东新区世纪大道100号',
      id_number: '110105199001011234',
      qq: '998877665544',
    };

    it('encrypts the PII fields of traits, properties and context.traits before the log, and joins on keyed hashes', async () => {
      const response = await batch([
        {
          type: 'identify',
          userId: 'u-pii',
          anonymousId: 'a-pii',
          messageId: 'pii-1',
          timestamp: iso(0),
          traits: { phone: who.phone, email: who.email, name: who.name, address: who.address, plan: 'gold' },
        },
        {
          type: 'track',
          userId: 'u-pii',
          event: 'order_completed',
          messageId: 'pii-2',
          timestamp: iso(1000),
          properties: { id_number: who.id_number, revenue: 99, product: 'tea' },
          context: { traits: { email: who.email } },
        },
        // Invalid (no event name): quarantined, with its PII encrypted too.
        { type: 'track', userId: 'u-pii', messageId: 'pii-bad', properties: { phone: who.phone } },
      ]);
      expect(response.json).toMatchObject({ accepted: 2, quarantined: 1 });

      const [identify, track] = await eventsOfIds(['u-pii']);
      const ring = t.server.governance.keyring;
      const traits = JSON.parse(identify!.properties) as Record<string, string>;
      expect(traits.phone).toMatch(/^enc:v1:k1:/);
      expect(traits.plan).toBe('gold');
      expect(decryptField(ring, traits.phone!)).toBe(who.phone);
      expect(decryptField(ring, traits.address!)).toBe(who.address);
      const properties = JSON.parse(track!.properties) as Record<string, unknown>;
      expect(decryptField(ring, properties.id_number as string)).toBe(who.id_number);
      expect(properties).toMatchObject({ revenue: 99, product: 'tea' });
      const context = JSON.parse(track!.context) as { traits: Record<string, string> };
      expect(decryptField(ring, context.traits.email!)).toBe(who.email);

      const [person] = await t.server.facts.query<{ traits: string }>(
        `SELECT argMax(traits, version) AS traits FROM persons WHERE project_id = {project:String}
         AND person_id = (SELECT argMax(person_id, version) FROM identities WHERE project_id = {project:String} AND distinct_id = 'u-pii')`,
        { project: t.projectId },
      );
      const stored = JSON.parse(person!.traits) as Record<string, string>;
      expect(decryptField(ring, stored.email!)).toBe(who.email);

      // Identity joins on keyed hashes of the plain values (next to the older unkeyed ones).
      const keyedPhone = keyedContactId(ring, 'phone', who.phone);
      const keyedEmail = keyedContactId(ring, 'email', who.email);
      const links = await identitiesOf(['u-pii', keyedPhone, keyedEmail]);
      expect(links.map((l) => l.distinct_id).sort()).toEqual([keyedEmail, keyedPhone, 'u-pii'].sort());
      expect(new Set(links.map((l) => l.person_id)).size).toBe(1);
    });

    it("stores a sender's repeated value as the same ciphertext, and another sender's equal value as its own", async () => {
      const name = '韩梅梅测试';
      const identify = (userId: string, messageId: string) => ({
        type: 'identify',
        userId,
        messageId,
        timestamp: iso(0),
        traits: { name },
      });
      // Separate requests: the second finds the first's ciphertext in the server's memo.
      await batch([identify('u-rep', 'rep-1')]);
      await batch([identify('u-rep', 'rep-2')]);
      await batch([identify('u-rep-other', 'rep-3')]);
      const rows = await eventsOfIds(['u-rep', 'u-rep-other']);
      const byMessage = new Map(
        rows.map((r) => [r.message_id, (JSON.parse(r.properties) as { name: string }).name]),
      );
      const ring = t.server.governance.keyring;
      for (const value of byMessage.values()) expect(decryptField(ring, value)).toBe(name);
      expect(byMessage.get('rep-2')).toBe(byMessage.get('rep-1'));
      expect(byMessage.get('rep-3')).not.toBe(byMessage.get('rep-1'));
    });

    it('encrypts the fields a project adds to its PII list from the next request on', async () => {
      await setPiiFields(t.server.metadata, t.projectId, [...DEFAULT_PII_FIELDS, 'qq']);
      await batch([
        {
          type: 'identify',
          userId: 'u-pii-qq',
          messageId: 'pii-qq',
          timestamp: iso(0),
          traits: { qq: who.qq },
        },
      ]);
      const [row] = await eventsOfIds(['u-pii-qq']);
      const traits = JSON.parse(row!.properties) as Record<string, string>;
      expect(decryptField(t.server.governance.keyring, traits.qq!)).toBe(who.qq);
    });

    it('leaves no plaintext PII in the write-ahead log or anywhere in the data directory', async () => {
      await t.settle();
      const wal = walBytes();
      // The log holds this test's rows (their encrypted form): the search reads the right bytes.
      expect(wal.includes('enc:v1:k1:')).toBe(true);
      expect(wal.includes('u-pii')).toBe(true);
      const everything = diskBytes(t.dataDir);
      for (const value of Object.values(who)) {
        expect(wal.includes(Buffer.from(value)), `${value} in the log`).toBe(false);
        expect(everything.includes(Buffer.from(value)), `${value} in the data directory`).toBe(false);
      }
      // The keys came from PULSELOOP_PII_KEYS: no key file was written next to the data.
      expect(existsSync(join(t.dataDir, 'pii-keys.json'))).toBe(false);
      expect(t.server.governance.keyring.origin.type).toBe('env');
    });
  });
}
