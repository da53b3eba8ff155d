import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { precompress } from '../../web/precompress.ts';

/**
 * The browser SDK as one minified ES module, `dist/pulseloop.min.js`, which the Pulseloop server
 * serves at `/sdk/browser/pulseloop.min.js` for the snippet sites paste: one request instead of one
 * per module, and precompressed. Run by sdk/build.mjs after TypeScript has written the modules and
 * declarations that the npm package keeps.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  logLevel: 'warn',
  plugins: [precompress('.')],
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2018',
    minify: true,
    lib: { entry: 'src/index.ts', formats: ['es'], fileName: () => 'pulseloop.min.js' },
  },
});
