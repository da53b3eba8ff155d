import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type Server, startServer } from '../../src/api/server.js';
import { type ConfigOverrides, loadConfig } from '../../src/config/config.js';
import { createApiToken } from '../../src/govern/tokens.js';
import { addOrganisationMember, createUser, findUserByEmail, type User } from '../../src/govern/users.js';
import { createOrganisation } from '../../src/store/metadata/organisations.js';
import { createProject } from '../../src/store/metadata/projects.js';
import { createSource } from '../../src/store/metadata/sources.js';
import { builtIngestThreads } from './ingest-threads.js';

/** The test owner's sign-in (owner of every project `startTestServer` creates). */
export const TEST_OWNER_EMAIL = 'owner@test.pulseloop.local';
export const TEST_OWNER_PASSWORD = 'test owner password 1';

export interface TestServer {
  server: Server;
  url: string;
  dataDir: string;
  projectId: string;
  writeKey: string;
  /** The user owning every project created here (through its organisation). */
  owner: User;
  /** The owner's personal API token for the first project. */
  ownerToken: string;
  /** Authorization header with the owner's token for a project (the first by default). */
  authHeaders(projectId?: string): Record<string, string>;
  /**
   * fetch on this server (`path` starts with /) as the owner of the project the path names (the
   * first project otherwise); headers given in `init` win.
   */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** POSTs `body` as JSON to the collection API (`/v1/track`, …) with a write key (the first project's by default). */
  collect(path: string, body: unknown, writeKey?: string): Promise<Response>;
  /** Signs the owner in: the session cookie (for a Cookie header or a browser) and the CSRF token. */
  login(): Promise<{ cookie: string; sessionId: string; csrfToken: string }>;
  /** Creates another project with its own key and owner token (tenant isolation tests). */
  newProject(name: string): Promise<{ projectId: string; writeKey: string; token: string }>;
  /** Waits until the batch writer has moved everything acknowledged into the store. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** A real server on an ephemeral port over a temporary data directory (chdb + SQLite). */
export async function startTestServer(
  overrides: ConfigOverrides = {},
  dataDir?: string,
  options: { ingestThreads?: boolean } = {},
): Promise<TestServer> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'pulseloop-server-'));
  // Every test request comes from one IP, hundreds a second: the per-IP API limit (tested on its own
  // in test/govern/units.test.ts) would turn a busy test file into 429s.
  const config = loadConfig(
    { PULSELOOP_DATA: dir, PORT: '0', LOG_LEVEL: 'silent' },
    { apiRequestsPerMinute: 1_000_000, ...overrides },
  );
  const server = await startServer(config, {
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    // Batches are prepared on the serving thread unless asked (the thread file is compiled only).
    openIngestThreads: options.ingestThreads ? await builtIngestThreads() : () => undefined,
  });
  // A restarted test server (same data directory) keeps its owner.
  const owner =
    (await findUserByEmail(server.metadata, TEST_OWNER_EMAIL)) ??
    (await createUser(server.metadata, {
      email: TEST_OWNER_EMAIL,
      password: TEST_OWNER_PASSWORD,
      name: 'Test owner',
    }));
  const tokens = new Map<string, string>();
  const newProject = async (name: string) => {
    const organisation = await createOrganisation(server.metadata, { name: `${name} org` });
    await addOrganisationMember(server.metadata, organisation.id, owner.id, 'owner');
    const project = await createProject(server.metadata, {
      organisationId: organisation.id,
      name,
      timeZone: 'Asia/Shanghai',
      currency: 'CNY',
    });
    const { writeKey } = await createSource(server.metadata, {
      projectId: project.id,
      name: 'web',
      kind: 'website',
    });
    const { token } = await createApiToken(server.metadata, {
      userId: owner.id,
      projectId: project.id,
      role: 'owner',
      readOnly: false,
      name: 'test suite',
    });
    tokens.set(project.id, token);
    return { projectId: project.id, writeKey: writeKey.key, token };
  };
  const first = await newProject('Test brand');
  const authHeaders = (projectId = first.projectId): Record<string, string> => {
    const token = tokens.get(projectId);
    if (!token) throw new Error(`the test server made no project ${projectId}`);
    return { authorization: `Bearer ${token}` };
  };
  return {
    server,
    url: server.url,
    dataDir: dir,
    projectId: first.projectId,
    writeKey: first.writeKey,
    owner,
    ownerToken: first.token,
    authHeaders,
    api(path, init = {}) {
      const named = /^\/api\/v1\/projects\/([^/?]+)/.exec(path)?.[1];
      const projectId = named && tokens.has(named) ? named : first.projectId;
      const headers = new Headers(init.headers);
      for (const [name, value] of Object.entries(authHeaders(projectId))) {
        if (!headers.has(name)) headers.set(name, value);
      }
      return fetch(`${server.url}${path}`, { ...init, headers });
    },
    collect(path, body, writeKey = first.writeKey) {
      return fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basicAuth(writeKey) },
        body: JSON.stringify(body),
      });
    },
    async login() {
      const response = await fetch(`${server.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: TEST_OWNER_EMAIL, password: TEST_OWNER_PASSWORD }),
      });
      if (!response.ok) throw new Error(`login failed: ${response.status} ${await response.text()}`);
      const cookie = response.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const sessionId = /pl_session=([^;]+)/.exec(cookie)?.[1] ?? '';
      const { csrfToken } = (await response.json()) as { csrfToken: string };
      return { cookie, sessionId, csrfToken };
    },
    newProject,
    async settle() {
      await server.writer.flush();
      await server.writer.flush();
    },
    async close() {
      await server.close();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Basic auth header for a write key (user name = key, empty password). */
export function basicAuth(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
}
