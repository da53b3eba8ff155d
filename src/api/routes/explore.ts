import type { FastifyInstance, FastifyRequest } from 'fastify';
import { projectContext } from '../../analyze/query/scope.js';
import type { LiveFeed, LiveItem } from '../../collect/live.js';
import { PulseloopError } from '../../errors/registry.js';
import { governanceFor } from '../../govern/governance.js';
import { getPiiFields } from '../../govern/pii/fields.js';
import { maskJsonTextForRole } from '../../govern/pii/mask.js';
import { currentIdsOf } from '../../identity/inspect.js';
import type { StoreDeps } from '../app.js';
import { beforeOf, limitOf, platformsOf } from './query-params.js';

export interface ExploreDeps extends StoreDeps {
  live: LiveFeed;
}

const EVENT_COLUMNS = `message_id, type, event, toUnixTimestamp64Milli(timestamp) AS timestamp,
  toUnixTimestamp64Milli(received_at) AS received_at, distinct_id, anonymous_id, user_id, person_id,
  platform, channel, utm_source, utm_medium, utm_campaign, content_id, sharer_id,
  toFloat64(revenue) AS revenue, currency, country, region, city, device_type, os, browser,
  page_path, page_url, referrer, properties, context`;

interface ListQuery {
  limit?: string;
  before?: string;
  event?: string;
  distinct_id?: string;
  /** Comma-separated platforms (the dashboard's global platform filter). */
  platform?: string;
}

/** JSON-text columns that may carry PII: masked per role before they leave the server. */
const JSON_COLUMNS = ['properties', 'context', 'raw'] as const;

/**
 * A function that masks a row's JSON columns for the caller's role (`pii.read` sees them decrypted,
 * other roles see `138****1234`), with the project's own PII field list.
 */
async function maskerFor(deps: StoreDeps, request: FastifyRequest) {
  const principal = request.principal;
  if (!principal) throw new PulseloopError('not_authenticated');
  const [{ keyring }, fields] = await Promise.all([
    governanceFor(deps),
    getPiiFields(deps.metadata, principal.projectId),
  ]);
  return <R extends object>(row: R): R => {
    const out = { ...row } as Record<string, unknown>;
    for (const column of JSON_COLUMNS) {
      const value = out[column];
      if (typeof value === 'string')
        out[column] = maskJsonTextForRole(keyring, principal.role, value, fields);
    }
    return out as R;
  };
}

/**
 * The events explorer: the latest events (newest first, paged by `before`), one event in full, the
 * quarantine with reasons, and a live stream of what arrives (server-sent events). Raw events need
 * `events.read_raw`; PII inside them is masked unless the role holds `pii.read`.
 */
export function registerExploreRoutes(app: FastifyInstance, deps: ExploreDeps): void {
  const options = { schema: { tags: ['events'] }, preHandler: app.requirePermission('events.read_raw') };
  app.get<{ Params: { projectId: string }; Querystring: ListQuery }>(
    '/api/v1/projects/:projectId/events',
    options,
    async (request) => {
      const { projectId } = await projectContext(deps.metadata, request.params.projectId);
      const q = request.query;
      const limit = limitOf(q.limit, 500);
      const before = beforeOf(q.before);
      // A person's events are those of all its ids now, also the ones sent before a merge.
      const personIds = q.distinct_id ? await currentIdsOf(deps.facts, projectId, q.distinct_id) : [];
      const events = await deps.facts.query(
        // Columns are qualified: the select list's aliases (timestamp in ms) would shadow them.
        `SELECT ${EVENT_COLUMNS} FROM events AS e FINAL
         WHERE e.project_id = {project:String}
           AND e.timestamp < fromUnixTimestamp64Milli({before:Int64}, 'UTC')
           AND e.timestamp >= fromUnixTimestamp64Milli({before:Int64}, 'UTC') - INTERVAL 30 DAY
           AND ({event:String} = '' OR event = {event:String})
           AND ({distinct:String} = '' OR distinct_id = {distinct:String} OR person_id = {distinct:String}
                OR distinct_id IN {personIds:Array(String)})
           AND (empty({platforms:Array(String)}) OR platform IN {platforms:Array(String)})
         ORDER BY timestamp DESC, message_id
         LIMIT {limit:UInt32}`,
        {
          project: projectId,
          before,
          event: q.event ?? '',
          distinct: q.distinct_id ?? '',
          personIds,
          platforms: platformsOf(q.platform),
          limit,
        },
      );
      const mask = await maskerFor(deps, request);
      return { events: events.map(mask) };
    },
  );

  app.get<{ Params: { projectId: string; messageId: string } }>(
    '/api/v1/projects/:projectId/events/:messageId',
    options,
    async (request) => {
      const { projectId } = await projectContext(deps.metadata, request.params.projectId);
      const [event] = await deps.facts.query(
        `SELECT ${EVENT_COLUMNS} FROM events FINAL
         WHERE project_id = {project:String} AND message_id = {id:String} LIMIT 1`,
        { project: projectId, id: request.params.messageId },
      );
      if (!event)
        throw new PulseloopError('not_found', {
          what: 'Event',
          what_zh: '事件',
          id: request.params.messageId.slice(0, 100),
        });
      return { event: (await maskerFor(deps, request))(event) };
    },
  );

  app.get<{ Params: { projectId: string }; Querystring: ListQuery }>(
    '/api/v1/projects/:projectId/quarantine',
    options,
    async (request) => {
      const { projectId } = await projectContext(deps.metadata, request.params.projectId);
      const limit = limitOf(request.query.limit, 500);
      const before = beforeOf(request.query.before);
      const [rows, totals] = await Promise.all([
        deps.facts.query(
          `SELECT id, toUnixTimestamp64Milli(received_at) AS received_at, origin, source_id, reason_code,
                  reason, reason_zh, field, row_number, raw
           FROM quarantine AS q
           WHERE q.project_id = {project:String} AND q.received_at < fromUnixTimestamp64Milli({before:Int64}, 'UTC')
           ORDER BY received_at DESC, id
           LIMIT {limit:UInt32}`,
          { project: projectId, before, limit },
        ),
        deps.facts.query<{ reason_code: string; count: string }>(
          `SELECT reason_code, count() AS count FROM quarantine
           WHERE project_id = {project:String} GROUP BY reason_code ORDER BY count() DESC`,
          { project: projectId },
        ),
      ]);
      const mask = await maskerFor(deps, request);
      return {
        rows: rows.map(mask),
        byReason: totals.map((t) => ({ reason_code: t.reason_code, count: Number(t.count) })),
      };
    },
  );

  app.get<{ Params: { projectId: string } }>(
    '/api/v1/projects/:projectId/events/live',
    options,
    async (request, reply) => {
      const { projectId } = await projectContext(deps.metadata, request.params.projectId);
      const mask = await maskerFor(deps, request);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache',
        Connection: 'keep-alive',
        'Access-Control-Allow-Origin': request.headers.origin ?? '*',
      });
      res.write(': connected\n\n');
      const unsubscribe = deps.live.subscribe(projectId, (items: LiveItem[]) => {
        // Few events per frame keep the browser responsive under heavy ingestion.
        for (const item of items.slice(0, 200))
          res.write(`event: ${item.kind}\ndata: ${JSON.stringify(mask(item.row))}\n\n`);
        if (items.length > 200) res.write(`event: skipped\ndata: ${items.length - 200}\n\n`);
      });
      const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000);
      const stop = () => {
        clearInterval(heartbeat);
        unsubscribe();
      };
      request.raw.on('close', stop);
      res.on('error', stop);
    },
  );
}
