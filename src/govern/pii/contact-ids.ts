import type { FactsEngine } from '../../store/facts/engine.js';
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

export async function backfillKeyedContactIds(
  facts: FactsEngine,
  ring: PiiKeyring,
  projectId: string,
  now = Date.now(),
): Promise<ContactBackfillReport> {
  const persons = await facts.query<{ person_id: string; traits: string }>(
    `SELECT person_id, argMax(traits, version) AS traits FROM persons
     WHERE project_id = {projectId:String}
     GROUP BY person_id HAVING argMax(is_deleted, version) = 0`,
    { projectId },
  );
  const wanted = new Map<string, { personId: string; kind: 'phone' | 'email' }>();
  for (const person of persons) {
    let traits: Record<string, unknown>;
    try {
      traits = JSON.parse(person.traits || '{}') as Record<string, unknown>;
    } catch {
      continue;
    }
    for (const [trait, kind] of CONTACT_TRAITS) {
      const value = traits[trait];
      if (typeof value !== 'string' || value === '') continue;
      const plain = decryptField(ring, value);
      if (kind === 'email' && !plain.includes('@')) continue;
      wanted.set(keyedContactId(ring, kind, plain), { personId: person.person_id, kind });
    }
  }
  const report: ContactBackfillReport = {
    persons: persons.length,
    linked: 0,
    alreadyLinked: 0,
    conflicts: 0,
  };
  if (wanted.size === 0) return report;

  const existing = await facts.query<{ distinct_id: string; person_id: string }>(
    `SELECT distinct_id, argMax(person_id, version) AS person_id FROM identities
     WHERE project_id = {projectId:String} AND distinct_id IN {ids:Array(String)}
     GROUP BY distinct_id HAVING argMax(is_deleted, version) = 0`,
    { projectId, ids: [...wanted.keys()] },
  );
  const linkedTo = new Map(existing.map((e) => [e.distinct_id, e.person_id]));
  const rows: string[] = [];
  let version = now * 1000;
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
  report.linked = rows.length;
  return report;
}
