import { createHash, randomUUID } from 'node:crypto';
import type { FactsEngine } from '../store/facts/engine.js';
import { PERSON_PAGE_ROWS, readInKeyPages } from '../store/facts/key-pages.js';
import type { IdentityLogRow, IdentityRow, PersonRow } from '../store/facts/rows.js';

/**
 * The identity graph: every distinct id (anonymous id, user id, platform open id, unionid, phone or
 * e-mail hash) points to one person.
 *
 * Rules (the same as product-analytics users expect):
 * - ids seen together in one message belong to one person;
 * - a person known only by anonymous or platform ids is merged into the person of a user id it meets;
 * - two persons that each carry a different user id are never merged: the attempt is recorded in
 *   `identity_log` as a conflict and both stay as they are;
 * - `alias(previousId → userId)` merges like identify, and additionally lets a user id be renamed
 *   when the previous id is that person's only user id.
 * Every change is returned as rows for the facts store, which the caller writes to the log with the
 * event that caused it; the latest `version` of an identity row wins.
 */

export type IdType = 'anonymous' | 'user' | 'openid' | 'unionid' | 'phone_hash' | 'email_hash' | 'platform';

export interface DistinctId {
  id: string;
  type: IdType;
}

export interface IdentityInput {
  projectId: string;
  messageId: string;
  at: number;
  userId?: string;
  anonymousId?: string;
  /** Other ids this message vouches for (platform ids, hashed phone/e-mail). */
  linkedIds?: DistinctId[];
  /** alias: the id being merged into userId. */
  previousId?: string;
  /** identify: traits to set (latest value wins). */
  traits?: Record<string, unknown>;
}

export interface IdentityChanges {
  personId: string;
  identities: IdentityRow[];
  log: IdentityLogRow[];
  persons: PersonRow[];
}

// The graph stays in memory for every person of every project (idle RSS with the demo world is
// measured against 0.5 GB), so a person is kept small: its few ids with their types in one exact-size
// array, and its user ids (nearly always none or one) in an array replaced, not grown, when one is
// added; both are made with concat, which allocates the exact length where a spread over-allocates.
// (A Map per person and spread-built arrays: live heap with the demo world 84.9 MiB; now 74.9.)
interface Person {
  id: string;
  /** User ids among `distinctIds`, oldest first. */
  userIds: readonly string[];
  /**
   * Every distinct id of the person with its type: `[id, type, id, type, …]` while there are few,
   * a Map once there are more than ID_LIST_MAX (a shared device or a bot can collect thousands).
   */
  distinctIds: readonly string[] | Map<string, IdType>;
  traits: Record<string, unknown>;
  createdAt: number;
}

const ID_LIST_MAX = 16;
/** The ids of a person that has none yet: lists are replaced, never changed in place. */
const NO_IDS: readonly string[] = Object.freeze([]);

interface ProjectGraph {
  personOf: Map<string, Person>;
  persons: Map<string, Person>;
}

/** Adds a distinct id to a person's own lists, or gives a listed one its new type (the graph's `personOf` is the caller's). */
function addId(person: Person, id: string, type: IdType): void {
  const ids = person.distinctIds;
  if (ids instanceof Map) {
    ids.set(id, type);
  } else {
    const listed = pairIndexOf(ids, id);
    if (listed >= 0) person.distinctIds = ids.with(listed + 1, type);
    // concat allocates the exact length (a spread grows its array by steps of 16).
    else if (ids.length < ID_LIST_MAX * 2) person.distinctIds = ids.concat(id, type);
    else person.distinctIds = new Map([...idEntries(ids), [id, type]]);
  }
  if (type === 'user' && !person.userIds.includes(id)) person.userIds = person.userIds.concat(id);
}

/** Takes a distinct id off a person's own lists. */
function removeId(person: Person, id: string): void {
  const ids = person.distinctIds;
  if (ids instanceof Map) ids.delete(id);
  else {
    const listed = pairIndexOf(ids, id);
    if (listed >= 0) person.distinctIds = ids.filter((_, i) => i !== listed && i !== listed + 1);
  }
  if (person.userIds.includes(id)) person.userIds = person.userIds.filter((u) => u !== id);
}

/** The position of `id` among the ids (even positions) of a list, or -1. */
function pairIndexOf(ids: readonly string[], id: string): number {
  for (let i = 0; i < ids.length; i += 2) if (ids[i] === id) return i;
  return -1;
}

/** A person's ids with their types. */
function idEntries(ids: Person['distinctIds']): Array<[string, IdType]> {
  if (ids instanceof Map) return [...ids];
  const entries: Array<[string, IdType]> = [];
  for (let i = 0; i < ids.length; i += 2) entries.push([ids[i]!, ids[i + 1] as IdType]);
  return entries;
}

/**
 * A merge a person asks for (two known users the resolver kept apart, known to be one): every id of
 * `fromPersonId` moves to `intoPersonId`, whose traits win where both have one.
 */
export interface ManualMergeInput {
  projectId: string;
  intoPersonId: string;
  fromPersonId: string;
  /** The ids the request named the two by, for the log. */
  intoId: string;
  fromId: string;
  /** UTC ms of the request. */
  at: number;
  /** Stands in the log row's message_id: the request's reference (`manual-merge:<uuid>`). */
  messageId: string;
}

export interface IdentityResolver {
  resolve(input: IdentityInput): IdentityChanges;
  /** Merges two current persons by request (throws when they are not two current persons). */
  mergePersons(input: ManualMergeInput): IdentityChanges;
  /** Looks up a distinct id without changing anything. */
  personOf(projectId: string, distinctId: string): string | undefined;
  /** The person `id` belongs to now, as a distinct id or as a current person id. */
  currentPerson(projectId: string, id: string): string | undefined;
  /**
   * Drops erased ids and persons from the graph (their rows were deleted from the store): nothing
   * may link to them again, and a merge by hand must not write them back.
   */
  forget(projectId: string, subject: { distinctIds: readonly string[]; personIds: readonly string[] }): void;
  traitsOf(projectId: string, personId: string): Record<string, unknown> | undefined;
  stats(): { projects: number; distinctIds: number; persons: number };
  /** Loads a stored identity (start-up). */
  restoreIdentity(
    projectId: string,
    distinctId: string,
    idType: IdType,
    personId: string,
    version: number,
  ): void;
  /** Loads a stored person's traits (start-up). */
  restorePerson(
    projectId: string,
    personId: string,
    traits: Record<string, unknown>,
    createdAt: number,
  ): void;
}

/** Hashes a phone number or e-mail so it can join identities without being stored in plain text. */
export function hashContact(kind: 'phone' | 'email', value: string): string {
  const normalised = kind === 'email' ? value.trim().toLowerCase() : value.replace(/[^\d+]/g, '');
  return createHash('sha256').update(`${kind}:${normalised}`).digest('hex').slice(0, 40);
}

export function createIdentityResolver(newPersonId: () => string = randomUUID): IdentityResolver {
  const graphs = new Map<string, ProjectGraph>();
  let lastVersion = 0;
  const nextVersion = (at: number) => {
    lastVersion = Math.max(lastVersion + 1, at * 1000);
    return lastVersion;
  };

  function graphOf(projectId: string): ProjectGraph {
    let graph = graphs.get(projectId);
    if (!graph) {
      graph = { personOf: new Map(), persons: new Map() };
      graphs.set(projectId, graph);
    }
    return graph;
  }

  return {
    personOf: (projectId, distinctId) => graphs.get(projectId)?.personOf.get(distinctId)?.id,
    traitsOf: (projectId, personId) => graphs.get(projectId)?.persons.get(personId)?.traits,
    stats() {
      let distinctIds = 0;
      let persons = 0;
      for (const g of graphs.values()) {
        distinctIds += g.personOf.size;
        persons += g.persons.size;
      }
      return { projects: graphs.size, distinctIds, persons };
    },
    restoreIdentity(projectId, distinctId, idType, personId, version) {
      const graph = graphOf(projectId);
      const person = restoredPerson(graph, personId, 0);
      graph.personOf.set(distinctId, person);
      addId(person, distinctId, idType);
      lastVersion = Math.max(lastVersion, version);
    },
    restorePerson(projectId, personId, traits, createdAt) {
      const person = restoredPerson(graphOf(projectId), personId, createdAt);
      person.traits = traits;
      person.createdAt = createdAt;
    },

    currentPerson(projectId, id) {
      const graph = graphs.get(projectId);
      return (graph?.personOf.get(id) ?? graph?.persons.get(id))?.id;
    },

    forget(projectId, subject) {
      const graph = graphs.get(projectId);
      if (!graph) return;
      for (const id of subject.distinctIds) {
        const person = graph.personOf.get(id);
        if (!person) continue;
        graph.personOf.delete(id);
        removeId(person, id);
      }
      for (const personId of subject.personIds) graph.persons.delete(personId);
    },

    mergePersons(input: ManualMergeInput): IdentityChanges {
      const graph = graphOf(input.projectId);
      const into = graph.persons.get(input.intoPersonId);
      const from = graph.persons.get(input.fromPersonId);
      if (!into || !from || into === from) {
        throw new Error(
          `mergePersons needs two different current persons (${input.intoPersonId}, ${input.fromPersonId})`,
        );
      }
      const edit = graphEdit(graph, input, nextVersion, newPersonId);
      edit.merge(into, from, input.intoId, input.fromId, MANUAL_MERGE_REASON);
      return edit.finish(into.id);
    },

    resolve(input: IdentityInput): IdentityChanges {
      const graph = graphOf(input.projectId);
      const returning = knownSender(graph, input);
      if (returning) return { personId: returning.id, identities: NONE, log: NONE, persons: NONE };
      const edit = graphEdit(graph, input, nextVersion, newPersonId);
      const { link, createPerson, record, merge } = edit;

      // The anchor is the person of the user id when there is one, else of the first known id.
      const ids: DistinctId[] = [];
      if (input.userId) ids.push({ id: input.userId, type: 'user' });
      if (input.anonymousId && input.anonymousId !== input.userId)
        ids.push({ id: input.anonymousId, type: 'anonymous' });
      for (const linked of input.linkedIds ?? []) ids.push(linked);

      // An alias to a brand-new user id renames: the previous id's person is the anchor.
      const known =
        ids.find((d) => graph.personOf.has(d.id)) ??
        (input.previousId && graph.personOf.has(input.previousId) ? { id: input.previousId } : undefined);
      let anchor: Person = (known && graph.personOf.get(known.id)) || createPerson();
      let anchorId = known?.id ?? ids[0]?.id ?? '';
      let anchorType: IdType | undefined = known && 'type' in known ? known.type : ids[0]?.type;

      // The sender's own person, when the anchor turns out to be another known user: ids nobody has
      // seen yet then go there (first seen with the sender, they are the sender's), else to the anchor.
      let own: Person | undefined;
      for (const d of ids) {
        const current = graph.personOf.get(d.id);
        if (current === anchor) continue;
        if (!current) {
          const renaming = input.previousId !== undefined && anchor.userIds.includes(input.previousId);
          if (d.type === 'user' && anchor.userIds.length > 0 && !anchor.userIds.includes(d.id) && !renaming) {
            // The anchor is another known user (e.g. a shared device): this user gets a person of their own.
            own = createPerson();
            link(own, d);
            record('conflict', own, anchor, d.id, anchorId, sharedIdReason(anchorType));
            continue;
          }
          link(own ?? anchor, d);
          continue;
        }
        if (current === own) continue;
        const bothKnown =
          current.userIds.length > 0 &&
          anchor.userIds.length > 0 &&
          !current.userIds.some((u) => anchor.userIds.includes(u));
        if (bothKnown) {
          record('conflict', anchor, current, anchorId, d.id, 'two different known users');
        } else if (current.userIds.length > 0 && anchor.userIds.length === 0) {
          // Keep the known user's person; fold the anonymous anchor into it.
          merge(current, anchor, d.id, anchorId, 'identified');
          anchor = current;
          anchorId = d.id;
          anchorType = d.type;
        } else {
          merge(anchor, current, anchorId, d.id, 'identified');
        }
      }

      // alias(previousId → userId): the previous id is the user's, whichever person the message's
      // other ids led to (after the loop the user id has its person: the anchor, or its own when the
      // anchor is another known user).
      const userPerson = input.userId ? graph.personOf.get(input.userId) : undefined;
      if (input.previousId && input.userId && userPerson && input.previousId !== input.userId) {
        const previous = graph.personOf.get(input.previousId);
        if (!previous) {
          link(userPerson, { id: input.previousId, type: 'anonymous' });
        } else if (previous !== userPerson) {
          const renamesOnlyUser = previous.userIds.length === 1 && previous.userIds[0] === input.previousId;
          const foreignUser = userPerson.userIds.some((u) => u !== input.userId);
          if ((previous.userIds.length === 0 || renamesOnlyUser) && !foreignUser) {
            merge(userPerson, previous, input.userId, input.previousId, 'alias');
          } else {
            record(
              'conflict',
              userPerson,
              previous,
              input.userId,
              input.previousId,
              'alias joins two different known users',
            );
          }
        }
      }

      // The call belongs to its sender: the user id's person when a user id was given (on a shared
      // device that is not the anchor, whose known user is someone else), and so do its traits.
      const sender = (input.userId ? graph.personOf.get(input.userId) : undefined) ?? anchor;
      if (input.traits && Object.keys(input.traits).length > 0) {
        sender.traits = { ...sender.traits, ...input.traits };
        edit.touch(sender);
      }
      return edit.finish(sender.id);
    },
  };
}

/**
 * Why a new user id was kept off another known user's person, by the kind of id they shared:
 * a device (anonymous id) suggests a shared device; a phone number or e-mail, a family's or a
 * team's contact; an openid/unionid, a shared platform account (inspect.ts words each).
 */
function sharedIdReason(type: IdType | undefined): string {
  if (type === 'phone_hash' || type === 'email_hash')
    return 'contact already belongs to a different known user';
  if (type === 'openid' || type === 'unionid' || type === 'platform')
    return 'platform id already belongs to a different known user';
  return 'id already belongs to a different known user';
}

/** The reason a merge asked for by a person is logged with (inspect.ts words it). */
export const MANUAL_MERGE_REASON = 'merged by hand';

/**
 * One change to a project's graph, collecting the rows that record it: ids linked, persons made,
 * merged and logged. `finish` adds the rows of every person it touched.
 */
function graphEdit(
  graph: ProjectGraph,
  input: { projectId: string; messageId: string; at: number },
  nextVersion: (at: number) => number,
  newPersonId: () => string,
) {
  const changes: IdentityChanges = { personId: '', identities: [], log: [], persons: [] };
  const touched = new Set<Person>();

  const link = (person: Person, distinct: DistinctId) => {
    graph.personOf.set(distinct.id, person);
    addId(person, distinct.id, distinct.type);
    changes.identities.push({
      project_id: input.projectId,
      distinct_id: distinct.id,
      id_type: distinct.type,
      person_id: person.id,
      version: nextVersion(input.at),
      is_deleted: 0,
      updated_at: input.at,
    });
    touched.add(person);
  };

  const createPerson = (): Person => {
    const person: Person = {
      id: newPersonId(),
      userIds: NO_IDS,
      distinctIds: NO_IDS,
      traits: {},
      createdAt: input.at,
    };
    graph.persons.set(person.id, person);
    touched.add(person);
    return person;
  };

  const record = (
    kind: 'merge' | 'conflict',
    a: Person,
    b: Person,
    idA: string,
    idB: string,
    reason: string,
  ) =>
    changes.log.push({
      project_id: input.projectId,
      at: input.at,
      kind,
      person_id: a.id,
      other_person_id: b.id,
      distinct_id: idA,
      other_distinct_id: idB,
      reason,
      message_id: input.messageId,
    });

  /** Moves every id of `from` into `into`; `from` is then deleted. */
  const merge = (into: Person, from: Person, idInto: string, idFrom: string, reason: string) => {
    for (const [id, type] of idEntries(from.distinctIds)) link(into, { id, type });
    into.traits = { ...from.traits, ...into.traits };
    into.createdAt = Math.min(into.createdAt, from.createdAt);
    touched.delete(from);
    graph.persons.delete(from.id);
    changes.persons.push(personRow(input.projectId, from, input.at, nextVersion(input.at), 1));
    record('merge', into, from, idInto, idFrom, reason);
  };

  return {
    link,
    createPerson,
    record,
    merge,
    touch: (person: Person) => touched.add(person),
    finish(personId: string): IdentityChanges {
      for (const person of touched) {
        changes.persons.push(personRow(input.projectId, person, input.at, nextVersion(input.at), 0));
      }
      changes.personId = personId;
      return changes;
    },
  };
}

function personRow(
  projectId: string,
  person: Person,
  at: number,
  version: number,
  isDeleted: 0 | 1,
): PersonRow {
  return {
    project_id: projectId,
    person_id: person.id,
    traits: JSON.stringify(person.traits),
    consent: '{}',
    created_at: person.createdAt,
    updated_at: at,
    version,
    is_deleted: isDeleted,
  };
}

const NONE: never[] = [];

/**
 * The common case, answered without allocating: a returning sender whose ids all point to one person
 * already, with nothing new to link or record.
 */
function knownSender(graph: ProjectGraph, input: IdentityInput): Person | undefined {
  if (input.previousId !== undefined || input.traits !== undefined || (input.linkedIds?.length ?? 0) > 0)
    return undefined;
  const byUser = input.userId !== undefined ? graph.personOf.get(input.userId) : undefined;
  const byAnonymous = input.anonymousId !== undefined ? graph.personOf.get(input.anonymousId) : undefined;
  if (input.userId !== undefined && byUser === undefined) return undefined;
  if (
    input.anonymousId !== undefined &&
    input.anonymousId !== input.userId &&
    byAnonymous !== (byUser ?? byAnonymous)
  ) {
    return undefined;
  }
  return byUser ?? byAnonymous;
}

function restoredPerson(graph: ProjectGraph, personId: string, createdAt: number): Person {
  let person = graph.persons.get(personId);
  if (!person) {
    person = { id: personId, userIds: NO_IDS, distinctIds: NO_IDS, traits: {}, createdAt };
    graph.persons.set(personId, person);
  }
  return person;
}

interface StoredIdentity {
  project_id: string;
  distinct_id: string;
  id_type: IdType;
  person_id: string;
  version: number;
  is_deleted: number;
}

interface StoredPerson {
  project_id: string;
  person_id: string;
  traits: string;
  created_ms: number;
  is_deleted: number;
}

/**
 * Rebuilds the in-memory graph from the facts store (after the log has been replayed into it): the
 * latest version of each identity and person (FINAL), read in pages along each table's sort key,
 * since millions of them do not fit one answer. Deleted ones (erasure) are skipped.
 */
export async function loadIdentityGraph(
  resolver: IdentityResolver,
  engine: FactsEngine,
): Promise<{ identities: number; persons: number }> {
  let identities = 0;
  await readInKeyPages<StoredIdentity>(engine, {
    first: `SELECT project_id, distinct_id, id_type, person_id, version, is_deleted FROM identities FINAL
            ORDER BY project_id, distinct_id LIMIT {limit:UInt32}`,
    next: `SELECT project_id, distinct_id, id_type, person_id, version, is_deleted FROM identities FINAL
           WHERE (project_id, distinct_id) > ({p:String}, {d:String})
           ORDER BY project_id, distinct_id LIMIT {limit:UInt32}`,
    cursor: (last) => ({ p: last.project_id, d: last.distinct_id }),
    onPage(rows) {
      for (const row of rows) {
        if (Number(row.is_deleted) !== 0) continue;
        resolver.restoreIdentity(
          row.project_id,
          row.distinct_id,
          row.id_type,
          row.person_id,
          Number(row.version),
        );
        identities += 1;
      }
    },
  });
  let persons = 0;
  await readInKeyPages<StoredPerson>(engine, {
    first: `SELECT project_id, person_id, traits, toUnixTimestamp64Milli(created_at) AS created_ms, is_deleted
            FROM persons FINAL ORDER BY project_id, person_id LIMIT {limit:UInt32}`,
    next: `SELECT project_id, person_id, traits, toUnixTimestamp64Milli(created_at) AS created_ms, is_deleted
           FROM persons FINAL WHERE (project_id, person_id) > ({p:String}, {d:String})
           ORDER BY project_id, person_id LIMIT {limit:UInt32}`,
    pageRows: PERSON_PAGE_ROWS,
    cursor: (last) => ({ p: last.project_id, d: last.person_id }),
    onPage(rows) {
      for (const row of rows) {
        if (Number(row.is_deleted) !== 0) continue;
        resolver.restorePerson(
          row.project_id,
          row.person_id,
          JSON.parse(row.traits) as Record<string, unknown>,
          Number(row.created_ms),
        );
        persons += 1;
      }
    },
  });
  return { identities, persons };
}
