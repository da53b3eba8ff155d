import type { openIngestThreads } from '../../src/collect/ingest-threads.js';
import { importBuilt } from './built.js';

/** The built module's `openIngestThreads` (its threads run the compiled thread file). */
export async function builtIngestThreads(): Promise<typeof openIngestThreads> {
  return (await importBuilt<{ openIngestThreads: typeof openIngestThreads }>('src/collect/ingest-threads.js'))
    .openIngestThreads;
}
