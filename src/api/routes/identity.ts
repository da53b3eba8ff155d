import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { projectContext } from '../../analyze/query/scope.js';
import { decideConflictDurably, mergePersonsDurably } from '../../collect/identity-actions.js';
import type { IngestDeps } from '../../collect/ingest.js';
import { detailText, PulseloopError } from '../../errors/registry.js';
import { recordAudit } from '../../govern/audit.js';
import { governanceFor } from '../../govern/governance.js';
import { jsonBody } from '../../govern/http/body.js';
import { actorOf, originOf } from '../../govern/http/principal.js';
import { contactJoinIds, keyedIdHash } from '../../govern/pii/crypto.js';
import { getPiiFields } from '../../govern/pii/fields.js';
import { serialiseForRole } from '../../govern/pii/mask.js';
import { storedTraits } from '../../govern/subjects.js';
import {
  identityConflicts,
  latestConflict,
  lookupSpellings,
  personIdentity,
} from '../../identity/inspect.js';
import type { StoreDeps } from '../app.js';
import { beforeOf, idParam, limitOf } from './query-params.js';

/** A person as the audit log names it: a keyed hash, so the log holds no identifier (as for erasure). */
const personRef = (keyring: Parameters<typeof keyedIdHash>[0], projectId: string, personId: string) =>
  keyedIdHash(keyring, projectId, personId).slice(0, 24);

const DecisionBody = Type.Object(
  {
    distinctId: Type.String({
      minLength: 1,
      maxLength: 1000,
      description: "The conflict's id (`distinctId` in the list).",
    }),
    otherDistinctId: Type.String({ minLength: 1, maxLength: 1000, description: "The conflict's other id." }),
    decision: Type.Union([Type.Literal('kept_apart'), Type.Literal('open')], {
      description:
        '`kept_apart`: two different people, nothing to do (it leaves the open list); `open`: look at it again.',
    }),
  },
  { additionalProperties: false },
);

const MergeBody = Type.Object(
  {
    into: Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        'The person kept: any of its ids (distinct id, person id, phone, e-mail, unionid, openid).',
    }),
    from: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'The person merged into it: any of its ids. Its ids move; its traits fill gaps only.',
    }),
  },
  { additionalProperties: false },
);

/**
 * The identity graph for people to look at: one person's ids and how they were joined, and the
 * conflicts (two different known users kept apart) of a project. Ids are personal data, so these
 * need `events.read_raw`, as raw events do; traits come masked for the caller's role. Merging two
 * persons known to be one (`persons.merge`) goes through the serving process's graph and log.
 */
export function registerIdentityRoutes(
  app: FastifyInstance,
  deps: StoreDeps & { ingest: Pick<IngestDeps, 'wal' | 'writer' | 'identity'> },
): void {
  const options = { schema: { tags: ['identity'] }, preHandler: app.requirePermission('events.read_raw') };

  /**
   * The current person of what someone typed: the live graph first (it is ahead of the store by the
   * writer's lag), then the store's lookup by other spellings and merged-away person ids.
   */
  const currentPersonOf = async (
    projectId: string,
    typed: string,
    keyring: Parameters<typeof contactJoinIds>[0],
  ) => {
    const live = deps.ingest.identity.currentPerson(projectId, typed);
    if (live) return live;
    const stored = await personIdentity(
      deps.facts,
      projectId,
      typed,
      lookupSpellings(typed, contactJoinIds(keyring)),
    );
    const person = stored && deps.ingest.identity.currentPerson(projectId, stored.matched ?? stored.personId);
    if (!person) throw new PulseloopError('person_not_found', { id: typed.slice(0, 80), projectId });
    return person;
  };

  app.post<{ Params: { projectId: string } }>(
    '/api/v1/projects/:projectId/persons/merge',
    {
      schema: { tags: ['identity'], body: MergeBody },
      // The body arrives as bytes and is validated below, with the problem named in both languages.
      validatorCompiler: () => () => true,
      preHandler: app.requirePermission('persons.merge'),
    },
    async (request) => {
      const { projectId } = await projectContext(deps.metadata, request.params.projectId);
      const principal = request.principal;
      if (!principal) throw new PulseloopError('not_authenticated');
      const body = jsonBody(MergeBody, request.body);
      const into = body.into.trim();
      const from = body.from.trim();
      const { keyring } = await governanceFor(deps);
      const intoPersonId = await currentPersonOf(projectId, into, keyring);
      const fromPersonId = await currentPersonOf(projectId, from, keyring);
      if (intoPersonId === fromPersonId) {
        throw new PulseloopError('persons_already_one', {
          into: into.slice(0, 80),
          from: from.slice(0, 80),
          personId: intoPersonId,
        });
      }
      const result = await mergePersonsDurably(deps.ingest, {
        projectId,
        intoPersonId,
        fromPersonId,
        intoId: into,
        fromId: from,
      });
      await recordAudit(deps.metadata, {
        action: 'person.merge',
        actor: actorOf(principal),
        projectId,
        ...originOf(request),
        target: { type: 'person', id: personRef(keyring, projectId, intoPersonId) },
        details: {
          merged: personRef(keyring, projectId, fromPersonId),
          movedIds: result.movedIds,
          reference: result.reference,
        },
      });
      return result;
    },
  );

  app.get<{
    Params: { projectId: string };
    Querystring: { limit?: string; before?: string; status?: string };
  }>('/api/v1/projects/:projectId/identity/conflicts', options, async (request) => {
    const { projectId } = await projectContext(deps.metadata, request.params.projectId);
    const status = request.query.status ?? 'all';
    if (status !== 'all' && status !== 'open') {
      throw new PulseloopError('invalid_request', {
        ...detailText(
          `status: "open" or "all", got ${JSON.stringify(status.slice(0, 40))}`,
          `status：应为 "open" 或 "all"，实际为 ${JSON.stringify(status.slice(0, 40))}`,
        ),
      });
    }
    return identityConflicts(deps.facts, projectId, {
      limit: limitOf(request.query.limit, 500),
      before: beforeOf(request.query.before),
      openOnly: status === 'open',
    });
  });

  app.post<{ Params: { projectId: string } }>(
    '/api/v1/projects/:projectId/identity/conflicts/decision',
    {
      schema: { tags: ['identity'], body: DecisionBody },
      validatorCompiler: () => () => true,
      preHandler: app.requirePermission('persons.merge'),
    },
    async (request) => {
      const { projectId } = await projectContext(deps.metadata, request.params.projectId);
      const principal = request.principal;
      if (!principal) throw new PulseloopError('not_authenticated');
      const body = jsonBody(DecisionBody, request.body);
      const conflict = await latestConflict(deps.facts, projectId, body.distinctId, body.otherDistinctId);
      if (!conflict) {
        throw new PulseloopError('conflict_not_found', {
          distinctId: body.distinctId.slice(0, 80),
          otherDistinctId: body.otherDistinctId.slice(0, 80),
          projectId,
        });
      }
      const done = await decideConflictDurably(deps.ingest, {
        projectId,
        distinctId: body.distinctId,
        otherDistinctId: body.otherDistinctId,
        personId: conflict.personId,
        otherPersonId: conflict.otherPersonId,
        decision: body.decision,
      });
      const { keyring } = await governanceFor(deps);
      await recordAudit(deps.metadata, {
        action: 'conflict.decide',
        actor: actorOf(principal),
        projectId,
        ...originOf(request),
        target: { type: 'person', id: personRef(keyring, projectId, conflict.personId) },
        details: {
          decision: body.decision,
          other: personRef(keyring, projectId, conflict.otherPersonId),
          reference: done.reference,
        },
      });
      return { decision: body.decision, decidedAt: done.at, reference: done.reference };
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
