import { timingSafeEqual } from 'node:crypto';
import type { MetadataStore } from '../store/metadata/open.js';
import { governDb } from './tables.js';
import { randomSecret, secretHash } from './users.js';

/**
 * Dashboard sessions. The session id (256 random bits) lives only in the browser's httpOnly cookie;
 * the store keeps its SHA-256, so a leaked database does not yield usable sessions. Each session
 * has a CSRF token (also stored hashed) that unsafe requests must echo in a header.
 */

export const SESSION_COOKIE = 'pl_session';
export const CSRF_COOKIE = 'pl_csrf';
export const CSRF_HEADER = 'x-csrf-token';
export const DEFAULT_SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

export interface NewSession {
  /** Goes into the session cookie; never stored. */
  sessionId: string;
  /** Goes into the readable CSRF cookie and the login response; never stored. */
  csrfToken: string;
  expiresAt: string;
}

export interface ActiveSession {
  userId: string;
  csrfHash: string;
  expiresAt: string;
}

export async function createSession(
  store: MetadataStore,
  userId: string,
  from: { ip: string; userAgent: string },
  ttlMs = DEFAULT_SESSION_TTL_MS,
  now = Date.now(),
): Promise<NewSession> {
  const sessionId = randomSecret(32);
  const csrfToken = randomSecret(32);
  const expiresAt = new Date(now + ttlMs).toISOString();
  await governDb(store)
    .insertInto('sessions')
    .values({
      id_hash: secretHash(sessionId),
      user_id: userId,
      csrf_hash: secretHash(csrfToken),
      created_at: new Date(now).toISOString(),
      expires_at: expiresAt,
      ip: from.ip.slice(0, 100),
      user_agent: from.userAgent.slice(0, 500),
    })
    .execute();
  return { sessionId, csrfToken, expiresAt };
}

/** The unexpired session with this id, or undefined (an expired one is deleted on sight). */
export async function findSession(
  store: MetadataStore,
  sessionId: string,
  now = Date.now(),
): Promise<ActiveSession | undefined> {
  const db = governDb(store);
  const idHash = secretHash(sessionId);
  const row = await db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
  if (!row) return undefined;
  if (row.expires_at <= new Date(now).toISOString()) {
    await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
    return undefined;
  }
  return { userId: row.user_id, csrfHash: row.csrf_hash, expiresAt: row.expires_at };
}

export async function deleteSession(store: MetadataStore, sessionId: string): Promise<boolean> {
  const result = await governDb(store)
    .deleteFrom('sessions')
    .where('id_hash', '=', secretHash(sessionId))
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Logs a user out everywhere (after a password change or when disabling the account). */
export async function deleteUserSessions(store: MetadataStore, userId: string): Promise<number> {
  const result = await governDb(store)
    .deleteFrom('sessions')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Whether a presented CSRF token belongs to the session (constant-time comparison of the hashes). */
export function csrfTokenMatches(session: ActiveSession, presented: string | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(secretHash(presented), 'hex');
  const b = Buffer.from(session.csrfHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
