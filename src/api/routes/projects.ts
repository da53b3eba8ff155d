import type { FastifyInstance, FastifyRequest } from 'fastify';
import { projectContext } from '../../analyze/query/scope.js';
import { PulseloopError } from '../../errors/registry.js';
import { recordAudit } from '../../govern/audit.js';
import { governanceFor } from '../../govern/governance.js';
import { actorOf, authenticate, originOf } from '../../govern/http/principal.js';
import { can } from '../../govern/permissions.js';
import { memberProjectIds } from '../../govern/users.js';
import { listProjects } from '../../store/metadata/projects.js';
import {
  createWriteKey,
  getSource,
  listSources,
  listWriteKeys,
  revokeWriteKey,
} from '../../store/metadata/sources.js';
import type { StoreDeps } from '../app.js';

/**
 * Projects and their sources and write keys, as the dashboard's switcher and data-sources page need.
 * The list holds only the caller's projects (a token: its one project); sources are readable with
 * `analyses.read`, their write keys shown and changed only with `keys.manage`.
 */
export function registerProjectRoutes(app: FastifyInstance, deps: StoreDeps): void {
  app.get('/api/v1/projects', { schema: { tags: ['projects'] } }, async (request) => {
    const { apiLimiter } = await governanceFor(deps);
    const wait = apiLimiter.take(request.ip);
    if (wait > 0) throw new PulseloopError('rate_limited', { retryAfterSeconds: wait });
    const identity = await authenticate({ metadata: deps.metadata }, request);
    const member = new Set(await memberProjectIds(deps.metadata, identity.user.id));
    const visible = (id: string) =>
      member.has(id) && (identity.via !== 'token' || identity.tokenProjectId === id);
    return { projects: (await listProjects(deps.metadata)).filter((p) => visible(p.id)) };
  });

  app.get<{ Params: { projectId: string } }>(
    '/api/v1/projects/:projectId/sources',
    { schema: { tags: ['projects'] }, preHandler: app.requirePermission('analyses.read') },
    async (request) => {
      const { projectId } = await projectContext(deps.metadata, request.params.projectId);
      const seesKeys = can(request.principal!.role, 'keys.manage');
      const [sources, keys] = await Promise.all([
        listSources(deps.metadata, projectId),
        seesKeys ? listWriteKeys(deps.metadata, projectId) : [],
      ]);
      return {
        keysVisible: seesKeys,
        sources: sources.map((source) => ({
          ...source,
          writeKeys: keys.filter((k) => k.sourceId === source.id),
        })),
      };
    },
  );

  app.post<{ Params: { projectId: string; sourceId: string } }>(
    '/api/v1/projects/:projectId/sources/:sourceId/keys',
    { schema: { tags: ['projects'] }, preHandler: app.requirePermission('keys.manage') },
    async (request) => {
      const source = await sourceOf(deps, request.params.projectId, request.params.sourceId);
      const writeKey = await createWriteKey(deps.metadata, source.id);
      await auditKey(deps, request, 'key.create', source.id, writeKey.key);
      return { writeKey };
    },
  );

  app.delete<{ Params: { projectId: string; sourceId: string; key: string } }>(
    '/api/v1/projects/:projectId/sources/:sourceId/keys/:key',
    { schema: { tags: ['projects'] }, preHandler: app.requirePermission('keys.manage') },
    async (request) => {
      const source = await sourceOf(deps, request.params.projectId, request.params.sourceId);
      const keys = await listWriteKeys(deps.metadata, source.projectId);
      if (!keys.some((k) => k.key === request.params.key && k.sourceId === source.id)) {
        throw new PulseloopError('not_found', {
          what: 'Write key',
          what_zh: '写入密钥',
          id: request.params.key.slice(0, 12),
        });
      }
      const revoked = await revokeWriteKey(deps.metadata, request.params.key);
      await auditKey(deps, request, 'key.revoke', source.id, request.params.key);
      return { revoked };
    },
  );
}

/** Key changes go to the audit log; the key is named by its first characters only (never the secret). */
function auditKey(
  deps: StoreDeps,
  request: FastifyRequest,
  action: 'key.create' | 'key.revoke',
  sourceId: string,
  key: string,
) {
  const principal = request.principal!;
  return recordAudit(deps.metadata, {
    action,
    actor: actorOf(principal),
    projectId: principal.projectId,
    target: { type: 'write_key', id: `${key.slice(0, 10)}…` },
    ...originOf(request),
    details: { sourceId },
  });
}

async function sourceOf(deps: StoreDeps, projectId: string, sourceId: string) {
  const project = await projectContext(deps.metadata, projectId);
  const source = await getSource(deps.metadata, sourceId);
  if (!source || source.projectId !== project.projectId) {
    throw new PulseloopError('not_found', { what: 'Source', what_zh: '数据源', id: sourceId.slice(0, 80) });
  }
  return source;
}
