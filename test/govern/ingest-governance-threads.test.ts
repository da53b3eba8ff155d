import { describeIngestGovernanceSuite } from './ingest-governance-suite.js';

// Batches prepared on an ingestion thread (the compiled one: `npm test` builds first).
describeIngestGovernanceSuite({ ingestThreads: true });
