import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { openIngestThreads } from '../../src/collect/ingest-threads.js';

// Ingestion threads run the compiled thread file (the test runner's TypeScript sources have none), so
// tests that need them open them through the built module. `npm test` builds first.
const BUILT = join(import.meta.dirname, '..', '..', 'dist', 'src', 'collect', 'ingest-threads.js');

/** The built module's `openIngestThreads`. */
export async function builtIngestThreads(): Promise<typeof openIngestThreads> {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build first`);
  const built = (await import(pathToFileURL(BUILT).href)) as { openIngestThreads: typeof openIngestThreads };
  return built.openIngestThreads;
}
