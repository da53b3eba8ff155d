import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { connectorCatalogue } from '../../collect/connectors/catalogue.js';
import {
  addConnectorInstance,
  type ConnectorInstance,
  getConnectorInstance,
  listConnectorInstances,
  removeConnectorInstance,
  replaceConnectorCredentials,
} from '../../collect/connectors/instances.js';
import { activeJob } from '../../collect/connectors/jobs.js';
import { connectorById, streamOf } from '../../collect/connectors/registry.js';
import { instanceStatus } from '../../collect/connectors/status.js';
import { queueSyncsNow, syncJobKey } from '../../collect/connectors/sync.js';
import { detailText, PulseloopError } from '../../errors/registry.js';
import { type AuditEntryInput, recordAudit } from '../../govern/audit.js';
import { governanceFor } from '../../govern/governance.js';
import { jsonBody } from '../../govern/http/body.js';
import { actorOf, authenticate, originOf } from '../../govern/http/principal.js';
import type { PiiKeyring } from '../../govern/pii/keys.js';
import type { StoreDeps } from '../app.js';

/**
 * Connectors over HTTP: the catalogue, a project's connected accounts with the state of their syncs,
 * adding (with a stored, encrypted token or an environment variable) and removing an account, and
 * "sync now", which queues the streams and starts a round of the server's connector schedule without
 * waiting for it. Tokens are never answered nor written to the audit log.
 */

/** What the server gives the connector routes (src/api/server.ts). */
export interface ConnectorRouteDeps {
  connectors: {
    /** The key ring new tokens are stored under, read when called (a key the CLI rotated is used). */
    keyring(): PiiKeyring;
    /** Where `env:NAME` tokens are read at sync time (the server's environment). */
    env: Record<string, string | undefined>;
    /** Starts a round of due syncs now, or right after the one in progress; never rejects. */
    runSoon(): Promise<unknown>;
  };
}

const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';

const AddConnectorBody = Type.Object(
  {
    connector: Type.String({ minLength: 1, maxLength: 64 }),
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    config: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, pattern: '\\S' })),
    tokenEnv: Type.Optional(Type.String({ maxLength: 128, pattern: ENV_NAME })),
  },
  { additionalProperties: false },
);

const CredentialsBody = Type.Object(
  {
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, pattern: '\\S' })),
    tokenEnv: Type.Optional(Type.String({ maxLength: 128, pattern: ENV_NAME })),
  },
  { additionalProperties: false },
);

const SyncBody = Type.Object(
  { stream: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  { additionalProperties: false },
);

/** The refusal of a body with both or neither of token and tokenEnv. */
const TOKEN_CHOICE = detailText(
  'token: give exactly one of "token" (stored encrypted) or "tokenEnv" (a variable name).',
  'token：必须且只能提供 "token"（加密存储）或 "tokenEnv"（环境变量名）其中之一。',
);

type ProjectParams = { Params: { projectId: string } };
type InstanceParams = { Params: { projectId: string; instanceId: string } };

export function registerConnectorRoutes(app: FastifyInstance, deps: StoreDeps & ConnectorRouteDeps): void {
  const base = '/api/v1/projects/:projectId/connectors';
  const schema = { tags: ['connectors'] };

  const audit = (request: FastifyRequest, entry: Omit<AuditEntryInput, 'actor' | 'projectId'>) => {
    const principal = request.principal!;
    return recordAudit(deps.metadata, {
      actor: actorOf(principal),
      projectId: principal.projectId,
      ...originOf(request),
      ...entry,
    });
  };

  /** The instance of this project; another project's instance is not found (tenant isolation). */
  const instanceOf = async (projectId: string, instanceId: string): Promise<ConnectorInstance> => {
    const instance =
      instanceId.length <= 100 ? await getConnectorInstance(deps.metadata, instanceId) : undefined;
    if (!instance || instance.projectId !== projectId) {
      throw new PulseloopError('not_found', {
        what: 'Connector',
        what_zh: '连接器',
        id: instanceId.slice(0, 80),
      });
    }
    return instance;
  };

  /** Refuses when a worker holds a live lease on a sync of one of these streams. */
  const refuseWhileRunning = async (instance: ConnectorInstance, streams: string[]) => {
    const now = new Date().toISOString();
    for (const stream of streams) {
      const job = await activeJob(deps.metadata, syncJobKey(instance.id, stream));
      if (job?.status === 'running' && (job.lockedUntil ?? '') > now) {
        throw new PulseloopError('connector_sync_running', {
          instance: instance.name,
          stream,
          until: job.lockedUntil ?? '?',
        });
      }
    }
  };

  app.get('/api/v1/connectors', { schema }, async (request) => {
    const { apiLimiter } = await governanceFor(deps);
    const wait = apiLimiter.take(request.ip);
    if (wait > 0) throw new PulseloopError('rate_limited', { retryAfterSeconds: wait });
    await authenticate({ metadata: deps.metadata }, request);
    return { connectors: connectorCatalogue() };
  });

  app.get<ProjectParams>(
    base,
    { schema, preHandler: app.requirePermission('analyses.read') },
    async (request) => {
      const instances = await listConnectorInstances(deps.metadata, request.params.projectId);
      return {
        connectors: await Promise.all(
          instances.map((i) => instanceStatus(deps.metadata, i, deps.connectors.env)),
        ),
      };
    },
  );

  app.post<ProjectParams>(
    base,
    { schema, preHandler: app.requirePermission('keys.manage') },
    async (request, reply) => {
      const body = jsonBody(AddConnectorBody, request.body);
      if ((body.token === undefined) === (body.tokenEnv === undefined)) {
        throw new PulseloopError('invalid_request', TOKEN_CHOICE);
      }
      const instance = await addConnectorInstance(deps.metadata, {
        projectId: request.params.projectId,
        connector: body.connector,
        name: body.name,
        config: body.config ?? {},
        credentials:
          body.token !== undefined
            ? { token: body.token, keyring: deps.connectors.keyring() }
            : { env: body.tokenEnv as string },
      });
      // The first run of every stream is due at once, as after `pulseloop connectors add`: the server's
      // next round takes it up (or "sync now" at once).
      await queueSyncsNow(deps.metadata, instance);
      await audit(request, {
        action: 'connector.add',
        target: { type: 'connector', id: instance.id },
        details: {
          connector: instance.connector,
          name: instance.name,
          credentials: body.token !== undefined ? 'stored' : `env:${body.tokenEnv}`,
        },
      });
      return reply
        .status(201)
        .send({ connector: await instanceStatus(deps.metadata, instance, deps.connectors.env) });
    },
  );

  app.post<InstanceParams>(
    `${base}/:instanceId/sync`,
    { schema, preHandler: app.requirePermission('data.import') },
    async (request, reply) => {
      const body = jsonBody(SyncBody, request.body);
      const instance = await instanceOf(request.params.projectId, request.params.instanceId);
      const connector = connectorById(instance.connector);
      const streams =
        body.stream !== undefined
          ? [streamOf(connector, body.stream).name]
          : connector.streams.map((s) => s.name);
      await refuseWhileRunning(instance, streams);
      // Queued, or the queued run brought forward to now; the round below claims them.
      const jobs = await queueSyncsNow(deps.metadata, instance, streams);
      await audit(request, {
        action: 'connector.sync',
        target: { type: 'connector', id: instance.id },
        details: { streams },
      });
      void deps.connectors.runSoon();
      return reply.status(202).send({
        jobs: jobs.map((j) => ({
          id: j.id,
          stream: j.payload.stream,
          status: j.status,
          nextRunAt: j.nextRunAt,
        })),
      });
    },
  );

  // A new token for an account (platform tokens expire), keeping its settings, checkpoints and jobs.
  app.put<InstanceParams>(
    `${base}/:instanceId/credentials`,
    { schema, preHandler: app.requirePermission('keys.manage') },
    async (request) => {
      const body = jsonBody(CredentialsBody, request.body);
      if ((body.token === undefined) === (body.tokenEnv === undefined)) {
        throw new PulseloopError('invalid_request', TOKEN_CHOICE);
      }
      const instance = await instanceOf(request.params.projectId, request.params.instanceId);
      const updated = await replaceConnectorCredentials(
        deps.metadata,
        instance.id,
        body.token !== undefined
          ? { token: body.token, keyring: deps.connectors.keyring() }
          : { env: body.tokenEnv as string },
      );
      if (!updated)
        throw new PulseloopError('not_found', { what: 'Connector', what_zh: '连接器', id: instance.id });
      await audit(request, {
        action: 'connector.credentials',
        target: { type: 'connector', id: instance.id },
        details: { credentials: body.token !== undefined ? 'stored' : `env:${body.tokenEnv}` },
      });
      return { connector: await instanceStatus(deps.metadata, updated, deps.connectors.env) };
    },
  );

  app.delete<InstanceParams>(
    `${base}/:instanceId`,
    { schema, preHandler: app.requirePermission('keys.manage') },
    async (request) => {
      const instance = await instanceOf(request.params.projectId, request.params.instanceId);
      await refuseWhileRunning(
        instance,
        connectorById(instance.connector).streams.map((s) => s.name),
      );
      const removed = await removeConnectorInstance(deps.metadata, instance.id);
      await audit(request, {
        action: 'connector.remove',
        target: { type: 'connector', id: instance.id },
        details: { connector: instance.connector, name: instance.name },
      });
      return { removed };
    },
  );
}
