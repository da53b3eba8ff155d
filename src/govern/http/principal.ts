import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { detailText, PulseloopError } from '../../errors/registry.js';
import type { MetadataStore } from '../../store/metadata/open.js';
import { findActiveWriteKey } from '../../store/metadata/sources.js';
import { type AuditActor, recordAudit } from '../audit.js';
import { can, type Permission, READ_PERMISSIONS, type Role, weakerRole } from '../permissions.js';
import { CSRF_HEADER, csrfTokenMatches, findSession, SESSION_COOKIE } from '../sessions.js';
import { findActiveToken, TOKEN_PREFIX } from '../tokens.js';
import { effectiveProjectRole, getUser, type User } from '../users.js';
import type { IpRateLimiter } from './hardening.js';

/**
 * Authentication and authorisation for HTTP routes: who is calling (session cookie or bearer
 * API token), in which project (the route's `:projectId`), with which role, and whether that role
 * holds the route's permission.
 */

/** Who is calling, once authenticated. */
export interface Identity {
  user: User;
  via: 'session' | 'token';
  tokenId?: string;
  tokenName?: string;
  /** A token's project: it works there only. */
  tokenProjectId?: string;
  tokenRole?: Role;
  readOnly: boolean;
}

/** An authenticated caller authorised in a project. */
export interface Principal extends Identity {
  projectId: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface AuthDeps {
  metadata: MetadataStore;
  /** Requests per IP on authenticated routes; none when absent. */
  ipLimiter?: IpRateLimiter;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Reads one cookie from the Cookie header (no dependency for a ten-line parser). */
export function cookieOf(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function actorOf(identity: Identity | null | undefined): AuditActor {
  if (!identity) return { type: 'anonymous', id: '', label: '' };
  if (identity.via === 'token') {
    return {
      type: 'token',
      id: identity.user.id,
      label: `${identity.user.email} (token ${identity.tokenName ?? ''})`,
    };
  }
  return { type: 'user', id: identity.user.id, label: identity.user.email };
}

/** Where a request came from, for the audit log. */
export function originOf(request: FastifyRequest): { ip: string; userAgent: string } {
  return { ip: request.ip, userAgent: String(request.headers['user-agent'] ?? '').slice(0, 500) };
}

/**
 * The caller's identity, or a PulseloopError: 401 without credentials, 403 for a write key (it can
 * only ingest) and for a cookie-authenticated unsafe request that fails the CSRF check.
 */
export async function authenticate(deps: AuthDeps, request: FastifyRequest): Promise<Identity> {
  const authorization = request.headers.authorization;
  if (authorization) return authenticateHeader(deps, authorization);

  const sessionId = cookieOf(request, SESSION_COOKIE);
  if (!sessionId) throw new PulseloopError('not_authenticated');
  const session = await findSession(deps.metadata, sessionId);
  if (!session) throw new PulseloopError('not_authenticated');
  if (!SAFE_METHODS.has(request.method)) assertSameOriginAndToken(request, session);
  const user = await getUser(deps.metadata, session.userId);
  if (!user || user.disabled) throw new PulseloopError('not_authenticated');
  return { user, via: 'session', readOnly: false };
}

async function authenticateHeader(deps: AuthDeps, authorization: string): Promise<Identity> {
  const [scheme = '', credentials = ''] = authorization.trim().split(/\s+/, 2);
  if (scheme.toLowerCase() === 'bearer' && credentials.startsWith(TOKEN_PREFIX)) {
    const token = await findActiveToken(deps.metadata, credentials);
    if (!token) throw new PulseloopError('not_authenticated');
    const user = await getUser(deps.metadata, token.userId);
    if (!user || user.disabled) throw new PulseloopError('not_authenticated');
    return {
      user,
      via: 'token',
      tokenId: token.id,
      tokenName: token.name,
      tokenProjectId: token.projectId,
      tokenRole: token.role,
      readOnly: token.readOnly,
    };
  }
  // A write key sent as a bearer token or as the Basic-auth user name: it may only ingest.
  const candidate =
    scheme.toLowerCase() === 'basic'
      ? Buffer.from(credentials, 'base64').toString('utf8').split(':', 1)[0]
      : credentials;
  if (candidate && (await findActiveWriteKey(deps.metadata, candidate))) {
    throw new PulseloopError('write_key_not_allowed');
  }
  throw new PulseloopError('not_authenticated');
}

/**
 * CSRF defence for cookie sessions (tokens in headers cannot be sent by another site): the
 * request must carry the session's CSRF token in X-CSRF-Token, and an Origin, when the browser
 * sends one, must be this server's own.
 */
function assertSameOriginAndToken(
  request: FastifyRequest,
  session: Parameters<typeof csrfTokenMatches>[0],
): void {
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `${request.protocol}://${request.host}`) {
    throw new PulseloopError('csrf_failed');
  }
  const header = request.headers[CSRF_HEADER];
  if (!csrfTokenMatches(session, Array.isArray(header) ? header[0] : header))
    throw new PulseloopError('csrf_failed');
}

/**
 * The caller's role in a project, or 404 unknown_project when they are not a member (the same
 * answer as for a project that does not exist, so other tenants' project ids are not confirmed).
 */
export async function roleInProject(deps: AuthDeps, identity: Identity, projectId: string): Promise<Role> {
  const membership = await effectiveProjectRole(deps.metadata, projectId, identity.user.id);
  if (membership === undefined)
    throw new PulseloopError('unknown_project', { projectId: projectId.slice(0, 80) });
  if (identity.via === 'token') {
    if (identity.tokenProjectId !== projectId) {
      throw new PulseloopError('unknown_project', { projectId: projectId.slice(0, 80) });
    }
    return weakerRole(identity.tokenRole!, membership);
  }
  return membership;
}

/** Whether this identity with this role may use the permission (read-only tokens only read). */
export function allows(identity: Identity, role: Role, permission: Permission): boolean {
  if (identity.readOnly && !READ_PERMISSIONS.has(permission)) return false;
  return can(role, permission);
}

/**
 * A preHandler for routes with a `:projectId` param: authenticates, checks membership and the
 * permission, and sets `request.principal`. Refusals of authenticated callers are audited.
 */
export function requirePermission(deps: AuthDeps, permission: Permission): preHandlerAsyncHookHandler {
  return async (request: FastifyRequest) => {
    if (deps.ipLimiter) {
      const wait = deps.ipLimiter.take(request.ip);
      if (wait > 0) throw new PulseloopError('rate_limited', { retryAfterSeconds: wait });
    }
    const identity = await authenticate(deps, request);
    const projectId = (request.params as { projectId?: unknown }).projectId;
    if (typeof projectId !== 'string' || projectId === '') {
      throw new PulseloopError('invalid_request', {
        ...detailText('the route has no project id.', '该路由缺少项目 ID。'),
      });
    }
    const role = await roleInProject(deps, identity, projectId);
    if (!allows(identity, role, permission)) {
      await recordAudit(deps.metadata, {
        action: 'auth.denied',
        actor: actorOf(identity),
        projectId,
        target: { type: 'permission', id: permission },
        outcome: 'denied',
        ...originOf(request),
        details: {
          method: request.method,
          route: request.routeOptions.url ?? '',
          role,
          readOnly: identity.readOnly,
        },
      });
      throw new PulseloopError('forbidden', {
        role: identity.readOnly ? `${role} (read-only token)` : role,
        ...(identity.readOnly ? { role_zh: `${role}（只读令牌）` } : {}),
        permission,
      });
    }
    request.principal = { ...identity, projectId, role };
  };
}
