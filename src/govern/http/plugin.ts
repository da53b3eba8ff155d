import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { MetadataStore } from '../../store/metadata/open.js';
import type { Permission } from '../permissions.js';
import { type IpRateLimiter, securityHeadersHook } from './hardening.js';
import { requirePermission } from './principal.js';

/**
 * The governance Fastify plugin: decorates every request with `principal` (null until a
 * `requirePermission` preHandler sets it), adds the security headers to every response, and
 * gives routes `app.requirePermission(permission)`. It is registered without encapsulation (like
 * fastify-plugin does) so its hooks apply to routes registered beside it.
 */

export interface GovernancePluginOptions {
  metadata: MetadataStore;
  apiLimiter?: IpRateLimiter;
}

declare module 'fastify' {
  interface FastifyInstance {
    requirePermission(permission: Permission): ReturnType<typeof requirePermission>;
  }
}

const plugin: FastifyPluginAsync<GovernancePluginOptions> = async (app: FastifyInstance, options) => {
  if (!app.hasRequestDecorator('principal')) app.decorateRequest('principal', null);
  if (!app.hasDecorator('requirePermission')) {
    app.decorate('requirePermission', (permission: Permission) =>
      requirePermission(
        { metadata: options.metadata, ...(options.apiLimiter && { ipLimiter: options.apiLimiter }) },
        permission,
      ),
    );
  }
  app.addHook('onSend', securityHeadersHook);
};

// Fastify's documented way to opt out of encapsulation (what fastify-plugin sets).
(plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

export const governancePlugin = plugin;
