import type { FastifyInstance } from 'fastify';
import { projectContext } from '../../analyze/query/scope.js';
import { PulseloopError } from '../../errors/registry.js';
import { listProjects } from '../../store/metadata/projects.js';
import {
  createWriteKey,
  getSource,
  listSources,
  listWriteKeys,
  revokeWriteKey,
} from '../../store/metadata/sources.js';
import type { StoreDeps } from '../app.js';

/** Projects and their sources and write keys, as the dashboard's switcher and data-sources page need. */
export function registerProjectRoutes(app: FastifyInstance, deps: StoreDeps): void {
  app.get('/api/v1/projects', { schema: { tags: ['projects'] } }, async () => ({
    projects: await listProjects(deps.metadata),
  }));

  app.get<{ Params: { projectId: string } }>(
    '/api/v1/projects/:projectId/sources',
    { schema: { tags: ['projects'] } },
    async (request) => {
      const { projectId } = await projectContext(deps.metadata, request.params.projectId);
      const [sources, keys] = await Promise.all([
        listSources(deps.metadata, projectId),
        listWriteKeys(deps.metadata, projectId),
      ]);
      return {
        sources: sources.map((source) => ({
          ...source,
          writeKeys: keys.filter((k) => k.sourceId === source.id),
        })),
      };
    },
  );

  app.post<{ Params: { projectId: string; sourceId: string } }>(
    '/api/v1/projects/:projectId/sources/:sourceId/keys',
    { schema: { tags: ['projects'] } },
    async (request) => {
      const source = await sourceOf(deps, request.params.projectId, request.params.sourceId);
      return { writeKey: await createWriteKey(deps.metadata, source.id) };
    },
  );

  app.delete<{ Params: { projectId: string; sourceId: string; key: string } }>(
    '/api/v1/projects/:projectId/sources/:sourceId/keys/:key',
    { schema: { tags: ['projects'] } },
    async (request) => {
      const source = await sourceOf(deps, request.params.projectId, request.params.sourceId);
      const keys = await listWriteKeys(deps.metadata, source.projectId);
      if (!keys.some((k) => k.key === request.params.key && k.sourceId === source.id)) {
        throw new PulseloopError('not_found', { what: 'Write key', id: request.params.key.slice(0, 12) });
      }
      return { revoked: await revokeWriteKey(deps.metadata, request.params.key) };
    },
  );
}

async function sourceOf(deps: StoreDeps, projectId: string, sourceId: string) {
  const project = await projectContext(deps.metadata, projectId);
  const source = await getSource(deps.metadata, sourceId);
  if (!source || source.projectId !== project.projectId) {
    throw new PulseloopError('not_found', { what: 'Source', id: sourceId.slice(0, 80) });
  }
  return source;
}
