import { describeIngestGovernanceSuite } from './ingest-governance-suite.js';

// Batches prepared on the serving thread (a server on one core, or without ingestion threads).
describeIngestGovernanceSuite({ ingestThreads: false });
