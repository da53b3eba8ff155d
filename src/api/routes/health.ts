import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

export interface HealthDeps {
  /** Whether each dependency can serve. */
  readiness(): Promise<{ ready: boolean; checks: Record<string, string> }>;
  /** Row counts, store sizes and log lag. */
  status(): Promise<unknown>;
}

const HealthSchema = Type.Object({ status: Type.Literal('ok') });
const ReadySchema = Type.Object({
  ready: Type.Boolean(),
  checks: Type.Record(Type.String(), Type.String()),
});

/** Liveness (the process answers) and readiness (facts store, metadata store and log can serve). */
export function registerHealthRoutes(app: FastifyInstance, deps: HealthDeps): void {
  app.get(
    '/healthz',
    { schema: { tags: ['operations'], summary: 'Liveness', response: { 200: HealthSchema } } },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: the stores and the write-ahead log can serve',
        response: { 200: ReadySchema, 503: ReadySchema },
      },
    },
    async (_request, reply) => {
      const result = await deps.readiness();
      return reply.status(result.ready ? 200 : 503).send(result);
    },
  );
  app.get(
    '/status',
    { schema: { tags: ['operations'], summary: 'Row counts, store sizes and write-ahead log lag' } },
    async () => deps.status(),
  );
}
