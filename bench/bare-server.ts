/**
 * A bare collection server for comparison: Fastify on the same machine, each /v1/batch body parsed
 * with JSON.parse and answered 200 at once — no validation, normalisation, identity, log or store.
 * What Node.js's HTTP and JSON parsing alone take of the cores under the ingestion benchmark's load.
 * Run as its own process: `node dist/bench/bare-server.js <port>`; it writes `ready` when listening.
 */
import Fastify from 'fastify';

const port = Number(process.argv[2]);
const app = Fastify();
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1 << 20 }, (_request, body, done) =>
  done(null, body),
);
app.post('/v1/batch', async (request) => {
  const body = JSON.parse((request.body as Buffer).toString('utf8')) as { batch: unknown[] };
  return { success: true, accepted: body.batch.length, duplicates: 0, quarantined: 0, errors: [] };
});
await app.listen({ port, host: '127.0.0.1' });
process.stdout.write('ready\n');
