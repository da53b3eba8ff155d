// Builds the SDKs with the repository's TypeScript: `node sdk/build.mjs [browser] [miniprogram] [--sizes]`.
// JavaScript is emitted without comments (it ships to browsers and mini-program packages); the
// .d.ts files keep the doc comments for editors.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const sdkDir = dirname(fileURLToPath(import.meta.url));
const tsc = join(sdkDir, '..', 'node_modules', 'typescript', 'bin', 'tsc');
const vite = join(sdkDir, '..', 'node_modules', 'vite', 'bin', 'vite.js');
/** The browser SDK's one-file bundle for sites (sdk/browser/vite.config.ts). */
const BUNDLE = 'pulseloop.min.js';
const all = ['browser', 'miniprogram'];
const args = process.argv.slice(2);
const names = args.filter((a) => all.includes(a));
const unknown = args.filter((a) => !all.includes(a) && a !== '--sizes');
if (unknown.length > 0) {
  console.error(`Unknown argument(s): ${unknown.join(' ')}. Use: ${all.join(' | ')} [--sizes]`);
  process.exit(2);
}

for (const name of names.length > 0 ? names : all) {
  const project = join(sdkDir, name, 'tsconfig.json');
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
  execFileSync(process.execPath, [tsc, '-p', project, '--emitDeclarationOnly', '--removeComments', 'false'], {
    stdio: 'inherit',
  });
  if (name === 'browser') {
    // Built beside dist, then renamed into it: a running server serves this file to sites, and a
    // page loading it while Vite rewrote it in place got an empty module (cached for five minutes).
    const staging = join(sdkDir, name, '.bundle-staging');
    rmSync(staging, { recursive: true, force: true });
    execFileSync(
      process.execPath,
      [vite, 'build', '--config', join(sdkDir, name, 'vite.config.ts'), '--outDir', staging, '--emptyOutDir'],
      { stdio: 'inherit' },
    );
    const dist = join(sdkDir, name, 'dist');
    for (const file of readdirSync(staging)) renameSync(join(staging, file), join(dist, file));
    rmSync(staging, { recursive: true, force: true });
  }
  if (args.includes('--sizes')) {
    const dist = join(sdkDir, name, 'dist');
    const js = readdirSync(dist)
      .filter((f) => f.endsWith('.js') && f !== BUNDLE)
      .map((f) => readFileSync(join(dist, f)));
    const all = Buffer.concat(js);
    console.log(
      `${name}: ${all.length} bytes of JavaScript, ${gzipSync(all, { level: 9 }).length} bytes gzipped`,
    );
    if (name === 'browser') {
      const bundle = readFileSync(join(dist, BUNDLE));
      const br = readFileSync(join(dist, `${BUNDLE}.br`));
      console.log(`${name}: ${BUNDLE} ${bundle.length} bytes, ${br.length} bytes as Brotli`);
    }
  }
}
