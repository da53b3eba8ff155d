import { detailText, PulseloopError } from '../errors/registry.js';
import { type AnalysisContext, defineAnalysis } from './analysis.js';
import { SqlParams } from './query/params.js';
import { bindProject, type DateRange, eventSource, PERSON_SQL, parseDateRange } from './query/scope.js';

/**
 * Virality and sharing. A share event (`content_shared`) is sent by its sharer; a visit that arrives
 * through a share link carries the sharer's distinct id in `sharer_id` (the collector reads it from
 * the `sharer_id` property or the `share_from` / `sharer` URL parameters; channel = share). Sharer
 * ids are mapped to persons like every distinct id, so a link shared before a login still credits
 * the person. Visits of a person through their own link are ignored.
 *
 * Definitions (all over the date range):
 * - sharers S: persons with at least one share event; shares: the share events.
 * - share visits V: visits (sessions; an event without a session is its own visit) that arrived
 *   through someone else's link; invited persons: the distinct persons making them.
 * - new persons N: invited persons whose first event ever is no earlier than their first share
 *   visit (the link brought them to the brand).
 * - viral coefficient K = i × c with i = V / S (visits each sharer brings) and c = N / V (visits that
 *   bring a new person), so K = N / S: new persons each sharer brings. K > 1 means each generation
 *   of sharers brings a bigger one.
 * - degree of an invited person: 1 if their sharer did not arrive through a share link before
 *   inviting them, else the sharer's degree + 1 (first share visit of each person decides).
 * - share conversion: invited persons who converted (the conversion event at or after their first
 *   share visit, inside the range) / invited persons.
 * - top sharers: per sharer, share visits and invited persons they brought; new persons and
 *   conversions are credited to the sharer of each person's first share visit.
 */

export interface ViralityQuery {
  dateRange: DateRange;
  shareEvent: string;
  conversionEvent: string;
  /** How many top sharers to list. */
  limit: number;
}

export interface TopSharer {
  person: string;
  shares: number;
  visits: number;
  persons: number;
  newPersons: number;
  conversions: number;
  revenue: number;
}

export interface ViralityResult {
  sharers: number;
  shares: number;
  shareVisits: number;
  invitedPersons: number;
  newPersons: number;
  /** V / S; null without sharers. */
  visitsPerSharer: number | null;
  /** N / V; null without share visits. */
  newPersonRate: number | null;
  /** K = visitsPerSharer × newPersonRate = N / S; null without sharers. */
  viralCoefficient: number | null;
  convertedPersons: number;
  conversions: number;
  revenue: number;
  /** convertedPersons / invitedPersons; null without invited persons. */
  shareConversionRate: number | null;
  depth: { degree1: number; degree2: number; degree3Plus: number; maxDegree: number };
  topSharers: TopSharer[];
}

const EVENT_NAME = /^.{1,200}$/su;

function invalid(field: string, detail: string, detailZh: string): never {
  throw new PulseloopError('invalid_query', { field, ...detailText(detail, detailZh) });
}

export function parseViralityQuery(body: unknown): ViralityQuery {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    invalid('body', 'expected an object', '必须是对象');
  const q = body as Record<string, unknown>;
  const name = (value: unknown, at: string, fallback: string): string => {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !EVENT_NAME.test(value))
      invalid(at, 'expected an event name', '必须是事件名');
    return value;
  };
  const limit = q.limit ?? 20;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 500) {
    invalid('limit', 'expected a whole number from 1 to 500', '必须是 1 到 500 之间的整数');
  }
  return {
    dateRange: parseDateRange(q.dateRange),
    shareEvent: name(q.shareEvent, 'shareEvent', 'content_shared'),
    conversionEvent: name(q.conversionEvent, 'conversionEvent', 'order_completed'),
    limit,
  };
}

interface Edge {
  visitor: string;
  sharer: string;
  visits: number;
  firstAt: number;
}

interface Invited {
  visitor: string;
  firstSeen: number;
  conversions: number;
  revenue: number;
}

/** Share visits per (visitor, sharer), in the range. */
async function fetchEdges(context: AnalysisContext, query: ViralityQuery): Promise<Edge[]> {
  const params = new SqlParams();
  bindProject(params, context.project);
  const source = eventSource({ range: query.dateRange }, params);
  const rows = await context.facts.query<{
    visitor: string;
    sharer: string;
    visits: number;
    first_at: number;
  }>(
    `WITH ${source.ctes}
     SELECT if(pm.person_id != '', pm.person_id, if(v.person_id != '', v.person_id, v.distinct_id)) AS visitor,
            if(sm.person_id != '', sm.person_id, v.sharer_id) AS sharer,
            count() AS visits, min(v.started) AS first_at
     FROM (
       -- Visits first, then persons: only the visits' senders and sharers are mapped. No FINAL: a
       -- re-delivered event falls into the same visit and cannot change its first time or sharer.
       SELECT toUnixTimestamp64Milli(min(e.timestamp)) AS started,
              argMin(e.sharer_id, e.timestamp) AS sharer_id,
              argMin(e.distinct_id, e.timestamp) AS distinct_id, argMin(e.person_id, e.timestamp) AS person_id
       FROM events AS e
       WHERE ${source.where} AND e.sharer_id != '' AND e.event != ${params.add('String', query.shareEvent)}
       GROUP BY cityHash64(if(e.session_id != '', e.session_id, e.message_id))
     ) AS v
     LEFT JOIN person_map AS pm ON pm.distinct_id = v.distinct_id
     LEFT JOIN person_map AS sm ON sm.distinct_id = v.sharer_id
     WHERE visitor != sharer
     GROUP BY visitor, sharer`,
    params.values,
  );
  return rows.map((r) => ({
    visitor: r.visitor,
    sharer: r.sharer,
    visits: Number(r.visits),
    firstAt: Number(r.first_at),
  }));
}

/** SQL condition: the event belongs to one of `visitors` (bound persons), before any join. */
function ofPersons(visitors: string): string {
  return `(e.distinct_id IN ${visitors} OR e.person_id IN ${visitors}
      OR e.distinct_id IN (SELECT distinct_id FROM person_map WHERE person_id IN ${visitors}))`;
}

/** For each invited person: first event ever (up to the range end) and conversions after arrival. */
async function fetchInvited(
  context: AnalysisContext,
  query: ViralityQuery,
  firstArrival: Map<string, number>,
): Promise<Invited[]> {
  if (firstArrival.size === 0) return [];
  const seenParams = new SqlParams();
  bindProject(seenParams, context.project);
  const history = eventSource({ range: { from: '1970-01-02', to: query.dateRange.to } }, seenParams);
  const seenVisitors = seenParams.add('Array(String)', [...firstArrival.keys()]);
  // No FINAL: a re-delivered event cannot change a first time.
  const seen = await context.facts.query<{ visitor: string; first_seen: number }>(
    `WITH ${history.ctes}
     SELECT ${PERSON_SQL} AS visitor, toUnixTimestamp64Milli(min(e.timestamp)) AS first_seen
     FROM events AS e LEFT JOIN person_map AS pm ON pm.distinct_id = e.distinct_id
     WHERE ${history.where} AND ${ofPersons(seenVisitors)}
     GROUP BY visitor`,
    seenParams.values,
  );

  const params = new SqlParams();
  bindProject(params, context.project);
  const source = eventSource({ range: query.dateRange, events: [query.conversionEvent] }, params);
  const visitors = params.add('Array(String)', [...firstArrival.keys()]);
  const arrivals = params.add('Array(Int64)', [...firstArrival.values()]);
  const converted = await context.facts.query<{ visitor: string; conversions: number; revenue: number }>(
    `WITH ${source.ctes},
       arrivals AS (SELECT arrayJoin(arrayZip(${visitors}, ${arrivals})) AS pair, pair.1 AS visitor, pair.2 AS arrived)
     SELECT visitor, count() AS conversions, sum(revenue) AS revenue
     FROM (
       SELECT ${PERSON_SQL} AS person, toUnixTimestamp64Milli(e.timestamp) AS at, toFloat64(e.revenue) AS revenue
       FROM ${source.from}
       WHERE ${source.where} AND ${ofPersons(visitors)}
     ) AS c
     INNER JOIN arrivals ON arrivals.visitor = c.person
     WHERE c.at >= arrivals.arrived
     GROUP BY visitor`,
    params.values,
  );
  const conversions = new Map(converted.map((r) => [r.visitor, r]));
  return seen.map((r) => ({
    visitor: r.visitor,
    firstSeen: Number(r.first_seen),
    conversions: Number(conversions.get(r.visitor)?.conversions ?? 0),
    revenue: Number(conversions.get(r.visitor)?.revenue ?? 0),
  }));
}

async function fetchShares(
  context: AnalysisContext,
  query: ViralityQuery,
): Promise<{ sharers: number; shares: number; bySharer: Map<string, number> }> {
  const params = new SqlParams();
  bindProject(params, context.project);
  const source = eventSource({ range: query.dateRange, events: [query.shareEvent] }, params);
  const rows = await context.facts.query<{ sharer: string; shares: number }>(
    `WITH ${source.ctes}
     SELECT ${PERSON_SQL} AS sharer, count() AS shares FROM ${source.from} WHERE ${source.where} GROUP BY sharer`,
    params.values,
  );
  const bySharer = new Map(rows.map((r) => [r.sharer, Number(r.shares)]));
  let shares = 0;
  for (const n of bySharer.values()) shares += n;
  return { sharers: bySharer.size, shares, bySharer };
}

const ratio = (a: number, b: number): number | null => (b > 0 ? Math.round((a / b) * 1e6) / 1e6 : null);

/** Degree of each invited person in the share trees (see the module comment). */
export function shareDegrees(
  firstEdges: Map<string, { sharer: string; firstAt: number }>,
): Map<string, number> {
  const degree = new Map<string, number>();
  const byTime = [...firstEdges.entries()].sort(
    (a, b) => a[1].firstAt - b[1].firstAt || a[0].localeCompare(b[0]),
  );
  for (const [visitor, { sharer, firstAt }] of byTime) {
    const upstream = firstEdges.get(sharer);
    const sharerDegree = upstream && upstream.firstAt < firstAt ? (degree.get(sharer) ?? 0) : 0;
    degree.set(visitor, sharerDegree + 1);
  }
  return degree;
}

export async function runVirality(context: AnalysisContext, query: ViralityQuery): Promise<ViralityResult> {
  const edges = await fetchEdges(context, query);
  const shares = await fetchShares(context, query);
  // Each visitor's first share visit decides their sharer (ties: by sharer id).
  const firstEdges = new Map<string, { sharer: string; firstAt: number }>();
  for (const edge of edges) {
    const seen = firstEdges.get(edge.visitor);
    if (
      !seen ||
      edge.firstAt < seen.firstAt ||
      (edge.firstAt === seen.firstAt && edge.sharer < seen.sharer)
    ) {
      firstEdges.set(edge.visitor, { sharer: edge.sharer, firstAt: edge.firstAt });
    }
  }
  const invited = await fetchInvited(
    context,
    query,
    new Map([...firstEdges].map(([visitor, e]) => [visitor, e.firstAt])),
  );

  const sharers = new Map<string, TopSharer>();
  const sharerRow = (person: string): TopSharer => {
    let row = sharers.get(person);
    if (!row) {
      row = {
        person,
        shares: shares.bySharer.get(person) ?? 0,
        visits: 0,
        persons: 0,
        newPersons: 0,
        conversions: 0,
        revenue: 0,
      };
      sharers.set(person, row);
    }
    return row;
  };
  let shareVisits = 0;
  for (const edge of edges) {
    const row = sharerRow(edge.sharer);
    row.visits += edge.visits;
    row.persons += 1;
    shareVisits += edge.visits;
  }
  let newPersons = 0;
  let convertedPersons = 0;
  let conversions = 0;
  let revenue = 0;
  for (const person of invited) {
    const first = firstEdges.get(person.visitor)!;
    const row = sharerRow(first.sharer);
    if (person.firstSeen >= first.firstAt) {
      newPersons++;
      row.newPersons++;
    }
    if (person.conversions > 0) convertedPersons++;
    conversions += person.conversions;
    revenue += person.revenue;
    row.conversions += person.conversions;
    row.revenue += person.revenue;
  }

  const degrees = shareDegrees(firstEdges);
  const depth = { degree1: 0, degree2: 0, degree3Plus: 0, maxDegree: 0 };
  for (const d of degrees.values()) {
    if (d === 1) depth.degree1++;
    else if (d === 2) depth.degree2++;
    else depth.degree3Plus++;
    depth.maxDegree = Math.max(depth.maxDegree, d);
  }

  const topSharers = [...sharers.values()]
    .sort(
      (a, b) =>
        b.newPersons - a.newPersons ||
        b.visits - a.visits ||
        b.conversions - a.conversions ||
        a.person.localeCompare(b.person),
    )
    .slice(0, query.limit)
    .map((row) => ({ ...row, revenue: Math.round(row.revenue * 100) / 100 }));

  return {
    sharers: shares.sharers,
    shares: shares.shares,
    shareVisits,
    invitedPersons: firstEdges.size,
    newPersons,
    visitsPerSharer: ratio(shareVisits, shares.sharers),
    newPersonRate: ratio(newPersons, shareVisits),
    viralCoefficient: ratio(newPersons, shares.sharers),
    convertedPersons,
    conversions,
    revenue: Math.round(revenue * 100) / 100,
    shareConversionRate: ratio(convertedPersons, firstEdges.size),
    depth,
    topSharers,
  };
}

export const viralityAnalysis = defineAnalysis<ViralityQuery, ViralityResult>({
  kind: 'virality',
  en: 'Virality and sharing',
  zh: '裂变与分享',
  parse: parseViralityQuery,
  run: runVirality,
  // First-seen times read the whole history up to the range end.
  dependsOn: (query) => ({ from: '1970-01-02', to: query.dateRange.to }),
});
