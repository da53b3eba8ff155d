import { type FactsEngine, MAX_BOUND_IDS } from '../../store/facts/engine.js';
import { PERSON_PAGE_ROWS, readInKeyPages } from '../../store/facts/key-pages.js';
import { decryptField, keyedContactId } from './crypto.js';
import type { PiiKeyring } from './keys.js';

/**
 * Moving identities from the unkeyed contact hash (`phone:`/`email:`, identity/resolver.ts
 * hashContact) to the keyed one (`phone_k:`/`email_k:`): for every person whose stored traits hold
 * a phone or e-mail, link the keyed id to that same person. Run once before ingestion starts
 * emitting keyed ids, so a keyed id arriving later finds the person it always belonged to.
 */

const CONTACT_TRAITS = [
  ['phone', 'phone'],
  ['mobile', 'phone'],
  ['email', 'email'],
] as const;

export interface ContactBackfillReport {
  persons: number;
  /** Keyed ids newly linked. */
  linked: number;
  /** Keyed ids already linked to the same person (a re-run). */
  alreadyLinked: number;
  /** Keyed ids already linked to another person: left alone, to be merged or resolved by a person. */
  conflicts: number;
}

interface StoredPerson {
  person_id: string;
  traits: string;
  is_deleted: number;
}

/**
 * Reads the project's persons page by page along the persons sort key (a project of millions did not
 * fit one answer), and links each page's keyed ids before reading the next.
 */
export async function backfillKeyedContactIds(
  facts: FactsEngine,
  ring: PiiKeyring,
  projectId: string,
  options: { now?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<ContactBackfillReport> {
  const now = options.now ?? Date.now();
  const [counted] = await facts.query<{ n: number }>(
    'SELECT count() AS n FROM persons FINAL WHERE project_id = {projectId:String}',
    { projectId },
  );
  const total = Number(counted?.n ?? 0);
  let read = 0;
  options.onProgress?.(0, total);
  const report: ContactBackfillReport = { persons: 0, linked: 0, alreadyLinked: 0, conflicts: 0 };
  let version = now * 1000;
  const linkPage = async (persons: StoredPerson[]) => {
    if (persons.length === 0) return;
    const wanted = new Map<string, { personId: string; kind: 'phone' | 'email' }>();
    for (const person of persons) {
      if (Number(person.is_deleted) !== 0) continue;
      report.persons++;
      for (const [keyedId, kind] of keyedIdsOf(ring, person.traits))
        wanted.set(keyedId, { personId: person.person_id, kind });
    }
    const ids = [...wanted.keys()];
    const linkedTo = new Map<string, string>();
    for (let from = 0; from < ids.length; from += MAX_BOUND_IDS) {
      const existing = await facts.query<{ distinct_id: string; person_id: string }>(
        `SELECT distinct_id, argMax(person_id, version) AS person_id FROM identities
         WHERE project_id = {projectId:String} AND distinct_id IN {ids:Array(String)}
         GROUP BY distinct_id HAVING argMax(is_deleted, version) = 0`,
        { projectId, ids: ids.slice(from, from + MAX_BOUND_IDS) },
      );
      for (const row of existing) linkedTo.set(row.distinct_id, row.person_id);
    }
    const rows: string[] = [];
    for (const [distinctId, { personId, kind }] of wanted) {
      const current = linkedTo.get(distinctId);
      if (current === personId) report.alreadyLinked++;
      else if (current !== undefined) report.conflicts++;
      else {
        rows.push(
          JSON.stringify({
            project_id: projectId,
            distinct_id: distinctId,
            id_type: kind === 'phone' ? 'phone_hash' : 'email_hash',
            person_id: personId,
            version: version++,
            is_deleted: 0,
            updated_at: now,
          }),
        );
      }
    }
    if (rows.length > 0) await facts.insertJsonEachRow('identities', `${rows.join('\n')}\n`);
    report.linked += rows.length;
    read += persons.length;
    options.onProgress?.(read, Math.max(read, total));
  };
  await readInKeyPages<StoredPerson>(facts, {
    first: `SELECT person_id, traits, is_deleted FROM persons FINAL
            WHERE project_id = {projectId:String} ORDER BY person_id LIMIT {limit:UInt32}`,
    next: `SELECT person_id, traits, is_deleted FROM persons FINAL
           WHERE project_id = {projectId:String} AND person_id > {after:String}
           ORDER BY person_id LIMIT {limit:UInt32}`,
    params: { projectId },
    pageRows: PERSON_PAGE_ROWS,
    cursor: (last) => ({ after: last.person_id }),
    onPage: linkPage,
  });
  return report;
}

/** The keyed phone and e-mail ids a person's stored traits hold (encrypted or not). */
function keyedIdsOf(ring: PiiKeyring, storedTraits: string): Array<[string, 'phone' | 'email']> {
  let traits: Record<string, unknown>;
  try {
    traits = JSON.parse(storedTraits || '{}') as Record<string, unknown>;
  } catch {
    return [];
  }
  const ids: Array<[string, 'phone' | 'email']> = [];
  for (const [trait, kind] of CONTACT_TRAITS) {
    const value = traits[trait];
    if (typeof value !== 'string' || value === '') continue;
    const plain = decryptField(ring, value);
    if (kind === 'email' && !plain.includes('@')) continue;
    ids.push([keyedContactId(ring, kind, plain), kind]);
  }
  return ids;
}
