import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';

/** Smaller files gain too little from compression to be worth a second request path. */
const MIN_BYTES = 1024;
const COMPRESSIBLE = /\.(js|css|svg|json|html)$/;

/**
 * Writes a Brotli (`.br`) and a gzip (`.gz`) copy beside every compressible built file in `folder` of
 * the build's output (the dashboard's `assets`; the browser SDK's whole `dist`), which the server
 * sends to browsers that accept them (@fastify/static `preCompressed`). Compressed once at build time
 * at the highest levels: the 2.4 MB of JavaScript a first visit of the dashboard loads becomes ~0.7 MB.
 */
export function precompress(folder = 'assets'): Plugin {
  let outDir = '';
  return {
    name: 'pulseloop-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const built = join(outDir, folder);
      for (const name of readdirSync(built)) {
        if (!COMPRESSIBLE.test(name)) continue;
        const path = join(built, name);
        const bytes = readFileSync(path);
        if (bytes.length < MIN_BYTES) continue;
        writeFileSync(
          `${path}.br`,
          brotliCompressSync(bytes, {
            params: {
              [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
              [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
            },
          }),
        );
        writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
      }
    },
  };
}
