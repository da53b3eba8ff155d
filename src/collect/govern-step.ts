import {
  type ConsentCache,
  type ConsentChange,
  consentChangesFromIdentify,
  recordConsent,
} from '../govern/consent.js';
import { type ConsentThread, openConsentThread } from '../govern/consent-thread.js';
import type { Governance } from '../govern/governance.js';
import type { PiiFieldCache } from '../govern/pii/fields.js';
import { createGovernanceMemo, type GovernanceMemo, PiiProtector } from '../govern/pii/protect.js';
import type { SuppressionList } from '../govern/subjects.js';
import type { DistinctId } from '../identity/resolver.js';
import type { MetadataStore } from '../store/metadata/open.js';
import type { JsonObject, SegmentMessage } from './segment/validate.js';

/**
 * The governance step of the ingestion pipeline (docs/governance.md, "Governance in ingestion"):
 * - identify traits `consent` / `consent_<purpose>` become consent records (source `identify`,
 *   at the event's time);
 * - events of a person who withdrew analytics consent, or whose ids were erased, are not stored;
 * - the project's PII fields in traits, properties and `context.traits` are encrypted before the
 *   row reaches the write-ahead log, while identity still joins on keyed hashes of phone and e-mail.
 * Each check is a Set lookup or a scan of the keys an event has; encryption and consent work only
 * happen for the events that carry PII fields or consent traits.
 */

export type IngestGovernance = Pick<Governance, 'keyring' | 'consent' | 'suppression' | 'piiFields'> & {
  /** Writes the consent records of identify calls. */
  consentWriter: ConsentWriter;
  /** Also emit the old unkeyed phone/e-mail hashes while stored identities move to keyed ones. */
  legacyContactHashes: boolean;
  /** What the same senders' repeated values were turned into (see `GovernanceMemo`). */
  memo: GovernanceMemo;
};

/** The governance ingestion uses, over the process's Governance. */
export function ingestGovernance(
  governance: Governance,
  metadata: MetadataStore,
  options: { legacyContactHashes?: boolean } = {},
): IngestGovernance {
  return {
    ...governance,
    consentWriter: createConsentWriter(metadata, governance.consent),
    legacyContactHashes: options.legacyContactHashes ?? false,
    memo: createGovernanceMemo(),
  };
}

/**
 * Writes consent records, grouping the changes of the requests that arrive in the same turn of the
 * event loop into one write per project. A metadata commit waits for the disk (SQLite in the
 * server's own thread), so one per request would stall all ingestion; one per turn does not.
 */
export interface ConsentWriter {
  /** Resolves once the changes are durable; rejects when they could not be written. */
  write(projectId: string, changes: ConsentChange[]): Promise<void>;
  /** Stops the consent thread, if one was started (after the last request was answered). */
  close(): Promise<void>;
}

/**
 * Consent changes wait this long to be written together. A request waits for its events' disk
 * write anyway, which takes longer; one write per window instead of one per turn of the event loop
 * spares the serving thread most hand-overs to the consent thread.
 */
const CONSENT_BATCH_MS = 4;

export function createConsentWriter(metadata: MetadataStore, cache: ConsentCache): ConsentWriter {
  // On SQLite the records are written on a thread of their own (consent-thread.ts), when it exists;
  // it starts with the first consent to write, so a server that never sees one never pays for it.
  let thread: ConsentThread | undefined;
  let threadStarted = metadata.dialect !== 'sqlite';
  const record = async (projectId: string, changes: ConsentChange[]) => {
    if (!threadStarted) {
      threadStarted = true;
      thread = metadata.sqlitePath ? openConsentThread(metadata.sqlitePath) : undefined;
    }
    if (!thread) {
      await recordConsent(metadata, projectId, changes, cache);
      return;
    }
    for (const r of await thread.record(projectId, changes)) cache.note(r);
  };
  let queued: Array<{
    projectId: string;
    changes: ConsentChange[];
    resolve: () => void;
    reject: (error: unknown) => void;
  }> = [];
  const flush = async () => {
    const group = queued;
    queued = [];
    const byProject = new Map<string, typeof group>();
    for (const entry of group)
      byProject.set(entry.projectId, [...(byProject.get(entry.projectId) ?? []), entry]);
    for (const [projectId, entries] of byProject) {
      try {
        await record(
          projectId,
          entries.flatMap((e) => e.changes),
        );
        for (const e of entries) e.resolve();
      } catch {
        // One request's refused change must not fail the others: write them one by one.
        for (const e of entries) {
          await record(projectId, e.changes).then(e.resolve, e.reject);
        }
      }
    }
  };
  return {
    write(projectId, changes) {
      return new Promise((resolve, reject) => {
        if (queued.length === 0) setTimeout(() => void flush(), CONSENT_BATCH_MS);
        queued.push({ projectId, changes, resolve, reject });
      });
    },
    async close() {
      await thread?.close();
    },
  };
}

/** Why an event was not stored. */
export type Withheld = 'erased' | 'opted_out';

const CONSENT_TRAIT = 'consent';
const CONSENT_TRAIT_PREFIX = 'consent_';

/** What consent checks read of a call: its type, its sender's ids and, on identify, its traits (plain). */
export interface ConsentSubject {
  type: SegmentMessage['type'];
  userId?: string | undefined;
  anonymousId?: string | undefined;
  traits?: JsonObject | undefined;
}

/** The governance of one request: the project's PII fields and the consent changes it carries. */
export class RequestGovernance {
  /** Consent changes found in this request's identify calls, written before it is acknowledged. */
  readonly consentChanges: ConsentChange[] = [];
  /** Analytics consent set by earlier calls of this request (distinct id → granted). */
  private readonly analyticsHere = new Map<string, boolean>();
  private readonly consent: ConsentCache;
  private readonly suppression: SuppressionList;
  /** Encrypts the project's PII fields; computes keyed contact ids. */
  readonly pii: PiiProtector;

  constructor(
    readonly governance: IngestGovernance,
    readonly projectId: string,
    piiFields: ReadonlySet<string>,
  ) {
    this.consent = governance.consent;
    this.suppression = governance.suppression;
    this.pii = new PiiProtector(governance.keyring, piiFields, governance.memo);
  }

  /** Whether an id is on the project's list of erased ids. */
  isErased(id: string): boolean {
    return this.suppression.isSuppressed(this.projectId, id);
  }

  /**
   * The call as it may be kept when ids of erased persons are among those it carries or vouches
   * for: the call itself when none is; without its anonymous id when only that one is and a known
   * user who was not erased sent it (another member on an erased owner's tablet: his events are
   * his, the tablet's id is not stored again); undefined (withheld) otherwise.
   */
  keptDespiteErasure<M extends SegmentMessage>(message: M, linkedIds: readonly DistinctId[]): M | undefined {
    const project = this.projectId;
    const list = this.suppression;
    if (message.userId !== undefined && list.isSuppressed(project, message.userId)) return undefined;
    if (message.type === 'alias' && list.isSuppressed(project, message.previousId)) return undefined;
    for (const linked of linkedIds) if (list.isSuppressed(project, linked.id)) return undefined;
    if (message.anonymousId === undefined || !list.isSuppressed(project, message.anonymousId)) return message;
    if (message.userId === undefined || message.type === 'alias') return undefined;
    const { anonymousId: _erased, ...rest } = message;
    return rest as M;
  }

  /** Notes the consent an identify call sets, under each of the call's ids, at the event's time. */
  noteConsent(message: ConsentSubject, timestampMs: number): void {
    if (message.type !== 'identify' || !message.traits || !carriesConsent(message.traits)) return;
    for (const id of [message.userId, message.anonymousId]) {
      if (id === undefined) continue;
      for (const change of consentChangesFromIdentify(id, message.traits, timestampMs)) {
        this.consentChanges.push(change);
        if (change.purpose === 'analytics') this.analyticsHere.set(id, change.granted);
      }
    }
  }

  /**
   * True when the sender withdrew analytics consent: recorded for the user id or anonymous id, or
   * for the person those ids belong to (consent API records may name a person id), or set by an
   * earlier call of this request.
   */
  isOptedOut(message: ConsentSubject, personOf: (distinctId: string) => string | undefined): boolean {
    const anyOptOut = this.consent.hasAnalyticsOptOuts(this.projectId);
    if (!anyOptOut && this.analyticsHere.size === 0) return false;
    for (const id of [message.userId, message.anonymousId]) {
      if (id === undefined) continue;
      const here = this.analyticsHere.get(id);
      if (here !== undefined) {
        if (!here) return true;
        continue;
      }
      if (!anyOptOut) continue;
      if (this.consent.isAnalyticsOptedOut(this.projectId, id)) return true;
      const person = personOf(id);
      if (person !== undefined && this.consent.isAnalyticsOptedOut(this.projectId, person)) return true;
    }
    return false;
  }

  /** Whether an invalid call names an erased or opted-out sender: then nothing of it is kept. */
  rawIsWithheld(raw: unknown): boolean {
    if (!isPlainObject(raw)) return false;
    for (const key of ['userId', 'anonymousId'] as const) {
      const id = raw[key];
      const text = typeof id === 'number' ? String(id) : id;
      if (typeof text !== 'string' || text === '') continue;
      if (this.suppression.isSuppressed(this.projectId, text)) return true;
      if (this.analyticsHere.get(text) === false) return true;
      if (this.consent.isAnalyticsOptedOut(this.projectId, text)) return true;
    }
    return false;
  }
}

/** Loads what a request needs: the project's PII field list (from memory after the first request). */
export async function requestGovernance(
  governance: IngestGovernance,
  projectId: string,
): Promise<RequestGovernance> {
  const cache: PiiFieldCache = governance.piiFields;
  const fields = cache.cached(projectId) ?? (await cache.load(projectId));
  return new RequestGovernance(governance, projectId, fields);
}

/** True when identify traits hold `consent` or a `consent_<purpose>` key. */
function carriesConsent(traits: JsonObject): boolean {
  for (const key in traits) {
    if (key === CONSENT_TRAIT || key.startsWith(CONSENT_TRAIT_PREFIX)) return true;
  }
  return false;
}

function isPlainObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
