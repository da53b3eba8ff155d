import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { LiveFeed } from '../collect/live.js';
import { PulseloopError } from '../errors/registry.js';
import { ajvDetail } from '../errors/schema-errors.js';
import type { Governance } from '../govern/governance.js';
import type { FactsEngine } from '../store/facts/engine.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { fastifyClientError } from './fastify-errors.js';
import { registerAnalysisRoutes } from './routes/analyses.js';
import { registerAuthRoutes } from './routes/auth.js';
import { type CollectRouteDeps, registerCollectRoutes } from './routes/collect.js';
import { type ConnectorRouteDeps, registerConnectorRoutes } from './routes/connectors.js';
import { registerDashboardRoutes } from './routes/dashboard.js';
import { registerExploreRoutes } from './routes/explore.js';
import { registerGovernRoutes } from './routes/govern.js';
import { type HealthDeps, registerHealthRoutes } from './routes/health.js';
import { registerIdentityRoutes } from './routes/identity.js';
import { registerImportRoutes } from './routes/imports.js';
import { registerInsightRoutes } from './routes/insights.js';
import { registerProjectRoutes } from './routes/projects.js';
import { registerQuarantineRoutes } from './routes/quarantine.js';
import { registerWebhookRoutes } from './routes/webhooks.js';

/** What every product route (analytics, imports, sources, …) may use: the two stores. */
export interface StoreDeps {
  facts: FactsEngine;
  metadata: MetadataStore;
  /** Key ring, consent cache and rate limiters; created on first use when absent. */
  governance?: Governance;
}

export interface AppDeps extends CollectRouteDeps, ConnectorRouteDeps, HealthDeps, StoreDeps {
  logger: Logger;
  /** What ingestion kept, for live views. */
  live: LiveFeed;
  /** Largest accepted raw (possibly compressed) body. */
  bodyLimitBytes: number;
  /** The process's governance state (PII keys, consent and erasure caches); created on demand when absent. */
  governance?: Governance;
}

/** A route the app serves. */
export interface RouteEntry {
  method: string;
  url: string;
}

const routeTables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Every route of an app built by `buildApp` (the authorisation test walks them all). */
export function routesOf(app: FastifyInstance): readonly RouteEntry[] {
  return routeTables.get(app) ?? [];
}

/** Builds the HTTP application: collection API, health, OpenAPI document. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes,
    trustProxy: true,
    // Per-request logs would cost more than the work at thousands of ingestion requests a second.
    logController: new LogController({ disableRequestLogging: true }),
    // Route schemas describe bodies for the OpenAPI document; collection routes validate each event
    // themselves so that one bad event in a batch does not reject the others.
    ajv: { customOptions: { strict: false } },
    // A malformed path is answered before routing, outside the error handler.
    frameworkErrors: (error, _request, reply) => {
      const e = fastifyClientError(error);
      void (reply as FastifyReply).status(e.status).send(e.toJSON());
    },
  });

  const routes: RouteEntry[] = [];
  routeTables.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });

  // Bodies arrive as bytes: the collection API decompresses and parses them itself (gzip, limits,
  // hostile JSON), and browsers' sendBeacon posts JSON as text/plain.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error: FastifyError | PulseloopError, request, reply) => {
    if (error instanceof PulseloopError) {
      if (error.code === 'rate_limited' || error.code === 'overloaded') {
        reply.header('Retry-After', String(error.details.retryAfterSeconds ?? 1));
      }
      return reply.status(error.status).send(error.toJSON());
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const size = Number(request.headers['content-length'] ?? 0);
      const e = new PulseloopError('request_too_large', {
        size: size || `> ${deps.bodyLimitBytes}`,
        limit: deps.bodyLimitBytes,
      });
      return reply.status(e.status).send(e.toJSON());
    }
    // ajv's findings, worded in both languages from its keywords.
    if (error.validation) {
      const part = error.validationContext ?? 'body';
      const e = new PulseloopError('invalid_request', ajvDetail(error.validation, part));
      return reply.status(e.status).send(e.toJSON());
    }
    if (typeof error.statusCode === 'number' && error.statusCode < 500) {
      const e = fastifyClientError(error);
      return reply.status(error.statusCode).send(e.toJSON());
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send({
      error: {
        code: 'internal',
        message: 'Internal error; see the server log.',
        message_zh: '内部错误，请查看服务器日志。',
      },
    });
  });

  await app.register(cors, {
    origin: true,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Content-Encoding'],
    // SDKs on other origins read it to back off after 429 and 503.
    exposedHeaders: ['Retry-After'],
    maxAge: 86_400,
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Pulseloop API',
        version: '0.1.0',
        description: 'Collection API (Segment-compatible), health and operations.',
      },
      components: {
        securitySchemes: {
          writeKey: {
            type: 'http',
            scheme: 'basic',
            description: 'The write key as the user name, empty password.',
          },
        },
      },
    },
  });

  await registerAuthRoutes(app, deps);
  registerHealthRoutes(app, deps);
  registerCollectRoutes(app, deps);
  registerAnalysisRoutes(app, deps);
  registerInsightRoutes(app, deps);
  registerProjectRoutes(app, deps);
  registerExploreRoutes(app, deps);
  registerIdentityRoutes(app, deps);
  registerImportRoutes(app, deps);
  registerQuarantineRoutes(app, deps);
  registerConnectorRoutes(app, deps);
  registerWebhookRoutes(app, deps);
  await registerGovernRoutes(app, deps);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await registerDashboardRoutes(app);
  return app;
}
