import type { Logger } from 'pino';
import { PulseloopError } from '../errors/registry.js';
import type { DistinctId, IdentityChanges, IdentityInput, IdentityResolver } from '../identity/resolver.js';
import { ByteSink } from '../lib/byte-sink.js';
import { readEventBinary, writeEventBinary } from '../store/facts/event-binary.js';
import type { EventRow, QuarantineRow } from '../store/facts/rows.js';
import type { FactsTable } from '../store/facts/schema.js';
import type { BatchWriter } from './batch-writer.js';
import type { ClaimedEvent, ClaimOutcome, MessageIdWindow } from './dedupe.js';
import {
  type ConsentSubject,
  type IngestGovernance,
  type RequestGovernance,
  requestGovernance,
} from './govern-step.js';
import type { IngestThreads } from './ingest-threads.js';
import type { LiveFeed, LiveItem } from './live.js';
import { type BatchToPrepare, linkedIdsOfCall, type PreparedEvents } from './prepare-batch.js';
import type { CompactText, JsonScan } from './segment/json-scan.js';
import { requestNormaliseEnv, toEventRow } from './segment/normalise.js';
import { toQuarantineRow } from './segment/quarantine.js';
import {
  type CallType,
  type JsonObject,
  readBatchEnvelope,
  type SegmentMessage,
  validateBatchItem,
  validateMessage,
} from './segment/validate.js';
import type { Wal, WalRecord } from './wal.js';

/**
 * The ingestion pipeline for one request:
 *   validate → [withhold erased senders] → [encrypt PII] → normalise → drop re-deliveries →
 *   [record consent, withhold opted-out senders] → resolve identity → append to the log → acknowledge.
 * Each step is a small function; this module only routes their outcomes. Valid events of a batch
 * are kept even when others are invalid; every invalid one goes to quarantine with its reason.
 * The bracketed governance steps run when `deps.governance` is set (govern-step.ts).
 */

export interface IngestDeps {
  wal: Wal;
  writer: BatchWriter;
  dedupe: MessageIdWindow;
  identity: IdentityResolver;
  /** Acknowledged-but-not-stored bytes above which requests are refused with 503. */
  maxPendingBytes: number;
  logger?: Logger;
  /** Receives what was kept, for the dashboard's live view. */
  live?: LiveFeed;
  /** Consent, erasure and PII encryption (absent: events are stored as sent). */
  governance?: IngestGovernance;
  /** Threads that prepare batch requests (absent: the serving thread prepares them). */
  threads?: IngestThreads;
}

export interface IngestRequest {
  callType: CallType | 'batch';
  body: Record<string, unknown>;
  projectId: string;
  sourceId: string;
  receivedAt: number;
  ip: string;
  /** What the byte scan of the body learned (spares validation per-event work). */
  scan?: JsonScan;
}

export interface ItemError {
  index: number;
  code: string;
  message: string;
  message_zh: string;
}

export interface IngestResult {
  /**
   * Events the server took responsibility for: stored, or deliberately not stored because their
   * sender withdrew analytics consent or was erased. Those are not told apart, so that a public
   * write key cannot reveal who opted out or was erased, and so that clients do not retry them.
   */
  accepted: number;
  duplicates: number;
  quarantined: number;
  errors: ItemError[];
}

/**
 * One JSONEachRow line without the row's empty strings, zeros and nulls: the store fills omitted
 * columns with exactly those defaults, and a typical event leaves half its columns empty, so the log
 * and the store's parser see a third fewer bytes. Column names are plain identifiers (rows.ts), so
 * only values need JSON encoding; this runs once per event on the hot path, straight into bytes
 * (a string per value and per line, joined and encoded again, cost the main thread ~2 µs an event).
 */
export function writeCompactJsonLine(sink: ByteSink, row: object): void {
  let first = true;
  const values = row as Record<string, unknown>;
  for (const key in values) {
    const value = values[key];
    if (value === '' || value === 0 || value === null || value === undefined) continue;
    if (typeof value === 'number' && !Number.isFinite(value)) continue;
    sink.ascii(first ? '{"' : ',"');
    sink.ascii(key);
    sink.ascii('":');
    first = false;
    if (typeof value === 'string') sink.jsonString(value);
    else if (typeof value === 'number') sink.jsonNumber(value);
    else sink.utf8(JSON.stringify(value));
  }
  sink.ascii(first ? '{}' : '}');
  sink.endLine();
}

/** `writeCompactJsonLine` as a string, without the line end. */
export function compactJsonLine(row: object): string {
  const sink = new ByteSink(256);
  writeCompactJsonLine(sink, row);
  const bytes = sink.copyAndReset();
  return bytes.toString('utf8', 0, bytes.length - 1);
}

/** Sinks kept between requests: a request's rows are written into them and copied out once. */
const sinkPool: ByteSink[] = [];
const POOLED_SINKS = 64;
/** A sink a very large batch grew beyond this is let go rather than kept. */
const POOLED_SINK_BYTES = 1 << 20;

/**
 * Rows of one request, grouped by table, serialised once: the log record is the insert payload.
 * Events are RowBinary (event-binary.ts), the other tables JSON lines.
 */
export class RowBuffers {
  private readonly parts = new Map<FactsTable, ByteSink>();
  add(table: Exclude<FactsTable, 'events'>, row: object): void {
    writeCompactJsonLine(this.sink(table), row);
  }
  addEvent(row: EventRow): void {
    writeEventBinary(this.sink('events'), row);
  }
  /** Event `index` of those a preparing thread encoded, with its person id put in. */
  addPreparedEvent(events: PreparedEvents, index: number, personId: string): void {
    const sink = this.sink('events');
    const { rows, offsets } = events;
    const personAt = offsets[3 * index + 1]!;
    sink.bytes(rows, offsets[3 * index]!, personAt);
    sink.binaryString(personId);
    sink.bytes(rows, personAt, offsets[3 * index + 2]!);
    sink.endRow();
  }
  private sink(table: FactsTable): ByteSink {
    let sink = this.parts.get(table);
    if (!sink) {
      sink = sinkPool.pop() ?? new ByteSink(64 * 1024);
      this.parts.set(table, sink);
    }
    return sink;
  }
  /** Rows of identity changes, in the order the store needs none: each table is its own record. */
  addIdentityChanges(changes: IdentityChanges): void {
    for (const r of changes.identities) this.add('identities', r);
    for (const r of changes.log) this.add('identity_log', r);
    for (const r of changes.persons) this.add('persons', r);
  }
  records(): WalRecord[] {
    const records: WalRecord[] = [];
    for (const [table, sink] of this.parts) {
      const rowCount = sink.lines;
      const record: WalRecord = { table, rows: sink.copyAndReset(), rowCount };
      if (table === 'events') record.format = 'RowBinary';
      records.push(record);
      if (sinkPool.length < POOLED_SINKS && sink.capacity <= POOLED_SINK_BYTES) sinkPool.push(sink);
    }
    this.parts.clear();
    return records;
  }
}

function itemsOf(request: IngestRequest): {
  items: unknown[];
  itemTexts?: (CompactText | undefined)[];
  batchContext?: JsonObject;
  batchSentAt?: number;
} {
  if (request.callType !== 'batch') {
    return { items: [request.body], ...(request.scan?.root ? { itemTexts: [request.scan.root] } : {}) };
  }
  const read = readBatchEnvelope(request.body, request.scan?.batch);
  if (!read.ok) throw read.error;
  const { items, context, sentAt, itemTexts } = read.envelope;
  return {
    items,
    ...(itemTexts ? { itemTexts } : {}),
    ...(context ? { batchContext: context } : {}),
    ...(sentAt !== undefined ? { batchSentAt: sentAt } : {}),
  };
}

/**
 * What identity resolution needs from a validated call: its ids, and traits on identify (as they
 * are stored: `stored` has the PII fields encrypted), and the ids `linkedIds` computed from the
 * plain call.
 */
function identityOf(
  stored: SegmentMessage,
  linkedIds: DistinctId[],
  projectId: string,
  at: number,
): IdentityInput {
  const input: IdentityInput = { projectId, messageId: stored.messageId, at, linkedIds };
  if (stored.userId) input.userId = stored.userId;
  if (stored.anonymousId) input.anonymousId = stored.anonymousId;
  if (stored.type === 'alias') input.previousId = stored.previousId;
  if (stored.type === 'identify') input.traits = stored.traits;
  return input;
}

/**
 * Event `index` of those a preparing thread prepared, ready for the serving thread to finish; `rows`
 * (the prepared rows as a Buffer) when someone watches the live view, which is then sent the row.
 */
function readyFromThread(
  events: PreparedEvents,
  index: number,
  projectId: string,
  rows?: Buffer,
): ReadyEvent {
  const extra = events.extras.get(index);
  const timestamp = events.timestamps[index]!;
  const userId = events.userIds[index] || undefined;
  const anonymousId = events.anonymousIds[index] || undefined;
  const messageId = events.messageIds[index]!;
  const identity: IdentityInput = { projectId, messageId, at: timestamp, linkedIds: extra?.linkedIds ?? [] };
  if (userId) identity.userId = userId;
  if (anonymousId) identity.anonymousId = anonymousId;
  if (extra?.previousId !== undefined) identity.previousId = extra.previousId;
  if (extra?.storedTraits) identity.traits = extra.storedTraits;
  const row = rows ? readEventBinary(rows, events.offsets[3 * index]!, true).row : undefined;
  return {
    key: {
      message_id: messageId,
      event: events.eventNames[index]!,
      distinct_id: events.distinctIds[index]!,
      timestamp,
    },
    // Only identify calls carry consent; the others' type does not matter to it.
    sender: { type: extra?.type ?? 'track', userId, anonymousId, traits: extra?.traits },
    identity,
    write: (buffers, personId) => {
      buffers.addPreparedEvent(events, index, personId);
      if (row) row.person_id = personId;
    },
    ...(row ? { row } : {}),
  };
}

/**
 * Whether the store already holds an event the dedupe window is unsure of (rare: an id older than its
 * exact hours, or a chance match). When the store cannot answer, the event is taken as new: stored
 * twice at worst, which the events table folds, rather than dropped.
 */
async function isStoredCopy(deps: IngestDeps, projectId: string, row: ClaimedEvent): Promise<boolean> {
  try {
    return await deps.dedupe.isStored(projectId, row);
  } catch (error) {
    deps.logger?.warn(
      { err: error, messageId: row.message_id },
      'checking the store for a re-delivery failed',
    );
    return false;
  }
}

/**
 * Requests whose log write has not finished yet, per window. A copy arriving meanwhile is a duplicate
 * only once that write succeeds: answered 'duplicate' at once, and the first request's write then
 * failing (its ids released, 503), the sender holding a 200 for the copy would never send the event
 * again. Kept per request, not per id: the common path adds nothing per event, and only a duplicate
 * (rare) looks through the ids of the requests in flight.
 */
const requestsInFlight = new WeakMap<MessageIdWindow, Set<RequestClaims>>();

/** The message ids one request claimed, until its log write succeeds (`done`) or not (`fail`). */
class RequestClaims {
  private readonly ids: string[] = [];
  private readonly inFlight: Set<RequestClaims>;
  private settled = false;
  private resolveDurable!: (durable: boolean) => void;
  private readonly durable = new Promise<boolean>((resolve) => {
    this.resolveDurable = resolve;
  });

  constructor(
    private readonly deps: IngestDeps,
    private readonly projectId: string,
  ) {
    let inFlight = requestsInFlight.get(deps.dedupe);
    if (!inFlight) {
      inFlight = new Set();
      requestsInFlight.set(deps.dedupe, inFlight);
    }
    this.inFlight = inFlight;
  }

  /**
   * Claims the row's message id: true when the event is not a re-delivery (this request then owns it).
   * Answers at once for a new id (the path of nearly every event); a promise only when it must wait
   * for another request or ask the store.
   */
  claim(row: ClaimedEvent, receivedAt: number): boolean | Promise<boolean> {
    const outcome = this.deps.dedupe.claim(this.projectId, row.message_id, receivedAt);
    if (outcome === 'new') {
      this.own(row.message_id);
      return true;
    }
    return this.claimSlowly(row, receivedAt, outcome);
  }

  private own(messageId: string): void {
    if (this.ids.length === 0 && !this.settled) this.inFlight.add(this);
    this.ids.push(messageId);
  }

  private async claimSlowly(row: ClaimedEvent, receivedAt: number, first: ClaimOutcome): Promise<boolean> {
    const { dedupe } = this.deps;
    let outcome = first;
    for (
      let earlier = this.earlierClaimOf(row.message_id);
      outcome === 'duplicate' && earlier !== undefined;
      earlier = this.earlierClaimOf(row.message_id)
    ) {
      if (await earlier) return false;
      // The earlier request's write failed and released the id: claim it again.
      outcome = dedupe.claim(this.projectId, row.message_id, receivedAt);
    }
    if (outcome === 'duplicate') return false;
    if (outcome === 'unsure' && (await isStoredCopy(this.deps, this.projectId, row))) return false;
    this.own(row.message_id);
    return true;
  }

  /** The outcome of another request in flight that claimed the id (a copy within this request is not one). */
  private earlierClaimOf(messageId: string): Promise<boolean> | undefined {
    for (const other of this.inFlight) {
      if (other !== this && other.projectId === this.projectId && other.ids.includes(messageId))
        return other.durable;
    }
    return undefined;
  }

  /** The request's rows are in the log: its ids are re-deliveries from now on. */
  done(): void {
    this.settle(true);
  }

  /** Not durable: the sender must retry, and a retry must not look like a duplicate. */
  fail(): void {
    if (this.settled) return;
    for (const id of this.ids) this.deps.dedupe.release(this.projectId, id);
    this.settle(false);
  }

  private settle(durable: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.inFlight.delete(this);
    this.resolveDurable(durable);
  }
}

export function ingest(deps: IngestDeps, request: IngestRequest): Promise<IngestResult> {
  return claiming(deps, request.projectId, (claims) => ingestClaiming(deps, request, claims));
}

/** Runs a request's claims; whatever stops it before its rows reach the log releases them. */
async function claiming<T>(
  deps: IngestDeps,
  projectId: string,
  run: (claims: RequestClaims) => Promise<T>,
): Promise<T> {
  const claims = new RequestClaims(deps, projectId);
  try {
    return await run(claims);
  } finally {
    // A no-op once the rows are in the log.
    claims.fail();
  }
}

/** A `/v1/batch` request as received (its body compressed or not), for a preparing thread. */
export type RawBatchRequest = Omit<BatchToPrepare, 'piiFields' | 'legacyContactHashes'>;

/**
 * Ingests a batch request prepared on a thread (prepare-batch.ts): the serving thread only claims,
 * checks consent, resolves identities and writes the log. Answers undefined when the serving thread
 * must ingest the request itself with `ingest` (nothing of it has been claimed or logged then): no
 * threads, invalid events (quarantine needs the server's state), a body whose write key is not the
 * `bodyWriteKey` authorised, an id on the erased list, or a thread that failed.
 */
export async function ingestBatchOnThread(
  deps: IngestDeps,
  request: RawBatchRequest,
): Promise<IngestResult | undefined> {
  const { threads } = deps;
  if (!threads) return undefined;
  refuseWhenOverloaded(deps);
  const governance = deps.governance
    ? await requestGovernance(deps.governance, request.projectId)
    : undefined;
  let prepared: Awaited<ReturnType<IngestThreads['prepare']>>;
  try {
    prepared = await threads.prepare({
      ...request,
      ...(governance
        ? {
            piiFields: [...governance.pii.fields],
            legacyContactHashes: governance.governance.legacyContactHashes,
          }
        : {}),
    });
  } catch (error) {
    deps.logger?.warn({ err: error }, 'an ingestion thread failed: the serving thread takes the request');
    return undefined;
  }
  if (prepared.kind === 'refused') throw new PulseloopError(prepared.code, prepared.details);
  if (prepared.kind === 'for_serving_thread') return undefined;
  const { events } = prepared;
  // Rows are decoded for the live view only while someone watches this project.
  const liveItems: LiveItem[] | undefined = deps.live?.hasListeners(request.projectId) ? [] : undefined;
  const rows = liveItems
    ? Buffer.from(events.rows.buffer, events.rows.byteOffset, events.rows.byteLength)
    : undefined;
  const ready: ReadyEvent[] = [];
  for (let index = 0; index < events.messageIds.length; index++)
    ready.push(readyFromThread(events, index, request.projectId, rows));
  if (governance && ready.some((event) => namesErasedId(governance, event))) return undefined;
  return claiming(deps, request.projectId, async (claims) => {
    const result: IngestResult = { accepted: 0, duplicates: 0, quarantined: 0, errors: [] };
    const buffers = new RowBuffers();
    for (const event of ready) {
      const waiting = commitEvent(deps, request, governance, event, buffers, result, claims, liveItems);
      if (waiting) await waiting;
    }
    await appendAndAcknowledge(deps, request.projectId, governance, buffers, claims, liveItems);
    return result;
  });
}

/** Whether a prepared call carries or vouches for an id on the project's erased list. */
function namesErasedId(governance: RequestGovernance, event: ReadyEvent): boolean {
  const { userId, anonymousId, previousId, linkedIds } = event.identity;
  for (const id of [userId, anonymousId, previousId]) {
    if (id !== undefined && governance.isErased(id)) return true;
  }
  return (linkedIds ?? []).some((linked) => governance.isErased(linked.id));
}

/** 503 while the store is too far behind the log to take more. */
function refuseWhenOverloaded(deps: IngestDeps): void {
  if (deps.writer.stats().pendingBytes > deps.maxPendingBytes) {
    throw new PulseloopError('overloaded', { retryAfterSeconds: 5 });
  }
}

/** A valid event, ready to be claimed, checked for consent, joined to its person and written. */
interface ReadyEvent {
  /** What the dedupe window and, when it is unsure, the store are asked. */
  key: ClaimedEvent;
  /** The plain call's type, ids and traits, which consent is read from. */
  sender: ConsentSubject;
  identity: IdentityInput;
  /** Writes the event's row, once its person is known. */
  write(buffers: RowBuffers, personId: string): void;
  /** The row, for the live view (while someone watches it). */
  row?: EventRow;
}

async function ingestClaiming(
  deps: IngestDeps,
  request: IngestRequest,
  claims: RequestClaims,
): Promise<IngestResult> {
  refuseWhenOverloaded(deps);
  const { items, itemTexts, batchContext: sentBatchContext, batchSentAt } = itemsOf(request);
  const governance = deps.governance
    ? await requestGovernance(deps.governance, request.projectId)
    : undefined;
  // A batch's shared context may carry traits too; they are encrypted once for all its calls.
  const batchContext =
    sentBatchContext && governance ? governance.pii.protectContext(sentBatchContext) : sentBatchContext;
  const env = requestNormaliseEnv(request, batchContext, batchSentAt);
  const buffers = new RowBuffers();
  const result: IngestResult = { accepted: 0, duplicates: 0, quarantined: 0, errors: [] };
  let singleError: PulseloopError | undefined;
  // Rows are kept for the live view only while someone watches this project.
  const liveItems: LiveItem[] | undefined = deps.live?.hasListeners(request.projectId) ? [] : undefined;

  const quarantine = (error: PulseloopError, raw: unknown, index: number) => {
    result.quarantined += 1;
    result.errors.push({ index, code: error.code, message: error.message, message_zh: error.zh });
    singleError ??= error;
    // An erased or opted-out sender's data is not kept, not even as a rejected payload.
    if (governance?.rawIsWithheld(raw)) return;
    const row: QuarantineRow = toQuarantineRow(error, governance ? governance.pii.protectRaw(raw) : raw, {
      projectId: request.projectId,
      sourceId: request.sourceId,
      receivedAt: request.receivedAt,
      origin: 'http',
      rowNumber: index,
    });
    buffers.add('quarantine', row);
    liveItems?.push({ kind: 'quarantine', row });
  };

  for (const [index, item] of items.entries()) {
    const validated =
      request.callType === 'batch'
        ? validateBatchItem(item, itemTexts?.[index])
        : validateMessage(item, request.callType, itemTexts?.[index]);
    if (!validated.ok) {
      quarantine(validated.error, item, index);
      continue;
    }
    const linkedIds = linkedIdsOfCall(
      validated.message,
      governance?.pii.keyed,
      governance?.governance.legacyContactHashes,
    );
    const message = governance
      ? governance.keptDespiteErasure(validated.message, linkedIds)
      : validated.message;
    if (!message) {
      result.accepted += 1;
      continue;
    }
    // What is stored: the call with its PII fields encrypted (the same object when it has none).
    const stored = governance ? governance.pii.protect(message) : message;
    const normalised = toEventRow(stored, env);
    if (!normalised.ok) {
      quarantine(normalised.error, item, index);
      continue;
    }
    const row: EventRow = normalised.row;
    // Each event is committed before the next is validated: an identify's consent counts for the
    // calls after it in the same request (an opted-out sender's invalid call is not quarantined).
    const ready: ReadyEvent = {
      key: row,
      sender: message,
      identity: identityOf(stored, linkedIds, request.projectId, row.timestamp),
      write: (rowBuffers, personId) => {
        row.person_id = personId;
        rowBuffers.addEvent(row);
      },
      row,
    };
    const waiting = commitEvent(deps, request, governance, ready, buffers, result, claims, liveItems);
    if (waiting) await waiting;
  }

  await appendAndAcknowledge(deps, request.projectId, governance, buffers, claims, liveItems);
  if (request.callType !== 'batch' && singleError) throw singleError;
  return result;
}

/**
 * Claims the event's message id (a re-delivery is counted, not kept), records its consent and leaves
 * it out when its sender opted out, resolves its identity, and writes its rows. Synchronous unless
 * the claim must wait (for another request's log write, or the store): nearly every event.
 */
function commitEvent(
  deps: IngestDeps,
  request: Pick<IngestRequest, 'projectId' | 'receivedAt'>,
  governance: RequestGovernance | undefined,
  ready: ReadyEvent,
  buffers: RowBuffers,
  result: IngestResult,
  claims: RequestClaims,
  liveItems?: LiveItem[],
): Promise<void> | undefined {
  const keep = (claimed: boolean) => {
    if (!claimed) {
      result.duplicates += 1;
      return;
    }
    if (governance) {
      governance.noteConsent(ready.sender, ready.key.timestamp);
      if (governance.isOptedOut(ready.sender, (id) => deps.identity.personOf(request.projectId, id))) {
        result.accepted += 1;
        return;
      }
    }
    const changes = deps.identity.resolve(ready.identity);
    buffers.addIdentityChanges(changes);
    ready.write(buffers, changes.personId);
    if (liveItems && ready.row) liveItems.push({ kind: 'event', row: ready.row });
    result.accepted += 1;
  };
  const claimed = claims.claim(ready.key, request.receivedAt);
  if (typeof claimed === 'boolean') {
    keep(claimed);
    return undefined;
  }
  return claimed.then(keep);
}

/** Appends the request's rows to the log; the request is acknowledged only once they are durable. */
async function appendAndAcknowledge(
  deps: IngestDeps,
  projectId: string,
  governance: RequestGovernance | undefined,
  buffers: RowBuffers,
  claims: RequestClaims,
  liveItems?: LiveItem[],
): Promise<void> {
  // Consent and events are both durable before the call is acknowledged. The two writes (a metadata
  // commit and a log append, each waiting for its disk) run side by side rather than one after the
  // other, so a request that carries consent waits for one disk round-trip, not two.
  const consentChanges = governance?.consentChanges ?? [];
  const records = buffers.records();
  const [consent, logged] = await Promise.allSettled([
    consentChanges.length > 0 && governance
      ? governance.governance.consentWriter.write(projectId, consentChanges)
      : Promise.resolve(),
    records.length > 0 ? deps.wal.append(records) : Promise.resolve(undefined),
  ]);
  if (logged.status === 'fulfilled' && logged.value !== undefined) {
    // In the log, so it will be stored whatever the answer; the writer must account for it.
    deps.writer.enqueue(records, logged.value);
  }
  if (consent.status === 'rejected' || logged.status === 'rejected') {
    // Not durable, so not acknowledged: the sender must retry, and a retry must not look like a
    // duplicate (events that did reach the log are folded by their message id when stored twice).
    claims.fail();
    if (consent.status === 'rejected')
      deps.logger?.error({ err: consent.reason }, 'recording consent from identify failed');
    if (logged.status === 'rejected')
      deps.logger?.error({ err: logged.reason }, 'write-ahead log append failed');
    throw new PulseloopError('overloaded', { retryAfterSeconds: 5 });
  }
  claims.done();
  if (liveItems && liveItems.length > 0) deps.live?.publish(projectId, liveItems);
}
