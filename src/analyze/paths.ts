import { detailText, PulseloopError } from '../errors/registry.js';
import { type AnalysisContext, defineAnalysis } from './analysis.js';
import { FINAL_SETTINGS, personStages } from './event-selector.js';
import { checkedFilters, eventName, integer } from './funnels/query.js';
import { needsPersonTraits } from './query/fields.js';
import { compileFilters } from './query/filters.js';
import { SqlParams } from './query/params.js';
import {
  bindProject,
  type DateRange,
  eventSource,
  nextDay,
  PERSON_SQL,
  PERSON_TRAITS_CTE,
  parseDateRange,
} from './query/scope.js';

/**
 * Paths: the most frequent sequences of events after (or before) a start event, within a session,
 * as Sankey nodes and links plus the top paths. See docs/funnels-paths.md for the semantics.
 *
 * Per person, ClickHouse sorts the events into one array, splits it into sessions at gaps longer
 * than `sessionGapSeconds`, and in each session that holds a start event in the date range takes
 * the first start (the last one for `before`), the events after it (before it) within
 * `windowSeconds`, collapses repeats and cuts to `depth`. Paths are then counted once per distinct
 * sequence, and nodes and links summed with `sumMap` in the same query.
 */

export interface PathsQuery {
  dateRange: DateRange;
  start: { event: string; filters?: unknown[] };
  direction: 'after' | 'before';
  /** Steps after (or before) the start event: 1–10. */
  depth: number;
  sessionGapSeconds: number;
  windowSeconds: number;
  includeEvents?: string[];
  excludeEvents?: string[];
  filters?: unknown[];
  collapseRepeats: boolean;
  /** Name `$pageview` nodes by their page path. */
  pagePaths: boolean;
  topPaths: number;
  /** Nodes kept by name at each step; the rest are merged into `$other`. */
  nodesPerStep: number;
}

export interface PathNode {
  id: string;
  name: string;
  step: number;
  value: number;
}

export interface PathsResult {
  /** Paths counted (one per person session with a start event). */
  total: number;
  nodes: PathNode[];
  links: { source: string; target: string; value: number }[];
  topPaths: { path: string[]; count: number; share: number }[];
  /** Per step (1 = the start for `after`, the last step is the start for `before`). */
  steps: { step: number; paths: number; dropped: number }[];
}

export const OTHER_NODE = '$other';
/** Packing of an event in the paths query: time (ms) × TIME_UNIT + tie bit + node code. */
const TIME_UNIT = 2 ** 24;
const TIE_BIT = 2 ** 23;
const CODE_MASK = TIE_BIT - 1;
const MAX_EVENT_LIST = 200;

function invalid(field: string, detail: string, detailZh: string): never {
  throw new PulseloopError('invalid_query', { field, ...detailText(detail, detailZh) });
}

function eventList(value: unknown, at: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_EVENT_LIST) {
    invalid(at, `expected 1 to ${MAX_EVENT_LIST} event names`, `必须是 1 到 ${MAX_EVENT_LIST} 个事件名`);
  }
  return value.map((v, i) => eventName(v, `${at}[${i}]`));
}

function flag(value: unknown, at: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalid(at, 'expected true or false', '必须是 true 或 false');
  return value;
}

/** Validates a paths query body; throws `invalid_query` naming the wrong field. */
export function parsePathsQuery(body: unknown): PathsQuery {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    invalid('body', 'expected an object', '必须是对象');
  const raw = body as Record<string, unknown>;
  const dateRange = parseDateRange(raw.dateRange);
  if (typeof raw.start !== 'object' || raw.start === null || Array.isArray(raw.start)) {
    invalid('start', 'expected { event, filters? }', '必须是 { event, filters? }');
  }
  const rawStart = raw.start as Record<string, unknown>;
  const start: PathsQuery['start'] = { event: eventName(rawStart.event, 'start.event') };
  const startFilters = checkedFilters(rawStart.filters, 'start.filters');
  if (startFilters) start.filters = startFilters;
  const direction = raw.direction ?? 'after';
  if (direction !== 'after' && direction !== 'before')
    invalid('direction', 'expected after or before', '必须是 after 或 before');

  const query: PathsQuery = {
    dateRange,
    start,
    direction,
    depth: integer(raw.depth, 'depth', 1, 10, 5),
    sessionGapSeconds: integer(raw.sessionGapSeconds, 'sessionGapSeconds', 1, 86_400, 1800),
    windowSeconds: integer(raw.windowSeconds, 'windowSeconds', 1, 7 * 86_400, 86_400),
    collapseRepeats: flag(raw.collapseRepeats, 'collapseRepeats', true),
    pagePaths: flag(raw.pagePaths, 'pagePaths', false),
    topPaths: integer(raw.topPaths, 'topPaths', 1, 100, 20),
    nodesPerStep: integer(raw.nodesPerStep, 'nodesPerStep', 1, 50, 10),
  };
  const includeEvents = eventList(raw.includeEvents, 'includeEvents');
  if (includeEvents) query.includeEvents = includeEvents;
  const excludeEvents = eventList(raw.excludeEvents, 'excludeEvents');
  if (excludeEvents) {
    if (excludeEvents.includes(start.event))
      invalid('excludeEvents', 'cannot exclude the start event', '不能排除起始事件');
    query.excludeEvents = excludeEvents;
  }
  const filters = checkedFilters(raw.filters, 'filters');
  if (filters) query.filters = filters;
  return query;
}

/** The SQL that counts distinct paths and sums their nodes, links and ends in one pass. */
export function pathsSql(query: PathsQuery, params: SqlParams): string {
  const after = query.direction === 'after';
  const source = eventSource(
    {
      range: query.dateRange,
      // The start event is always read, even when the include list leaves it out.
      ...(query.includeEvents ? { events: [...new Set([query.start.event, ...query.includeEvents])] } : {}),
      filters: query.filters,
      ...(after ? { padAfterSeconds: query.windowSeconds } : { padBeforeSeconds: query.windowSeconds }),
    },
    params,
  );
  const where = [source.where];
  if (query.excludeEvents) where.push(`e.event NOT IN ${params.add('Array(String)', query.excludeEvents)}`);
  const startFilters = compileFilters(query.start.filters, params, 'start.filters');
  let { ctes, from: sourceFrom } = source;
  // Start filters may read person traits that the query filters alone did not join.
  if (needsPersonTraits(startFilters.refs) && !ctes.includes('person_traits AS')) {
    ctes += `, ${PERSON_TRAITS_CTE}`;
    sourceFrom += ` LEFT JOIN person_traits AS pt ON pt.person_id = ${PERSON_SQL}`;
  }
  // Events are gathered per sender first and only those rows mapped to persons (far fewer rows to
  // join than events); persons without a start event in the range are dropped before sorting.
  const stages = personStages({
    ctes,
    from: sourceFrom,
    where: '',
    needsTraits: ctes.includes('person_traits AS'),
  });
  const from = params.add('String', query.dateRange.from);
  const until = params.add('String', nextDay(query.dateRange.to));
  const isStart = `e.event = ${params.add('String', query.start.event)} AND ${startFilters.sql}
        AND e.timestamp >= toDateTime64(${from}, 3, {tz:String}) AND e.timestamp < toDateTime64(${until}, 3, {tz:String})`;
  const node = query.pagePaths
    ? `if(e.event = '$pageview' AND e.page_path != '', e.page_path, toString(e.event))`
    : 'toString(e.event)';
  // Each event travels as one Int64: milliseconds since `lowest` above the tie bit above the node's
  // code (1-based index into the sorted distinct node names), so a plain numeric sort orders by
  // time, start-first/last, then name — several times cheaper than arrays of (time, name, flag) tuples.
  // The longest range (3660 days + a 7-day window, 3.2e11 ms) times 2^24 stays below 2^63.
  const lowest = `toDateTime64(${from}, 3, {tz:String}) - toIntervalSecond(${params.add('UInt32', after ? 0 : query.windowSeconds)})`;
  const highest = `toDateTime64(${until}, 3, {tz:String}) + toIntervalSecond(${params.add('UInt32', after ? query.windowSeconds : 0)})`;
  const nodeNames = `(SELECT arraySort(groupUniqArray(${node})) FROM events AS e
      WHERE e.project_id = {project:String} AND e.timestamp >= ${lowest} AND e.timestamp < ${highest}) AS node_names`;
  const timeOf = `intDiv(x, ${TIME_UNIT})`;
  const isStartBit = after ? `bitAnd(x, ${TIE_BIT}) = 0` : `bitAnd(x, ${TIE_BIT}) != 0`;
  const gapMs = params.add('Int64', query.sessionGapSeconds * 1000);
  const windowMs = params.add('Int64', query.windowSeconds * 1000);
  const length = params.add('UInt8', query.depth + 1);

  // Per session `s` of packed events: the start's index `i` and time `start_t`. Lambdas
  // read only their own arguments and scalars: a captured array would be copied for every element.
  const startIndex = after
    ? `arrayFirstIndex(x -> ${isStartBit}, s)`
    : `arrayLastIndex(x -> ${isStartBit}, s)`;
  const around = after
    ? `arrayFilter(x -> ${timeOf} - start_t <= ${windowMs}, arraySlice(s, i))`
    : `arrayFilter(x -> start_t - ${timeOf} <= ${windowMs}, arraySlice(s, 1, i))`;
  // Collapse: keep a node only when it differs from the one before it (0 is never a node's code).
  const collapsed = query.collapseRepeats
    ? `arrayFilter((n, before) -> n != before, codes, arrayPushFront(arrayPopBack(codes), 0))`
    : 'codes';
  const cut = after ? `arraySlice(${collapsed}, 1, ${length})` : `arraySlice(${collapsed}, -${length})`;
  // Steps are numbered so that the start is step 1 (after) or the last step, depth + 1 (before).
  const offset = after ? '0' : `${length} - length(path)`;
  const terminal = after ? 'length(path)' : '1';
  // At equal timestamps the start event sorts first (after) or last (before), others by name.
  const tie = after ? '(1 - is_start)' : 'is_start';

  return `WITH ${nodeNames}, ${ctes},
  per_id AS (
    SELECT id, pid, groupArray(t * ${TIME_UNIT} + ${tie} * ${TIE_BIT} + code) AS list, max(is_start) AS has_start
    FROM (
      SELECT ${stages.idKey} AS id, e.person_id AS pid,
        toInt64(toUnixTimestamp64Milli(e.timestamp)) - toInt64(toUnixTimestamp64Milli(${lowest})) AS t,
        toInt64(transform(${node}, node_names, arrayEnumerate(node_names), 0)) AS code,
        toInt64(if(${isStart}, 1, 0)) AS is_start
      FROM ${stages.idFrom}
      WHERE ${where.join(' AND ')}
    )
    GROUP BY id, pid
  ),
  sessions AS (
    SELECT
      arraySort(arrayFlatten(groupArray(d.list))) AS ev,
      arraySplit((x, gap) -> gap, ev,
        arrayMap((x, previous) -> ${timeOf} - intDiv(previous, ${TIME_UNIT}) > ${gapMs}, ev,
          arrayPushFront(arrayPopBack(ev), ev[1]))) AS split
    FROM ${stages.personFrom}
    GROUP BY ${stages.person}
    HAVING max(d.has_start) = 1
  ),
  paths AS (
    SELECT ${startIndex} AS i, intDiv(s[i], ${TIME_UNIT}) AS start_t,
      arrayMap(x -> bitAnd(x, ${CODE_MASK}), ${around}) AS codes, ${cut} AS path
    FROM sessions ARRAY JOIN split AS s
    WHERE i > 0
  ),
  counted AS (
    SELECT path, count() AS c FROM paths GROUP BY path
  )
  SELECT
    sum(c) AS total,
    arraySlice(arraySort(x -> (-x.2, x.1), groupArray((path, c))), 1, ${params.add('UInt32', query.topPaths)}) AS top_paths,
    sumMap(arrayMap(k -> (toUInt8(k + ${offset}), path[k]), arrayEnumerate(path)), arrayWithConstant(length(path), c)) AS nodes,
    sumMap(arrayMap(k -> (toUInt8(k + ${offset}), path[k], path[k + 1]), range(1, length(path))),
      arrayWithConstant(length(path) - 1, c)) AS links,
    sumMap([(toUInt8(${terminal} + ${offset}), path[${terminal}])], [c]) AS ends,
    node_names AS names
  FROM counted
  ${FINAL_SETTINGS}`;
}

interface PathsRow {
  total: number;
  top_paths: [string[], number][];
  nodes: [[number, string][], number[]];
  links: [[number, string, string][], number[]];
  ends: [[number, string][], number[]];
}

/** The query's row: nodes as codes, 1-based indexes into `names`. */
interface CodedPathsRow {
  total: number;
  top_paths: [number[], number][];
  nodes: [[number, number][], number[]];
  links: [[number, number, number][], number[]];
  ends: [[number, number][], number[]];
  names: string[];
}

/** Replaces node codes by node names. */
function decode(row: CodedPathsRow): PathsRow {
  if (row.names.length >= TIE_BIT) throw new Error('too many distinct path nodes to number');
  const name = (code: number) => row.names[code - 1] ?? '';
  return {
    total: row.total,
    top_paths: row.top_paths.map(([path, count]) => [path.map(name), count]),
    nodes: [row.nodes[0].map(([step, code]) => [step, name(code)]), row.nodes[1]],
    links: [row.links[0].map(([step, from, to]) => [step, name(from), name(to)]), row.links[1]],
    ends: [row.ends[0].map(([step, code]) => [step, name(code)]), row.ends[1]],
  };
}

const nodeId = (step: number, name: string) => `${step}:${name}`;

/** Keeps the top nodes per step by name, merges the rest into `$other`, and re-keys the links. */
function sankey(
  query: PathsQuery,
  row: PathsRow | undefined,
): Pick<PathsResult, 'nodes' | 'links' | 'steps'> {
  const nodeKeys = row?.nodes[0] ?? [];
  const nodeValues = row?.nodes[1] ?? [];
  const byStep = new Map<number, { name: string; value: number }[]>();
  nodeKeys.forEach(([step, name], i) => {
    const list = byStep.get(step) ?? [];
    list.push({ name, value: Number(nodeValues[i]) });
    byStep.set(step, list);
  });
  const kept = new Set<string>();
  const nodes = new Map<string, PathNode>();
  const nameAt = (step: number, name: string) => (kept.has(nodeId(step, name)) ? name : OTHER_NODE);
  for (const [step, list] of [...byStep].sort((a, b) => a[0] - b[0])) {
    list.sort((a, b) => b.value - a.value || a.name.localeCompare(b.name));
    list.forEach((n, i) => {
      if (i < query.nodesPerStep) kept.add(nodeId(step, n.name));
      const name = nameAt(step, n.name);
      const id = nodeId(step, name);
      const node = nodes.get(id) ?? { id, name, step, value: 0 };
      node.value += n.value;
      nodes.set(id, node);
    });
  }
  const links = new Map<string, { source: string; target: string; value: number }>();
  (row?.links[0] ?? []).forEach(([step, fromName, toName], i) => {
    const source = nodeId(step, nameAt(step, fromName));
    const target = nodeId(step + 1, nameAt(step + 1, toName));
    const key = `${source}\u0000${target}`;
    const link = links.get(key) ?? { source, target, value: 0 };
    link.value += Number(row?.links[1][i]);
    links.set(key, link);
  });
  const reached = new Map<number, number>();
  const dropped = new Map<number, number>();
  for (const node of nodes.values()) reached.set(node.step, (reached.get(node.step) ?? 0) + node.value);
  (row?.ends[0] ?? []).forEach(([step], i) => {
    dropped.set(step, (dropped.get(step) ?? 0) + Number(row?.ends[1][i]));
  });
  const steps = [...reached.keys()]
    .sort((a, b) => a - b)
    .map((step) => ({ step, paths: reached.get(step) ?? 0, dropped: dropped.get(step) ?? 0 }));
  return { nodes: [...nodes.values()], links: [...links.values()], steps };
}

/** Runs a paths analysis (the function the benchmark times). */
export async function runPaths(context: AnalysisContext, query: PathsQuery): Promise<PathsResult> {
  const params = new SqlParams();
  bindProject(params, context.project);
  const [coded] = await context.facts.query<CodedPathsRow>(pathsSql(query, params), params.values);
  const row = coded ? decode(coded) : undefined;
  const total = Number(row?.total ?? 0);
  return {
    total,
    ...sankey(query, row),
    topPaths: (row?.top_paths ?? []).map(([path, count]) => ({
      path,
      count: Number(count),
      share: total > 0 ? Number(count) / total : 0,
    })),
  };
}

export const pathsAnalysis = defineAnalysis<PathsQuery, PathsResult>({
  kind: 'paths',
  en: 'Paths',
  zh: '路径分析',
  parse: parsePathsQuery,
  run: runPaths,
  dependsOn: (query) => {
    const padDays = Math.ceil(query.windowSeconds / 86_400);
    return query.direction === 'after'
      ? { from: query.dateRange.from, to: nextDay(query.dateRange.to, padDays) }
      : { from: nextDay(query.dateRange.from, -padDays), to: query.dateRange.to };
  },
});
