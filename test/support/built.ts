import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const REPOSITORY = join(import.meta.dirname, '..', '..');

/**
 * The compiled module of a source file (`src/collect/ingest-threads.js` → dist/src/…). Worker threads
 * run compiled files (the test runner's TypeScript sources have none), so tests of code that starts
 * threads drive the built module, as the `pulseloop` command does. `npm test` builds first.
 */
export async function importBuilt<M>(sourcePath: string): Promise<M> {
  const file = join(REPOSITORY, 'dist', sourcePath);
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build first`);
  return (await import(pathToFileURL(file).href)) as M;
}
