import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { resultCacheFor, runWithCache } from '../../analyze/cache.js';
import {
  type CustomMetricInput,
  deleteCustomMetric,
  listCustomMetrics,
  projectCatalogue,
  saveCustomMetric,
} from '../../analyze/metrics/custom.js';
import { metricDimensions, resolveMetric } from '../../analyze/metrics/resolve.js';
import { SOURCES, sourceDimensions } from '../../analyze/metrics/sources.js';
import { projectContext } from '../../analyze/query/scope.js';
import { findAnalysis } from '../../analyze/registry.js';
import {
  createDashboard,
  createInsight,
  deleteDashboard,
  deleteInsight,
  getDashboard,
  getInsight,
  listDashboards,
  listInsights,
  updateDashboard,
  updateInsight,
} from '../../analyze/saved.js';
import { PulseloopError } from '../../errors/registry.js';
import { jsonBody } from '../../govern/http/body.js';
import type { StoreDeps } from '../app.js';

/**
 * The metrics catalogue with the project's custom metrics (`/metrics`), saved insights
 * (`/insights`, and `/insights/:id/results` to run one through the result cache) and dashboards
 * (`/dashboards`), all under /api/v1/projects/:projectId. Reading needs `analyses.read`; saving,
 * changing and deleting need `analyses.write`.
 */

const Filter = Type.Object({
  field: Type.String({ minLength: 1, maxLength: 200 }),
  op: Type.String({ minLength: 1, maxLength: 20 }),
  value: Type.Optional(Type.Unknown()),
});

const MetricBody = Type.Object(
  {
    en: Type.String({ minLength: 1, maxLength: 200 }),
    zh: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    unit: Type.Optional(
      Type.Union(
        ['count', 'persons', 'ratio', 'currency', 'seconds', 'score', 'index'].map((u) => Type.Literal(u)),
      ),
    ),
    format: Type.Optional(
      Type.Union(['integer', 'decimal', 'percent', 'currency', 'duration'].map((f) => Type.Literal(f))),
    ),
    higherIsBetter: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    definition: Type.Union([
      Type.Object(
        { type: Type.Literal('formula'), expression: Type.String({ minLength: 1, maxLength: 500 }) },
        { additionalProperties: false },
      ),
      Type.Object(
        {
          type: Type.Literal('event'),
          event: Type.String({ minLength: 1, maxLength: 200 }),
          aggregation: Type.Union([
            Type.Literal('count'),
            Type.Literal('sum'),
            Type.Literal('avg'),
            Type.Literal('uniq_persons'),
          ]),
          property: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          filters: Type.Optional(Type.Array(Filter, { maxItems: 50 })),
        },
        { additionalProperties: false },
      ),
    ]),
  },
  { additionalProperties: false },
);

const InsightBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    kind: Type.String({ minLength: 1, maxLength: 40 }),
    query: Type.Unknown(),
  },
  { additionalProperties: false },
);

const DashboardBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    tiles: Type.Array(
      Type.Object(
        {
          insightId: Type.String({ minLength: 1, maxLength: 100 }),
          x: Type.Integer({ minimum: 0, maximum: 11 }),
          y: Type.Integer({ minimum: 0, maximum: 1000 }),
          w: Type.Integer({ minimum: 1, maximum: 12 }),
          h: Type.Integer({ minimum: 1, maximum: 100 }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 100 },
    ),
  },
  { additionalProperties: false },
);

const WHAT_ZH = { metric: '指标', insight: '洞察', analysis: '分析', dashboard: '看板' } as const;

function notFound(what: keyof typeof WHAT_ZH, id: string): never {
  throw new PulseloopError('not_found', { what, what_zh: WHAT_ZH[what], id: id.slice(0, 80) });
}

type ProjectParams = { Params: { projectId: string } };
type ItemParams = { Params: { projectId: string; id: string } };

export function registerInsightRoutes(app: FastifyInstance, deps: StoreDeps): void {
  const base = '/api/v1/projects/:projectId';
  const cache = resultCacheFor(deps.facts);
  const read = { schema: { tags: ['analytics'] }, preHandler: app.requirePermission('analyses.read') };
  const write = { schema: { tags: ['analytics'] }, preHandler: app.requirePermission('analyses.write') };
  const project = (projectId: string) => projectContext(deps.metadata, projectId);
  /** Custom metrics change what cached results mean: drop the project's results. */
  const metricsChanged = (projectId: string) => cache.noteWritten(projectId, 'all');

  // ── metrics catalogue ───────────────────────────────────────────────────────────────────────
  app.get<ProjectParams>(`${base}/metrics`, read, async (request) => {
    const { projectId } = await project(request.params.projectId);
    const catalogue = await projectCatalogue(deps.metadata, projectId);
    const custom = new Map((await listCustomMetrics(deps.metadata, projectId)).map((m) => [m.id, m]));
    return {
      metrics: catalogue.all().map((def) => {
        const resolved = resolveMetric(catalogue, def.id, def.id);
        return {
          id: def.id,
          en: def.en,
          zh: def.zh,
          formula: def.formula,
          unit: def.unit,
          format: def.format,
          higherIsBetter: def.higherIsBetter,
          component: def.component ?? false,
          tables: [...new Set([...resolved.sources].map((s) => SOURCES[s].table))],
          dimensions: metricDimensions(resolved, sourceDimensions),
          hourly: resolved.hourly,
          custom: custom.has(def.id),
          ...(custom.has(def.id) && { definition: custom.get(def.id)!.definition }),
        };
      }),
    };
  });

  app.put<ItemParams>(`${base}/metrics/:id`, write, async (request) => {
    const { projectId } = await project(request.params.projectId);
    const body = jsonBody(MetricBody, request.body);
    const saved = await saveCustomMetric(deps.metadata, projectId, {
      ...body,
      id: request.params.id,
    } as CustomMetricInput);
    metricsChanged(projectId);
    return { metric: saved };
  });

  app.delete<ItemParams>(`${base}/metrics/:id`, write, async (request, reply) => {
    const { projectId } = await project(request.params.projectId);
    if (!(await deleteCustomMetric(deps.metadata, projectId, request.params.id))) {
      notFound('metric', request.params.id);
    }
    metricsChanged(projectId);
    return reply.status(204).send();
  });

  // ── insights ────────────────────────────────────────────────────────────────────────────────
  app.get<ProjectParams>(`${base}/insights`, read, async (request) => {
    const { projectId } = await project(request.params.projectId);
    return { insights: await listInsights(deps.metadata, projectId) };
  });

  app.post<ProjectParams>(`${base}/insights`, write, async (request, reply) => {
    const { projectId } = await project(request.params.projectId);
    const insight = await createInsight(deps.metadata, projectId, jsonBody(InsightBody, request.body));
    return reply.status(201).send({ insight });
  });

  app.get<ItemParams>(`${base}/insights/:id`, read, async (request) => {
    const { projectId } = await project(request.params.projectId);
    const insight = await getInsight(deps.metadata, projectId, request.params.id);
    return { insight: insight ?? notFound('insight', request.params.id) };
  });

  app.put<ItemParams>(`${base}/insights/:id`, write, async (request) => {
    const { projectId } = await project(request.params.projectId);
    const insight = await updateInsight(
      deps.metadata,
      projectId,
      request.params.id,
      jsonBody(InsightBody, request.body),
    );
    return { insight: insight ?? notFound('insight', request.params.id) };
  });

  app.delete<ItemParams>(`${base}/insights/:id`, write, async (request, reply) => {
    const { projectId } = await project(request.params.projectId);
    if (!(await deleteInsight(deps.metadata, projectId, request.params.id)))
      notFound('insight', request.params.id);
    return reply.status(204).send();
  });

  app.get<ItemParams>(`${base}/insights/:id/results`, read, async (request) => {
    const context = await project(request.params.projectId);
    const insight = await getInsight(deps.metadata, context.projectId, request.params.id);
    if (!insight) notFound('insight', request.params.id);
    const analysis = findAnalysis(insight.kind) ?? notFound('analysis', insight.kind);
    const query = analysis.parse(insight.query);
    const started = performance.now();
    const { result, cached } = await runWithCache(
      cache,
      analysis,
      { facts: deps.facts, metadata: deps.metadata, project: context },
      query,
    );
    return { insight, result, meta: { tookMs: Math.round(performance.now() - started), cached } };
  });

  // ── dashboards ──────────────────────────────────────────────────────────────────────────────
  app.get<ProjectParams>(`${base}/dashboards`, read, async (request) => {
    const { projectId } = await project(request.params.projectId);
    return { dashboards: await listDashboards(deps.metadata, projectId) };
  });

  app.post<ProjectParams>(`${base}/dashboards`, write, async (request, reply) => {
    const { projectId } = await project(request.params.projectId);
    const dashboard = await createDashboard(deps.metadata, projectId, jsonBody(DashboardBody, request.body));
    return reply.status(201).send({ dashboard });
  });

  app.get<ItemParams>(`${base}/dashboards/:id`, read, async (request) => {
    const { projectId } = await project(request.params.projectId);
    const dashboard = await getDashboard(deps.metadata, projectId, request.params.id);
    return { dashboard: dashboard ?? notFound('dashboard', request.params.id) };
  });

  app.put<ItemParams>(`${base}/dashboards/:id`, write, async (request) => {
    const { projectId } = await project(request.params.projectId);
    const dashboard = await updateDashboard(
      deps.metadata,
      projectId,
      request.params.id,
      jsonBody(DashboardBody, request.body),
    );
    return { dashboard: dashboard ?? notFound('dashboard', request.params.id) };
  });

  app.delete<ItemParams>(`${base}/dashboards/:id`, write, async (request, reply) => {
    const { projectId } = await project(request.params.projectId);
    if (!(await deleteDashboard(deps.metadata, projectId, request.params.id))) {
      notFound('dashboard', request.params.id);
    }
    return reply.status(204).send();
  });
}
