import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The built dashboard (`web/dist`), found from this module whether it runs from `src/` or `dist/src/`. */
export function findDashboardDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'web', 'dist');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

/** The compiled browser SDK, so a site can load it from its own Pulseloop server. */
function findBrowserSdkDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'sdk', 'browser', 'dist');
    if (existsSync(join(candidate, 'index.js'))) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

/**
 * Serves the dashboard at `/`: hashed assets with long caching, and `index.html` for every other
 * page path so a shared link opens the page it names.
 */
export async function registerDashboardRoutes(
  app: FastifyInstance,
  root = findDashboardDir(),
): Promise<void> {
  if (!root) {
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built: run `npm run build`.\n控制台尚未构建：请运行 `npm run build`。\n'),
    );
    return;
  }
  // The SDK may change with an upgrade under the same names: five minutes. Sites on any origin load it.
  const sdk = findBrowserSdkDir();
  if (sdk) {
    await registerPrecompressed(app, {
      root: sdk,
      prefix: '/sdk/browser/',
      headers: { 'Cache-Control': 'public, max-age=300', 'Access-Control-Allow-Origin': '*' },
    });
  }
  // The hashed assets never change under their names: cached for a year.
  await registerPrecompressed(app, {
    root: join(root, 'assets'),
    prefix: '/assets/',
    headers: { 'Cache-Control': 'public, max-age=31536000, immutable' },
  });
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    if (
      request.method === 'GET' &&
      !path.startsWith('/api/') &&
      !path.startsWith('/v1/') &&
      !path.includes('.')
    ) {
      // Read at each request (it is small), so that a rebuild is served without a restart; never
      // cached, so that a browser picks up the assets of a new build.
      const html = await readFile(join(root, 'index.html'));
      return reply.header('Cache-Control', 'no-cache').type('text/html; charset=utf-8').send(html);
    }
    return reply.status(404).send({
      error: {
        code: 'not_found',
        message: `No route ${request.method} ${path}`,
        message_zh: `没有路由 ${request.method} ${path}`,
      },
    });
  });
}

/**
 * Serves a built folder whose files have .br and .gz copies beside them (web/precompress.ts), sent
 * to browsers that accept them; caches between are told that the answer depends on Accept-Encoding
 * (@fastify/static does not say so with preCompressed). `cacheControl: false`: @fastify/static's own
 * `public, max-age=0` would otherwise replace the Cache-Control set here.
 */
async function registerPrecompressed(
  app: FastifyInstance,
  options: { root: string; prefix: string; headers: Record<string, string> },
): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply) => {
      const vary = reply.getHeader('vary');
      reply.header('vary', vary ? `${vary}, Accept-Encoding` : 'Accept-Encoding');
    });
    await scope.register(fastifyStatic, {
      root: options.root,
      prefix: options.prefix,
      // Looked up at each request, not listed at start: after `npm run build` a running server
      // serves the new build's hashed files, which the index.html it reads at each request names.
      wildcard: true,
      index: false,
      preCompressed: true,
      cacheControl: false,
      setHeaders(res) {
        for (const [name, value] of Object.entries(options.headers)) res.setHeader(name, value);
      },
    });
  });
}
