import type { FastifyInstance } from 'fastify';
import { projectContext } from '../../analyze/query/scope.js';
import { retrySetAsideRows } from '../../collect/set-aside.js';
import { PulseloopError } from '../../errors/registry.js';
import { recordAudit } from '../../govern/audit.js';
import { actorOf, originOf } from '../../govern/http/principal.js';
import type { StoreDeps } from '../app.js';

/**
 * Rows the facts store refused (quarantine reason store_refused_row) inserted again, as
 * `pulseloop quarantine retry` does, from the running server (which holds the embedded store).
 * Needs `data.import`: it writes facts. Every run is recorded in the audit log, with its counts.
 */
export function registerQuarantineRoutes(app: FastifyInstance, deps: StoreDeps): void {
  app.post<{ Params: { projectId: string } }>(
    '/api/v1/projects/:projectId/quarantine/retry',
    {
      schema: {
        tags: ['events'],
        summary:
          'Store again the rows the facts store refused (reason store_refused_row), once the cause is fixed',
      },
      preHandler: app.requirePermission('data.import'),
    },
    async (request) => {
      const { projectId } = await projectContext(deps.metadata, request.params.projectId);
      const principal = request.principal!;
      const audit = (outcome: 'success' | 'failure', details: Record<string, unknown>) =>
        recordAudit(deps.metadata, {
          action: 'quarantine.retry',
          actor: actorOf(principal),
          projectId,
          target: { type: 'project', id: projectId },
          outcome,
          ...originOf(request),
          details,
        });
      try {
        const { firstRefusal, ...counts } = await retrySetAsideRows(deps.facts, { projectId });
        await audit('success', counts);
        return { ...counts, ...(firstRefusal ? { firstRefusal } : {}) };
      } catch (error) {
        await audit('failure', { error: error instanceof PulseloopError ? error.code : 'internal' });
        throw error;
      }
    },
  );
}
