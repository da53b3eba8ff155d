import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routesOf } from '../../src/api/app.js';
import { addConnectorInstance } from '../../src/collect/connectors/instances.js';
import { can, type Permission, READ_PERMISSIONS, ROLES, type Role } from '../../src/govern/permissions.js';
import { createApiToken } from '../../src/govern/tokens.js';
import { createUser, setProjectRole } from '../../src/govern/users.js';
import { basicAuth, startTestServer, type TestServer } from '../support/server.js';

/**
 * The authorisation matrix of the whole HTTP API: every route the app registers under /api/ ×
 * every role × a read-only token × a session × anonymous × a write key, against the permission
 * matrix; and tenant isolation: project A's credentials never reach project B's rows. The route
 * list comes from the app itself, so a new route without an entry here fails the first test.
 */

let t: TestServer;
const PASSWORD = 'matrix member password';
const MARKER = 'tenant-b-secret';

interface ProjectFixture {
  projectId: string;
  writeKey: string;
  sourceId: string;
  messageId: string;
  personId: string;
  insightId: string;
  dashboardId: string;
  metricId: string;
}
let A: ProjectFixture;
let B: ProjectFixture;
/** Project A's members: one per role, with a personal token each, and a read-only owner token. */
const tokens: Partial<Record<Role | 'ownerReadOnly', string>> = {};
let adminSession: { cookie: string; csrf: string };

/** What a route needs for a request that succeeds when allowed; `fresh` creates what it changes. */
interface RouteSpec {
  permission: Permission | 'public' | 'signed-in';
  query?: string;
  body?: unknown;
  contentType?: string;
  stream?: boolean;
  fresh?: (p: ProjectFixture) => Promise<{ params?: Record<string, string>; body?: unknown }>;
}

const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
const trendsQuery = { metrics: ['events'], dateRange: { from: '2025-01-01', to: today } };
const csv = '作品ID,作品标题,日期,播放数,点赞数,评论数,完播率\r\nk1,泡茶,2025-03-01,100,1,1,10%\r\n';
let counter = 0;
const unique = (prefix: string) => `${prefix}${++counter}`;

/** As the owner of `p` (the test server's own owner token for that project). */
async function asOwner(p: ProjectFixture, method: string, path: string, body?: unknown) {
  const response = await t.api(`/api/v1/projects/${p.projectId}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...t.authHeaders(p.projectId) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

/**
 * A connector's settings for the matrix: a Douyin account whose token variable is never set and whose
 * API address answers nothing, so its syncs fail at once without leaving this machine.
 */
const connectorBody = (name: string) => ({
  connector: 'douyin',
  name,
  config: { openId: 'matrix-open-id', baseUrl: 'http://127.0.0.1:9' },
  tokenEnv: 'PULSELOOP_MATRIX_TOKEN_NEVER_SET',
});

/** A connector of `p` with no sync queued (so none can be running when the route is called). */
async function spareConnector(p: ProjectFixture): Promise<string> {
  const body = connectorBody(unique(p === B ? `${MARKER} connector ` : 'spare connector '));
  const instance = await addConnectorInstance(t.server.metadata, {
    projectId: p.projectId,
    connector: body.connector,
    name: body.name,
    config: body.config,
    credentials: { env: body.tokenEnv },
  });
  return instance.id;
}

async function newMember(p: ProjectFixture, role: Role = 'viewer') {
  const user = await createUser(t.server.metadata, {
    email: `${unique('m')}@matrix.example.com`,
    password: PASSWORD,
  });
  await setProjectRole(t.server.metadata, p.projectId, user.id, role);
  return user;
}

/**
 * Two new known users of `p`, as a body that merges one into the other; for project B, B's own
 * person and user id (B keeps its one event, and A's routes must not find them).
 */
async function twoPersons(p: ProjectFixture) {
  if (p === B) return { body: { into: B.personId, from: 'B-user-1' } };
  const [into, from] = [unique('merge-into-'), unique('merge-from-')];
  for (const userId of [into, from]) {
    const response = await fetch(`${t.url}/v1/identify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(p.writeKey) },
      body: JSON.stringify({ userId }),
    });
    expect(response.status).toBe(200);
  }
  return { body: { into, from } };
}

/** A new conflict in `p` (two members on one device), as a body that decides it; for B, ids B never had in conflict. */
async function newConflict(p: ProjectFixture) {
  if (p === B)
    return { body: { distinctId: 'B-user-1', otherDistinctId: B.personId, decision: 'kept_apart' } };
  const [device, first, second] = [unique('shared-device-'), unique('member-a-'), unique('member-b-')];
  for (const userId of [first, second]) {
    const response = await fetch(`${t.url}/v1/identify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(p.writeKey) },
      body: JSON.stringify({ userId, anonymousId: device }),
    });
    expect(response.status).toBe(200);
  }
  await t.settle();
  return { body: { distinctId: second, otherDistinctId: device, decision: 'kept_apart' } };
}

const SPECS: Record<string, RouteSpec> = {
  // Public: sign-in itself, and the list of analysis kinds (names no data).
  'GET /api/v1/analyses': { permission: 'public' },
  'POST /api/v1/auth/login': { permission: 'public' },
  'POST /api/v1/auth/logout': { permission: 'signed-in' },
  'GET /api/v1/auth/me': { permission: 'signed-in' },
  'GET /api/v1/auth/tokens': { permission: 'signed-in' },
  'POST /api/v1/auth/tokens': { permission: 'signed-in' },
  'DELETE /api/v1/auth/tokens/:id': { permission: 'signed-in' },
  'GET /api/v1/projects': { permission: 'signed-in' },
  // Analyses, metrics, insights, dashboards.
  'POST /api/v1/projects/:projectId/analyses/:kind': {
    permission: 'analyses.read',
    body: trendsQuery,
    fresh: async () => ({ params: { kind: 'trends' } }),
  },
  'GET /api/v1/projects/:projectId/metrics': { permission: 'analyses.read' },
  'PUT /api/v1/projects/:projectId/metrics/:id': {
    permission: 'analyses.write',
    fresh: async () => ({
      params: { id: unique('matrix_metric_') },
      body: { en: 'Views', definition: { type: 'event', event: 'view', aggregation: 'count' } },
    }),
  },
  'DELETE /api/v1/projects/:projectId/metrics/:id': {
    permission: 'analyses.write',
    fresh: async (p) => {
      const id = unique('spare_metric_');
      await asOwner(p, 'PUT', `/metrics/${id}`, {
        en: 'Spare',
        definition: { type: 'event', event: 'view', aggregation: 'count' },
      });
      return { params: { id } };
    },
  },
  'GET /api/v1/projects/:projectId/insights': { permission: 'analyses.read' },
  'POST /api/v1/projects/:projectId/insights': {
    permission: 'analyses.write',
    body: { name: 'New', kind: 'trends', query: trendsQuery },
  },
  'GET /api/v1/projects/:projectId/insights/:id': {
    permission: 'analyses.read',
    fresh: async (p) => ({ params: { id: p.insightId } }),
  },
  'GET /api/v1/projects/:projectId/insights/:id/results': {
    permission: 'analyses.read',
    fresh: async (p) => ({ params: { id: p.insightId } }),
  },
  'PUT /api/v1/projects/:projectId/insights/:id': {
    permission: 'analyses.write',
    fresh: async (p) => ({
      params: { id: p.insightId },
      body: { name: p === B ? `${MARKER} insight` : 'Renamed', kind: 'trends', query: trendsQuery },
    }),
  },
  'DELETE /api/v1/projects/:projectId/insights/:id': {
    permission: 'analyses.write',
    fresh: async (p) => {
      const { insight } = await asOwner(p, 'POST', '/insights', {
        name: 'Spare',
        kind: 'trends',
        query: trendsQuery,
      });
      return { params: { id: insight.id } };
    },
  },
  'GET /api/v1/projects/:projectId/dashboards': { permission: 'analyses.read' },
  'POST /api/v1/projects/:projectId/dashboards': {
    permission: 'analyses.write',
    body: { name: 'New', tiles: [] },
  },
  'GET /api/v1/projects/:projectId/dashboards/:id': {
    permission: 'analyses.read',
    fresh: async (p) => ({ params: { id: p.dashboardId } }),
  },
  'PUT /api/v1/projects/:projectId/dashboards/:id': {
    permission: 'analyses.write',
    fresh: async (p) => ({
      params: { id: p.dashboardId },
      body: { name: p === B ? `${MARKER} board` : 'Renamed', tiles: [] },
    }),
  },
  'DELETE /api/v1/projects/:projectId/dashboards/:id': {
    permission: 'analyses.write',
    fresh: async (p) => {
      const { dashboard } = await asOwner(p, 'POST', '/dashboards', { name: 'Spare', tiles: [] });
      return { params: { id: dashboard.id } };
    },
  },
  // Raw events.
  'GET /api/v1/projects/:projectId/events': { permission: 'events.read_raw' },
  'GET /api/v1/projects/:projectId/events/:messageId': {
    permission: 'events.read_raw',
    fresh: async (p) => ({ params: { messageId: p.messageId } }),
  },
  'GET /api/v1/projects/:projectId/events/live': { permission: 'events.read_raw', stream: true },
  'GET /api/v1/projects/:projectId/quarantine': { permission: 'events.read_raw' },
  'POST /api/v1/projects/:projectId/quarantine/retry': { permission: 'data.import' },
  // Sources and write keys.
  'GET /api/v1/projects/:projectId/sources': { permission: 'analyses.read' },
  'POST /api/v1/projects/:projectId/sources/:sourceId/keys': {
    permission: 'keys.manage',
    fresh: async (p) => ({ params: { sourceId: p.sourceId } }),
  },
  'DELETE /api/v1/projects/:projectId/sources/:sourceId/keys/:key': {
    permission: 'keys.manage',
    fresh: async (p) => {
      const { writeKey } = await asOwner(p, 'POST', `/sources/${p.sourceId}/keys`);
      return { params: { sourceId: p.sourceId, key: writeKey.key } };
    },
  },
  // Connectors.
  'GET /api/v1/connectors': { permission: 'signed-in' },
  'GET /api/v1/projects/:projectId/connectors': { permission: 'analyses.read' },
  'POST /api/v1/projects/:projectId/connectors': {
    permission: 'keys.manage',
    fresh: async () => ({ body: connectorBody(unique('matrix connector ')) }),
  },
  'POST /api/v1/projects/:projectId/connectors/:instanceId/sync': {
    permission: 'data.import',
    fresh: async (p) => ({ params: { instanceId: await spareConnector(p) } }),
  },
  'PUT /api/v1/projects/:projectId/connectors/:instanceId/credentials': {
    permission: 'keys.manage',
    fresh: async (p) => ({
      params: { instanceId: await spareConnector(p) },
      body: { tokenEnv: 'MATRIX_TOKEN' },
    }),
  },
  'DELETE /api/v1/projects/:projectId/connectors/:instanceId': {
    permission: 'keys.manage',
    fresh: async (p) => ({ params: { instanceId: await spareConnector(p) } }),
  },
  // Imports.
  'POST /api/v1/projects/:projectId/imports': {
    permission: 'data.import',
    query: '?kind=content_stats&preset=kuaishou_content&filename=ks.csv',
    body: csv,
    contentType: 'text/csv',
  },
  'POST /api/v1/projects/:projectId/imports/detect': {
    permission: 'data.import',
    query: '?filename=ks.csv',
    body: csv,
    contentType: 'text/csv',
  },
  // Governance.
  'GET /api/v1/projects/:projectId/permissions': { permission: 'analyses.read' },
  'GET /api/v1/projects/:projectId/audit': { permission: 'audit.read', query: '?limit=5' },
  'GET /api/v1/projects/:projectId/audit.csv': { permission: 'audit.read' },
  'POST /api/v1/projects/:projectId/exports/breakdown': {
    permission: 'data.export',
    body: { query: { ...trendsQuery, dimensions: ['event'] } },
  },
  'GET /api/v1/projects/:projectId/consent/:id': {
    permission: 'consent.read',
    fresh: async (p) => ({ params: { id: p.personId } }),
  },
  'POST /api/v1/projects/:projectId/consent': {
    permission: 'consent.write',
    fresh: async (p) => ({ body: { changes: [{ subjectId: p.personId, purpose: 'email', granted: true }] } }),
  },
  'GET /api/v1/projects/:projectId/retention': { permission: 'retention.read' },
  'PUT /api/v1/projects/:projectId/retention': {
    permission: 'retention.configure',
    body: { quarantine: 400 },
  },
  'POST /api/v1/projects/:projectId/retention/apply': { permission: 'retention.configure' },
  'GET /api/v1/projects/:projectId/members': { permission: 'users.manage' },
  'POST /api/v1/projects/:projectId/members': {
    permission: 'users.manage',
    fresh: async () => {
      const user = await createUser(t.server.metadata, {
        email: `${unique('n')}@matrix.example.com`,
        password: PASSWORD,
      });
      return { body: { email: user.email, role: 'viewer' } };
    },
  },
  'PUT /api/v1/projects/:projectId/members/:id': {
    permission: 'users.manage',
    fresh: async (p) => ({ params: { id: (await newMember(p)).id }, body: { role: 'analyst' } }),
  },
  'DELETE /api/v1/projects/:projectId/members/:id': {
    permission: 'users.manage',
    fresh: async (p) => ({ params: { id: (await newMember(p)).id } }),
  },
  'GET /api/v1/projects/:projectId/pii-fields': { permission: 'events.read_raw' },
  'PUT /api/v1/projects/:projectId/pii-fields': {
    permission: 'pii.configure',
    body: { fields: ['phone', 'email', 'name', 'address', 'id_number'] },
  },
  'GET /api/v1/projects/:projectId/persons/:id/identity': {
    permission: 'events.read_raw',
    fresh: async (p) => ({ params: { id: p.personId } }),
  },
  'GET /api/v1/projects/:projectId/identity/conflicts': { permission: 'events.read_raw' },
  'GET /api/v1/projects/:projectId/persons': {
    permission: 'events.read_raw',
    query: '?from=2025-01-01&to=2030-12-31',
  },
  'POST /api/v1/projects/:projectId/persons/merge': { permission: 'persons.merge', fresh: twoPersons },
  'POST /api/v1/projects/:projectId/identity/conflicts/decision': {
    permission: 'persons.merge',
    fresh: newConflict,
  },
  'GET /api/v1/projects/:projectId/persons/:id/profile': {
    permission: 'events.read_raw',
    fresh: async (p) => ({ params: { id: p.personId } }),
  },
  'GET /api/v1/projects/:projectId/persons/:id/export': {
    permission: 'persons.export',
    fresh: async (p) => ({ params: { id: p.personId } }),
  },
  'DELETE /api/v1/projects/:projectId/persons/:id': {
    permission: 'persons.erase',
    fresh: async () => ({ params: { id: unique('nobody-') } }),
  },
};

/** The app's own routes under /api/ (HEAD is Fastify's automatic twin of GET). */
function apiRoutes(): string[] {
  return [
    ...new Set(
      routesOf(t.server.app)
        .filter((r) => r.url.startsWith('/api/') && r.method !== 'HEAD' && r.method !== 'OPTIONS')
        .map((r) => `${r.method} ${r.url}`),
    ),
  ].sort();
}

interface Outcome {
  status: number;
  code: string | undefined;
  text: string;
}

/** Sends one request on `route` in `target` (fresh fixtures from `owner`), with the credentials given. */
async function send(
  route: string,
  target: ProjectFixture,
  headers: Record<string, string>,
  fixtureProject: ProjectFixture = target,
): Promise<Outcome> {
  const [method = '', pattern = ''] = route.split(' ');
  const spec = SPECS[route]!;
  const fresh = spec.fresh ? await spec.fresh(fixtureProject) : {};
  const params: Record<string, string> = { projectId: target.projectId, ...fresh.params };
  const path = pattern.replace(/:([A-Za-z]+)/g, (_, name: string) => encodeURIComponent(params[name] ?? 'x'));
  const body = fresh.body ?? spec.body;
  const controller = new AbortController();
  const response = await fetch(`${t.url}${path}${spec.query ?? ''}`, {
    method,
    signal: controller.signal,
    headers: {
      ...(body !== undefined && { 'content-type': spec.contentType ?? 'application/json' }),
      ...headers,
    },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  if (spec.stream && response.ok) {
    controller.abort();
    return { status: response.status, code: undefined, text: '' };
  }
  const text = await response.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: response.status, code, text };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const productRoutes = () => apiRoutes().filter((r) => r.includes('/:projectId'));

async function seedProject(projectId: string, writeKey: string, name: string): Promise<ProjectFixture> {
  const marker = name === 'B' ? MARKER : 'project-a-visible';
  const track = (body: unknown, path = '/v1/track') =>
    fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(writeKey) },
      body: JSON.stringify(body),
    });
  const messageId = `${name}-message-1`;
  expect(
    (
      await track({
        event: `${marker} event`,
        userId: `${name}-user-1`,
        messageId,
        properties: { note: marker, phone: '13812341234' },
      })
    ).status,
  ).toBe(200);
  await track({ batch: [{ type: 'track', event: `${marker} without id` }] }, '/v1/batch');
  await t.settle();
  const fixture = { projectId, writeKey } as ProjectFixture;
  const { sources } = await asOwner(fixture, 'GET', '/sources');
  fixture.sourceId = sources[0].id;
  fixture.messageId = messageId;
  const [event] = await t.server.facts.query<{ person_id: string }>(
    'SELECT person_id FROM events FINAL WHERE project_id = {p:String} AND message_id = {m:String}',
    { p: projectId, m: messageId },
  );
  fixture.personId = event!.person_id;
  await t.server.facts.insertJsonEachRow(
    'persons',
    `${JSON.stringify({
      project_id: projectId,
      person_id: fixture.personId,
      traits: JSON.stringify({ plan: marker }),
      consent: '',
      created_at: Date.now(),
      updated_at: Date.now(),
      // Above any version ingestion gave the person, so these traits are the stored ones.
      version: Date.now() * 1000,
      is_deleted: 0,
    })}\n`,
  );
  fixture.insightId = (
    await asOwner(fixture, 'POST', '/insights', {
      name: `${marker} insight`,
      kind: 'trends',
      query: trendsQuery,
    })
  ).insight.id;
  fixture.dashboardId = (
    await asOwner(fixture, 'POST', '/dashboards', { name: `${marker} board`, tiles: [] })
  ).dashboard.id;
  fixture.metricId = `${name.toLowerCase()}_metric`;
  await asOwner(fixture, 'PUT', `/metrics/${fixture.metricId}`, {
    en: `${marker} metric`,
    definition: { type: 'event', event: `${marker} event`, aggregation: 'count' },
  });
  return fixture;
}

beforeAll(async () => {
  t = await startTestServer();
  const b = await t.newProject('Other brand');
  A = await seedProject(t.projectId, t.writeKey, 'A');
  B = await seedProject(b.projectId, b.writeKey, 'B');
  const metadata = t.server.metadata;
  for (const role of ROLES) {
    const user = await newMember(A, role);
    tokens[role] = (
      await createApiToken(metadata, {
        userId: user.id,
        projectId: A.projectId,
        role,
        readOnly: false,
        name: role,
      })
    ).token;
    if (role === 'admin') {
      const login = await fetch(`${t.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: user.email, password: PASSWORD }),
      });
      const cookie = login.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      adminSession = { cookie, csrf: ((await login.json()) as { csrfToken: string }).csrfToken };
    }
  }
  tokens.ownerReadOnly = (
    await createApiToken(metadata, {
      userId: t.owner.id,
      projectId: A.projectId,
      role: 'owner',
      readOnly: true,
      name: 'read-only',
    })
  ).token;
}, 120_000);

afterAll(() => t?.close());

describe('every API route is in the authorisation matrix', () => {
  it('has a permission for every route the app serves under /api/, and no stale entry', () => {
    const served = apiRoutes();
    expect(served.length).toBeGreaterThan(40);
    expect(served.filter((r) => !(r in SPECS))).toEqual([]);
    expect(Object.keys(SPECS).filter((r) => !served.includes(r))).toEqual([]);
  });

  it('answers anonymous callers 401 and write keys 403 on every route that is not public', async () => {
    for (const route of apiRoutes()) {
      const spec = SPECS[route]!;
      if (spec.permission === 'public') continue;
      const anonymous = await send(route, A, {});
      expect([anonymous.status, anonymous.code], route).toEqual([401, 'not_authenticated']);
      for (const auth of [`Bearer ${A.writeKey}`, basicAuth(A.writeKey)]) {
        const keyed = await send(route, A, { authorization: auth });
        expect([keyed.status, keyed.code], route).toEqual([403, 'write_key_not_allowed']);
      }
      const forged = await send(route, A, bearer('pl_pat_forged'));
      expect(forged.status, route).toBe(401);
    }
  });
});

describe('authorisation matrix: every project route × every role', () => {
  it.each(ROLES)('gives the %s role exactly its permissions', async (role) => {
    const seen: string[] = [];
    for (const route of productRoutes()) {
      const permission = SPECS[route]!.permission as Permission;
      const outcome = await send(route, A, bearer(tokens[role]!));
      seen.push(route);
      if (can(role, permission)) {
        expect(outcome.status, `${role} ${route}: ${outcome.text.slice(0, 300)}`).toBeLessThan(300);
      } else {
        expect([outcome.status, outcome.code], `${role} ${route}`).toEqual([403, 'forbidden']);
      }
    }
    expect(seen.length).toBeGreaterThan(35);
  });

  it('lets a read-only owner token use only the read permissions', async () => {
    for (const route of productRoutes()) {
      const permission = SPECS[route]!.permission as Permission;
      const outcome = await send(route, A, bearer(tokens.ownerReadOnly!));
      if (READ_PERMISSIONS.has(permission)) expect(outcome.status, route).toBeLessThan(300);
      else expect([outcome.status, outcome.code], route).toEqual([403, 'forbidden']);
    }
  });

  it('accepts a session cookie with the CSRF token, and refuses unsafe requests without it', async () => {
    for (const route of productRoutes()) {
      const cookie = { cookie: adminSession.cookie };
      const withToken = await send(route, A, { ...cookie, 'x-csrf-token': adminSession.csrf });
      expect(withToken.status, `${route}: ${withToken.text.slice(0, 300)}`).toBeLessThan(300);
      if (!route.startsWith('GET ')) {
        const without = await send(route, A, cookie);
        expect([without.status, without.code], route).toEqual([403, 'csrf_failed']);
      }
    }
  });

  it('lists only the projects the caller may open', async () => {
    const list = async (headers: Record<string, string>) =>
      (
        (await (await fetch(`${t.url}/api/v1/projects`, { headers })).json()) as {
          projects: { id: string }[];
        }
      ).projects.map((p) => p.id);
    expect(await list(bearer(tokens.viewer!))).toEqual([A.projectId]);
    expect(await list({ cookie: adminSession.cookie })).toEqual([A.projectId]);
    // The owner owns both organisations, but a token is bound to its one project.
    expect(await list(t.authHeaders())).toEqual([A.projectId]);
    const owner = await t.login();
    expect((await list({ cookie: owner.cookie })).sort()).toEqual([A.projectId, B.projectId].sort());
  });
});

describe('tenant isolation: project A credentials never see project B rows', () => {
  it("answers 404 unknown_project for every route of project B, whatever A's role", async () => {
    const credentials = [
      ...ROLES.map((role) => bearer(tokens[role]!)),
      { cookie: adminSession.cookie, 'x-csrf-token': adminSession.csrf },
    ];
    for (const route of productRoutes()) {
      for (const headers of credentials) {
        const outcome = await send(route, B, headers);
        expect([outcome.status, outcome.code], route).toEqual([404, 'unknown_project']);
        expect(outcome.text).not.toContain(MARKER);
      }
    }
  });

  it("never returns B's rows on A's routes, even when the path names B's ids", async () => {
    for (const route of productRoutes()) {
      if (SPECS[route]!.stream) continue;
      for (const fixtures of [A, B]) {
        // A's own project in the path, with A's or B's ids (insight, event, person, source …).
        const outcome = await send(route, A, bearer(tokens.owner!), fixtures);
        expect(outcome.text, `${route} with ${fixtures === A ? 'A' : 'B'}'s ids`).not.toContain(MARKER);
        expect(outcome.status, route).toBeLessThan(500);
      }
    }
    // Nothing of B was changed or erased through A: its rows are all still there.
    const events = await t.server.facts.query<{ n: string }>(
      'SELECT count() AS n FROM events FINAL WHERE project_id = {p:String}',
      { p: B.projectId },
    );
    expect(Number(events[0]!.n)).toBe(1);
    const insight = await asOwner(B, 'GET', `/insights/${B.insightId}`);
    expect(insight.insight.name).toBe(`${MARKER} insight`);
    const board = await asOwner(B, 'GET', `/dashboards/${B.dashboardId}`);
    expect(board.dashboard.name).toBe(`${MARKER} board`);
    const profile = await asOwner(B, 'GET', `/persons/${encodeURIComponent(B.personId)}/profile`);
    expect(profile.traits.plan).toBe(MARKER);
    const { sources } = await asOwner(B, 'GET', '/sources');
    expect(
      sources[0].writeKeys.filter((k: { revokedAt: string | null }) => !k.revokedAt).length,
    ).toBeGreaterThan(0);
  });

  it("shows B's marker to B's owner (the check above can fail)", async () => {
    const events = await asOwner(B, 'GET', '/events');
    expect(JSON.stringify(events)).toContain(MARKER);
    const insights = await asOwner(B, 'GET', '/insights');
    expect(JSON.stringify(insights)).toContain(MARKER);
  });
});
