import { detailText, PulseloopError } from '../errors/registry.js';
import { type AnalysisContext, defineAnalysis } from './analysis.js';
import { SqlParams } from './query/params.js';
import { bindProject, type DateRange, nextDay, parseDateRange } from './query/scope.js';
import { DEPTH_SQL, SHARES_SQL, SHARING_SQL } from './virality-sql.js';

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
/** First-seen times read the whole history from here up to the range end. */
const HISTORY_START = '1970-01-02';

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

/** Binds the named parameters of the virality SQL (see virality-sql.ts). */
function viralityParams(context: AnalysisContext, query: ViralityQuery): Record<string, unknown> {
  const params = new SqlParams();
  bindProject(params, context.project);
  params.set('range_from', 'String', query.dateRange.from);
  params.set('range_until', 'String', nextDay(query.dateRange.to));
  params.set('history_from', 'String', HISTORY_START);
  params.set('share_event', 'String', query.shareEvent);
  params.set('conversion_event', 'String', query.conversionEvent);
  params.set('answer_rows', 'UInt32', query.limit + 1);
  return params.values;
}

/** A row of SHARING_SQL: the totals (is_total = 1) or one of the top sharers. */
interface SharingRow {
  is_total: number;
  sharer: string;
  shares: number;
  visits: number;
  persons: number;
  new_persons: number;
  conversions: number;
  revenue: number;
  invited_persons: number;
  converted_persons: number;
}

interface DepthRow {
  degree1: number;
  degree2: number;
  degree3_plus: number;
  max_degree: number;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? Math.round((a / b) * 1e6) / 1e6 : null);

/**
 * Degree of each invited person in the share trees (see the module comment), given each one's first
 * share visit. The definition DEPTH_SQL computes inside the engine.
 */
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

function topSharer(row: SharingRow): TopSharer {
  return {
    person: row.sharer,
    shares: Number(row.shares ?? 0),
    visits: Number(row.visits),
    persons: Number(row.persons),
    newPersons: Number(row.new_persons),
    conversions: Number(row.conversions),
    revenue: Math.round(Number(row.revenue) * 100) / 100,
  };
}

/** The API's order of top sharers; ClickHouse picked them in the same order. */
function bySharerRank(a: TopSharer, b: TopSharer): number {
  return (
    b.newPersons - a.newPersons ||
    b.visits - a.visits ||
    b.conversions - a.conversions ||
    a.person.localeCompare(b.person)
  );
}

export async function runVirality(context: AnalysisContext, query: ViralityQuery): Promise<ViralityResult> {
  const params = viralityParams(context, query);
  const sharing = await context.facts.query<SharingRow>(SHARING_SQL, params);
  const [depthRow] = await context.facts.query<DepthRow>(DEPTH_SQL, params);
  const [sharesRow] = await context.facts.query<{ sharers: number; shares: number }>(SHARES_SQL, params);

  // Without share visits there is no totals row (grouping sets over no rows).
  const totals = sharing.find((r) => Number(r.is_total) === 1);
  const shareVisits = Number(totals?.visits ?? 0);
  const invitedPersons = Number(totals?.invited_persons ?? 0);
  const newPersons = Number(totals?.new_persons ?? 0);
  const convertedPersons = Number(totals?.converted_persons ?? 0);
  const sharers = Number(sharesRow?.sharers ?? 0);
  return {
    sharers,
    shares: Number(sharesRow?.shares ?? 0),
    shareVisits,
    invitedPersons,
    newPersons,
    visitsPerSharer: ratio(shareVisits, sharers),
    newPersonRate: ratio(newPersons, shareVisits),
    viralCoefficient: ratio(newPersons, sharers),
    convertedPersons,
    conversions: Number(totals?.conversions ?? 0),
    revenue: Math.round(Number(totals?.revenue ?? 0) * 100) / 100,
    shareConversionRate: ratio(convertedPersons, invitedPersons),
    depth: {
      degree1: Number(depthRow?.degree1 ?? 0),
      degree2: Number(depthRow?.degree2 ?? 0),
      degree3Plus: Number(depthRow?.degree3_plus ?? 0),
      maxDegree: Number(depthRow?.max_degree ?? 0),
    },
    topSharers: sharing
      .filter((r) => Number(r.is_total) !== 1)
      .map(topSharer)
      .sort(bySharerRank)
      .slice(0, query.limit),
  };
}

export const viralityAnalysis = defineAnalysis<ViralityQuery, ViralityResult>({
  kind: 'virality',
  en: 'Virality and sharing',
  zh: '裂变与分享',
  parse: parseViralityQuery,
  run: runVirality,
  // First-seen times read the whole history up to the range end.
  dependsOn: (query) => ({ from: HISTORY_START, to: query.dateRange.to }),
});
