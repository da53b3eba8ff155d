import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PulseloopError } from '../../errors/registry.js';
import { recordAudit } from '../../govern/audit.js';
import { type Governance, governanceFor } from '../../govern/governance.js';
import { jsonBody } from '../../govern/http/body.js';
import { governancePlugin } from '../../govern/http/plugin.js';
import { actorOf, authenticate, cookieOf, originOf } from '../../govern/http/principal.js';
import { ROLES, weakerRole } from '../../govern/permissions.js';
import {
  CSRF_COOKIE,
  createSession,
  DEFAULT_SESSION_TTL_MS,
  deleteSession,
  SESSION_COOKIE,
} from '../../govern/sessions.js';
import { createApiToken, listApiTokens, revokeApiToken } from '../../govern/tokens.js';
import { effectiveProjectRole, findUserByEmail, memberProjectIds, verifyLogin } from '../../govern/users.js';
import type { StoreDeps } from '../app.js';

/**
 * Sign-in for the dashboard (session cookie + CSRF token), sign-out, the caller's own account and
 * personal API tokens, under /api/v1/auth. Also registers the governance plugin (security
 * headers, `request.principal`) for the whole app.
 */

const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

const TokenBody = Type.Object(
  {
    projectId: Type.String({ minLength: 1, maxLength: 100 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    role: Type.Union(ROLES.map((r) => Type.Literal(r))),
    readOnly: Type.Optional(Type.Boolean()),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);

function cookie(
  request: FastifyRequest,
  name: string,
  value: string,
  options: { httpOnly: boolean; maxAgeSeconds: number },
) {
  const parts = [
    `${name}=${encodeURIComponent(value)}`,
    'Path=/',
    'SameSite=Lax',
    `Max-Age=${options.maxAgeSeconds}`,
  ];
  if (options.httpOnly) parts.push('HttpOnly');
  if (request.protocol === 'https') parts.push('Secure');
  return parts.join('; ');
}

function setSessionCookies(
  request: FastifyRequest,
  reply: FastifyReply,
  sessionId: string,
  csrfToken: string,
  maxAgeSeconds: number,
) {
  reply.header('set-cookie', [
    cookie(request, SESSION_COOKIE, sessionId, { httpOnly: true, maxAgeSeconds }),
    // Readable by the dashboard's script, which echoes it in X-CSRF-Token.
    cookie(request, CSRF_COOKIE, csrfToken, { httpOnly: false, maxAgeSeconds }),
  ]);
}

export async function registerAuthRoutes(
  app: FastifyInstance,
  deps: StoreDeps & { governance?: Governance },
): Promise<void> {
  const governance = await governanceFor(deps);
  await app.register(governancePlugin, { metadata: deps.metadata, apiLimiter: governance.apiLimiter });
  const auth = { metadata: deps.metadata, ipLimiter: governance.apiLimiter };
  const base = '/api/v1/auth';
  const options = { schema: { tags: ['auth'] } };

  /** Account events are recorded once per project the user belongs to, so each project's audit log shows them. */
  async function auditInProjects(userId: string | undefined, entry: Parameters<typeof recordAudit>[1]) {
    const projects = userId ? await memberProjectIds(deps.metadata, userId) : [];
    if (projects.length === 0) await recordAudit(deps.metadata, entry);
    for (const projectId of projects) await recordAudit(deps.metadata, { ...entry, projectId });
  }

  app.post(`${base}/login`, options, async (request, reply) => {
    const wait = governance.loginLimiter.take(request.ip);
    if (wait > 0) throw new PulseloopError('rate_limited', { retryAfterSeconds: wait });
    const body = jsonBody(LoginBody, request.body);
    const user = await verifyLogin(deps.metadata, body.email, body.password);
    if (!user) {
      // Failed attempts on a known account are shown to the admins of its projects.
      const target = await findUserByEmail(deps.metadata, body.email);
      await auditInProjects(target?.id, {
        action: 'auth.login_failed',
        actor: { type: 'anonymous', id: '', label: body.email.trim().toLowerCase().slice(0, 254) },
        ...(target && { target: { type: 'user', id: target.id } }),
        outcome: 'failure',
        ...originOf(request),
      });
      throw new PulseloopError('invalid_credentials');
    }
    const session = await createSession(deps.metadata, user.id, originOf(request));
    await auditInProjects(user.id, {
      action: 'auth.login',
      actor: { type: 'user', id: user.id, label: user.email },
      target: { type: 'user', id: user.id },
      ...originOf(request),
    });
    setSessionCookies(
      request,
      reply,
      session.sessionId,
      session.csrfToken,
      Math.floor(DEFAULT_SESSION_TTL_MS / 1000),
    );
    return { user, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
  });

  app.post(`${base}/logout`, options, async (request, reply) => {
    const identity = await authenticate(auth, request);
    const sessionId = cookieOf(request, SESSION_COOKIE);
    if (identity.via === 'session' && sessionId) await deleteSession(deps.metadata, sessionId);
    await auditInProjects(identity.user.id, {
      action: 'auth.logout',
      actor: actorOf(identity),
      target: { type: 'user', id: identity.user.id },
      ...originOf(request),
    });
    reply.header('set-cookie', [
      cookie(request, SESSION_COOKIE, '', { httpOnly: true, maxAgeSeconds: 0 }),
      cookie(request, CSRF_COOKIE, '', { httpOnly: false, maxAgeSeconds: 0 }),
    ]);
    return reply.status(204).send();
  });

  app.get(`${base}/me`, options, async (request) => {
    const identity = await authenticate(auth, request);
    return { user: identity.user, via: identity.via, readOnly: identity.readOnly };
  });

  // Personal API tokens: only a signed-in user (not another token) may create them.
  app.post(`${base}/tokens`, options, async (request, reply) => {
    const identity = await authenticate(auth, request);
    if (identity.via !== 'session') throw new PulseloopError('not_authenticated');
    const body = jsonBody(TokenBody, request.body);
    const membership = await effectiveProjectRole(deps.metadata, body.projectId, identity.user.id);
    if (membership === undefined) {
      throw new PulseloopError('unknown_project', { projectId: body.projectId.slice(0, 80) });
    }
    if (weakerRole(body.role, membership) !== body.role) {
      throw new PulseloopError('forbidden', {
        role: membership,
        permission: `create a ${body.role} token`,
        permission_zh: `创建 ${body.role} 令牌`,
      });
    }
    const { token, info } = await createApiToken(deps.metadata, {
      userId: identity.user.id,
      projectId: body.projectId,
      role: body.role,
      readOnly: body.readOnly ?? false,
      name: body.name,
      ...(body.expiresInDays && {
        expiresAt: new Date(Date.now() + body.expiresInDays * 86_400_000).toISOString(),
      }),
    });
    await recordAudit(deps.metadata, {
      action: 'token.create',
      actor: actorOf(identity),
      projectId: body.projectId,
      target: { type: 'token', id: info.id },
      ...originOf(request),
      details: { role: info.role, readOnly: info.readOnly, name: info.name },
    });
    return reply.status(201).send({ token, info });
  });

  app.get(`${base}/tokens`, options, async (request) => {
    const identity = await authenticate(auth, request);
    return { tokens: await listApiTokens(deps.metadata, identity.user.id) };
  });

  app.delete<{ Params: { id: string } }>(`${base}/tokens/:id`, options, async (request, reply) => {
    const identity = await authenticate(auth, request);
    const token = (await listApiTokens(deps.metadata, identity.user.id)).find(
      (t) => t.id === request.params.id,
    );
    if (!token || !(await revokeApiToken(deps.metadata, identity.user.id, token.id))) {
      throw new PulseloopError('not_found', {
        what: 'Token',
        what_zh: '令牌',
        id: request.params.id.slice(0, 80),
      });
    }
    await recordAudit(deps.metadata, {
      action: 'token.revoke',
      actor: actorOf(identity),
      projectId: token.projectId,
      target: { type: 'token', id: request.params.id },
      ...originOf(request),
    });
    return reply.status(204).send();
  });
}
