import type { FactsEngine } from '../store/facts/engine.js';
import type { IdentityLogRow } from '../store/facts/rows.js';
import { MANUAL_MERGE_REASON } from './resolver.js';

/**
 * The identity graph as the store holds it, for people to look at: one person's ids and the
 * merges and refused merges that shaped them, and the project's conflicts (two different known
 * users that were kept apart). Read from `identities` and `identity_log`, which the ingestion
 * writes with the events (queryable within the batch writer's lag, ~1 s).
 */

/** Why an `identity_log` row was written, as the resolver words it, with a code and both languages. */
export const IDENTITY_REASONS: Record<string, { code: string; en: string; zh: string }> = {
  identified: {
    code: 'identified',
    en: 'ids seen together in one message',
    zh: '同一条消息中同时出现的标识',
  },
  alias: { code: 'alias', en: 'alias call', zh: 'alias 调用' },
  'two different known users': {
    code: 'two_known_users',
    en: 'the ids belong to two different known users',
    zh: '这些标识属于两个不同的已知用户',
  },
  'id already belongs to a different known user': {
    code: 'user_on_other_known_person',
    en: 'a new user id arrived with ids of another known user (a shared device?)',
    zh: '新的用户 ID 与另一个已知用户的标识一同出现（共用设备？）',
  },
  'contact already belongs to a different known user': {
    code: 'user_with_other_users_contact',
    en: "a new user id arrived with another known user's phone number or e-mail (shared in a family or a team?)",
    zh: '新的用户 ID 与另一个已知用户的手机号或邮箱一同出现（家人或同事共用？）',
  },
  'platform id already belongs to a different known user': {
    code: 'user_with_other_users_platform_id',
    en: "a new user id arrived with another known user's platform account (openid/unionid; a shared account?)",
    zh: '新的用户 ID 与另一个已知用户的平台账号（openid/unionid）一同出现（共用账号？）',
  },
  'alias joins two different known users': {
    code: 'alias_joins_known_users',
    en: 'an alias would join two different known users',
    zh: 'alias 会把两个不同的已知用户合并',
  },
  [MANUAL_MERGE_REASON]: {
    code: 'manual',
    en: 'merged by hand (known to be one person)',
    zh: '手动合并（确认为同一人）',
  },
};

export interface IdentityLogEntry {
  /** UTC milliseconds of the message that caused it. */
  at: number;
  kind: 'merge' | 'conflict';
  /** merge: the person kept; conflict: the person the message was about. */
  personId: string;
  /** merge: the person folded into `personId`; conflict: the other known user's person. */
  otherPersonId: string;
  distinctId: string;
  otherDistinctId: string;
  reasonCode: string;
  reason: string;
  reasonZh: string;
  messageId: string;
  /**
   * A conflict is met again each time the refused ids arrive together (every sign-in of a second
   * member on a shared device): one entry per pair of ids, `at` the latest time, `firstAt` the
   * first, `times` how often. A merge is one entry (`times` 1).
   */
  firstAt: number;
  times: number;
  /** conflict: the two ids belong to one person now (merged by hand since). */
  mergedSince?: boolean;
  /** conflict: someone decided the two are different people (`kept_apart`), and when. */
  decision?: 'kept_apart';
  decidedAt?: number;
}

/** An `identity_log` entry as logEntriesSql reads it (times in milliseconds, numbers as text or number). */
type LogRow = Omit<IdentityLogRow, 'project_id' | 'at'> & {
  at: string | number;
  first_at: string | number;
  times: string | number;
};

/**
 * Rows of the persons `{persons}`, or of every person when `{allPersons}` is 1 (the SQL below is
 * one text for both, with bound parameters only).
 */
const PERSON_FILTER = `({allPersons:UInt8} = 1 OR person_id IN {persons:Array(String)}
  OR other_person_id IN {persons:Array(String)})`;

/** The conflicts of PERSON_FILTER, one row per pair of ids. */
const CONFLICT_PAIRS = `SELECT toUnixTimestamp64Milli(c_last) AS at, 'conflict' AS kind, c_person AS person_id,
    c_other_person AS other_person_id, distinct_id, other_distinct_id, c_reason AS reason,
    c_message AS message_id, toUnixTimestamp64Milli(c_first) AS first_at, c_times AS times
  FROM (
    -- Aliases unlike the columns: an alias named as a column would replace it in WHERE.
    SELECT distinct_id, other_distinct_id, max(at) AS c_last, min(at) AS c_first,
      argMax(person_id, at) AS c_person, argMax(other_person_id, at) AS c_other_person,
      argMax(reason, at) AS c_reason, argMax(message_id, at) AS c_message, count() AS c_times
    FROM identity_log FINAL
    WHERE project_id = {projectId:String} AND kind = 'conflict' AND ${PERSON_FILTER}
    GROUP BY distinct_id, other_distinct_id
  )`;

/** The log entries of PERSON_FILTER, merges as they are and conflicts one per pair of ids, newest first. */
const LOG_ENTRIES = `SELECT * FROM (
    SELECT toUnixTimestamp64Milli(at) AS at, kind, person_id, other_person_id, distinct_id,
      other_distinct_id, reason, message_id, at_ms AS first_at, 1 AS times
    FROM (SELECT *, toUnixTimestamp64Milli(at) AS at_ms FROM identity_log FINAL
          WHERE project_id = {projectId:String} AND kind = 'merge' AND ${PERSON_FILTER})
    UNION ALL
    ${CONFLICT_PAIRS}
  )
  ORDER BY at DESC, kind, distinct_id, other_distinct_id
  LIMIT {limit:UInt32}`;

/** What people decided about a conflict (log rows of these kinds; the latest counts). */
export const CONFLICT_DECISIONS = { keptApart: 'kept_apart', reopened: 'reopened' } as const;

/** The person each distinct id met in a conflict points to now. */
const CONFLICT_ID_PERSONS = `SELECT distinct_id AS id, argMax(person_id, version) AS person
  FROM identities
  WHERE project_id = {projectId:String} AND distinct_id IN (
    SELECT arrayJoin([distinct_id, other_distinct_id]) FROM identity_log
    WHERE project_id = {projectId:String} AND kind = 'conflict')
  GROUP BY distinct_id HAVING argMax(is_deleted, version) = 0`;

/**
 * The latest decision about each decided conflict of a project (d_id, d_other: its two ids).
 * Parameters: projectId, and CONFLICT_DECISIONS (`keptApart`, `reopened`).
 */
const LATEST_DECISIONS = `SELECT distinct_id AS d_id, other_distinct_id AS d_other, argMax(kind, at) AS decision,
    toUnixTimestamp64Milli(max(at)) AS decided_at
  FROM identity_log FINAL
  WHERE project_id = {projectId:String} AND kind IN ({keptApart:String}, {reopened:String})
  GROUP BY distinct_id, other_distinct_id`;

/**
 * The project's conflicts with their state: merged since (both ids belong to one person now), the
 * latest decision about them, and whether they still need someone to look (neither). Parameters:
 * those of LATEST_DECISIONS and of CONFLICT_PAIRS.
 */
const CONFLICTS_WITH_STATE = `
  SELECT c.*, (a.person != '' AND a.person = b.person) AS merged_since, d.decision AS decision,
    d.decided_at AS decided_at, NOT merged_since AND decision != {keptApart:String} AS open
  FROM (${CONFLICT_PAIRS}) AS c
  LEFT JOIN (${LATEST_DECISIONS}) AS d ON d.d_id = c.distinct_id AND d.d_other = c.other_distinct_id
  LEFT JOIN (${CONFLICT_ID_PERSONS}) AS a ON a.id = c.distinct_id
  LEFT JOIN (${CONFLICT_ID_PERSONS}) AS b ON b.id = c.other_distinct_id`;

/** The parameters of CONFLICTS_WITH_STATE for a project. */
const conflictStateParams = (projectId: string) => ({
  projectId,
  allPersons: 1,
  persons: [] as string[],
  ...CONFLICT_DECISIONS,
});

function logEntry(row: LogRow): IdentityLogEntry {
  const reason = IDENTITY_REASONS[row.reason];
  return {
    at: Number(row.at),
    firstAt: Number(row.first_at),
    times: Number(row.times),
    kind: row.kind === 'conflict' ? 'conflict' : 'merge',
    personId: row.person_id,
    otherPersonId: row.other_person_id,
    distinctId: row.distinct_id,
    otherDistinctId: row.other_distinct_id,
    // A reason this version does not know (written by a later one) is shown as it was stored.
    reasonCode: reason?.code ?? 'other',
    reason: reason?.en ?? row.reason,
    reasonZh: reason?.zh ?? row.reason,
    messageId: row.message_id,
  };
}

export interface ConflictPage {
  conflicts: IdentityLogEntry[];
  /** Conflicts in the project (pairs of ids kept apart), all pages together. */
  total: number;
  /** Those of them still open: neither merged since nor decided to be kept apart. */
  open: number;
}

/**
 * The project's conflicts, newest first: `limit` of them met last before `before` (UTC ms), all of
 * them or only those still open (neither merged since nor decided to be kept apart).
 */
export async function identityConflicts(
  facts: FactsEngine,
  projectId: string,
  page: { limit: number; before: number; openOnly?: boolean },
): Promise<ConflictPage> {
  const [rows, counts] = await Promise.all([
    facts.query<ConflictRow>(
      `SELECT * FROM (${CONFLICTS_WITH_STATE})
       WHERE at < {before:Int64} AND ({all:UInt8} = 1 OR open)
       ORDER BY at DESC, distinct_id, other_distinct_id
       LIMIT {limit:UInt32}`,
      {
        ...conflictStateParams(projectId),
        before: page.before,
        limit: page.limit,
        all: page.openOnly ? 0 : 1,
      },
    ),
    facts.query<{ total: string; open: string }>(
      `SELECT count() AS total, countIf(open) AS open FROM (${CONFLICTS_WITH_STATE})`,
      conflictStateParams(projectId),
    ),
  ]);
  const conflicts = rows.map((row) => {
    const entry = logEntry(row);
    entry.mergedSince = Number(row.merged_since) === 1;
    noteDecision(entry, row);
    return entry;
  });
  return { conflicts, total: Number(counts[0]?.total ?? 0), open: Number(counts[0]?.open ?? 0) };
}

/** Conflicts of every project together, and those of them still open (for `pulseloop status`). */
export async function conflictCounts(facts: FactsEngine): Promise<{ total: number; open: number }> {
  const projects = await facts.query<{ project_id: string }>(
    "SELECT DISTINCT project_id FROM identity_log WHERE kind = 'conflict'",
  );
  const counts = { total: 0, open: 0 };
  for (const { project_id } of projects) {
    const [row] = await facts.query<{ total: string; open: string }>(
      `SELECT count() AS total, countIf(open) AS open FROM (${CONFLICTS_WITH_STATE})`,
      conflictStateParams(project_id),
    );
    counts.total += Number(row?.total ?? 0);
    counts.open += Number(row?.open ?? 0);
  }
  return counts;
}

/** The persons of the latest log row of a conflict between two ids (as the list names them). */
export async function latestConflict(
  facts: FactsEngine,
  projectId: string,
  distinctId: string,
  otherDistinctId: string,
): Promise<{ personId: string; otherPersonId: string } | undefined> {
  const [row] = await facts.query<{ person_id: string; other_person_id: string }>(
    `SELECT person_id, other_person_id FROM identity_log
     WHERE project_id = {projectId:String} AND kind = 'conflict'
       AND distinct_id = {distinctId:String} AND other_distinct_id = {otherDistinctId:String}
     ORDER BY at DESC LIMIT 1`,
    { projectId, distinctId, otherDistinctId },
  );
  return row && { personId: row.person_id, otherPersonId: row.other_person_id };
}

/** A decision as LATEST_DECISIONS reads it ('' when there is none). */
interface DecisionRow {
  decision: string;
  decided_at: number | string;
}

type ConflictRow = LogRow & DecisionRow & { merged_since: number | string };

/** Marks a conflict kept apart when that is its latest decision (a reopened one is open again). */
function noteDecision(entry: IdentityLogEntry, row: DecisionRow | undefined): void {
  if (row?.decision !== CONFLICT_DECISIONS.keptApart) return;
  entry.decision = 'kept_apart';
  entry.decidedAt = Number(row.decided_at);
}

export interface PersonIdentity {
  personId: string;
  /** The id asked about, when it was not the person id itself. */
  askedFor: string;
  /** Set when the id asked about was a person id since merged into `personId`. */
  mergedFrom?: string;
  /** Set when the id asked about was found under another spelling: the stored id it matched. */
  matched?: string;
  /** The person's distinct ids now, with their types and when each was first linked (UTC ms). */
  ids: { id: string; type: string; linkedAt: number }[];
  /** All the person's ids; `ids` holds the IDS_LIMIT oldest when there are more (a bot, a kiosk). */
  idsTotal: number;
  /** Merges into this person (also into the persons it absorbed) and conflicts it was part of, newest first. */
  history: IdentityLogEntry[];
  /** Conflicts among `history`. */
  conflicts: number;
}

/** Persons merged into another one are followed this many steps at most (a chain, not a cycle). */
const MAX_MERGE_STEPS = 20;
/** History entries returned at most (a bot's person can collect thousands). */
export const HISTORY_LIMIT = 500;
/** Ids returned at most; one person can collect thousands (a shared device, a bot). */
export const IDS_LIMIT = 1_000;

/**
 * A person's identity: `id` is a distinct id (anonymous id, user id, platform id, contact hash) or a
 * person id, also one merged away since (answered with the person it went into). Undefined when the
 * project has no such id.
 */
export async function personIdentity(
  facts: FactsEngine,
  projectId: string,
  id: string,
  /** Other spellings of `id` tried when it is not an id itself (lookupSpellings). */
  spellings: readonly string[] = [],
): Promise<PersonIdentity | undefined> {
  const found = await findPerson(facts, projectId, id, spellings);
  if (!found) return undefined;
  const { personId, mergedFrom, matched } = found;
  const { ids, total: idsTotal } = found.ids ?? (await idsOfPerson(facts, projectId, personId));
  const history = await historyOf(facts, projectId, personId);
  return {
    personId,
    askedFor: id,
    ...(mergedFrom ? { mergedFrom } : {}),
    ...(matched ? { matched } : {}),
    ids,
    idsTotal,
    history,
    conflicts: history.filter((h) => h.kind === 'conflict').length,
  };
}

/**
 * The stored spellings of what people type into a lookup: a unionid as `unionid:…`, a phone number
 * or e-mail as its join ids (`phone:<sha-256>`, and the keyed `phone_k:…` that governance stores
 * instead; `contactIds` gives both). An openid is matched by its ending (`openid:<platform>:…`).
 */
export function lookupSpellings(
  asked: string,
  contactIds: (kind: 'phone' | 'email', value: string) => string[],
): string[] {
  const value = asked.trim();
  const spellings = [`unionid:${value}`];
  if (/^\+?[\d\s-]{6,24}$/.test(value)) spellings.push(...contactIds('phone', value));
  if (/^[^@\s]+@[^@\s]+$/.test(value)) spellings.push(...contactIds('email', value));
  return spellings;
}

/**
 * The person of `id`, else of the first of its spellings or an openid ending in it: its person id now,
 * and `matched`, the stored id found under another spelling.
 */
export async function findPerson(
  facts: FactsEngine,
  projectId: string,
  id: string,
  spellings: readonly string[],
): Promise<(FoundPerson & { matched?: string }) | undefined> {
  const direct = await currentPersonOf(facts, projectId, id);
  if (direct) return direct;
  const [other] = await facts.query<{ distinct_id: string }>(
    `SELECT distinct_id FROM identities
     WHERE project_id = {projectId:String}
       AND (distinct_id IN {spellings:Array(String)}
            OR (startsWith(distinct_id, 'openid:') AND endsWith(distinct_id, concat(':', {id:String}))))
     ORDER BY indexOf({spellings:Array(String)}, distinct_id) = 0, distinct_id
     LIMIT 1`,
    { projectId, spellings, id },
  );
  if (!other) return undefined;
  const found = await currentPersonOf(facts, projectId, other.distinct_id);
  return found && { ...found, matched: other.distinct_id };
}

/**
 * Every distinct id of the person `id` belongs to now (`id` a distinct id or a person id), for
 * finding all its events: those sent before a merge carry the person id of their time, so events
 * are found by sender, as analyses map them. Empty when no person has the id.
 */
export async function currentIdsOf(facts: FactsEngine, projectId: string, id: string): Promise<string[]> {
  const found = await currentPersonOf(facts, projectId, id);
  if (!found) return [];
  return (found.ids ?? (await idsOfPerson(facts, projectId, found.personId))).ids.map((i) => i.id);
}

/**
 * A person's distinct ids now, with their types and when each was first linked: the IDS_LIMIT oldest,
 * and how many there are in all.
 */
async function idsOfPerson(
  facts: FactsEngine,
  projectId: string,
  personId: string,
): Promise<{ ids: PersonIdentity['ids']; total: number }> {
  const rows = await facts.query<{ id: string; type: string; linked_at: string | number; total: string }>(
    `SELECT distinct_id AS id, argMax(id_type, version) AS type,
            toUnixTimestamp64Milli(min(updated_at)) AS linked_at, count() OVER () AS total
     FROM identities
     WHERE project_id = {projectId:String}
       AND distinct_id IN (SELECT distinct_id FROM identities
                           WHERE project_id = {projectId:String} AND person_id = {personId:String})
     GROUP BY distinct_id
     HAVING argMax(person_id, version) = {personId:String} AND argMax(is_deleted, version) = 0
     ORDER BY linked_at, id
     LIMIT {limit:UInt32}`,
    { projectId, personId, limit: IDS_LIMIT },
  );
  return {
    ids: rows.map((r) => ({ id: r.id, type: r.type, linkedAt: Number(r.linked_at) })),
    total: Number(rows[0]?.total ?? 0),
  };
}

/** A person found by an id; `ids` when finding it read them already (found by a person id). */
interface FoundPerson {
  personId: string;
  mergedFrom?: string;
  ids?: Awaited<ReturnType<typeof idsOfPerson>>;
}

/** The person `id` points to now: as a distinct id, else as a person id, following merges. */
async function currentPersonOf(
  facts: FactsEngine,
  projectId: string,
  id: string,
): Promise<FoundPerson | undefined> {
  const [asDistinct] = await facts.query<{ person_id: string; deleted: number }>(
    `SELECT argMax(person_id, version) AS person_id, argMax(is_deleted, version) AS deleted
     FROM identities WHERE project_id = {projectId:String} AND distinct_id = {id:String}
     GROUP BY distinct_id`,
    { projectId, id },
  );
  if (asDistinct) return Number(asDistinct.deleted) === 0 ? { personId: asDistinct.person_id } : undefined;

  let personId = id;
  for (let step = 0; step < MAX_MERGE_STEPS; step++) {
    const ids = await idsOfPerson(facts, projectId, personId);
    if (ids.total > 0) return personId === id ? { personId, ids } : { personId, mergedFrom: id, ids };
    const [into] = await facts.query<{ person_id: string }>(
      `SELECT person_id FROM identity_log
       WHERE project_id = {projectId:String} AND kind = 'merge' AND other_person_id = {personId:String}
       ORDER BY at DESC LIMIT 1`,
      { projectId, personId },
    );
    if (!into || into.person_id === personId) return undefined;
    personId = into.person_id;
  }
  return undefined;
}

/**
 * The log rows of a person and of every person merged into it (found by following merges back),
 * newest first.
 */
async function historyOf(
  facts: FactsEngine,
  projectId: string,
  personId: string,
): Promise<IdentityLogEntry[]> {
  const persons = new Set([personId]);
  let frontier = [personId];
  for (let step = 0; step < MAX_MERGE_STEPS && frontier.length > 0; step++) {
    const absorbed = await facts.query<{ other_person_id: string }>(
      `SELECT DISTINCT other_person_id FROM identity_log
       WHERE project_id = {projectId:String} AND kind = 'merge' AND person_id IN {frontier:Array(String)}`,
      { projectId, frontier },
    );
    frontier = absorbed.map((r) => r.other_person_id).filter((p) => !persons.has(p));
    for (const p of frontier) persons.add(p);
  }
  const rows = await facts.query<LogRow>(LOG_ENTRIES, {
    projectId,
    allPersons: 0,
    persons: [...persons],
    limit: HISTORY_LIMIT,
  });
  const entries = rows.map(logEntry);
  const conflictIds = entries.filter((e) => e.kind === 'conflict').map((e) => e.distinctId);
  const decisions =
    conflictIds.length === 0
      ? []
      : await facts.query<DecisionRow & { d_id: string; d_other: string }>(
          `SELECT * FROM (${LATEST_DECISIONS}) WHERE d_id IN {ids:Array(String)}`,
          { projectId, ids: [...new Set(conflictIds)], ...CONFLICT_DECISIONS },
        );
  const pair = (a: string, b: string) => `${a}\n${b}`;
  const decided = new Map(decisions.map((d) => [pair(d.d_id, d.d_other), d]));
  for (const entry of entries) {
    if (entry.kind !== 'conflict') continue;
    // Both sides of a conflict among this person's own: merged by hand since.
    entry.mergedSince = persons.has(entry.personId) && persons.has(entry.otherPersonId);
    noteDecision(entry, decided.get(pair(entry.distinctId, entry.otherDistinctId)));
  }
  return entries;
}
