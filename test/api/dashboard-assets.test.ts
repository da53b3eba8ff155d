import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDashboardDir } from '../../src/api/routes/dashboard.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Runs on the dashboard `npm test` builds first (web/dist).
const root = findDashboardDir();
if (!root) throw new Error('the dashboard is not built: run `npm run build`');
const assets = readdirSync(join(root, 'assets'));
/** The largest script of the first page load (antd and React). */
const largest = assets
  .filter((name) => name.endsWith('.js'))
  .sort(
    (a, b) => readFileSync(join(root, 'assets', b)).length - readFileSync(join(root, 'assets', a)).length,
  )[0]!;
const original = readFileSync(join(root, 'assets', largest));

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

/** A GET that leaves the body as sent (fetch would decompress it). */
async function get(path: string, acceptEncoding?: string) {
  const response = await request(`${t.url}${path}`, {
    headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding },
  });
  const body = Buffer.from(await response.body.arrayBuffer());
  const header = (name: string) => String(response.headers[name] ?? '');
  return { status: response.statusCode, body, header };
}

describe('dashboard assets', () => {
  it('sends Brotli to a browser that accepts it, a quarter of the size, the same script once decoded', async () => {
    const answer = await get(`/assets/${largest}`, 'gzip, deflate, br, zstd');
    expect(answer.status).toBe(200);
    expect(answer.header('content-encoding')).toBe('br');
    expect(answer.header('vary').toLowerCase()).toContain('accept-encoding');
    expect(answer.header('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(answer.body.length).toBeLessThan(original.length * 0.3);
    expect(brotliDecompressSync(answer.body).equals(original)).toBe(true);
  });

  it('sends gzip to a client that accepts only gzip, and the plain file to one that accepts neither', async () => {
    const gzip = await get(`/assets/${largest}`, 'gzip');
    expect(gzip.header('content-encoding')).toBe('gzip');
    expect(gunzipSync(gzip.body).equals(original)).toBe(true);

    const plain = await get(`/assets/${largest}`);
    expect(plain.status).toBe(200);
    expect(plain.header('content-encoding')).toBe('');
    expect(plain.body.equals(original)).toBe(true);
  });

  it('answers a page path with index.html, never cached, so a new build is picked up', async () => {
    const page = await get('/overview', 'br');
    expect(page.status).toBe(200);
    expect(page.header('cache-control')).toBe('no-cache');
    expect(page.body.toString('utf8')).toContain(`/assets/`);
  });

  it('serves the browser SDK to other sites, cached for five minutes so that an upgrade reaches them soon', async () => {
    const sdk = await request(`${t.url}/sdk/browser/index.js`, {
      headers: { origin: 'https://shop.example.com' },
    });
    await sdk.body.dump();
    expect(sdk.statusCode).toBe(200);
    expect(sdk.headers['cache-control']).toBe('public, max-age=300');
    expect(sdk.headers['access-control-allow-origin']).toBe('https://shop.example.com');

    // The one-file build the snippet loads: compressed like the dashboard's assets.
    const bundle = await get('/sdk/browser/pulseloop.min.js', 'gzip, deflate, br');
    expect(bundle.status).toBe(200);
    expect(bundle.header('content-encoding')).toBe('br');
    expect(bundle.header('vary').toLowerCase()).toContain('accept-encoding');
    expect(bundle.header('cache-control')).toBe('public, max-age=300');
    const script = brotliDecompressSync(bundle.body).toString('utf8');
    expect(script).toContain('@pulseloop/sdk-browser');
    expect(bundle.body.length).toBeLessThan(script.length * 0.5);
  });

  it('serves the files of a build made while it runs, which the index.html it reads at each request names', async () => {
    // As `npm run build` beside a running server writes new hashed files.
    const name = `rebuilt-${process.pid}-${Date.now()}.js`;
    const path = join(root, 'assets', name);
    writeFileSync(path, 'export const rebuilt = true;\n');
    try {
      const answer = await get(`/assets/${name}`, 'br');
      expect(answer.status).toBe(200);
      expect(answer.body.toString('utf8')).toBe('export const rebuilt = true;\n');
      expect(answer.header('cache-control')).toBe('public, max-age=31536000, immutable');
    } finally {
      rmSync(path, { force: true });
    }
    // And nothing outside the folder.
    const outside = await request(`${t.url}/assets/..%2f..%2fpackage.json`);
    await outside.body.dump();
    expect([403, 404]).toContain(outside.statusCode);
  });

  it('answers a missing asset with 404, not with the dashboard page', async () => {
    const missing = await get('/assets/no-such-chunk.js', 'br');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString('utf8')).error.code).toBe('not_found');
  });
});
