import { randomUUID } from 'node:crypto';
import type { MetadataStore } from '../store/metadata/open.js';
import { governDb } from './tables.js';

/**
 * The audit log: an append-only record of who did what to which target, when, from where, and
 * how it ended. This module has no update or delete function on purpose.
 */

export const AUDIT_ACTIONS = [
  'auth.login',
  'auth.login_failed',
  'auth.logout',
  'auth.denied',
  'user.create',
  'role.set',
  'role.remove',
  'token.create',
  'token.revoke',
  'key.create',
  'key.revoke',
  'connector.add',
  'connector.sync',
  'connector.credentials',
  'connector.remove',
  'pii_key.rotate',
  'pii_key.retire',
  'data.import',
  'quarantine.retry',
  'data.export',
  'audit.export',
  'person.export',
  'person.erase',
  'person.merge',
  'conflict.decide',
  'consent.set',
  'retention.set',
  'retention.apply',
  'config.change',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export type AuditOutcome = 'success' | 'failure' | 'denied';

/** Who acted: a user (session), a token, the CLI or the system itself, or nobody known. */
export interface AuditActor {
  type: 'user' | 'token' | 'cli' | 'system' | 'anonymous';
  id: string;
  /** What a reader recognises: an e-mail address, a token name. */
  label: string;
}

export interface AuditEntryInput {
  action: AuditAction;
  actor: AuditActor;
  projectId?: string | null;
  organisationId?: string | null;
  target?: { type: string; id: string };
  outcome?: AuditOutcome;
  ip?: string;
  userAgent?: string;
  /** Small, non-secret facts (counts, the role given); never passwords, tokens or PII. */
  details?: Record<string, unknown>;
}

export interface AuditEntry {
  id: string;
  at: string;
  organisationId: string | null;
  projectId: string | null;
  actorType: string;
  actorId: string;
  actorLabel: string;
  action: string;
  targetType: string;
  targetId: string;
  outcome: string;
  ip: string;
  userAgent: string;
  details: Record<string, unknown>;
}

export const SYSTEM_ACTOR: AuditActor = { type: 'system', id: 'system', label: 'system' };
export const CLI_ACTOR: AuditActor = { type: 'cli', id: 'cli', label: 'command line' };

/** Appends one entry to the audit log. */
export async function recordAudit(
  store: MetadataStore,
  entry: AuditEntryInput,
  now = Date.now(),
): Promise<AuditEntry> {
  const row = {
    id: randomUUID(),
    at: new Date(now).toISOString(),
    organisation_id: entry.organisationId ?? null,
    project_id: entry.projectId ?? null,
    actor_type: entry.actor.type,
    actor_id: entry.actor.id.slice(0, 200),
    actor_label: entry.actor.label.slice(0, 300),
    action: entry.action,
    target_type: entry.target?.type ?? '',
    target_id: (entry.target?.id ?? '').slice(0, 300),
    outcome: entry.outcome ?? 'success',
    ip: (entry.ip ?? '').slice(0, 100),
    user_agent: (entry.userAgent ?? '').slice(0, 500),
    details: JSON.stringify(entry.details ?? {}),
  };
  await governDb(store).insertInto('audit_log').values(row).execute();
  return toEntry(row);
}

export interface AuditQuery {
  projectId: string;
  action?: string;
  actorId?: string;
  outcome?: string;
  /** ISO times, inclusive from, exclusive to. */
  from?: string;
  to?: string;
  limit?: number;
  /** Continue after this entry (the `next` of the previous page). */
  cursor?: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `cursor` for the next (older) page; null at the end. */
  next: string | null;
}

/** A page of a project's audit entries, newest first. */
export async function listAudit(store: MetadataStore, query: AuditQuery): Promise<AuditPage> {
  const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
  let select = governDb(store).selectFrom('audit_log').selectAll().where('project_id', '=', query.projectId);
  if (query.action) select = select.where('action', '=', query.action);
  if (query.actorId) select = select.where('actor_id', '=', query.actorId);
  if (query.outcome) select = select.where('outcome', '=', query.outcome);
  if (query.from) select = select.where('at', '>=', query.from);
  if (query.to) select = select.where('at', '<', query.to);
  if (query.cursor) {
    const [at, id] = decodeCursor(query.cursor);
    select = select.where((eb) => eb.or([eb('at', '<', at), eb.and([eb('at', '=', at), eb('id', '<', id)])]));
  }
  const rows = await select
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit).map(toEntry);
  const last = page.at(-1);
  return { entries: page, next: rows.length > limit && last ? encodeCursor(last.at, last.id) : null };
}

/** Every matching entry as CSV (RFC 4180), newest first, for the auditor's spreadsheet. */
export async function auditCsv(
  store: MetadataStore,
  query: Omit<AuditQuery, 'limit' | 'cursor'>,
): Promise<string> {
  const columns = [
    'at',
    'action',
    'outcome',
    'actor_type',
    'actor_id',
    'actor_label',
    'target_type',
    'target_id',
    'ip',
    'user_agent',
    'details',
  ] as const;
  const lines = [columns.join(',')];
  let cursor: string | undefined;
  do {
    const page = await listAudit(store, { ...query, limit: 1000, ...(cursor && { cursor }) });
    for (const e of page.entries) {
      const values = [
        e.at,
        e.action,
        e.outcome,
        e.actorType,
        e.actorId,
        e.actorLabel,
        e.targetType,
        e.targetId,
        e.ip,
        e.userAgent,
        JSON.stringify(e.details),
      ];
      lines.push(values.map(csvCell).join(','));
    }
    cursor = page.next ?? undefined;
  } while (cursor);
  return `${lines.join('\r\n')}\r\n`;
}

/** Quotes a CSV cell; a leading = + - @ is prefixed with ' so spreadsheets do not run it as a formula. */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) || safe !== value ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function encodeCursor(at: string, id: string): string {
  return Buffer.from(`${at}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  const [at = '', id = ''] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  return [at, id];
}

function toEntry(row: {
  id: string;
  at: string;
  organisation_id: string | null;
  project_id: string | null;
  actor_type: string;
  actor_id: string;
  actor_label: string;
  action: string;
  target_type: string;
  target_id: string;
  outcome: string;
  ip: string;
  user_agent: string;
  details: string;
}): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    organisationId: row.organisation_id,
    projectId: row.project_id,
    actorType: row.actor_type,
    actorId: row.actor_id,
    actorLabel: row.actor_label,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    outcome: row.outcome,
    ip: row.ip,
    userAgent: row.user_agent,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}
