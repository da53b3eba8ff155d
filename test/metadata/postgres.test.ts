import { describe, expect, it } from 'vitest';
import { migrateMetadata } from '../../src/store/metadata/migrate.js';
import { openMetadataStore } from '../../src/store/metadata/open.js';
import { ownTestDatabase } from '../support/postgres.js';
import { describeMetadataSuite } from './metadata-suite.js';

const postgres = ownTestDatabase('metadata');
const freshSchema = postgres.freshSchema;

describeMetadataSuite('PostgreSQL', () =>
  openMetadataStore({ dataDir: 'unused', databaseUrl: postgres.url() }, { postgresSchema: freshSchema() }),
);

describe('PostgreSQL metadata schema', () => {
  it('keeps the tables and the migrations record inside the schema it was given', async () => {
    const schema = freshSchema();
    const store = await openMetadataStore(
      { dataDir: 'unused', databaseUrl: postgres.url() },
      { postgresSchema: schema },
    );
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
      openMetadataStore(
        { dataDir: 'unused', databaseUrl: postgres.url() },
        { postgresSchema: 'x"; drop schema public; --' },
      ),
    ).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
