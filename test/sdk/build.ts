import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Compiles one SDK with the repository's TypeScript (sdk/build.mjs) and returns its dist folder. */
export function buildSdk(name: 'browser' | 'miniprogram'): string {
  execFileSync(process.execPath, [join(repoRoot, 'sdk', 'build.mjs'), name], { stdio: 'pipe' });
  return join(repoRoot, 'sdk', name, 'dist');
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
