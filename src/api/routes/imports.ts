import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { detectImport } from '../../collect/import/detect.js';
import { type ImportSummary, importFile } from '../../collect/import/importer.js';
import { type CustomMapping, withDayOfNumbers } from '../../collect/import/mapping.js';
import { detailText, PulseloopError } from '../../errors/registry.js';
import { recordAudit } from '../../govern/audit.js';
import { actorOf, originOf } from '../../govern/http/principal.js';
import { getProject } from '../../store/metadata/projects.js';
import type { StoreDeps } from '../app.js';

interface ImportQuery {
  kind?: string;
  preset?: string;
  filename?: string;
  source?: string;
  /** A custom mapping as JSON text (the same shape as a --mapping file). */
  mapping?: string;
  /** The day the numbers are for (YYYY-MM-DD), for a file without a date column (`--date`). */
  date?: string;
}

function mappingOf(text: string | undefined): CustomMapping | undefined {
  if (text === undefined) return undefined;
  try {
    const mapping = JSON.parse(text) as CustomMapping;
    if (typeof mapping?.columns === 'object' && mapping.columns !== null) return mapping;
  } catch {
    // reported below
  }
  throw new PulseloopError('import_invalid_mapping', {
    ...detailText(
      'the "mapping" parameter must be JSON with a "columns" object',
      '参数 "mapping" 必须是包含 "columns" 对象的 JSON',
    ),
  });
}

async function projectOf(deps: StoreDeps, projectId: string) {
  const project = await getProject(deps.metadata, projectId);
  if (!project)
    throw new PulseloopError('not_found', {
      what: 'Project',
      what_zh: '项目',
      id: projectId.slice(0, 80),
    });
  return project;
}

/** What the audit log keeps of an import: counts only (the rows may hold personal data). */
function summaryCounts(summary: ImportSummary): Record<string, unknown> {
  return {
    kind: summary.kind,
    preset: summary.preset,
    rowsRead: summary.rowsRead,
    imported: summary.imported,
    updated: summary.updated,
    quarantined: summary.quarantined,
  };
}

const querySchema = {
  type: 'object',
  properties: {
    kind: { type: 'string', description: 'content_stats, ad_spend, orders, comments, events or persons' },
    preset: {
      type: 'string',
      description: 'a platform preset, e.g. douyin_content, oceanengine_ads, taobao_orders',
    },
    filename: {
      type: 'string',
      description: 'the file name; its extension tells the format (.csv, .tsv, .xlsx, .ndjson)',
    },
    source: { type: 'string', description: 'source id recorded on the rows' },
    mapping: { type: 'string', description: 'custom mapping as JSON: {"columns": {"列名": "field"}}' },
    date: {
      type: 'string',
      description:
        'the day the numbers are for (YYYY-MM-DD), for a file without a date column or dated title line',
    },
  },
} as const;

/**
 * File import over HTTP: the raw file is the request body and is streamed into the importer, never
 * buffered whole; the answer is the import summary. Both routes need `data.import`; every import
 * (also a failed one) is recorded in the audit log.
 */
export function registerImportRoutes(app: FastifyInstance, deps: StoreDeps): void {
  const preHandler = app.requirePermission('data.import');
  app.register(async (child) => {
    // Hand the body over as the request stream: a large export must not be read into memory first.
    child.removeAllContentTypeParsers();
    child.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    child.post<{ Params: { projectId: string }; Querystring: ImportQuery }>(
      '/api/v1/projects/:projectId/imports',
      {
        schema: {
          tags: ['imports'],
          summary: 'Import a platform export (CSV, TSV, XLSX, NDJSON; UTF-8 or GBK) sent as the raw body',
          querystring: querySchema,
        },
        preHandler,
      },
      async (request) => {
        const project = await projectOf(deps, request.params.projectId);
        const mapping = withDayOfNumbers(mappingOf(request.query.mapping), request.query.date);
        const { kind, preset, filename, source } = request.query;
        if (!request.body) throw new PulseloopError('import_empty_file');
        const principal = request.principal!;
        const audit = (outcome: 'success' | 'failure', details: Record<string, unknown>) =>
          recordAudit(deps.metadata, {
            action: 'data.import',
            actor: actorOf(principal),
            projectId: principal.projectId,
            target: { type: 'file', id: (filename ?? '').slice(0, 200) },
            outcome,
            ...originOf(request),
            details: { kind: kind ?? null, preset: preset ?? null, ...details },
          });
        let summary: ImportSummary;
        try {
          summary = await importFile(
            deps.facts,
            request.body as Readable,
            {
              projectId: project.id,
              timeZone: project.timeZone,
              currency: project.currency,
              ...(source ? { sourceId: source } : {}),
            },
            {
              ...(kind ? { kind } : {}),
              ...(preset ? { preset } : {}),
              ...(mapping ? { mapping } : {}),
              ...(filename ? { fileName: filename } : {}),
            },
          );
        } catch (error) {
          await audit('failure', { error: error instanceof PulseloopError ? error.code : 'internal' });
          throw error;
        }
        await audit('success', summaryCounts(summary));
        return summary;
      },
    );

    child.post<{ Params: { projectId: string }; Querystring: { filename?: string } }>(
      '/api/v1/projects/:projectId/imports/detect',
      {
        schema: {
          tags: ['imports'],
          summary: 'Propose a kind, preset and mapping for a file, with a preview of its first rows',
          querystring: { type: 'object', properties: { filename: querySchema.properties.filename } },
        },
        preHandler,
      },
      async (request) => {
        const project = await projectOf(deps, request.params.projectId);
        const body = request.body as Readable | undefined;
        if (!body) throw new PulseloopError('import_empty_file');
        const detection = await detectImport(body, {
          ...(request.query.filename ? { fileName: request.query.filename } : {}),
          timeZone: project.timeZone,
        });
        body.resume(); // the rest of the file is not needed
        return detection;
      },
    );
  });
}
