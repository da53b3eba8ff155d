import { type DateRange, nextDay, PERSON_MAP_CTE, PERSON_SQL } from '../analyze/query/scope.js';
import type { FactsEngine } from '../store/facts/engine.js';

/**
 * The persons a project saw in a period, for people to browse: each with its events, platforms and
 * first and last time in the period, its user ids and how many ids it has, and its latest traits.
 * Persons are resolved as every analysis resolves them (the identity map at query time), so a
 * merged person is one row and its anonymous events before sign-up count for it.
 */

export type PersonsSort = 'last_seen' | 'events';
export const PERSONS_SORTS: readonly PersonsSort[] = ['last_seen', 'events'];

export interface PersonsListQuery {
  projectId: string;
  timeZone: string;
  range: DateRange;
  /** Only events on these platforms (all when empty). */
  platforms: readonly string[];
  /** Only events of this name ('' for all): the persons who did it, with how often and when. */
  event: string;
  sort: PersonsSort;
  limit: number;
  offset: number;
}

export interface ListedPerson {
  personId: string;
  /** Events in the period (re-deliveries folded), on the chosen platforms, of the chosen name. */
  events: number;
  platforms: string[];
  /** UTC ms of the person's first and last event in the period. */
  firstSeen: number;
  lastSeen: number;
  /** The person's user ids (at most USER_IDS_SHOWN), and how many ids of any kind it has. */
  userIds: string[];
  idsTotal: number;
  /** Latest traits as stored (PII still encrypted: the route masks them for the caller's role). */
  traits: Record<string, unknown>;
}

export interface PersonsPage {
  persons: ListedPerson[];
  /** Persons seen in the period on the chosen platforms (who did the chosen event). */
  total: number;
}

const USER_IDS_SHOWN = 3;
const PLATFORMS_SHOWN = 10;

/** One row per person seen in the period; the page's rows, with the count of all rows. */
const ACTIVE_PERSONS = `WITH ${PERSON_MAP_CTE}
  SELECT ${PERSON_SQL} AS person,
    count() AS event_count,
    groupUniqArray(${PLATFORMS_SHOWN})(e.platform) AS platforms,
    toUnixTimestamp64Milli(min(e.timestamp)) AS first_seen,
    toUnixTimestamp64Milli(max(e.timestamp)) AS last_seen,
    count() OVER () AS total
  FROM events AS e FINAL LEFT JOIN person_map AS pm ON pm.distinct_id = e.distinct_id
  WHERE e.project_id = {project:String}
    AND e.timestamp >= toDateTime64({from:String}, 3, {tz:String})
    AND e.timestamp < toDateTime64({until:String}, 3, {tz:String})
    AND (empty({platforms:Array(String)}) OR e.platform IN {platforms:Array(String)})
    AND ({event:String} = '' OR e.event = {event:String})
  GROUP BY person
  ORDER BY if({byEvents:UInt8} = 1, event_count, 0) DESC, last_seen DESC, person
  LIMIT {limit:UInt32} OFFSET {offset:UInt32}`;

/** The ids of a page's persons: its first user ids in sorted order, and the count of all its ids. */
const PERSONS_IDS = `SELECT person_id,
    arraySlice(arraySort(groupArrayIf(distinct_id, id_type = 'user')), 1, ${USER_IDS_SHOWN}) AS user_ids,
    count() AS ids
  FROM identities FINAL
  WHERE project_id = {project:String} AND is_deleted = 0 AND person_id IN {persons:Array(String)}
  GROUP BY person_id`;

/** The latest traits of a page's persons (none for an erased one). */
const PERSONS_TRAITS = `SELECT person_id, argMax(traits, version) AS traits
  FROM persons
  WHERE project_id = {project:String} AND person_id IN {persons:Array(String)}
  GROUP BY person_id
  HAVING argMax(is_deleted, version) = 0`;

interface ActiveRow {
  person: string;
  event_count: string | number;
  platforms: string[];
  first_seen: string | number;
  last_seen: string | number;
  total: string | number;
}

/** The bound values of ACTIVE_PERSONS for one page. */
function activeParams(query: PersonsListQuery, page: { sort: PersonsSort; limit: number; offset: number }) {
  return {
    project: query.projectId,
    tz: query.timeZone,
    from: query.range.from,
    until: nextDay(query.range.to),
    platforms: [...query.platforms],
    event: query.event,
    byEvents: page.sort === 'events' ? 1 : 0,
    limit: page.limit,
    offset: page.offset,
  };
}

export async function activePersons(facts: FactsEngine, query: PersonsListQuery): Promise<PersonsPage> {
  const rows = await facts.query<ActiveRow>(ACTIVE_PERSONS, activeParams(query, query));
  const persons = rows.map((r) => r.person);
  const [ids, traits] =
    persons.length === 0
      ? [[], []]
      : await Promise.all([
          facts.query<{ person_id: string; user_ids: string[]; ids: string | number }>(PERSONS_IDS, {
            project: query.projectId,
            persons,
          }),
          facts.query<{ person_id: string; traits: string }>(PERSONS_TRAITS, {
            project: query.projectId,
            persons,
          }),
        ]);
  const idsOf = new Map(ids.map((r) => [r.person_id, r]));
  const traitsOf = new Map(traits.map((r) => [r.person_id, r.traits]));
  return {
    total: rows[0] ? Number(rows[0].total) : await totalPast(facts, query),
    persons: rows.map((r) => ({
      personId: r.person,
      events: Number(r.event_count),
      platforms: [...r.platforms].sort(),
      firstSeen: Number(r.first_seen),
      lastSeen: Number(r.last_seen),
      userIds: idsOf.get(r.person)?.user_ids ?? [],
      // A person known only from its events (no identity row) has the one id they carry.
      idsTotal: Number(idsOf.get(r.person)?.ids ?? 1),
      traits: JSON.parse(traitsOf.get(r.person) || '{}') as Record<string, unknown>,
    })),
  };
}

/** The total for a page past the end (a stale link), which has no row to carry it. */
async function totalPast(facts: FactsEngine, query: PersonsListQuery): Promise<number> {
  if (query.offset === 0) return 0;
  const [first] = await facts.query<ActiveRow>(
    ACTIVE_PERSONS,
    activeParams(query, { sort: 'last_seen', limit: 1, offset: 0 }),
  );
  return first ? Number(first.total) : 0;
}
