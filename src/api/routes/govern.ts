import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { projectContext } from '../../analyze/query/scope.js';
import type { IngestDeps } from '../../collect/ingest.js';
import { PulseloopError } from '../../errors/registry.js';
import { AUDIT_ACTIONS, auditCsv, listAudit, recordAudit } from '../../govern/audit.js';
import { breakdownCsv, exportBreakdown } from '../../govern/breakdown-export.js';
import {
  CONSENT_SOURCES,
  consentHistory,
  currentConsent,
  PURPOSES,
  recordConsent,
} from '../../govern/consent.js';
import { type Governance, governanceFor } from '../../govern/governance.js';
import { jsonBody, validated } from '../../govern/http/body.js';
import { actorOf, originOf, type Principal, requirePermission } from '../../govern/http/principal.js';
import { PERMISSION_MATRIX, ROLES } from '../../govern/permissions.js';
import { keyedIdHash } from '../../govern/pii/crypto.js';
import { getPiiFields, setPiiFields } from '../../govern/pii/fields.js';
import { serialiseForRole } from '../../govern/pii/mask.js';
import {
  enforceRetention,
  getRetention,
  RETENTION_KIND_NAMES,
  setRetention,
} from '../../govern/retention.js';
import { erasePerson, exportPerson, storedTraits } from '../../govern/subjects.js';
import {
  effectiveProjectRole,
  findUserByEmail,
  listProjectMembers,
  removeProjectMember,
  setProjectRole,
} from '../../govern/users.js';
import type { StoreDeps } from '../app.js';
import { idParam } from './query-params.js';

/**
 * Governance routes under /api/v1/projects/:projectId: audit log (view, CSV), consent, retention
 * settings, members and roles, a person's stored profile (masked by role), and data subject
 * requests (export, erasure). Each route names its permission; the matrix decides who passes.
 */

/** An ISO 8601 time with a zone (TypeBox's `format` needs a registered checker; a pattern does not). */
const ISO_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$';

const AuditQuery = Type.Object(
  {
    action: Type.Optional(Type.Union(AUDIT_ACTIONS.map((a) => Type.Literal(a)))),
    actorId: Type.Optional(Type.String({ maxLength: 200 })),
    outcome: Type.Optional(
      Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')]),
    ),
    from: Type.Optional(Type.String({ pattern: ISO_TIME, maxLength: 40 })),
    to: Type.Optional(Type.String({ pattern: ISO_TIME, maxLength: 40 })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })),
    cursor: Type.Optional(Type.String({ maxLength: 400, pattern: '^[A-Za-z0-9_-]*$' })),
  },
  { additionalProperties: false },
);

const ConsentChange = Type.Object(
  {
    subjectId: Type.String({ minLength: 1, maxLength: 200 }),
    purpose: Type.Union(PURPOSES.map((p) => Type.Literal(p))),
    granted: Type.Boolean(),
    occurredAt: Type.Optional(Type.String({ pattern: ISO_TIME, maxLength: 40 })),
    source: Type.Optional(
      Type.Union(CONSENT_SOURCES.filter((s) => s !== 'erasure').map((s) => Type.Literal(s))),
    ),
  },
  { additionalProperties: false },
);
const ConsentBody = Type.Object(
  { changes: Type.Array(ConsentChange, { minItems: 1, maxItems: 500 }) },
  { additionalProperties: false },
);

const RetentionBody = Type.Object(
  Object.fromEntries(
    RETENTION_KIND_NAMES.map((k) => [
      k,
      Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 36_500 }), Type.Null()])),
    ]),
  ),
  { additionalProperties: false, minProperties: 1 },
);

const PiiFieldsBody = Type.Object(
  { fields: Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' }), { maxItems: 200 }) },
  { additionalProperties: false },
);

const RoleBody = Type.Object(
  { role: Type.Union(ROLES.map((r) => Type.Literal(r))) },
  { additionalProperties: false },
);
const AddMemberBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254 }),
    role: Type.Union(ROLES.map((r) => Type.Literal(r))),
  },
  { additionalProperties: false },
);

const BreakdownExportBody = Type.Object(
  {
    /** A trends query (metrics, dimensions, dateRange, filters, breakdownLimit); validated by the analysis. */
    query: Type.Object({}, { additionalProperties: true }),
    k: Type.Optional(Type.Integer({ minimum: 2, maximum: 1000 })),
    epsilon: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10 })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 4_294_967_295 })),
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
  },
  { additionalProperties: false },
);

type ProjectParams = { Params: { projectId: string } };
type ItemParams = { Params: { projectId: string; id: string } };

const principalOf = (request: FastifyRequest): Principal => {
  if (!request.principal) throw new PulseloopError('not_authenticated');
  return request.principal;
};

export async function registerGovernRoutes(
  app: FastifyInstance,
  deps: StoreDeps & { governance?: Governance; ingest?: Pick<IngestDeps, 'wal' | 'writer' | 'identity'> },
): Promise<void> {
  const governance = await governanceFor(deps);
  const auth = { metadata: deps.metadata, ipLimiter: governance.apiLimiter };
  const base = '/api/v1/projects/:projectId';
  const guarded = (permission: keyof typeof PERMISSION_MATRIX) => ({
    schema: { tags: ['governance'] },
    preHandler: requirePermission(auth, permission),
  });
  const audit = (request: FastifyRequest, entry: Omit<Parameters<typeof recordAudit>[1], 'actor'>) => {
    const principal = principalOf(request);
    return recordAudit(deps.metadata, {
      actor: actorOf(principal),
      projectId: principal.projectId,
      ...originOf(request),
      ...entry,
    });
  };
  /** A person's id as the audit log keeps it: a keyed hash, so the log holds no identifier after erasure. */
  const subjectRef = (projectId: string, id: string) => ({
    type: 'person',
    id: keyedIdHash(governance.keyring, projectId, id).slice(0, 24),
  });

  // ── who may do what ─────────────────────────────────────────────────────────────────────────
  app.get<ProjectParams>(`${base}/permissions`, guarded('analyses.read'), async (request) => {
    const { role, readOnly } = principalOf(request);
    return { role, readOnly, roles: ROLES, matrix: PERMISSION_MATRIX };
  });

  // ── audit log ───────────────────────────────────────────────────────────────────────────────
  app.get<ProjectParams>(`${base}/audit`, guarded('audit.read'), async (request) => {
    const query = validated(AuditQuery, request.query, 'query') as Static<typeof AuditQuery>;
    const { limit, ...filters } = query;
    return listAudit(deps.metadata, {
      projectId: request.params.projectId,
      ...filters,
      ...(limit !== undefined && { limit: Number(limit) }),
    });
  });

  app.get<ProjectParams>(`${base}/audit.csv`, guarded('audit.read'), async (request, reply) => {
    const { limit: _limit, cursor: _cursor, ...filters } = validated(AuditQuery, request.query, 'query');
    const csv = await auditCsv(deps.metadata, { projectId: request.params.projectId, ...filters });
    await audit(request, {
      action: 'audit.export',
      target: { type: 'audit_log', id: request.params.projectId },
    });
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="audit-log.csv"')
      .send(csv);
  });

  // ── privacy-safe breakdown exports ──────────────────────────────────────────────────────────
  app.post<ProjectParams>(`${base}/exports/breakdown`, guarded('data.export'), async (request, reply) => {
    const body = jsonBody(BreakdownExportBody, request.body);
    const project = await projectContext(deps.metadata, request.params.projectId);
    const data = await exportBreakdown(
      { facts: deps.facts, metadata: deps.metadata, project },
      {
        query: body.query,
        k: body.k ?? 5,
        ...(body.epsilon !== undefined && { epsilon: body.epsilon }),
        ...(body.seed !== undefined && { seed: body.seed }),
      },
    );
    await audit(request, {
      action: 'data.export',
      target: { type: 'breakdown', id: data.dimensions.join(',').slice(0, 200) },
      details: {
        metrics: data.metrics.map((m) => m.id),
        rows: data.rows.length,
        suppressedRows: data.suppressedRows,
        k: data.k,
        epsilon: data.epsilon,
      },
    });
    if (body.format === 'csv') {
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="breakdown.csv"')
        .send(breakdownCsv(data));
    }
    return data;
  });

  // ── consent ─────────────────────────────────────────────────────────────────────────────────
  app.get<ItemParams>(`${base}/consent/:id`, guarded('consent.read'), async (request) => {
    const { projectId } = request.params;
    const id = idParam(request.params.id);
    return {
      subjectId: id,
      current: await currentConsent(deps.metadata, projectId, [id]),
      history: await consentHistory(deps.metadata, projectId, [id]),
    };
  });

  app.post<ProjectParams>(`${base}/consent`, guarded('consent.write'), async (request, reply) => {
    const body = jsonBody(ConsentBody, request.body);
    const records = await recordConsent(
      deps.metadata,
      request.params.projectId,
      body.changes.map((c) => ({ ...c, source: c.source ?? 'api' })),
      governance.consent,
    );
    await audit(request, {
      action: 'consent.set',
      target: { type: 'consent', id: String(records.length) },
      details: {
        changes: records.map((r) => ({ purpose: r.purpose, granted: r.granted, source: r.source })),
      },
    });
    return reply.status(201).send({ records });
  });

  // ── retention ───────────────────────────────────────────────────────────────────────────────
  app.get<ProjectParams>(`${base}/retention`, guarded('retention.read'), async (request) => ({
    retention: await getRetention(deps.metadata, request.params.projectId),
  }));

  app.put<ProjectParams>(`${base}/retention`, guarded('retention.configure'), async (request) => {
    const body = jsonBody(RetentionBody, request.body);
    const { before, after } = await setRetention(deps.metadata, request.params.projectId, body);
    await audit(request, {
      action: 'retention.set',
      target: { type: 'settings', id: 'retention' },
      details: { before, after },
    });
    return { retention: after };
  });

  app.post<ProjectParams>(`${base}/retention/apply`, guarded('retention.configure'), async (request) => {
    const removed = await enforceRetention(deps.facts, deps.metadata, request.params.projectId);
    await audit(request, {
      action: 'retention.apply',
      target: { type: 'settings', id: 'retention' },
      details: { removed },
    });
    return { removed };
  });

  // ── members and roles ───────────────────────────────────────────────────────────────────────
  app.get<ProjectParams>(`${base}/members`, guarded('users.manage'), async (request) => ({
    members: await listProjectMembers(deps.metadata, request.params.projectId),
  }));

  app.post<ProjectParams>(`${base}/members`, guarded('users.manage'), async (request, reply) => {
    const body = jsonBody(AddMemberBody, request.body);
    const user = await findUserByEmail(deps.metadata, body.email);
    if (!user)
      throw new PulseloopError('not_found', {
        what: 'User',
        what_zh: '用户',
        id: body.email.slice(0, 80),
      });
    const result = await changeRole(request, user.id, body.role);
    return reply.status(201).send(result);
  });

  app.put<ItemParams>(`${base}/members/:id`, guarded('users.manage'), async (request) => {
    const body = jsonBody(RoleBody, request.body);
    return changeRole(request, request.params.id, body.role);
  });

  app.delete<ItemParams>(`${base}/members/:id`, guarded('users.manage'), async (request, reply) => {
    const principal = principalOf(request);
    const current = await effectiveProjectRole(deps.metadata, principal.projectId, request.params.id);
    if (current === 'owner' && principal.role !== 'owner') {
      throw new PulseloopError('forbidden', {
        role: principal.role,
        permission: 'remove an owner',
        permission_zh: '移除所有者',
      });
    }
    if (!(await removeProjectMember(deps.metadata, principal.projectId, request.params.id))) {
      throw new PulseloopError('not_found', {
        what: 'Member',
        what_zh: '成员',
        id: request.params.id.slice(0, 80),
      });
    }
    await audit(request, { action: 'role.remove', target: { type: 'user', id: request.params.id } });
    return reply.status(204).send();
  });

  /** Only an owner may make or unmake an owner; admins manage the other roles. */
  async function changeRole(request: FastifyRequest, userId: string, role: (typeof ROLES)[number]) {
    const principal = principalOf(request);
    const current = await effectiveProjectRole(deps.metadata, principal.projectId, userId);
    if ((role === 'owner' || current === 'owner') && principal.role !== 'owner') {
      throw new PulseloopError('forbidden', {
        role: principal.role,
        permission: 'grant or revoke the owner role',
        permission_zh: '授予或撤销所有者角色',
      });
    }
    const result = await setProjectRole(deps.metadata, principal.projectId, userId, role);
    await audit(request, {
      action: 'role.set',
      target: { type: 'user', id: userId },
      details: { previous: result.previous ?? null, role: result.role },
    });
    return { userId, role: result.role, previous: result.previous ?? null };
  }

  // ── PII field list ──────────────────────────────────────────────────────────────────────────
  app.get<ProjectParams>(`${base}/pii-fields`, guarded('events.read_raw'), async (request) => ({
    fields: await getPiiFields(deps.metadata, request.params.projectId),
  }));

  app.put<ProjectParams>(`${base}/pii-fields`, guarded('pii.configure'), async (request) => {
    const body = jsonBody(PiiFieldsBody, request.body);
    const { before, after } = await setPiiFields(deps.metadata, request.params.projectId, body.fields);
    await audit(request, {
      action: 'config.change',
      target: { type: 'settings', id: 'pii_fields' },
      details: { before, after },
    });
    return { fields: after };
  });

  // ── persons: stored profile (masked by role), export and erasure ────────────────────────────
  app.get<ItemParams>(`${base}/persons/:id/profile`, guarded('events.read_raw'), async (request) => {
    const projectId = request.params.projectId;
    const id = idParam(request.params.id);
    const stored = await storedTraits(deps.facts, projectId, id);
    if (!stored) throw new PulseloopError('person_not_found', { id: id.slice(0, 80), projectId });
    return {
      personId: stored.personId,
      traits: serialiseForRole(
        governance.keyring,
        principalOf(request).role,
        stored.traits,
        await getPiiFields(deps.metadata, projectId),
      ),
    };
  });

  app.get<ItemParams>(`${base}/persons/:id/export`, guarded('persons.export'), async (request, reply) => {
    const projectId = request.params.projectId;
    const id = idParam(request.params.id);
    const exported = await exportPerson(deps.facts, deps.metadata, projectId, id, governance.keyring);
    const empty =
      Object.values(exported.facts).every((rows) => rows.length === 0) && exported.consent.length === 0;
    if (empty) throw new PulseloopError('person_not_found', { id: id.slice(0, 80), projectId });
    await audit(request, {
      action: 'person.export',
      target: subjectRef(projectId, id),
      details: Object.fromEntries(Object.entries(exported.facts).map(([t, rows]) => [t, rows.length])),
    });
    return reply.header('content-disposition', 'attachment; filename="person-export.json"').send(exported);
  });

  app.delete<ItemParams>(`${base}/persons/:id`, guarded('persons.erase'), async (request) => {
    const projectId = request.params.projectId;
    const id = idParam(request.params.id);
    const ingest = deps.ingest;
    const report = await erasePerson(
      deps.facts,
      deps.metadata,
      governance.keyring,
      projectId,
      id,
      governance.suppression,
      async () => ingest?.writer.drain(),
      (subject) => ingest?.identity.forget(projectId, subject),
    );
    if (ingest) {
      // The log may still hold the erased person's events (stored, so deleted above): close its
      // segment and delete every segment before the new one once everything in them is stored.
      const start = await ingest.wal.startNewSegment();
      await ingest.writer.drain();
      await ingest.wal.removeSegmentsBefore(start);
    }
    await audit(request, {
      action: 'person.erase',
      target: subjectRef(projectId, id),
      details: { removed: report.removed, persons: report.personCount, distinctIds: report.distinctIdCount },
    });
    return report;
  });
}
