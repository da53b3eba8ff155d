/**
 * Table types of the metadata store, shared by SQLite and PostgreSQL.
 *
 * Times are ISO 8601 UTC text from `Date.prototype.toISOString()` (`2025-03-01T08:00:00.000Z`):
 * SQLite has no timestamp type, PostgreSQL's `bigint` would come back from `pg` as a string, and a
 * fixed-width ISO string reads the same on both dialects, sorts chronologically as text, and is
 * legible in a SQL shell.
 */
export interface MetadataDatabase {
  organisations: OrganisationsTable;
  projects: ProjectsTable;
  sources: SourcesTable;
  write_keys: WriteKeysTable;
}

export interface OrganisationsTable {
  id: string;
  name: string;
  created_at: string;
}

export interface ProjectsTable {
  id: string;
  organisation_id: string;
  name: string;
  /** IANA time zone name, e.g. Asia/Shanghai; reports group days in it. */
  time_zone: string;
  /** ISO 4217 code, e.g. CNY. */
  currency: string;
  created_at: string;
}

export interface SourcesTable {
  id: string;
  project_id: string;
  name: string;
  kind: string;
  created_at: string;
}

export interface WriteKeysTable {
  key: string;
  source_id: string;
  /** Copied from the source so ingestion resolves a key to its project in one primary-key lookup. */
  project_id: string;
  /** Null: the server-wide default (Config.ingest.rateLimitPerKey) applies. */
  rate_limit_per_second: number | null;
  created_at: string;
  revoked_at: string | null;
}
