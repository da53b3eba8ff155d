import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
import { openMetadataStore } from '../../src/store/metadata/open.js';
import { describeGovernMetadataSuite } from './metadata-suite.js';

// A missing server fails these tests rather than skipping them.
const databaseUrl = process.env.PULSELOOP_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const runId = randomBytes(6).toString('hex');
const schemas: string[] = [];

afterAll(async () => {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

describeGovernMetadataSuite('PostgreSQL', () => {
  const schema = `pulseloop_govern_${runId}_${schemas.length + 1}`;
  schemas.push(schema);
  return openMetadataStore({ dataDir: 'unused', databaseUrl }, { postgresSchema: schema });
});
