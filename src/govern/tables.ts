import type { Kysely } from 'kysely';
import type { MetadataStore } from '../store/metadata/open.js';
import type { MetadataDatabase } from '../store/metadata/schema.js';

/** Metadata tables of the governance room (migration 0004_users_roles_tokens_audit_consent). */

export interface UsersTable {
  id: string;
  /** Lower-cased, trimmed. */
  email: string;
  name: string;
  /** argon2id PHC string. */
  password_hash: string;
  created_at: string;
  disabled_at: string | null;
}

export interface OrganisationMembersTable {
  organisation_id: string;
  user_id: string;
  /** owner | member */
  role: string;
  created_at: string;
}

export interface ProjectMembersTable {
  project_id: string;
  user_id: string;
  /** owner | admin | analyst | marketer | viewer */
  role: string;
  created_at: string;
  updated_at: string;
}

export interface SessionsTable {
  /** SHA-256 of the session id; the id itself only lives in the browser's cookie. */
  id_hash: string;
  user_id: string;
  /** SHA-256 of the session's CSRF token. */
  csrf_hash: string;
  created_at: string;
  expires_at: string;
  ip: string;
  user_agent: string;
}

export interface ApiTokensTable {
  id: string;
  /** SHA-256 of the full `pl_pat_…` token. */
  token_hash: string;
  user_id: string;
  project_id: string;
  role: string;
  /** 1: the token may only use read permissions, whatever its role. */
  read_only: number;
  name: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface AuditLogTable {
  id: string;
  at: string;
  organisation_id: string | null;
  project_id: string | null;
  /** user | token | cli | system | anonymous */
  actor_type: string;
  actor_id: string;
  actor_label: string;
  action: string;
  target_type: string;
  target_id: string;
  /** success | failure | denied */
  outcome: string;
  ip: string;
  user_agent: string;
  /** JSON object. */
  details: string;
}

export interface ConsentRecordsTable {
  id: string;
  project_id: string;
  /** The distinct id (user id, anonymous id, platform id) or person id the consent is about. */
  subject_id: string;
  purpose: string;
  granted: number;
  /** identify | api | import | erasure */
  source: string;
  occurred_at: string;
  recorded_at: string;
}

export interface SuppressedIdsTable {
  project_id: string;
  /** Keyed hash (HMAC-SHA256) of an erased distinct id; the id itself is not kept. */
  id_hash: string;
  erased_at: string;
}

export interface GovernanceSettingsTable {
  project_id: string;
  key: string;
  /** JSON text. */
  value: string;
  updated_at: string;
}

export type GovernTables = {
  users: UsersTable;
  organisation_members: OrganisationMembersTable;
  project_members: ProjectMembersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  consent_records: ConsentRecordsTable;
  suppressed_ids: SuppressedIdsTable;
  governance_settings: GovernanceSettingsTable;
};

export type GovernDb = Kysely<MetadataDatabase & GovernTables>;

/** The metadata store typed with the governance tables. */
export const governDb = (store: MetadataStore): GovernDb => store.db.withTables<GovernTables>();
