import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const REPOSITORY = join(import.meta.dirname, '..', '..');

/**
 * The URL of a source file's compiled module (`src/collect/ingest-threads.js` → dist/src/…), for a
 * process or thread that must load what the `pulseloop` command runs. `npm test` builds first.
 */
export function builtUrl(sourcePath: string): string {
  const file = join(REPOSITORY, 'dist', sourcePath);
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build first`);
  return pathToFileURL(file).href;
}

/**
 * The compiled module of a source file. Worker threads run compiled files (the test runner's
 * TypeScript sources have none), so tests of code that starts threads drive the built module, as the
 * `pulseloop` command does.
 */
export async function importBuilt<M>(sourcePath: string): Promise<M> {
  return (await import(builtUrl(sourcePath))) as M;
}
