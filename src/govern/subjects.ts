import { sql } from 'kysely';
import { noteFactsDeleted } from '../analyze/cache.js';
import type { FactsEngine } from '../store/facts/engine.js';
import { rebuildEventRollup } from '../store/facts/rollups.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { type ConsentRecord, consentHistory } from './consent.js';
import { decryptPiiFields, keyedIdHash } from './pii/crypto.js';
import type { PiiKeyring } from './pii/keys.js';
import { governDb } from './tables.js';

/**
 * Data subject requests: everything stored about a person (access, PIPL art. 45 / GDPR art. 15)
 * and erasure everywhere (PIPL art. 47 / GDPR art. 17), with the erased ids kept only as keyed
 * hashes in a suppression list so later events carrying them are not linked back to anyone.
 */

/** The person ids and distinct ids that make up one data subject. */
export interface Subject {
  personIds: string[];
  distinctIds: string[];
}

/**
 * Resolves a person id or distinct id to the subject: every person it belongs to, and every
 * distinct id ever linked to those persons (all identity versions, not only the latest, so that
 * nothing that once pointed at them is missed) or sent on their events, unless another person holds
 * that id now.
 */
export async function resolveSubject(
  facts: FactsEngine,
  projectId: string,
  personOrDistinctId: string,
): Promise<Subject> {
  const params = { projectId, id: personOrDistinctId };
  const persons = await facts.query<{ person_id: string }>(
    `SELECT DISTINCT person_id FROM (
       SELECT person_id FROM identities WHERE project_id = {projectId:String} AND (distinct_id = {id:String} OR person_id = {id:String})
       UNION ALL
       SELECT person_id FROM persons WHERE project_id = {projectId:String} AND person_id = {id:String}
       UNION ALL
       SELECT person_id FROM events WHERE project_id = {projectId:String} AND distinct_id = {id:String} AND person_id != ''
       UNION ALL
       SELECT person_id FROM orders WHERE project_id = {projectId:String} AND distinct_id = {id:String} AND person_id != ''
     ) WHERE person_id != ''`,
    params,
  );
  const personIds = persons.map((p) => p.person_id);
  // An id on the subject's events that belongs to someone else now is theirs, not the subject's: a
  // member who signed in on another member's tablet sent the tablet's id with the sign-in, and
  // erasing the member must not erase (and suppress) the tablet's owner.
  const ids = await facts.query<{ id: string }>(
    `SELECT DISTINCT id FROM (
       SELECT distinct_id AS id FROM identities WHERE project_id = {projectId:String} AND person_id IN {personIds:Array(String)}
       UNION ALL
       SELECT arrayJoin([distinct_id, anonymous_id, user_id]) AS id FROM events
       WHERE project_id = {projectId:String} AND (person_id IN {personIds:Array(String)} OR distinct_id = {id:String})
     )
     WHERE id != '' AND id NOT IN (
       SELECT distinct_id FROM identities FINAL
       WHERE project_id = {projectId:String} AND is_deleted = 0 AND person_id NOT IN {personIds:Array(String)}
     )`,
    { ...params, personIds },
  );
  const distinctIds = new Set(ids.map((r) => r.id));
  // A distinct id with no trace is still a subject: its consent records and suppression apply.
  if (!personIds.includes(personOrDistinctId)) distinctIds.add(personOrDistinctId);
  return { personIds, distinctIds: [...distinctIds] };
}

/**
 * Each facts table that can hold a person's data, with the condition that finds their rows.
 * `{projectId}`, `{personIds}` and `{distinctIds}` are bound parameters; `{anyIds}` is both lists.
 */
export const SUBJECT_TABLES = {
  events: `(person_id IN {personIds:Array(String)} OR distinct_id IN {distinctIds:Array(String)}
     OR anonymous_id IN {distinctIds:Array(String)} OR user_id IN {distinctIds:Array(String)})`,
  identities: '(person_id IN {personIds:Array(String)} OR distinct_id IN {distinctIds:Array(String)})',
  identity_log: `(person_id IN {personIds:Array(String)} OR other_person_id IN {personIds:Array(String)}
     OR distinct_id IN {distinctIds:Array(String)} OR other_distinct_id IN {distinctIds:Array(String)})`,
  persons: 'person_id IN {personIds:Array(String)}',
  orders: '(person_id IN {personIds:Array(String)} OR distinct_id IN {distinctIds:Array(String)})',
  comments: 'author_id IN {distinctIds:Array(String)}',
  // Rejected payloads are raw text: any row that mentions one of the ids.
  quarantine: 'arrayExists(x -> position(raw, x) > 0, {anyIds:Array(String)})',
} as const;
export type SubjectTable = keyof typeof SUBJECT_TABLES;
const TABLES = Object.keys(SUBJECT_TABLES) as SubjectTable[];

function subjectParams(projectId: string, subject: Subject) {
  return {
    projectId,
    personIds: subject.personIds,
    distinctIds: subject.distinctIds,
    // Ids shorter than 4 characters would match unrelated raw text; they cannot identify anyone there.
    anyIds: [...subject.personIds, ...subject.distinctIds].filter((id) => id.length >= 4),
  };
}

export interface PersonExport {
  projectId: string;
  exportedAt: string;
  subject: Subject;
  facts: Record<SubjectTable, Array<Record<string, unknown>>>;
  consent: ConsentRecord[];
}

/** Everything stored about a person, as JSON; encrypted PII is decrypted when a key ring is given. */
export async function exportPerson(
  facts: FactsEngine,
  metadata: MetadataStore,
  projectId: string,
  personOrDistinctId: string,
  ring?: PiiKeyring,
): Promise<PersonExport> {
  const subject = await resolveSubject(facts, projectId, personOrDistinctId);
  const params = subjectParams(projectId, subject);
  const tables = {} as PersonExport['facts'];
  for (const table of TABLES) {
    // `table` comes from SUBJECT_TABLES' keys, never from the request.
    const rows = await facts.query(
      `SELECT * FROM ${table} WHERE project_id = {projectId:String} AND ${SUBJECT_TABLES[table]}`,
      params,
    );
    tables[table] = ring ? rows.map((r) => decryptRow(ring, r)) : rows;
  }
  const consent = await consentHistory(metadata, projectId, [...subject.distinctIds, ...subject.personIds]);
  return { projectId, exportedAt: new Date().toISOString(), subject, facts: tables, consent };
}

function decryptRow(ring: PiiKeyring, row: Record<string, unknown>): Record<string, unknown> {
  const out = decryptPiiFields(ring, row);
  for (const column of ['traits', 'properties']) {
    const text = out[column];
    if (typeof text === 'string' && text.startsWith('{')) {
      try {
        out[column] = JSON.stringify(decryptPiiFields(ring, JSON.parse(text) as Record<string, unknown>));
      } catch {
        // Not JSON after all: leave the text as stored.
      }
    }
  }
  return out;
}

export interface ErasureReport {
  projectId: string;
  erasedAt: string;
  /** Keyed hashes of the erased ids: what the suppression list now holds. */
  suppressedIdHashes: string[];
  personCount: number;
  distinctIdCount: number;
  /** Rows removed per facts table and per metadata table. */
  removed: Record<SubjectTable | 'consent_records', number>;
}

/**
 * Erases a person everywhere: every facts table (synchronous mutations with bound parameters),
 * their consent records, and adds their ids' keyed hashes to the suppression list.
 */
export async function erasePerson(
  facts: FactsEngine,
  metadata: MetadataStore,
  ring: PiiKeyring,
  projectId: string,
  personOrDistinctId: string,
  suppression?: SuppressionList,
  /** Waits until every acknowledged event is in the facts store (the server's batch writer). */
  drainIngestion: () => Promise<void> = async () => {},
  /** Told the erased ids and persons once their rows are deleted (the server's identity graph). */
  forgetIdentity: (subject: Subject) => void = () => {},
): Promise<ErasureReport> {
  // Acknowledged events still on their way must be stored before the ids are looked up and deleted,
  // or they would land after the deletion; the ids are suppressed first so no new event follows them.
  await drainIngestion();
  const subject = await resolveSubject(facts, projectId, personOrDistinctId);
  const { consentRecords, erasedAt, hashes } = await eraseSubjectMetadata(
    metadata,
    ring,
    projectId,
    [...subject.distinctIds, ...subject.personIds],
    suppression,
  );
  await drainIngestion();
  const params = subjectParams(projectId, subject);
  const removed = {} as ErasureReport['removed'];
  for (const table of TABLES) {
    const where = `project_id = {projectId:String} AND ${SUBJECT_TABLES[table]}`;
    const [count] = await facts.query<{ n: number }>(
      `SELECT count() AS n FROM ${table} WHERE ${where}`,
      params,
    );
    removed[table] = Number(count?.n ?? 0);
    if (removed[table] > 0) {
      await facts.command(`ALTER TABLE ${table} DELETE WHERE ${where} SETTINGS mutations_sync = 2`, params);
      // Cached results (the persons list names people) must not outlive the rows, not even while
      // the other tables are done.
      noteFactsDeleted(facts, projectId);
    }
  }
  forgetIdentity(subject);
  // The hourly rollup holds no ids, but its counts included the erased events.
  if (removed.events > 0) await rebuildEventRollup(facts, projectId);
  // Results cached meanwhile may have read the rollup half rebuilt, or the identity graph before.
  noteFactsDeleted(facts, projectId);
  removed.consent_records = consentRecords;
  return {
    projectId,
    erasedAt,
    suppressedIdHashes: hashes,
    personCount: subject.personIds.length,
    distinctIdCount: subject.distinctIds.length,
    removed,
  };
}

/**
 * The metadata half of an erasure: deletes the ids' consent records and adds their keyed hashes to
 * the suppression list. Returns the consent rows removed and the hashes.
 */
export async function eraseSubjectMetadata(
  metadata: MetadataStore,
  ring: PiiKeyring,
  projectId: string,
  ids: string[],
  suppression?: SuppressionList,
): Promise<{ consentRecords: number; erasedAt: string; hashes: string[] }> {
  const db = governDb(metadata);
  // SQLite keeps deleted rows in free pages and the WAL: overwrite them, then fold the WAL in.
  if (metadata.dialect === 'sqlite') await sql`PRAGMA secure_delete = ON`.execute(metadata.db);
  let consentRecords = 0;
  if (ids.length > 0) {
    const consent = await db
      .deleteFrom('consent_records')
      .where('project_id', '=', projectId)
      .where('subject_id', 'in', ids)
      .executeTakeFirst();
    consentRecords = Number(consent.numDeletedRows);
  }
  const erasedAt = new Date().toISOString();
  const hashes = [...new Set(ids.map((id) => keyedIdHash(ring, projectId, id)))];
  for (const idHash of hashes) {
    const known = await db
      .selectFrom('suppressed_ids')
      .select('id_hash')
      .where('project_id', '=', projectId)
      .where('id_hash', '=', idHash)
      .executeTakeFirst();
    if (!known) {
      await db
        .insertInto('suppressed_ids')
        .values({ project_id: projectId, id_hash: idHash, erased_at: erasedAt })
        .execute();
    }
  }
  suppression?.note(projectId, hashes);
  if (metadata.dialect === 'sqlite') await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(metadata.db);
  return { consentRecords, erasedAt, hashes };
}

/**
 * Erased ids that ingestion must not link again. `isSuppressed` is synchronous (a keyed hash and a
 * Set lookup) so it can run for every event; `refresh()` loads what other processes added.
 */
export interface SuppressionList {
  isSuppressed(projectId: string, distinctId: string): boolean;
  note(projectId: string, idHashes: string[]): void;
  refresh(): Promise<void>;
}

export async function createSuppressionList(
  metadata: MetadataStore,
  ring: PiiKeyring,
  maxCachedAnswers = 200_000,
): Promise<SuppressionList> {
  const suppressed = new Set<string>();
  const projectsWithErasures = new Set<string>();
  // An HMAC costs microseconds; distinct ids repeat across events, so answers are remembered.
  const answers = new Map<string, boolean>();
  const add = (projectId: string, idHash: string) => {
    suppressed.add(`${projectId}\u0000${idHash}`);
    projectsWithErasures.add(projectId);
  };
  const list: SuppressionList = {
    isSuppressed(projectId, distinctId) {
      if (!projectsWithErasures.has(projectId)) return false;
      const key = `${projectId}\u0000${distinctId}`;
      let answer = answers.get(key);
      if (answer === undefined) {
        answer = suppressed.has(`${projectId}\u0000${keyedIdHash(ring, projectId, distinctId)}`);
        if (answers.size >= maxCachedAnswers) answers.clear();
        answers.set(key, answer);
      }
      return answer;
    },
    note(projectId, idHashes) {
      for (const h of idHashes) add(projectId, h);
      answers.clear();
    },
    async refresh() {
      const rows = await governDb(metadata)
        .selectFrom('suppressed_ids')
        .select(['project_id', 'id_hash'])
        .execute();
      for (const r of rows) add(r.project_id, r.id_hash);
      answers.clear();
    },
  };
  await list.refresh();
  return list;
}

/** The latest stored traits of the person a person id or distinct id belongs to (undefined if none). */
export async function storedTraits(
  facts: FactsEngine,
  projectId: string,
  personOrDistinctId: string,
): Promise<{ personId: string; traits: Record<string, unknown> } | undefined> {
  const subject = await resolveSubject(facts, projectId, personOrDistinctId);
  if (subject.personIds.length === 0) return undefined;
  const [row] = await facts.query<{ person_id: string; traits: string }>(
    `SELECT person_id, argMax(traits, version) AS traits FROM persons
     WHERE project_id = {projectId:String} AND person_id IN {personIds:Array(String)}
     GROUP BY person_id HAVING argMax(is_deleted, version) = 0 ORDER BY person_id LIMIT 1`,
    { projectId, personIds: subject.personIds },
  );
  if (!row) return undefined;
  return { personId: row.person_id, traits: JSON.parse(row.traits || '{}') as Record<string, unknown> };
}
