import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { receiveWebhook } from '../../collect/webhooks/receive.js';
import type { StoreDeps } from '../app.js';

/**
 * Inbound webhooks: `POST /v1/webhooks/:sourceId/:platform`. The body is read as raw bytes (the app's
 * content parser), because signatures cover the exact bytes sent.
 */
export function registerWebhookRoutes(app: FastifyInstance, deps: StoreDeps): void {
  app.post(
    '/v1/webhooks/:sourceId/:platform',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Receive a pushed order or comment (Shopify, Douyin shop, or signed JSON)',
        params: Type.Object({ sourceId: Type.String(), platform: Type.String() }),
      },
      validatorCompiler: () => () => true,
    },
    async (request) => {
      const { sourceId, platform } = request.params as { sourceId: string; platform: string };
      const { reply } = await receiveWebhook(deps, {
        sourceId,
        platform,
        raw: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
        headers: request.headers,
        receivedAt: Date.now(),
      });
      return reply;
    },
  );
}
