import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Config } from '../../config/config.js';
import { redactedUrl } from '../../config/redact.js';
import { detailText, PulseloopError } from '../../errors/registry.js';
import { makeDataDir } from '../data-dir.js';
import type { MetadataDatabase } from './schema.js';

export type MetadataDialect = 'sqlite' | 'postgres';

/** An open metadata database; every facade takes one as its first argument. */
export interface MetadataStore {
  db: Kysely<MetadataDatabase>;
  dialect: MetadataDialect;
  /** SQLite only: the database file, for a second connection on another thread. */
  sqlitePath?: string;
  close(): Promise<void>;
}

export interface OpenMetadataOptions {
  /** PostgreSQL only: keep every table in this schema (created if missing), e.g. to isolate a test run. */
  postgresSchema?: string;
}

const SQLITE_BUSY_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 10_000;
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Opens PostgreSQL when `databaseUrl` is set, otherwise the SQLite file `<dataDir>/metadata.sqlite`. */
export async function openMetadataStore(
  config: Pick<Config, 'dataDir' | 'databaseUrl'>,
  options: OpenMetadataOptions = {},
): Promise<MetadataStore> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl, options.postgresSchema);
  return openSqlite(config.dataDir);
}

function openSqlite(dataDir: string): MetadataStore {
  makeDataDir(dataDir);
  return openSqliteFile(join(dataDir, 'metadata.sqlite'));
}

/** A connection to a SQLite metadata file with the settings every connection to it uses. */
export function openSqliteConnection(path: string): SqliteDatabase.Database {
  const database = new SqliteDatabase(path);
  // WAL lets readers run while a writer commits; busy_timeout makes a second writer wait, not fail.
  database.pragma('journal_mode = WAL');
  database.pragma('foreign_keys = ON');
  database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  return database;
}

/** Opens a SQLite metadata file (a thread of its own may open a second connection to the same file). */
export function openSqliteFile(path: string): MetadataStore {
  const database = openSqliteConnection(path);
  const db = new Kysely<MetadataDatabase>({ dialect: new SqliteDialect({ database }) });
  return { db, dialect: 'sqlite', sqlitePath: path, close: () => db.destroy() };
}

async function openPostgres(databaseUrl: string, schema: string | undefined): Promise<MetadataStore> {
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new PulseloopError(
      'invalid_request',
      detailText(
        `PostgreSQL schema name "${schema}" must be letters, digits and underscores, not starting with a digit.`,
        `PostgreSQL 模式名 "${schema}" 只能由字母、数字和下划线组成，且不能以数字开头。`,
      ),
    );
  }
  // A host that drops packets is named after seconds, not after the system's minutes-long timeout.
  const pool = new pg.Pool({ connectionString: databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    // Connect now, so an unreachable or refusing database is named here rather than at first use.
    await pool.query(schema !== undefined ? `CREATE SCHEMA IF NOT EXISTS "${schema}"` : 'SELECT 1');
  } catch (error) {
    await pool.end();
    throw new PulseloopError('metadata_unreachable', {
      url: redactedUrl(databaseUrl),
      detail: error instanceof Error ? error.message : String(error),
    });
  }
  const db = new Kysely<MetadataDatabase>({
    dialect: new PostgresDialect({
      pool,
      // Kysely awaits this once per new pooled connection, before its first query.
      ...(schema !== undefined && {
        onCreateConnection: async (connection) => {
          await connection.executeQuery(CompiledQuery.raw(`SET search_path TO "${schema}"`));
        },
      }),
    }),
  });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}
