import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import { openMetadataStore } from '../../src/store/metadata/open.js';
import { describeMetadataSuite } from './metadata-suite.js';

// Runs in CI against a real server; a missing server fails these tests rather than skipping them.
const databaseUrl = process.env.PULSELOOP_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const runId = randomBytes(6).toString('hex');
const schemas: string[] = [];

function freshSchema(): string {
  const schema = `pulseloop_test_${runId}_${schemas.length + 1}`;
  schemas.push(schema);
  return schema;
}

afterAll(async () => {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

describeMetadataSuite('PostgreSQL', () =>
  openMetadataStore({ dataDir: 'unused', databaseUrl }, { postgresSchema: freshSchema() }),
);

describe('PostgreSQL metadata schema', () => {
  it('keeps the tables and the migrations record inside the schema it was given', async () => {
    const schema = freshSchema();
    const store = await openMetadataStore({ dataDir: 'unused', databaseUrl }, { postgresSchema: schema });
    try {
      expect(store.dialect).toBe('postgres');
      await migrateMetadata(store);
      const tables = await store.db.introspection.getTables({ withInternalKyselyTables: true });
      const ours = tables.filter((t) => t.schema === schema).map((t) => t.name);
      // Later migrations add tables; the core ones and the migrations record must be in this schema.
      expect(ours).toEqual(
        expect.arrayContaining([
          'metadata_migrations',
          'metadata_migrations_lock',
          'organisations',
          'projects',
          'sources',
          'write_keys',
        ]),
      );
    } finally {
      await store.close();
    }
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(
      openMetadataStore({ dataDir: 'unused', databaseUrl }, { postgresSchema: 'x"; drop schema public; --' }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
