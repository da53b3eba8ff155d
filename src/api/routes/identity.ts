import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { cachedResult, resultCacheFor } from '../../analyze/cache.js';
import { parseDateRange, projectContext } from '../../analyze/query/scope.js';
import { decideConflictDurably, mergePersonsDurably } from '../../collect/identity-actions.js';
import type { IngestDeps } from '../../collect/ingest.js';
import { PulseloopError } from '../../errors/registry.js';
import { recordAudit } from '../../govern/audit.js';
import { governanceFor } from '../../govern/governance.js';
import { jsonBody } from '../../govern/http/body.js';
import { actorOf, originOf } from '../../govern/http/principal.js';
import { contactJoinIds, keyedIdHash } from '../../govern/pii/crypto.js';
import { getPiiFields } from '../../govern/pii/fields.js';
import { serialiseForRole } from '../../govern/pii/mask.js';
import { storedTraits } from '../../govern/subjects.js';
import {
  findPerson,
  identityConflicts,
  latestConflict,
  lookupSpellings,
  personIdentity,
} from '../../identity/inspect.js';
import { activePersons, PERSONS_SORTS } from '../../identity/persons-list.js';
import type { StoreDeps } from '../app.js';
import { beforeOf, choiceOf, eventNameOf, idParam, limitOf, offsetOf, platformsOf } from './query-params.js';

interface PersonsQuery {
  from?: string;
  to?: string;
  platform?: string;
  event?: string;
  sort?: string;
  limit?: string;
  offset?: string;
}

/** Documents the list's query (each value is checked by the handler, with an error naming it). */
const PersonsQuerySchema = Type.Object({
  from: Type.String({ description: 'First day, YYYY-MM-DD in the project time zone.' }),
  to: Type.String({ description: 'Last day (included), YYYY-MM-DD.' }),
  platform: Type.Optional(Type.String({ description: 'Comma-separated platforms; all when absent.' })),
  event: Type.Optional(
    Type.String({
      description:
        'Only persons who did this event (e.g. `order_completed`), counted by it; all events when absent.',
    }),
  ),
  sort: Type.Optional(
    Type.String({
      description: '`last_seen` (default: the most recently seen first) or `events` (the most active first).',
    }),
  ),
  limit: Type.Optional(Type.String({ description: 'Persons per page, 1–200 (default 50).' })),
  offset: Type.Optional(Type.String({ description: 'Persons to skip, 0–1,000,000 (default 0).' })),
});

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

  const { identity } = deps.ingest;
  const resultCache = resultCacheFor(deps.facts);

  /**
   * An id the live graph knows for what someone typed: the typed id itself, else the one the store's
   * lookup finds (another spelling, or the survivor of a merged-away person id). The live graph is
   * ahead of the store by the writer's lag, so it decides which person that id belongs to.
   */
  const graphIdOf = async (
    projectId: string,
    typed: string,
    keyring: Parameters<typeof contactJoinIds>[0],
  ) => {
    if (identity.currentPerson(projectId, typed)) return typed;
    const found = await findPerson(
      deps.facts,
      projectId,
      typed,
      lookupSpellings(typed, contactJoinIds(keyring)),
    );
    const graphId = found && (found.matched ?? found.personId);
    if (!graphId || !identity.currentPerson(projectId, graphId))
      throw new PulseloopError('person_not_found', { id: typed.slice(0, 80), projectId });
    return graphId;
  };

  /** Masks traits for the caller's role with the project's PII fields, as the profile route does. */
  const traitsMasker = async (request: FastifyRequest, projectId: string) => {
    const principal = request.principal;
    if (!principal) throw new PulseloopError('not_authenticated');
    const [{ keyring }, fields] = await Promise.all([
      governanceFor(deps),
      getPiiFields(deps.metadata, projectId),
    ]);
    return (traits: Record<string, unknown>) => serialiseForRole(keyring, principal.role, traits, fields);
  };

  /** Records an identity action in the audit log, the persons as keyed hashes (no identifier). */
  const audit = async (
    request: FastifyRequest,
    projectId: string,
    action: 'person.merge' | 'conflict.decide',
    persons: { target: string; other: string },
    details: Record<string, unknown>,
  ) => {
    if (!request.principal) throw new PulseloopError('not_authenticated');
    const { keyring } = await governanceFor(deps);
    await recordAudit(deps.metadata, {
      action,
      actor: actorOf(request.principal),
      projectId,
      ...originOf(request),
      target: { type: 'person', id: personRef(keyring, projectId, persons.target) },
      details: { other: personRef(keyring, projectId, persons.other), ...details },
    });
  };

  /** A POST route whose body is validated by the handler, in both languages (jsonBody). */
  const writeOptions = (body: TSchema) => ({
    schema: { tags: ['identity'], body },
    validatorCompiler: () => () => true,
    preHandler: app.requirePermission('persons.merge'),
  });

  app.post<{ Params: { projectId: string } }>(
    '/api/v1/projects/:projectId/persons/merge',
    writeOptions(MergeBody),
    async (request) => {
      const { projectId } = await projectContext(deps.metadata, request.params.projectId);
      const body = jsonBody(MergeBody, request.body);
      const into = body.into.trim();
      const from = body.from.trim();
      const { keyring } = await governanceFor(deps);
      const intoId = await graphIdOf(projectId, into, keyring);
      const fromId = await graphIdOf(projectId, from, keyring);
      // Their persons now, with no wait before the merge: ingestion may have merged either meanwhile.
      const intoPersonId = identity.currentPerson(projectId, intoId);
      const fromPersonId = identity.currentPerson(projectId, fromId);
      if (!intoPersonId || !fromPersonId)
        throw new PulseloopError('person_not_found', {
          id: (intoPersonId ? from : into).slice(0, 80),
          projectId,
        });
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
      await audit(
        request,
        projectId,
        'person.merge',
        { target: intoPersonId, other: fromPersonId },
        { movedIds: result.movedIds, reference: result.reference },
      );
      return result;
    },
  );

  app.get<{
    Params: { projectId: string };
    Querystring: { limit?: string; before?: string; status?: string };
  }>('/api/v1/projects/:projectId/identity/conflicts', options, async (request) => {
    const { projectId } = await projectContext(deps.metadata, request.params.projectId);
    const status = choiceOf(request.query.status, 'status', ['open', 'all'], 'all');
    return identityConflicts(deps.facts, projectId, {
      limit: limitOf(request.query.limit, 500),
      before: beforeOf(request.query.before),
      openOnly: status === 'open',
    });
  });

  app.post<{ Params: { projectId: string } }>(
    '/api/v1/projects/:projectId/identity/conflicts/decision',
    writeOptions(DecisionBody),
    async (request) => {
      const { projectId } = await projectContext(deps.metadata, request.params.projectId);
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
      await audit(
        request,
        projectId,
        'conflict.decide',
        { target: conflict.personId, other: conflict.otherPersonId },
        { decision: body.decision, reference: done.reference },
      );
      return { decision: body.decision, decidedAt: done.at, reference: done.reference };
    },
  );

  app.get<{ Params: { projectId: string }; Querystring: PersonsQuery }>(
    '/api/v1/projects/:projectId/persons',
    {
      ...options,
      schema: { ...options.schema, querystring: PersonsQuerySchema },
      // Checked by the handler, so that a bad value is named in both languages as elsewhere.
      validatorCompiler: () => () => true,
    },
    async (request) => {
      const project = await projectContext(deps.metadata, request.params.projectId);
      const q = request.query;
      const query = {
        projectId: project.projectId,
        timeZone: project.timeZone,
        range: parseDateRange({ from: q.from, to: q.to }, ''),
        platforms: platformsOf(q.platform),
        event: eventNameOf(q.event),
        sort: choiceOf(q.sort, 'sort', PERSONS_SORTS, 'last_seen'),
        limit: limitOf(q.limit, 200),
        offset: offsetOf(q.offset, 1_000_000),
      };
      // Cached as the analyses are (a page back or a second look is instant), dropped by new rows.
      const { result: page } = await cachedResult(
        resultCache,
        project.projectId,
        'persons',
        query,
        query.range,
        () => activePersons(deps.facts, query),
      );
      const mask = await traitsMasker(request, project.projectId);
      return { total: page.total, persons: page.persons.map((p) => ({ ...p, traits: mask(p.traits) })) };
    },
  );

  app.get<{ Params: { projectId: string; id: string } }>(
    '/api/v1/projects/:projectId/persons/:id/identity',
    options,
    async (request) => {
      const { projectId } = await projectContext(deps.metadata, request.params.projectId);
      const id = idParam(request.params.id);
      const { keyring } = await governanceFor(deps);
      // A phone number or e-mail is looked up by the join ids ingestion makes of it (never stored plain).
      const spellings = lookupSpellings(id, contactJoinIds(keyring));
      const identity = await personIdentity(deps.facts, projectId, id, spellings);
      if (!identity) throw new PulseloopError('person_not_found', { id: id.slice(0, 80), projectId });
      // Traits with the person (none for one never identified), PII masked as for the profile route.
      const [stored, mask] = await Promise.all([
        storedTraits(deps.facts, projectId, identity.personId),
        traitsMasker(request, projectId),
      ]);
      return { ...identity, traits: stored ? mask(stored.traits) : {} };
    },
  );
}
