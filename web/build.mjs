// Builds the dashboard: `node web/build.mjs`. Vite writes into a staging folder, then the build is
// published into web/dist (web/publish.mjs), so that a running server never serves half a build and
// open dashboards keep loading their pages.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { publishBuild } from './publish.mjs';

const webDir = dirname(fileURLToPath(import.meta.url));
const staging = join(webDir, '.dist-staging');
await build({
  configFile: join(webDir, 'vite.config.ts'),
  logLevel: 'warn',
  build: { outDir: staging, emptyOutDir: true },
});
publishBuild(staging, join(webDir, 'dist'));
