import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

// The PostgreSQL server these machines run (trust auth); a missing server fails the tests using it
// rather than skipping them.
const serverUrl = process.env.PULSELOOP_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function onServer(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export interface TestPostgres {
  /** The URL of this test file's own database (valid once the file's tests run). */
  url(): string;
  /** A schema name not used before in this database (stores open it empty). */
  freshSchema(): string;
}

/**
 * A database of its own for one test file, created before its tests and dropped after them. Test
 * files run side by side, and Kysely's migrator reads the catalogue of every schema in its database:
 * in one shared database, another file dropping its schemas at that moment failed the read with
 * "schema … does not exist".
 */
export function ownTestDatabase(label: string): TestPostgres {
  const database = `pulseloop_${label}_${randomBytes(6).toString('hex')}`;
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  let schemas = 0;
  beforeAll(async () => {
    await onServer(`CREATE DATABASE "${database}"`);
  });
  afterAll(async () => {
    await onServer(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  });
  return {
    url: () => url.toString(),
    freshSchema: () => `pulseloop_${label}_${++schemas}`,
  };
}
