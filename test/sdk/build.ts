import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The SDK's dist folder, compiled with the repository's TypeScript (sdk/build.mjs) only when it is
 * missing or older than its sources. `npm test` builds it first, and other test files serve it while
 * this one runs: a rebuild rewrites pulseloop.min.js in place, and a page loading it at that moment
 * gets an empty module (seen in CI as a snippet that sent nothing).
 */
export function buildSdk(name: 'browser' | 'miniprogram'): string {
  const dir = join(repoRoot, 'sdk', name);
  const dist = join(dir, 'dist');
  const built = existsSync(dist) ? filesUnder(dist).map(mtimeOf) : [];
  const sources = [
    ...filesUnder(join(dir, 'src')),
    ...readdirSync(dir)
      .filter(isConfig)
      .map((f) => join(dir, f)),
  ];
  if (built.length === 0 || Math.max(...sources.map(mtimeOf)) > Math.min(...built)) {
    execFileSync(process.execPath, [join(repoRoot, 'sdk', 'build.mjs'), name], { stdio: 'pipe' });
  }
  return dist;
}

const isConfig = (file: string) => /^(tsconfig\.json|vite\.config\.ts|package\.json)$/.test(file);
const mtimeOf = (path: string) => statSync(path).mtimeMs;
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
