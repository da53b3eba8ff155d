import { openMetadataStore } from '../../src/store/metadata/open.js';
import { ownTestDatabase } from '../support/postgres.js';
import { describeGovernMetadataSuite } from './metadata-suite.js';

const postgres = ownTestDatabase('govern');

describeGovernMetadataSuite('PostgreSQL', () =>
  openMetadataStore(
    { dataDir: 'unused', databaseUrl: postgres.url() },
    { postgresSchema: postgres.freshSchema() },
  ),
);
