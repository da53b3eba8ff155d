import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PulseloopError } from '../../src/errors/registry.js';
import { auditCsv, listAudit, recordAudit } from '../../src/govern/audit.js';
import {
  canContact,
  consentHistory,
  createConsentCache,
  currentConsent,
  recordConsent,
} from '../../src/govern/consent.js';
import { loadPiiKeyring } from '../../src/govern/pii/keys.js';
import { getRetention, RETENTION_KIND_NAMES, setRetention } from '../../src/govern/retention.js';
import { createSession, csrfTokenMatches, deleteSession, findSession } from '../../src/govern/sessions.js';
import { createSuppressionList, eraseSubjectMetadata } from '../../src/govern/subjects.js';
import { governDb } from '../../src/govern/tables.js';
import { createApiToken, findActiveToken, revokeApiToken } from '../../src/govern/tokens.js';
import {
  addOrganisationMember,
  createUser,
  effectiveProjectRole,
  projectRoleOf,
  removeProjectMember,
  setProjectRole,
  verifyLogin,
} from '../../src/govern/users.js';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import type { MetadataStore } from '../../src/store/metadata/open.js';
import { createOrganisation } from '../../src/store/metadata/organisations.js';
import { createProject } from '../../src/store/metadata/projects.js';

/** The governance metadata behaviour, run on each dialect; `open` must give an empty store each call. */
export function describeGovernMetadataSuite(name: string, open: () => Promise<MetadataStore>): void {
  describe(`governance metadata on ${name}`, () => {
    const opened: MetadataStore[] = [];
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    async function setup() {
      const store = await open();
      opened.push(store);
      await migrateMetadata(store);
      const organisation = await createOrganisation(store, { name: 'Leaf & Co' });
      const project = await createProject(store, {
        organisationId: organisation.id,
        name: 'Tea shop',
        timeZone: 'Asia/Shanghai',
        currency: 'CNY',
      });
      const other = await createProject(store, {
        organisationId: organisation.id,
        name: 'Coffee shop',
        timeZone: 'Asia/Shanghai',
        currency: 'CNY',
      });
      return { store, organisation, project, other };
    }

    async function code(promise: Promise<unknown>): Promise<string | undefined> {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      return error instanceof PulseloopError ? error.code : String(error);
    }

    it('stores an argon2id hash, never the password, and verifies only the right password', async () => {
      const { store } = await setup();
      const user = await createUser(store, {
        email: ' Li.Na@Example.com ',
        password: 'correct horse battery',
      });
      expect(user.email).toBe('li.na@example.com');
      const row = await governDb(store)
        .selectFrom('users')
        .selectAll()
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(row.password_hash).not.toContain('correct horse');
      expect((await verifyLogin(store, 'LI.NA@example.com', 'correct horse battery'))?.id).toBe(user.id);
      expect(await verifyLogin(store, 'li.na@example.com', 'wrong password!')).toBeUndefined();
      expect(await verifyLogin(store, 'nobody@example.com', 'correct horse battery')).toBeUndefined();
      expect(await code(createUser(store, { email: 'li.na@example.com', password: 'another one!' }))).toBe(
        'user_exists',
      );
      expect(await code(createUser(store, { email: 'x@example.com', password: 'short' }))).toBe(
        'weak_password',
      );
      expect(await code(createUser(store, { email: 'not-an-email', password: 'long enough pw' }))).toBe(
        'invalid_request',
      );
    });

    it('keeps sessions hashed, expires them and deletes them at logout', async () => {
      const { store } = await setup();
      const user = await createUser(store, { email: 'a@example.com', password: 'long enough pw' });
      const now = Date.parse('2025-03-01T00:00:00Z');
      const session = await createSession(
        store,
        user.id,
        { ip: '10.0.0.1', userAgent: 'test' },
        3600_000,
        now,
      );
      expect(session.sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const stored = await governDb(store).selectFrom('sessions').selectAll().execute();
      expect(JSON.stringify(stored)).not.toContain(session.sessionId);
      expect(JSON.stringify(stored)).not.toContain(session.csrfToken);
      const found = await findSession(store, session.sessionId, now + 1000);
      expect(found?.userId).toBe(user.id);
      expect(csrfTokenMatches(found!, session.csrfToken)).toBe(true);
      expect(csrfTokenMatches(found!, 'forged')).toBe(false);
      expect(await findSession(store, session.sessionId, now + 3600_001)).toBeUndefined();
      expect(await governDb(store).selectFrom('sessions').selectAll().execute()).toHaveLength(0);
      const second = await createSession(store, user.id, { ip: '', userAgent: '' }, 3600_000);
      expect(await deleteSession(store, second.sessionId)).toBe(true);
      expect(await findSession(store, second.sessionId)).toBeUndefined();
    });

    it('finds API tokens by their hash until revoked or expired', async () => {
      const { store, project } = await setup();
      const user = await createUser(store, { email: 'a@example.com', password: 'long enough pw' });
      const { token, info } = await createApiToken(store, {
        userId: user.id,
        projectId: project.id,
        role: 'analyst',
        readOnly: true,
        name: 'nightly export',
      });
      expect(token).toMatch(/^pl_pat_[A-Za-z0-9_-]{43}$/);
      expect(
        JSON.stringify(await governDb(store).selectFrom('api_tokens').selectAll().execute()),
      ).not.toContain(token);
      expect(await findActiveToken(store, token)).toMatchObject({
        id: info.id,
        role: 'analyst',
        readOnly: true,
      });
      expect(await findActiveToken(store, `${token}x`)).toBeUndefined();
      expect(await revokeApiToken(store, user.id, info.id)).toBe(true);
      expect(await findActiveToken(store, token)).toBeUndefined();
      const expiring = await createApiToken(store, {
        userId: user.id,
        projectId: project.id,
        role: 'viewer',
        readOnly: false,
        name: 'short-lived',
        expiresAt: '2025-01-01T00:00:00.000Z',
      });
      expect(await findActiveToken(store, expiring.token)).toBeUndefined();
    });

    it('gives roles per project, keeps at least one owner, and makes organisation owners owners of its projects', async () => {
      const { store, organisation, project, other } = await setup();
      const owner = await createUser(store, { email: 'owner@example.com', password: 'long enough pw' });
      const analyst = await createUser(store, { email: 'analyst@example.com', password: 'long enough pw' });
      await setProjectRole(store, project.id, owner.id, 'owner');
      await setProjectRole(store, project.id, analyst.id, 'analyst');
      expect(await projectRoleOf(store, project.id, analyst.id)).toBe('analyst');
      expect(await projectRoleOf(store, other.id, analyst.id)).toBeUndefined();
      expect(await code(setProjectRole(store, project.id, owner.id, 'admin'))).toBe('last_owner');
      expect(await code(removeProjectMember(store, project.id, owner.id))).toBe('last_owner');
      expect(await code(setProjectRole(store, project.id, analyst.id, 'superuser'))).toBe('invalid_role');
      expect(await setProjectRole(store, project.id, analyst.id, 'owner')).toEqual({
        previous: 'analyst',
        role: 'owner',
      });
      expect((await setProjectRole(store, project.id, owner.id, 'viewer')).role).toBe('viewer');
      expect(await effectiveProjectRole(store, other.id, owner.id)).toBeUndefined();
      await addOrganisationMember(store, organisation.id, owner.id, 'owner');
      expect(await effectiveProjectRole(store, other.id, owner.id)).toBe('owner');
      // An explicit project role wins over organisation ownership.
      expect(await effectiveProjectRole(store, project.id, owner.id)).toBe('viewer');
    });

    it('appends audit entries and pages, filters and exports them per project, newest first', async () => {
      const { store, project, other } = await setup();
      const actor = { type: 'user' as const, id: 'u1', label: 'a@example.com' };
      const t0 = Date.parse('2025-03-01T00:00:00Z');
      for (let i = 0; i < 25; i++) {
        await recordAudit(
          store,
          {
            action: i % 5 === 0 ? 'auth.login_failed' : 'auth.login',
            actor,
            projectId: project.id,
            outcome: i % 5 === 0 ? 'failure' : 'success',
            ip: '10.0.0.1',
            userAgent: 'Mozilla',
            target: { type: 'user', id: `=cmd|${i}` },
          },
          t0 + i * 1000,
        );
      }
      await recordAudit(store, { action: 'data.export', actor, projectId: other.id }, t0);
      const first = await listAudit(store, { projectId: project.id, limit: 10 });
      expect(first.entries).toHaveLength(10);
      expect(first.entries[0]!.at).toBe(new Date(t0 + 24_000).toISOString());
      const second = await listAudit(store, { projectId: project.id, limit: 10, cursor: first.next! });
      const third = await listAudit(store, { projectId: project.id, limit: 10, cursor: second.next! });
      expect(third.entries).toHaveLength(5);
      expect(third.next).toBeNull();
      const ids = [...first.entries, ...second.entries, ...third.entries].map((e) => e.id);
      expect(new Set(ids).size).toBe(25);
      const failed = await listAudit(store, { projectId: project.id, action: 'auth.login_failed' });
      expect(failed.entries.map((e) => e.outcome)).toEqual(Array(5).fill('failure'));
      const window = await listAudit(store, {
        projectId: project.id,
        from: new Date(t0 + 10_000).toISOString(),
        to: new Date(t0 + 12_000).toISOString(),
      });
      expect(window.entries).toHaveLength(2);
      const csv = await auditCsv(store, { projectId: project.id });
      const lines = csv.trim().split('\r\n');
      expect(lines[0]).toBe(
        'at,action,outcome,actor_type,actor_id,actor_label,target_type,target_id,ip,user_agent,details',
      );
      expect(lines).toHaveLength(26);
      expect(csv).toContain(`"'=cmd|24"`);
      expect(csv).not.toContain('data.export');
    });

    it('keeps consent history, applies the latest record, and defaults contact purposes to not allowed', async () => {
      const { store, project, other } = await setup();
      expect(await canContact(store, project.id, 'u-1', 'email')).toBe(false);
      expect(await canContact(store, project.id, 'u-1', 'analytics')).toBe(true);
      await recordConsent(store, project.id, [
        {
          subjectId: 'u-1',
          purpose: 'email',
          granted: true,
          source: 'identify',
          occurredAt: '2025-03-01T00:00:00Z',
        },
        {
          subjectId: 'u-1',
          purpose: 'sms',
          granted: true,
          source: 'import',
          occurredAt: '2025-03-01T00:00:00Z',
        },
      ]);
      await recordConsent(store, project.id, [
        {
          subjectId: 'u-1',
          purpose: 'sms',
          granted: false,
          source: 'api',
          occurredAt: '2025-03-05T00:00:00Z',
        },
        // Arrives later but happened earlier: history keeps it, the state does not change.
        {
          subjectId: 'u-1',
          purpose: 'email',
          granted: false,
          source: 'import',
          occurredAt: '2025-02-01T00:00:00Z',
        },
      ]);
      expect(await canContact(store, project.id, 'u-1', 'email')).toBe(true);
      expect(await canContact(store, project.id, 'u-1', 'sms')).toBe(false);
      expect(await canContact(store, project.id, ['anon-9', 'u-1'], 'email')).toBe(true);
      expect(await canContact(store, other.id, 'u-1', 'email')).toBe(false);
      const history = await consentHistory(store, project.id, ['u-1']);
      expect(history.map((h) => `${h.purpose}:${h.granted}:${h.source}`)).toEqual([
        'email:false:import',
        'email:true:identify',
        'sms:true:import',
        'sms:false:api',
      ]);
      expect((await currentConsent(store, project.id, ['u-1'])).sms).toEqual({
        granted: false,
        source: 'api',
        occurredAt: '2025-03-05T00:00:00.000Z',
      });
      expect(
        await code(
          recordConsent(store, project.id, [
            { subjectId: 'u', purpose: 'fax' as 'sms', granted: true, source: 'api' },
          ]),
        ),
      ).toBe('invalid_consent');
    });

    it('answers analytics opt-out from memory and picks up records another process wrote', async () => {
      const { store, project, other } = await setup();
      const cache = await createConsentCache(store);
      expect(cache.isAnalyticsOptedOut(project.id, 'u-1')).toBe(false);
      await recordConsent(
        store,
        project.id,
        [{ subjectId: 'u-1', purpose: 'analytics', granted: false, source: 'api' }],
        cache,
      );
      expect(cache.isAnalyticsOptedOut(project.id, 'u-1')).toBe(true);
      expect(cache.isAnalyticsOptedOut(other.id, 'u-1')).toBe(false);
      // Written without the cache (another process), seen after refresh.
      await recordConsent(store, project.id, [
        { subjectId: 'u-2', purpose: 'analytics', granted: false, source: 'identify' },
      ]);
      expect(cache.isAnalyticsOptedOut(project.id, 'u-2')).toBe(false);
      await cache.refresh();
      expect(cache.isAnalyticsOptedOut(project.id, 'u-2')).toBe(true);
      await recordConsent(
        store,
        project.id,
        [{ subjectId: 'u-1', purpose: 'analytics', granted: true, source: 'api' }],
        cache,
      );
      expect(cache.isAnalyticsOptedOut(project.id, 'u-1')).toBe(false);
      const fresh = await createConsentCache(store);
      expect([
        fresh.isAnalyticsOptedOut(project.id, 'u-1'),
        fresh.isAnalyticsOptedOut(project.id, 'u-2'),
      ]).toEqual([false, true]);
    });

    it("erases a subject's consent records and suppresses their ids as keyed hashes, per project", async () => {
      const { store, project, other } = await setup();
      const ring = loadPiiKeyring({ dataDir: mkdtempSync(join(tmpdir(), 'pulseloop-govern-ring-')) });
      await recordConsent(store, project.id, [
        { subjectId: 'u-9', purpose: 'email', granted: true, source: 'api' },
        { subjectId: 'anon-9', purpose: 'sms', granted: true, source: 'api' },
        { subjectId: 'u-10', purpose: 'email', granted: true, source: 'api' },
      ]);
      await recordConsent(store, other.id, [
        { subjectId: 'u-9', purpose: 'email', granted: true, source: 'api' },
      ]);
      const list = await createSuppressionList(store, ring);
      const result = await eraseSubjectMetadata(store, ring, project.id, ['u-9', 'anon-9'], list);
      expect(result.consentRecords).toBe(2);
      expect(await consentHistory(store, project.id, ['u-9', 'anon-9'])).toEqual([]);
      expect(await canContact(store, project.id, 'u-10', 'email')).toBe(true);
      expect(await canContact(store, other.id, 'u-9', 'email')).toBe(true);
      expect([list.isSuppressed(project.id, 'u-9'), list.isSuppressed(project.id, 'u-10')]).toEqual([
        true,
        false,
      ]);
      expect(list.isSuppressed(other.id, 'u-9')).toBe(false);
      // Erasing again changes nothing; a fresh list (another process) knows the ids.
      expect((await eraseSubjectMetadata(store, ring, project.id, ['u-9'])).consentRecords).toBe(0);
      const rows = await governDb(store).selectFrom('suppressed_ids').selectAll().execute();
      expect(rows).toHaveLength(2);
      expect(JSON.stringify(rows)).not.toContain('u-9');
      expect((await createSuppressionList(store, ring)).isSuppressed(project.id, 'anon-9')).toBe(true);
    });

    it('stores retention per project and kind, validating whole days', async () => {
      const { store, project, other } = await setup();
      expect((await getRetention(store, project.id)).events).toBeNull();
      const { after } = await setRetention(store, project.id, { events: 365, quarantine: 30 });
      expect(after).toMatchObject({ events: 365, quarantine: 30, orders: null });
      await setRetention(store, project.id, { quarantine: null });
      expect(await getRetention(store, project.id)).toMatchObject({ events: 365, quarantine: null });
      expect((await getRetention(store, other.id)).events).toBeNull();
      for (const bad of [0, -1, 1.5, '30', 36_501, '1; DROP TABLE events']) {
        expect(await code(setRetention(store, project.id, { events: bad }))).toBe('invalid_retention');
      }
      const unknownKind = await setRetention(store, project.id, { passwords: 1 }).catch((e: unknown) => e);
      expect(unknownKind).toBeInstanceOf(PulseloopError);
      expect((unknownKind as PulseloopError).zh).toBe(
        `"passwords" 的保留期限无效：请使用 ${RETENTION_KIND_NAMES.join('、')} 之一。`,
      );
    });
  });
}
