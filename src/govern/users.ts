import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { detailText, PulseloopError } from '../errors/registry.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { parseRole, type Role } from './permissions.js';
import { governDb } from './tables.js';

/** Users (e-mail + argon2id password) and their organisation and project memberships. */

export const MIN_PASSWORD_LENGTH = 10;

// OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane.
// `algorithm: 2` is Algorithm.Argon2id (a const enum, which verbatimModuleSyntax cannot import).
const ARGON2 = { algorithm: 2 as const, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export interface User {
  id: string;
  email: string;
  name: string;
  createdAt: string;
  disabled: boolean;
}

export interface Membership {
  projectId: string;
  userId: string;
  email: string;
  role: Role;
}

/** SHA-256 hex of a secret (session id, CSRF token, API token): what the store keeps instead of it. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A random secret of `bytes` bytes, base64url. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function normaliseEmail(email: string): string {
  const normalised = email.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(normalised) || normalised.length > 254) {
    throw new PulseloopError('invalid_request', {
      ...detailText(
        `"${email.slice(0, 80)}" is not an e-mail address.`,
        `"${email.slice(0, 80)}" 不是有效的邮箱地址。`,
      ),
    });
  }
  return normalised;
}

export async function hashPassword(password: string): Promise<string> {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new PulseloopError('weak_password', { min: MIN_PASSWORD_LENGTH });
  }
  return hash(password, ARGON2);
}

// A fixed hash to verify against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
let decoyHash: Promise<string> | undefined;

export interface NewUser {
  email: string;
  password: string;
  name?: string;
}

export async function createUser(store: MetadataStore, input: NewUser): Promise<User> {
  const email = normaliseEmail(input.email);
  const db = governDb(store);
  if (await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()) {
    throw new PulseloopError('user_exists', { email });
  }
  const row = {
    id: randomUUID(),
    email,
    name: (input.name ?? email.split('@')[0] ?? email).slice(0, 200),
    password_hash: await hashPassword(input.password),
    created_at: new Date().toISOString(),
    disabled_at: null,
  };
  await db.insertInto('users').values(row).execute();
  return { id: row.id, email, name: row.name, createdAt: row.created_at, disabled: false };
}

/** The user whose e-mail and password match, or undefined; disabled users never match. */
export async function verifyLogin(
  store: MetadataStore,
  email: string,
  password: string,
): Promise<User | undefined> {
  const row = await governDb(store)
    .selectFrom('users')
    .selectAll()
    .where('email', '=', email.trim().toLowerCase())
    .executeTakeFirst();
  if (!row) {
    decoyHash ??= hash(randomSecret(), ARGON2);
    await verify(await decoyHash, password);
    return undefined;
  }
  const ok = await verify(row.password_hash, password);
  if (!ok || row.disabled_at !== null) return undefined;
  return toUser(row);
}

export async function getUser(store: MetadataStore, id: string): Promise<User | undefined> {
  const row = await governDb(store).selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toUser(row);
}

export async function findUserByEmail(store: MetadataStore, email: string): Promise<User | undefined> {
  const row = await governDb(store)
    .selectFrom('users')
    .selectAll()
    .where('email', '=', email.trim().toLowerCase())
    .executeTakeFirst();
  return row && toUser(row);
}

export async function listUsers(store: MetadataStore): Promise<User[]> {
  const rows = await governDb(store)
    .selectFrom('users')
    .selectAll()
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toUser);
}

/** Whether any user owns an organisation (the first `create-owner` has run). */
export async function ownerExists(store: MetadataStore): Promise<boolean> {
  const row = await governDb(store)
    .selectFrom('organisation_members')
    .select('user_id')
    .where('role', '=', 'owner')
    .executeTakeFirst();
  return row !== undefined;
}

/** Makes the user a member of the organisation (owner or member). */
export async function addOrganisationMember(
  store: MetadataStore,
  organisationId: string,
  userId: string,
  role: 'owner' | 'member',
): Promise<void> {
  const db = governDb(store);
  const existing = await db
    .selectFrom('organisation_members')
    .select('role')
    .where('organisation_id', '=', organisationId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (existing) {
    if (existing.role !== role && role === 'owner') {
      await db
        .updateTable('organisation_members')
        .set({ role })
        .where('organisation_id', '=', organisationId)
        .where('user_id', '=', userId)
        .execute();
    }
    return;
  }
  await db
    .insertInto('organisation_members')
    .values({ organisation_id: organisationId, user_id: userId, role, created_at: new Date().toISOString() })
    .execute();
}

/**
 * Gives a user a role in a project (adding the membership if needed). Refuses to demote the
 * project's last owner, so a project can never be left without one.
 */
export async function setProjectRole(
  store: MetadataStore,
  projectId: string,
  userId: string,
  role: Role | string,
): Promise<{ previous: Role | undefined; role: Role }> {
  const next = parseRole(role);
  const db = governDb(store);
  const now = new Date().toISOString();
  const current = await db
    .selectFrom('project_members')
    .select('role')
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (current) {
    if (current.role === 'owner' && next !== 'owner') await assertAnotherOwner(store, projectId, userId);
    await db
      .updateTable('project_members')
      .set({ role: next, updated_at: now })
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .execute();
    return { previous: parseRole(current.role), role: next };
  }
  await db
    .insertInto('project_members')
    .values({ project_id: projectId, user_id: userId, role: next, created_at: now, updated_at: now })
    .execute();
  return { previous: undefined, role: next };
}

/** Removes a user from a project; never its last owner. */
export async function removeProjectMember(
  store: MetadataStore,
  projectId: string,
  userId: string,
): Promise<boolean> {
  const role = await projectRoleOf(store, projectId, userId);
  if (role === undefined) return false;
  if (role === 'owner') await assertAnotherOwner(store, projectId, userId);
  await governDb(store)
    .deleteFrom('project_members')
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .execute();
  return true;
}

async function assertAnotherOwner(store: MetadataStore, projectId: string, userId: string): Promise<void> {
  const other = await governDb(store)
    .selectFrom('project_members')
    .select('user_id')
    .where('project_id', '=', projectId)
    .where('role', '=', 'owner')
    .where('user_id', '!=', userId)
    .executeTakeFirst();
  if (!other) throw new PulseloopError('last_owner', { projectId });
}

/** The user's role in the project, or undefined when not a member. */
export async function projectRoleOf(
  store: MetadataStore,
  projectId: string,
  userId: string,
): Promise<Role | undefined> {
  const row = await governDb(store)
    .selectFrom('project_members')
    .select('role')
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row ? parseRole(row.role) : undefined;
}

/**
 * The role that applies to a user in a project: their project membership, else `owner` when they
 * own the project's organisation (so an organisation owner is never locked out of a new project).
 */
export async function effectiveProjectRole(
  store: MetadataStore,
  projectId: string,
  userId: string,
): Promise<Role | undefined> {
  const direct = await projectRoleOf(store, projectId, userId);
  if (direct !== undefined) return direct;
  const owner = await governDb(store)
    .selectFrom('projects')
    .innerJoin('organisation_members', 'organisation_members.organisation_id', 'projects.organisation_id')
    .select('organisation_members.role')
    .where('projects.id', '=', projectId)
    .where('organisation_members.user_id', '=', userId)
    .where('organisation_members.role', '=', 'owner')
    .executeTakeFirst();
  return owner ? 'owner' : undefined;
}

/** Every project the user can act in: direct memberships and the projects of organisations they own. */
export async function memberProjectIds(store: MetadataStore, userId: string): Promise<string[]> {
  const db = governDb(store);
  const direct = await db
    .selectFrom('project_members')
    .select('project_id')
    .where('user_id', '=', userId)
    .execute();
  const owned = await db
    .selectFrom('projects')
    .innerJoin('organisation_members', 'organisation_members.organisation_id', 'projects.organisation_id')
    .select('projects.id')
    .where('organisation_members.user_id', '=', userId)
    .where('organisation_members.role', '=', 'owner')
    .execute();
  return [...new Set([...direct.map((r) => r.project_id), ...owned.map((r) => r.id)])].sort();
}

export async function listProjectMembers(store: MetadataStore, projectId: string): Promise<Membership[]> {
  const rows = await governDb(store)
    .selectFrom('project_members')
    .innerJoin('users', 'users.id', 'project_members.user_id')
    .select(['project_members.project_id', 'project_members.user_id', 'project_members.role', 'users.email'])
    .where('project_members.project_id', '=', projectId)
    .orderBy('users.email')
    .execute();
  return rows.map((r) => ({
    projectId: r.project_id,
    userId: r.user_id,
    email: r.email,
    role: parseRole(r.role),
  }));
}

function toUser(row: {
  id: string;
  email: string;
  name: string;
  created_at: string;
  disabled_at: string | null;
}): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    createdAt: row.created_at,
    disabled: row.disabled_at !== null,
  };
}
