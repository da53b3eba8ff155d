import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addConnectorInstance } from '../../src/collect/connectors/instances.js';
import { listAudit } from '../../src/govern/audit.js';
import { governanceFor } from '../../src/govern/governance.js';
import { can, type Permission, READ_PERMISSIONS, ROLES, type Role } from '../../src/govern/permissions.js';
import { encryptField } from '../../src/govern/pii/crypto.js';
import { createApiToken } from '../../src/govern/tokens.js';
import { createUser, setProjectRole } from '../../src/govern/users.js';
import { basicAuth, startTestServer, type TestServer } from '../support/server.js';

// One real server (chdb + SQLite) on an ephemeral port for the whole file.
let t: TestServer;
let projectA: string;
let projectB: string;
let writeKeyA: string;
const users: Record<string, { id: string; email: string }> = {};
const tokens: Record<string, string> = {};
const PASSWORD = 'correct horse battery';

interface Call {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
  text: string;
}

async function call(
  method: string,
  path: string,
  options: { auth?: string; cookie?: string; csrf?: string; origin?: string; body?: unknown } = {},
): Promise<Call> {
  const headers: Record<string, string> = {};
  if (options.auth) headers.authorization = options.auth;
  if (options.cookie) headers.cookie = options.cookie;
  if (options.csrf) headers['x-csrf-token'] = options.csrf;
  if (options.origin) headers.origin = options.origin;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${t.url}${path}`, {
    method,
    headers,
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = {};
  }
  return { status: response.status, body, headers: response.headers, text };
}

const errorCode = (c: Call) => (c.body.error as { code?: string } | undefined)?.code;
const bearer = (token: string) => `Bearer ${token}`;

async function login(email: string, password = PASSWORD) {
  const response = await call('POST', '/api/v1/auth/login', { body: { email, password } });
  const cookies = response.headers.getSetCookie();
  const cookie = cookies.map((c) => c.split(';')[0]).join('; ');
  return { response, cookies, cookie, csrf: String(response.body.csrfToken ?? '') };
}

function seedPerson(projectId: string, personId: string, ids: string[], traits: Record<string, unknown>) {
  const at = Date.parse('2025-03-01T08:00:00Z');
  const events = ids.map((id, i) => ({
    project_id: projectId,
    message_id: `${personId}-m${i}`,
    type: 'track',
    event: 'view',
    timestamp: at + i,
    received_at: at + i,
    distinct_id: id,
    anonymous_id: id.startsWith('anon') ? id : '',
    user_id: id.startsWith('u-') ? id : '',
    person_id: personId,
    properties: '{}',
    context: '{}',
  }));
  const identities = ids.map((id) => ({
    project_id: projectId,
    distinct_id: id,
    id_type: id.startsWith('u-') ? 'user' : 'anonymous',
    person_id: personId,
    version: 1,
    is_deleted: 0,
    updated_at: at,
  }));
  const person = {
    project_id: projectId,
    person_id: personId,
    traits: JSON.stringify(traits),
    consent: '',
    created_at: at,
    updated_at: at,
    version: 1,
    is_deleted: 0,
  };
  const lines = (rows: object[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
  return Promise.all([
    t.server.facts.insertJsonEachRow('events', lines(events)),
    t.server.facts.insertJsonEachRow('identities', lines(identities)),
    t.server.facts.insertJsonEachRow('persons', lines([person])),
  ]);
}

beforeAll(async () => {
  t = await startTestServer();
  projectA = t.projectId;
  writeKeyA = t.writeKey;
  projectB = (await t.newProject('Other brand')).projectId;
  const metadata = t.server.metadata;
  for (const role of ROLES) {
    const user = await createUser(metadata, { email: `${role}@a.example.com`, password: PASSWORD });
    await setProjectRole(metadata, projectA, user.id, role);
    users[role] = user;
    tokens[role] = (
      await createApiToken(metadata, {
        userId: user.id,
        projectId: projectA,
        role,
        readOnly: false,
        name: role,
      })
    ).token;
  }
  tokens.ownerReadOnly = (
    await createApiToken(metadata, {
      userId: users.owner!.id,
      projectId: projectA,
      role: 'owner',
      readOnly: true,
      name: 'ro',
    })
  ).token;
  const ownerB = await createUser(metadata, { email: 'owner@b.example.com', password: PASSWORD });
  await setProjectRole(metadata, projectB, ownerB.id, 'owner');
  users.ownerB = ownerB;
  tokens.ownerB = (
    await createApiToken(metadata, {
      userId: ownerB.id,
      projectId: projectB,
      role: 'owner',
      readOnly: false,
      name: 'b',
    })
  ).token;
  for (let i = 0; i < 60; i++) {
    const { id } = await addConnectorInstance(metadata, {
      projectId: projectA,
      connector: connectorSettings.connector,
      name: `spare connector ${i}`,
      config: connectorSettings.config,
      credentials: { env: connectorSettings.tokenEnv },
    });
    spareConnectors.push(id);
  }
  const { keyring } = await governanceFor({ metadata });
  await seedPerson(projectA, 'person-a1', ['anon-a1', 'u-a1'], {
    phone: encryptField(keyring, '13812341234'),
    email: encryptField(keyring, 'zhang@example.com'),
    name: encryptField(keyring, '张三'),
    plan: 'gold',
  });
  await seedPerson(projectB, 'person-b1', ['anon-b1', 'u-b1'], {
    phone: encryptField(keyring, '13900009999'),
    plan: 'silver',
  });
});

afterAll(async () => {
  await t?.close();
});

/** A Douyin account whose token variable is never set: its syncs fail at once, calling nobody. */
const connectorSettings = {
  connector: 'douyin',
  config: { openId: 'api-test-open-id', baseUrl: 'http://127.0.0.1:9' },
  tokenEnv: 'PULSELOOP_API_TEST_TOKEN_NEVER_SET',
};
let connectorCount = 0;
/** Connectors of project A with no sync queued, one per call that syncs or removes one. */
const spareConnectors: string[] = [];

/** Every governance route with the permission it needs and a request that succeeds when allowed. */
const ROUTES: Array<{ method: string; path: string; permission: Permission; body?: unknown }> = [
  { method: 'GET', path: '/permissions', permission: 'analyses.read' },
  { method: 'GET', path: '/audit?limit=5', permission: 'audit.read' },
  { method: 'GET', path: '/audit.csv', permission: 'audit.read' },
  {
    method: 'POST',
    path: '/exports/breakdown',
    permission: 'data.export',
    body: {
      query: {
        metrics: ['events'],
        dimensions: ['event'],
        dateRange: { from: '2025-03-01', to: '2025-03-02' },
      },
    },
  },
  { method: 'GET', path: '/consent/u-a1', permission: 'consent.read' },
  {
    method: 'POST',
    path: '/consent',
    permission: 'consent.write',
    body: { changes: [{ subjectId: 'u-a1', purpose: 'email', granted: true }] },
  },
  { method: 'GET', path: '/retention', permission: 'retention.read' },
  { method: 'PUT', path: '/retention', permission: 'retention.configure', body: { quarantine: 400 } },
  { method: 'POST', path: '/retention/apply', permission: 'retention.configure' },
  { method: 'GET', path: '/members', permission: 'users.manage' },
  { method: 'PUT', path: '/members/MARKETER', permission: 'users.manage', body: { role: 'marketer' } },
  { method: 'GET', path: '/pii-fields', permission: 'events.read_raw' },
  {
    method: 'PUT',
    path: '/pii-fields',
    permission: 'pii.configure',
    body: { fields: ['phone', 'email', 'name', 'address', 'id_number', 'qq'] },
  },
  { method: 'GET', path: '/persons/u-a1/profile', permission: 'events.read_raw' },
  { method: 'GET', path: '/persons/u-a1/export', permission: 'persons.export' },
  { method: 'DELETE', path: '/persons/nobody-known-by-this-id', permission: 'persons.erase' },
  { method: 'GET', path: '/connectors', permission: 'analyses.read' },
  {
    method: 'POST',
    path: '/connectors',
    permission: 'keys.manage',
    body: () => ({ ...connectorSettings, name: `api connector ${++connectorCount}` }),
  },
  { method: 'POST', path: '/connectors/CONNECTOR/sync', permission: 'data.import' },
  {
    method: 'PUT',
    path: '/connectors/CONNECTOR/credentials',
    permission: 'keys.manage',
    body: { tokenEnv: 'OTHER_TOKEN' },
  },
  { method: 'DELETE', path: '/connectors/CONNECTOR', permission: 'keys.manage' },
];
// Each call naming CONNECTOR gets a connector of its own: one sync or removal never meets another's.
const pathOf = (projectId: string, route: (typeof ROUTES)[number]) =>
  `/api/v1/projects/${projectId}${route.path
    .replace('MARKETER', users.marketer!.id)
    .replace('CONNECTOR', () => spareConnectors.shift() ?? 'none-left')}`;
const bodyOf = (route: (typeof ROUTES)[number]) =>
  typeof route.body === 'function' ? (route.body as () => unknown)() : route.body;

describe('authorisation matrix on the governance routes', () => {
  it('lets each role exactly what the permission matrix says, and refuses the rest with 403', async () => {
    const outcomes: string[] = [];
    for (const role of ROLES) {
      for (const route of ROUTES) {
        const response = await call(route.method, pathOf(projectA, route), {
          auth: bearer(tokens[role]!),
          body: bodyOf(route),
        });
        const allowed = can(role, route.permission);
        outcomes.push(`${role} ${route.method} ${route.path}: ${response.status}`);
        if (allowed)
          expect(response.status, `${role} ${route.method} ${route.path}: ${response.text}`).toBeLessThan(
            300,
          );
        else {
          expect(response.status, `${role} ${route.method} ${route.path}`).toBe(403);
          expect(errorCode(response)).toBe('forbidden');
          expect(response.body.error).toMatchObject({ message_zh: expect.stringContaining('权限') });
        }
      }
    }
    expect(outcomes).toHaveLength(ROLES.length * ROUTES.length);
  });

  it('lets a read-only token only read, whatever its role', async () => {
    for (const route of ROUTES) {
      const response = await call(route.method, pathOf(projectA, route), {
        auth: bearer(tokens.ownerReadOnly!),
        body: bodyOf(route),
      });
      if (READ_PERMISSIONS.has(route.permission)) expect(response.status, route.path).toBeLessThan(300);
      else expect([response.status, errorCode(response)], route.path).toEqual([403, 'forbidden']);
    }
  });

  it('refuses anonymous callers with 401 and write keys with 403 on every route', async () => {
    for (const route of ROUTES) {
      const path = pathOf(projectA, route);
      const anonymous = await call(route.method, path, { body: bodyOf(route) });
      expect([anonymous.status, errorCode(anonymous)], path).toEqual([401, 'not_authenticated']);
      for (const auth of [bearer(writeKeyA), basicAuth(writeKeyA)]) {
        const keyed = await call(route.method, path, { auth, body: bodyOf(route) });
        expect([keyed.status, errorCode(keyed)], path).toEqual([403, 'write_key_not_allowed']);
      }
      const forged = await call(route.method, path, { auth: bearer('pl_pat_forged'), body: bodyOf(route) });
      expect(forged.status).toBe(401);
    }
  });
});

describe('tenant isolation', () => {
  it("never answers project A's routes with project B's credentials, nor B's with A's", async () => {
    for (const route of ROUTES) {
      const crossed = await call(route.method, pathOf(projectA, route), {
        auth: bearer(tokens.ownerB!),
        body: bodyOf(route),
      });
      expect([crossed.status, errorCode(crossed)], route.path).toEqual([404, 'unknown_project']);
      expect(crossed.text).not.toContain('u-a1');
      const back = await call(route.method, pathOf(projectB, route), {
        auth: bearer(tokens.owner!),
        body: bodyOf(route),
      });
      expect([back.status, errorCode(back)], route.path).toEqual([404, 'unknown_project']);
      expect(back.text).not.toContain('u-b1');
    }
  });

  it("does not find project A's person through project B, and B's audit log holds none of A's entries", async () => {
    for (const id of ['u-a1', 'anon-a1', 'person-a1']) {
      const exported = await call('GET', `/api/v1/projects/${projectB}/persons/${id}/export`, {
        auth: bearer(tokens.ownerB!),
      });
      expect([exported.status, errorCode(exported)]).toEqual([404, 'person_not_found']);
      const profile = await call('GET', `/api/v1/projects/${projectB}/persons/${id}/profile`, {
        auth: bearer(tokens.ownerB!),
      });
      expect(profile.status).toBe(404);
    }
    const own = await call('GET', `/api/v1/projects/${projectB}/persons/u-b1/profile`, {
      auth: bearer(tokens.ownerB!),
    });
    expect(own.body).toMatchObject({ personId: 'person-b1', traits: { phone: '13900009999' } });
    const audit = await call('GET', `/api/v1/projects/${projectB}/audit?limit=1000`, {
      auth: bearer(tokens.ownerB!),
    });
    const entries = audit.body.entries as Array<{ projectId: string }>;
    expect(entries.every((e) => e.projectId === projectB)).toBe(true);
  });
});

describe('sessions, CSRF and tokens', () => {
  it('signs in with an httpOnly SameSite=Lax session cookie and refuses a wrong password', async () => {
    const wrong = await login('admin@a.example.com', 'not the password');
    expect([wrong.response.status, errorCode(wrong.response)]).toEqual([401, 'invalid_credentials']);
    expect(wrong.cookies).toEqual([]);
    const { response, cookies, cookie } = await login('ADMIN@a.example.com');
    expect(response.status).toBe(200);
    const session = cookies.find((c) => c.startsWith('pl_session='))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Lax/);
    expect(cookies.find((c) => c.startsWith('pl_csrf='))).not.toMatch(/HttpOnly/);
    const me = await call('GET', '/api/v1/auth/me', { cookie });
    expect(me.body).toMatchObject({ user: { email: 'admin@a.example.com' }, via: 'session' });
  });

  it('refuses unsafe cookie requests without the CSRF token or from another origin', async () => {
    const { cookie, csrf } = await login('owner@a.example.com');
    const path = `/api/v1/projects/${projectA}/retention`;
    expect((await call('GET', path, { cookie })).status).toBe(200);
    const missing = await call('PUT', path, { cookie, body: { events: 365 } });
    expect([missing.status, errorCode(missing)]).toEqual([403, 'csrf_failed']);
    const forged = await call('PUT', path, { cookie, csrf: 'forged', body: { events: 365 } });
    expect(forged.status).toBe(403);
    const crossSite = await call('PUT', path, {
      cookie,
      csrf,
      origin: 'https://evil.example',
      body: { events: 365 },
    });
    expect([crossSite.status, errorCode(crossSite)]).toEqual([403, 'csrf_failed']);
    const ok = await call('PUT', path, { cookie, csrf, origin: t.url, body: { events: 365 } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ retention: { events: 365 } });
  });

  it('logs out: the session no longer works', async () => {
    const { cookie, csrf } = await login('viewer@a.example.com');
    expect((await call('POST', '/api/v1/auth/logout', { cookie })).status).toBe(403);
    const out = await call('POST', '/api/v1/auth/logout', { cookie, csrf });
    expect(out.status).toBe(204);
    expect(
      out.headers.getSetCookie().some((c) => c.startsWith('pl_session=;') && c.includes('Max-Age=0')),
    ).toBe(true);
    expect((await call('GET', '/api/v1/auth/me', { cookie })).status).toBe(401);
  });

  it('creates personal tokens no stronger than the membership, shown once, revocable', async () => {
    const { cookie, csrf } = await login('analyst@a.example.com');
    const tooStrong = await call('POST', '/api/v1/auth/tokens', {
      cookie,
      csrf,
      body: { projectId: projectA, name: 'x', role: 'admin' },
    });
    expect(tooStrong.status).toBe(403);
    const elsewhere = await call('POST', '/api/v1/auth/tokens', {
      cookie,
      csrf,
      body: { projectId: projectB, name: 'x', role: 'viewer' },
    });
    expect(elsewhere.status).toBe(404);
    const created = await call('POST', '/api/v1/auth/tokens', {
      cookie,
      csrf,
      body: { projectId: projectA, name: 'notebook', role: 'analyst', readOnly: true },
    });
    expect(created.status).toBe(201);
    const token = String(created.body.token);
    expect(token).toMatch(/^pl_pat_/);
    const listed = await call('GET', '/api/v1/auth/tokens', { cookie });
    expect(listed.text).not.toContain(token);
    expect(
      (await call('GET', `/api/v1/projects/${projectA}/retention`, { auth: bearer(token) })).status,
    ).toBe(200);
    // A token cannot mint tokens.
    expect(
      (
        await call('POST', '/api/v1/auth/tokens', {
          auth: bearer(token),
          body: { projectId: projectA, name: 'y', role: 'viewer' },
        })
      ).status,
    ).toBe(401);
    const id = (created.body.info as { id: string }).id;
    expect((await call('DELETE', `/api/v1/auth/tokens/${id}`, { cookie, csrf })).status).toBe(204);
    expect(
      (await call('GET', `/api/v1/projects/${projectA}/retention`, { auth: bearer(token) })).status,
    ).toBe(401);
  });

  it('lets only owners grant or take away the owner role', async () => {
    const path = `/api/v1/projects/${projectA}/members/${users.viewer!.id}`;
    const byAdmin = await call('PUT', path, { auth: bearer(tokens.admin!), body: { role: 'owner' } });
    expect(byAdmin.status).toBe(403);
    expect(byAdmin.body.error).toMatchObject({
      message:
        'Your role "admin" in this project does not allow "grant or revoke the owner role". Ask a project owner or admin.',
      message_zh: '您在该项目中的角色 "admin" 没有 "授予或撤销所有者角色" 权限。请联系项目所有者或管理员。',
    });
    const demoteOwner = await call('PUT', `/api/v1/projects/${projectA}/members/${users.owner!.id}`, {
      auth: bearer(tokens.admin!),
      body: { role: 'viewer' },
    });
    expect(demoteOwner.status).toBe(403);
    const bogus = await call('PUT', path, { auth: bearer(tokens.owner!), body: { role: 'root' } });
    expect([bogus.status, errorCode(bogus)]).toEqual([400, 'invalid_request']);
    // The validator's own words stay in English; what names the field is in Chinese.
    const { message, message_zh } = bogus.body.error as { message: string; message_zh: string };
    expect(message).toMatch(/^Invalid request: role: /);
    expect(message_zh).toMatch(/^请求无效：字段 "role"：/);
  });
});

describe('PII in responses', () => {
  it('shows owners and admins the decrypted profile and masks it for analysts', async () => {
    const path = `/api/v1/projects/${projectA}/persons/anon-a1/profile`;
    for (const role of ['owner', 'admin'] as Role[]) {
      const response = await call('GET', path, { auth: bearer(tokens[role]!) });
      expect(response.body).toEqual({
        personId: 'person-a1',
        traits: { phone: '13812341234', email: 'zhang@example.com', name: '张三', plan: 'gold' },
      });
    }
    const masked = await call('GET', path, { auth: bearer(tokens.analyst!) });
    expect(masked.body).toEqual({
      personId: 'person-a1',
      traits: { phone: '138****1234', email: 'z***@example.com', name: '张*', plan: 'gold' },
    });
    // The project's own PII list decides what is masked: `plan` becomes PII, `name` stops being.
    const fields = `/api/v1/projects/${projectA}/pii-fields`;
    expect(
      (
        await call('PUT', fields, {
          auth: bearer(tokens.admin!),
          body: { fields: ['phone', 'email', 'plan'] },
        })
      ).status,
    ).toBe(200);
    const custom = await call('GET', path, { auth: bearer(tokens.analyst!) });
    expect(custom.body.traits).toEqual({
      phone: '138****1234',
      email: 'z***@example.com',
      name: '张三',
      plan: '***',
    });
    const bad = await call('PUT', fields, {
      auth: bearer(tokens.admin!),
      body: { fields: ['ok', "x'; DROP TABLE users; --"] },
    });
    expect(bad.status).toBe(400);
    await call('PUT', fields, { auth: bearer(tokens.admin!), body: { fields: ['phone', 'email', 'name'] } });
  });
});

describe('consent API', () => {
  it('records changes with their source and answers the current state and history', async () => {
    const path = `/api/v1/projects/${projectA}/consent`;
    const posted = await call('POST', path, {
      auth: bearer(tokens.admin!),
      body: {
        changes: [
          { subjectId: 'u-c1', purpose: 'analytics', granted: false },
          {
            subjectId: 'u-c1',
            purpose: 'sms',
            granted: true,
            source: 'import',
            occurredAt: '2025-03-01T00:00:00Z',
          },
        ],
      },
    });
    expect(posted.status).toBe(201);
    const { consent } = await governanceFor({ metadata: t.server.metadata });
    expect(consent.isAnalyticsOptedOut(projectA, 'u-c1')).toBe(true);
    expect(consent.isAnalyticsOptedOut(projectB, 'u-c1')).toBe(false);
    const read = await call('GET', `${path}/u-c1`, { auth: bearer(tokens.marketer!) });
    expect(read.body.current).toMatchObject({
      analytics: { granted: false, source: 'api' },
      sms: { granted: true, source: 'import', occurredAt: '2025-03-01T00:00:00.000Z' },
      email: { granted: false, source: 'default' },
    });
    expect(read.body.history).toHaveLength(2);
    const bad = await call('POST', path, {
      auth: bearer(tokens.admin!),
      body: { changes: [{ subjectId: 'u-c1', purpose: 'telepathy', granted: true }] },
    });
    expect(bad.status).toBe(400);
    expect((bad.body.error as { message_zh: string }).message_zh).toMatch(
      /^请求无效：字段 "changes\.0\.purpose"：/,
    );
  });
});

describe('erasure through the API', () => {
  it("erases a person, reports what was removed, suppresses their ids, and audits it without the person's id", async () => {
    const path = `/api/v1/projects/${projectA}/persons`;
    const exported = await call('GET', `${path}/u-a1/export`, { auth: bearer(tokens.owner!) });
    expect(exported.status).toBe(200);
    const facts = exported.body.facts as Record<string, unknown[]>;
    expect([facts.events!.length, facts.identities!.length, facts.persons!.length]).toEqual([2, 2, 1]);
    expect(exported.text).toContain('13812341234');
    const erased = await call('DELETE', `${path}/u-a1`, { auth: bearer(tokens.admin!) });
    expect(erased.status).toBe(200);
    expect(erased.body).toMatchObject({ personCount: 1, removed: { events: 2, identities: 2, persons: 1 } });
    expect((await call('GET', `${path}/u-a1/export`, { auth: bearer(tokens.owner!) })).status).toBe(404);
    expect((await call('GET', `${path}/anon-a1/profile`, { auth: bearer(tokens.owner!) })).status).toBe(404);
    const { suppression } = await governanceFor({ metadata: t.server.metadata });
    expect(suppression.isSuppressed(projectA, 'anon-a1')).toBe(true);
    expect(suppression.isSuppressed(projectA, 'u-a1')).toBe(true);
    expect(suppression.isSuppressed(projectB, 'u-a1')).toBe(false);
    const audit = await call('GET', `/api/v1/projects/${projectA}/audit?action=person.erase`, {
      auth: bearer(tokens.owner!),
    });
    expect((audit.body.entries as unknown[]).length).toBeGreaterThan(0);
    expect(audit.text).not.toContain('u-a1');
    expect(audit.text).not.toContain('anon-a1');
    // Project B's person is untouched.
    const other = await call('GET', `/api/v1/projects/${projectB}/persons/u-b1/export`, {
      auth: bearer(tokens.ownerB!),
    });
    expect(other.status).toBe(200);
  });
});

describe('audit trail of the API', () => {
  it('records every audited action with who, from where and the outcome', async () => {
    const { entries } = await listAudit(t.server.metadata, { projectId: projectA, limit: 1000 });
    const actions = new Set(entries.map((e) => e.action));
    for (const action of [
      'auth.login',
      'auth.login_failed',
      'auth.logout',
      'auth.denied',
      'token.create',
      'token.revoke',
      'role.set',
      'consent.set',
      'retention.set',
      'retention.apply',
      'config.change',
      'audit.export',
      'person.export',
      'person.erase',
    ]) {
      expect(actions, action).toContain(action);
    }
    const failed = entries.find((e) => e.action === 'auth.login_failed')!;
    expect(failed).toMatchObject({
      outcome: 'failure',
      actorLabel: 'admin@a.example.com',
      ip: expect.stringMatching(/127\.0\.0\.1/),
    });
    const denied = entries.find((e) => e.action === 'auth.denied' && e.actorId === users.viewer!.id)!;
    expect(denied.outcome).toBe('denied');
    const csv = await call('GET', `/api/v1/projects/${projectA}/audit.csv?action=role.set`, {
      auth: bearer(tokens.owner!),
    });
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect(csv.text.split('\r\n')[0]).toMatch(/^at,action,outcome,/);
    expect(csv.text).toContain('role.set');
    expect(csv.text).not.toContain('auth.login');
    const bad = await call('GET', `/api/v1/projects/${projectA}/audit?action=drop%20table`, {
      auth: bearer(tokens.owner!),
    });
    expect(bad.status).toBe(400);
  });
});

describe('hardening', () => {
  it('sends the security headers on API responses and the dashboard', async () => {
    for (const path of ['/healthz', `/api/v1/projects/${projectA}/permissions`, '/']) {
      const response = await fetch(`${t.url}${path}`, { headers: { authorization: bearer(tokens.viewer!) } });
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('x-frame-options'), path).toBe('DENY');
      expect(response.headers.get('referrer-policy'), path).toBe('strict-origin-when-cross-origin');
      expect(response.headers.get('content-security-policy'), path).toContain("script-src 'self'");
    }
  });

  it('brakes password guessing per IP with 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push(
        (
          await call('POST', '/api/v1/auth/login', {
            body: { email: 'owner@a.example.com', password: `guess ${i}` },
          })
        ).status,
      );
    }
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
  });
});

describe('hostile input on the governance routes', () => {
  const HOSTILE = [
    "' OR 1=1 --",
    "x'); DROP TABLE events; --",
    '../../../../etc/passwd',
    '%00',
    '{"$gt":""}',
    '\u202Eu-a1',
    '张三'.repeat(20),
  ];

  it('answers injection strings, traversal and oversized ids in paths with 4xx or an empty result, never 500', async () => {
    for (const raw of HOSTILE) {
      const id = encodeURIComponent(raw);
      for (const path of [`/persons/${id}/profile`, `/persons/${id}/export`, `/consent/${id}`]) {
        const response = await call('GET', `/api/v1/projects/${projectA}${path}`, {
          auth: bearer(tokens.owner!),
        });
        expect(response.status, `${path}: ${response.text}`).toBeLessThan(500);
        expect(response.text).not.toContain('u-b1');
      }
      const erased = await call('DELETE', `/api/v1/projects/${projectA}/persons/${id}`, {
        auth: bearer(tokens.owner!),
      });
      expect(erased.status, raw).toBe(200);
      expect(Object.values(erased.body.removed as Record<string, number>).every((n) => n === 0)).toBe(true);
    }
    const long = await call('GET', `/api/v1/projects/${projectA}/persons/${'x'.repeat(5000)}/export`, {
      auth: bearer(tokens.owner!),
    });
    // Fastify refuses path parameters over 100 characters (414); the routes' own bound is 200.
    expect([400, 414]).toContain(long.status);
    const traversal = await call('GET', `/api/v1/projects/..%2F${projectB}/audit`, {
      auth: bearer(tokens.owner!),
    });
    expect(traversal.status).toBe(404);
    // Nothing of the other tenant was touched.
    const other = await call('GET', `/api/v1/projects/${projectB}/persons/u-b1/export`, {
      auth: bearer(tokens.ownerB!),
    });
    expect((other.body.facts as { events: unknown[] }).events).toHaveLength(2);
  });

  it('answers hostile breakdown exports with 400 or a bound, empty result, never 500', async () => {
    const dateRange = { from: '2025-03-01', to: '2025-03-02' };
    const query = (extra: Record<string, unknown>) => ({
      metrics: ['events'],
      dimensions: ['event'],
      dateRange,
      ...extra,
    });
    const refused: unknown[] = [
      { query: query({ metrics: ["events'; DROP TABLE events --"] }) },
      { query: query({ dimensions: ['event) OR 1=1 --'] }) },
      { query: query({ dimensions: ['properties.a`b'] }) },
      { query: query({ dateRange: { from: '2025-03-01', to: "2025-03-02' --" } }) },
      { query: query({ filters: [{ field: 'event', op: 'eq; DROP', value: 'x' }] }) },
      { query: query({ breakdownLimit: 1e9 }) },
      { query: 'SELECT 1' },
      { query: query({}), k: '5; DROP TABLE events' },
      { query: query({}), k: 1 },
      { query: query({}), epsilon: -1 },
      { query: query({}), format: '../../etc/passwd' },
      { query: query({}), extra: true },
      { query: query({ dimensions: ['x'.repeat(100_000)] }) },
    ];
    for (const body of refused) {
      const response = await call('POST', `/api/v1/projects/${projectA}/exports/breakdown`, {
        auth: bearer(tokens.owner!),
        body,
      });
      expect(response.status, JSON.stringify(body).slice(0, 120)).toBe(400);
    }
    // A value is bound, never spliced: an injection string in a filter is just a value nobody sent.
    const bound = await call('POST', `/api/v1/projects/${projectA}/exports/breakdown`, {
      auth: bearer(tokens.owner!),
      body: { query: query({ filters: [{ field: 'event', op: 'eq', value: "view' OR '1'='1" }] }) },
    });
    expect(bound.status).toBe(200);
    expect(bound.body.rows).toEqual([]);
  });

  it('refuses malformed, mistyped and oversized bodies and query strings with 400', async () => {
    const base = `/api/v1/projects/${projectA}`;
    const cases: Array<[string, string, unknown]> = [
      ['PUT', '/retention', { events: '365; DROP TABLE events' }],
      ['PUT', '/retention', { events: 1e9 }],
      ['PUT', '/retention', { events: 3.5 }],
      ['PUT', '/retention', { passwords: 30 }],
      ['PUT', '/retention', {}],
      ['POST', '/consent', { changes: [{ subjectId: 'u', purpose: 'email', granted: 'yes' }] }],
      ['POST', '/consent', { changes: [{ subjectId: 'x'.repeat(256), purpose: 'email', granted: true }] }],
      [
        'POST',
        '/consent',
        { changes: [{ subjectId: 'u', purpose: 'email', granted: true, occurredAt: 'yesterday' }] },
      ],
      ['POST', '/consent', { changes: [], __proto__: { admin: true } }],
      ['PUT', `/members/${users.viewer!.id}`, { role: 'viewer', extra: 1 }],
    ];
    for (const [method, path, body] of cases) {
      const response = await call(method, `${base}${path}`, { auth: bearer(tokens.owner!), body });
      expect([response.status, errorCode(response)], `${method} ${path} ${JSON.stringify(body)}`).toEqual([
        400,
        'invalid_request',
      ]);
    }
    const malformed = await fetch(`${t.url}${base}/retention`, {
      method: 'PUT',
      headers: { authorization: bearer(tokens.owner!), 'content-type': 'application/json' },
      body: '{"events": 30',
    });
    expect(malformed.status).toBe(400);
    for (const query of [
      '?limit=-1',
      '?limit=99999',
      '?action=auth.login%27--',
      '?from=yesterday',
      '?cursor=%3Cscript%3E',
    ]) {
      const response = await call('GET', `${base}/audit${query}`, { auth: bearer(tokens.owner!) });
      expect(response.status, query).toBe(400);
    }
  });
});
