import { randomUUID } from 'node:crypto';
import type { IdentityChanges } from '../identity/resolver.js';
import { type IngestDeps, RowBuffers } from './ingest.js';

export interface ManualMerge {
  projectId: string;
  /** Current person ids (IdentityResolver.currentPerson). */
  intoPersonId: string;
  fromPersonId: string;
  /** The ids the request named them by, kept in the log row. */
  intoId: string;
  fromId: string;
}

export interface ManualMergeResult {
  personId: string;
  mergedFrom: string;
  /** Ids that moved from the merged person to `personId`. */
  movedIds: number;
  /** The log row's message id, which ties the merge to its audit entry. */
  reference: string;
}

/**
 * Merges two persons on request, durably, as ingestion changes the graph: the serving process's graph
 * changes, its rows go to the write-ahead log and are stored before this answers, so the next read
 * (the person's identity, any analysis) already sees one person. Events are not rewritten: analyses
 * map each event to a person by its sender's id, so the merged person's events count for the one kept.
 */
export async function mergePersonsDurably(
  deps: Pick<IngestDeps, 'wal' | 'writer' | 'identity'>,
  merge: ManualMerge,
): Promise<ManualMergeResult> {
  const reference = `manual-merge:${randomUUID()}`;
  const changes: IdentityChanges = deps.identity.mergePersons({
    ...merge,
    at: Date.now(),
    messageId: reference,
  });
  const buffers = new RowBuffers();
  buffers.addIdentityChanges(changes);
  const records = buffers.records();
  const end = await deps.wal.append(records);
  deps.writer.enqueue(records, end);
  await deps.writer.flush();
  return {
    personId: changes.personId,
    mergedFrom: merge.fromPersonId,
    movedIds: changes.identities.length,
    reference,
  };
}
