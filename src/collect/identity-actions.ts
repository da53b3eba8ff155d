import { randomUUID } from 'node:crypto';
import { CONFLICT_DECISIONS } from '../identity/inspect.js';
import type { IdentityChanges } from '../identity/resolver.js';
import type { IdentityLogRow } from '../store/facts/rows.js';
import { type IngestDeps, RowBuffers } from './ingest.js';

/**
 * What people do to the identity graph by hand: merge two persons known to be one, decide that a
 * conflict's two users are different people. Both are written as ingestion writes: through the
 * write-ahead log, and stored before the call answers, so the next read already shows them.
 */

type WriteDeps = Pick<IngestDeps, 'wal' | 'writer'>;

/** Appends the rows to the log, hands them to the writer and waits until they are stored. */
async function writeDurably(deps: WriteDeps, buffers: RowBuffers): Promise<void> {
  const records = buffers.records();
  const end = await deps.wal.append(records);
  deps.writer.enqueue(records, end);
  await deps.writer.flush();
}

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
 * Merges two persons on request: the serving process's graph changes and its rows are stored before
 * this answers, so the next read (the person's identity, any analysis) already sees one person.
 * Events are not rewritten: analyses map each event to a person by its sender's id, so the merged
 * person's events count for the one kept.
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
  await writeDurably(deps, buffers);
  return {
    personId: changes.personId,
    mergedFrom: merge.fromPersonId,
    movedIds: changes.identities.length,
    reference,
  };
}

export interface ConflictDecision {
  projectId: string;
  /** The conflict's two ids, as its log rows name them, and its two persons. */
  distinctId: string;
  otherDistinctId: string;
  personId: string;
  otherPersonId: string;
  /** `kept_apart`: they are different people; `open`: look at it again. */
  decision: 'kept_apart' | 'open';
}

/** Records a decision about a conflict (the latest one counts); answers its reference and time. */
export async function decideConflictDurably(
  deps: WriteDeps,
  decision: ConflictDecision,
): Promise<{ reference: string; at: number }> {
  const reference = `conflict-decision:${randomUUID()}`;
  const at = Date.now();
  const row: IdentityLogRow = {
    project_id: decision.projectId,
    at,
    kind: decision.decision === 'kept_apart' ? CONFLICT_DECISIONS.keptApart : CONFLICT_DECISIONS.reopened,
    person_id: decision.personId,
    other_person_id: decision.otherPersonId,
    distinct_id: decision.distinctId,
    other_distinct_id: decision.otherDistinctId,
    reason: 'decided by hand',
    message_id: reference,
  };
  const buffers = new RowBuffers();
  buffers.add('identity_log', row);
  await writeDurably(deps, buffers);
  return { reference, at };
}
