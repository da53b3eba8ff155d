import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type IngestDeps, ingest, ingestBatchOnThread } from '../../collect/ingest.js';
import type { RateLimiter } from '../../collect/rate-limit.js';
import { decodeBody, parseJsonBodyScanned, writeKeyInBody } from '../../collect/segment/body.js';
import { MAX_BATCH_BYTES, MAX_EVENT_BYTES } from '../../collect/segment/limits.js';
import { COLLECT_BODY_SCHEMAS } from '../../collect/segment/schemas.js';
import type { CallType } from '../../collect/segment/validate.js';
import type { WriteKeyCache } from '../../collect/write-keys.js';
import { PulseloopError } from '../../errors/registry.js';
import type { ActiveWriteKey } from '../../store/metadata/sources.js';

export interface CollectRouteDeps {
  ingest: IngestDeps;
  writeKeys: WriteKeyCache;
  rateLimiter: RateLimiter;
  defaultRateLimitPerKey: number;
}

const IngestResponse = Type.Object({
  success: Type.Literal(true),
  accepted: Type.Integer({
    description:
      'Events taken: stored (durable in the write-ahead log), or not stored by design because their sender withdrew analytics consent or was erased. Do not retry them.',
  }),
  duplicates: Type.Integer({
    description: 'Re-delivered events recognised by messageId and not stored again.',
  }),
  quarantined: Type.Integer({ description: 'Invalid events kept in quarantine with their reasons.' }),
  errors: Type.Array(
    Type.Object({
      index: Type.Integer(),
      code: Type.String(),
      message: Type.String(),
      message_zh: Type.String(),
    }),
    { description: 'Why each quarantined event was refused (in English and Chinese).' },
  ),
});
type IngestResponse = Static<typeof IngestResponse>;

const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    message_zh: Type.String(),
    details: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()])),
  }),
});

const ROUTES: Array<{ path: string; callType: CallType | 'batch'; summary: string }> = [
  { path: '/v1/track', callType: 'track', summary: 'Record an action a person performed' },
  { path: '/v1/identify', callType: 'identify', summary: 'Tie a person to their actions and record traits' },
  { path: '/v1/page', callType: 'page', summary: 'Record a page view' },
  { path: '/v1/screen', callType: 'screen', summary: 'Record an app screen view' },
  { path: '/v1/group', callType: 'group', summary: 'Associate a person with a group' },
  { path: '/v1/alias', callType: 'alias', summary: 'Merge two identities of one person' },
  { path: '/v1/batch', callType: 'batch', summary: 'Send up to 2,500 calls of any type at once' },
];

/** The write key sent as the Basic-auth user name (empty password), if any. */
function headerWriteKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const user = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0];
  return user || undefined;
}

/** The write key sent as `writeKey` in the body, if any. */
function bodyWriteKey(body: Record<string, unknown>): string | undefined {
  return typeof body.writeKey === 'string' && body.writeKey.length > 0 ? body.writeKey : undefined;
}

/** The active key, or the error that refuses the request (401 unknown or missing, 429 over its rate). */
async function authorise(deps: CollectRouteDeps, key: string | undefined): Promise<ActiveWriteKey> {
  if (!key) throw new PulseloopError('missing_write_key');
  const active = await deps.writeKeys.find(key);
  if (!active) throw new PulseloopError('unknown_write_key');
  const wait = deps.rateLimiter.take(key, active.rateLimitPerSecond ?? deps.defaultRateLimitPerKey);
  if (wait > 0) throw new PulseloopError('rate_limited', { retryAfterSeconds: wait });
  return active;
}

export function registerCollectRoutes(app: FastifyInstance, deps: CollectRouteDeps): void {
  for (const route of ROUTES) {
    const limit = route.callType === 'batch' ? MAX_BATCH_BYTES : MAX_EVENT_BYTES;
    app.post(
      route.path,
      {
        schema: {
          tags: ['collect'],
          summary: route.summary,
          security: [{ writeKey: [] }],
          body: COLLECT_BODY_SCHEMAS[route.callType],
          response: {
            200: IngestResponse,
            400: ErrorResponse,
            401: ErrorResponse,
            429: ErrorResponse,
            503: ErrorResponse,
          },
        },
        // Each event is validated by the pipeline, so one bad event in a batch spares the rest.
        validatorCompiler: () => () => true,
      },
      async (request): Promise<IngestResponse> => {
        // A key in the header is checked before the body is decompressed and parsed, so refused
        // and rate-limited requests cost little.
        const fromHeader = headerWriteKey(request);
        const early = fromHeader ? await authorise(deps, fromHeader) : undefined;
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const encoding = request.headers['content-encoding'];
        const contentEncoding = typeof encoding === 'string' ? encoding : undefined;
        // Batches whose key is known before parsing are prepared on an ingestion thread, if any: the
        // header's key, or (browsers) the one found in an uncompressed body, which the thread checks.
        let beforeParsing = early;
        let foundInBody: string | undefined;
        if (route.callType === 'batch' && deps.ingest.threads) {
          if (!beforeParsing && contentEncoding === undefined) {
            foundInBody = writeKeyInBody(raw);
            // Refused here, the key may not be the body's own: the parsed body decides (below).
            if (foundInBody) beforeParsing = await authorise(deps, foundInBody).catch(() => undefined);
          }
          if (beforeParsing) {
            const onThread = await ingestBatchOnThread(deps.ingest, {
              body: raw,
              ...(contentEncoding !== undefined ? { contentEncoding } : {}),
              ...(foundInBody !== undefined ? { bodyWriteKey: foundInBody } : {}),
              limitBytes: limit,
              projectId: beforeParsing.projectId,
              sourceId: beforeParsing.sourceId,
              receivedAt: Date.now(),
              ip: request.ip,
            });
            if (onThread) return { success: true, ...onThread };
          }
        }
        const { body, scan } = parseJsonBodyScanned(decodeBody(raw, contentEncoding, limit));
        // A key authorised before parsing is not counted against its rate limit twice.
        const active =
          early ??
          (beforeParsing && bodyWriteKey(body) === foundInBody
            ? beforeParsing
            : await authorise(deps, bodyWriteKey(body)));
        const result = await ingest(deps.ingest, {
          callType: route.callType,
          body,
          projectId: active.projectId,
          sourceId: active.sourceId,
          receivedAt: Date.now(),
          ip: request.ip,
          scan,
        });
        return { success: true, ...result };
      },
    );
  }
}
