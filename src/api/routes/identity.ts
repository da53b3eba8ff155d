import type { FastifyInstance } from 'fastify';
import { projectContext } from '../../analyze/query/scope.js';
import { PulseloopError } from '../../errors/registry.js';
import { governanceFor } from '../../govern/governance.js';
import { contactJoinIds } from '../../govern/pii/crypto.js';
import { getPiiFields } from '../../govern/pii/fields.js';
import { serialiseForRole } from '../../govern/pii/mask.js';
import { storedTraits } from '../../govern/subjects.js';
import { identityConflicts, lookupSpellings, personIdentity } from '../../identity/inspect.js';
import type { StoreDeps } from '../app.js';
import { beforeOf, idParam, limitOf } from './query-params.js';

/**
 * The identity graph for people to look at: one person's ids and how they were joined, and the
 * conflicts (two different known users kept apart) of a project. Ids are personal data, so these
 * need `events.read_raw`, as raw events do; traits come masked for the caller's role.
 */
export function registerIdentityRoutes(app: FastifyInstance, deps: StoreDeps): void {
  const options = { schema: { tags: ['identity'] }, preHandler: app.requirePermission('events.read_raw') };

  app.get<{ Params: { projectId: string }; Querystring: { limit?: string; before?: string } }>(
    '/api/v1/projects/:projectId/identity/conflicts',
    options,
    async (request) => {
      const { projectId } = await projectContext(deps.metadata, request.params.projectId);
      return identityConflicts(deps.facts, projectId, {
        limit: limitOf(request.query.limit, 500),
        before: beforeOf(request.query.before),
      });
    },
  );

  app.get<{ Params: { projectId: string; id: string } }>(
    '/api/v1/projects/:projectId/persons/:id/identity',
    options,
    async (request) => {
      const { projectId } = await projectContext(deps.metadata, request.params.projectId);
      const id = idParam(request.params.id);
      const principal = request.principal;
      if (!principal) throw new PulseloopError('not_authenticated');
      const { keyring } = await governanceFor(deps);
      // A phone number or e-mail is looked up by the join ids ingestion makes of it (never stored plain).
      const spellings = lookupSpellings(id, contactJoinIds(keyring));
      const identity = await personIdentity(deps.facts, projectId, id, spellings);
      if (!identity) throw new PulseloopError('person_not_found', { id: id.slice(0, 80), projectId });
      // Traits with the person (none for one never identified), PII masked as for the profile route.
      const [stored, fields] = await Promise.all([
        storedTraits(deps.facts, projectId, identity.personId),
        getPiiFields(deps.metadata, projectId),
      ]);
      const traits = stored ? serialiseForRole(keyring, principal.role, stored.traits, fields) : {};
      return { ...identity, traits };
    },
  );
}
