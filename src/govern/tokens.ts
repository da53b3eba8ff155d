import { randomUUID } from 'node:crypto';
import { detailText, PulseloopError } from '../errors/registry.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { parseRole, type Role } from './permissions.js';
import { governDb } from './tables.js';
import { randomSecret, secretHash } from './users.js';

/**
 * Personal API tokens for scripts: `pl_pat_<43 base64url chars>`, shown once at creation and
 * stored as SHA-256. Each is scoped to one project with a role, optionally read-only; the role in
 * effect is never more than the user's membership role at the time of use.
 */

export const TOKEN_PREFIX = 'pl_pat_';

export interface NewToken {
  userId: string;
  projectId: string;
  role: Role | string;
  readOnly: boolean;
  name: string;
  expiresAt?: string;
}

export interface TokenInfo {
  id: string;
  userId: string;
  projectId: string;
  role: Role;
  readOnly: boolean;
  name: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** Creates a token and returns it in full: this is the only time it can be seen. */
export async function createApiToken(
  store: MetadataStore,
  input: NewToken,
): Promise<{ token: string; info: TokenInfo }> {
  const role = parseRole(input.role);
  const name = input.name.trim().slice(0, 200);
  if (name === '')
    throw new PulseloopError('invalid_request', {
      ...detailText('a token needs a name.', '令牌必须有名称。'),
    });
  const token = `${TOKEN_PREFIX}${randomSecret(32)}`;
  const row = {
    id: randomUUID(),
    token_hash: secretHash(token),
    user_id: input.userId,
    project_id: input.projectId,
    role,
    read_only: input.readOnly ? 1 : 0,
    name,
    created_at: new Date().toISOString(),
    expires_at: input.expiresAt ?? null,
    last_used_at: null,
    revoked_at: null,
  };
  await governDb(store).insertInto('api_tokens').values(row).execute();
  return { token, info: toInfo(row) };
}

/** The active (unrevoked, unexpired) token, or undefined. */
export async function findActiveToken(
  store: MetadataStore,
  token: string,
  now = Date.now(),
): Promise<TokenInfo | undefined> {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const row = await governDb(store)
    .selectFrom('api_tokens')
    .selectAll()
    .where('token_hash', '=', secretHash(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  if (row.expires_at !== null && row.expires_at <= new Date(now).toISOString()) return undefined;
  return toInfo(row);
}

export async function listApiTokens(store: MetadataStore, userId: string): Promise<TokenInfo[]> {
  const rows = await governDb(store)
    .selectFrom('api_tokens')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();
  return rows.map(toInfo);
}

export async function revokeApiToken(
  store: MetadataStore,
  userId: string,
  tokenId: string,
): Promise<boolean> {
  const result = await governDb(store)
    .updateTable('api_tokens')
    .set({ revoked_at: new Date().toISOString() })
    .where('id', '=', tokenId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

function toInfo(row: {
  id: string;
  user_id: string;
  project_id: string;
  role: string;
  read_only: number;
  name: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}): TokenInfo {
  return {
    id: row.id,
    userId: row.user_id,
    projectId: row.project_id,
    role: parseRole(row.role),
    readOnly: row.read_only === 1,
    name: row.name,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}
