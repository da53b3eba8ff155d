import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PulseloopError } from '../../src/errors/registry.js';
import { governancePlugin } from '../../src/govern/http/plugin.js';
import { createApiToken } from '../../src/govern/tokens.js';
import { createUser, setProjectRole } from '../../src/govern/users.js';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import { type MetadataStore, openMetadataStore } from '../../src/store/metadata/open.js';
import { createOrganisation } from '../../src/store/metadata/organisations.js';
import { createProject } from '../../src/store/metadata/projects.js';

// How another route module adopts governance: register the plugin, add a preHandler, read request.principal.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-govern-plugin-'));
let metadata: MetadataStore;
let app: FastifyInstance;
let projectId: string;
let viewerToken: string;

beforeAll(async () => {
  metadata = await openMetadataStore({ dataDir });
  await migrateMetadata(metadata);
  const organisation = await createOrganisation(metadata, { name: 'Org' });
  projectId = (
    await createProject(metadata, {
      organisationId: organisation.id,
      name: 'P',
      timeZone: 'Asia/Shanghai',
      currency: 'CNY',
    })
  ).id;
  const viewer = await createUser(metadata, { email: 'v@example.com', password: 'long enough pw' });
  await setProjectRole(metadata, projectId, viewer.id, 'viewer');
  viewerToken = (
    await createApiToken(metadata, {
      userId: viewer.id,
      projectId,
      role: 'viewer',
      readOnly: false,
      name: 't',
    })
  ).token;

  app = Fastify();
  app.setErrorHandler((error, _request, reply) =>
    error instanceof PulseloopError
      ? reply.status(error.status).send(error.toJSON())
      : reply.status(500).send({}),
  );
  await app.register(governancePlugin, { metadata });
  app.get<{ Params: { projectId: string } }>(
    '/api/v1/projects/:projectId/trends',
    { preHandler: app.requirePermission('analyses.read') },
    async (request) => ({ who: request.principal?.user.email, role: request.principal?.role }),
  );
  app.get<{ Params: { projectId: string } }>(
    '/api/v1/projects/:projectId/raw-events',
    { preHandler: app.requirePermission('events.read_raw') },
    async () => ({ rows: [] }),
  );
  app.get('/open', async (request) => ({ principal: request.principal }));
});

afterAll(async () => {
  await app?.close();
  await metadata?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('governance plugin', () => {
  it('puts the authorised caller on request.principal and refuses what the role may not do', async () => {
    const headers = { authorization: `Bearer ${viewerToken}` };
    const ok = await app.inject({ url: `/api/v1/projects/${projectId}/trends`, headers });
    expect(ok.json()).toEqual({ who: 'v@example.com', role: 'viewer' });
    const raw = await app.inject({ url: `/api/v1/projects/${projectId}/raw-events`, headers });
    expect(raw.statusCode).toBe(403);
    expect((await app.inject({ url: `/api/v1/projects/${projectId}/trends` })).statusCode).toBe(401);
  });

  it('leaves routes without the preHandler open, with a null principal, and adds security headers everywhere', async () => {
    const open = await app.inject({ url: '/open' });
    expect(open.json()).toEqual({ principal: null });
    expect(open.headers['x-frame-options']).toBe('DENY');
    expect(open.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  });
});
