import type { FastifyInstance } from 'fastify';
import { resultCacheFor, runWithCache } from '../../analyze/cache.js';
import { projectContext } from '../../analyze/query/scope.js';
import { ANALYSES, findAnalysis } from '../../analyze/registry.js';
import { onRowsInserted } from '../../collect/batch-writer.js';
import { detailText, jsonParseDetail, PulseloopError } from '../../errors/registry.js';
import type { StoreDeps } from '../app.js';

/**
 * One endpoint per analysis: `POST /api/v1/projects/:projectId/analyses/:kind` with the typed JSON
 * query as body (needs `analyses.read`). `GET /api/v1/analyses` lists the kinds with their names in
 * both languages; it is public, as it names no data.
 */
export function registerAnalysisRoutes(app: FastifyInstance, deps: StoreDeps): void {
  // Results are cached per server; rows the batch writer inserts drop the results they may change.
  const cache = resultCacheFor(deps.facts);
  const unsubscribe = onRowsInserted((part) => cache.noteInsertedRows(part));
  app.addHook('onClose', async () => {
    unsubscribe();
  });

  app.get('/api/v1/analyses', { schema: { tags: ['analytics'] } }, async () => ({
    analyses: Object.values(ANALYSES).map((a) => ({ kind: a.kind, en: a.en, zh: a.zh })),
  }));

  app.post<{ Params: { projectId: string; kind: string } }>(
    '/api/v1/projects/:projectId/analyses/:kind',
    { schema: { tags: ['analytics'] }, preHandler: app.requirePermission('analyses.read') },
    async (request) => {
      const analysis = findAnalysis(request.params.kind);
      if (!analysis) {
        throw new PulseloopError('invalid_query', {
          field: 'kind',
          ...detailText(
            `unknown analysis "${request.params.kind.slice(0, 40)}"; one of ${Object.keys(ANALYSES).join(', ')}`,
            `未知的分析 "${request.params.kind.slice(0, 40)}"；请使用 ${Object.keys(ANALYSES).join('、')} 之一`,
          ),
        });
      }
      const project = await projectContext(deps.metadata, request.params.projectId);
      const body = parseBody(request.body);
      const query = analysis.parse(body);
      const started = performance.now();
      const { result, cached } = await runWithCache(
        cache,
        analysis,
        { facts: deps.facts, metadata: deps.metadata, project },
        query,
      );
      return {
        kind: analysis.kind,
        query,
        result,
        meta: { tookMs: Math.round(performance.now() - started), cached },
      };
    },
  );
}

/** Bodies arrive as raw bytes (the app parses no content type itself). */
function parseBody(body: unknown): unknown {
  if (body === undefined || body === null) return {};
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : String(body);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PulseloopError('invalid_json', jsonParseDetail(error));
  }
}
