import {
  type ConsentCache,
  type ConsentChange,
  consentChangesFromIdentify,
  recordConsent,
} from '../govern/consent.js';
import { type ConsentThread, openConsentThread } from '../govern/consent-thread.js';
import type { Governance } from '../govern/governance.js';
import { encryptField, isEncrypted, keyedContactId } from '../govern/pii/crypto.js';
import type { PiiFieldCache } from '../govern/pii/fields.js';
import type { SuppressionList } from '../govern/subjects.js';
import type { KeyedContactId } from '../identity/linked-ids.js';
import type { DistinctId } from '../identity/resolver.js';
import { BoundedMemo } from '../lib/bounded-memo.js';
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

/**
 * The same people identify again and again with the same phone, e-mail and name (every app start,
 * every sign-in), and a keyed hash or a cipher costs microseconds each. Remembered here:
 * - the keyed join id of each contact value (an HMAC of it; deterministic anyway);
 * - the ciphertext of each (sender, field, value): a sender's repeated value is stored as the same
 *   ciphertext, which tells a reader of the store nothing the sender's id on those rows does not
 *   already tell; different senders' equal values still get different ciphertexts.
 * Both belong to the process's one key ring (a rotated ring takes effect at the next start).
 */
export interface GovernanceMemo {
  keyedIds: BoundedMemo<string>;
  ciphertexts: BoundedMemo<string>;
}

/** Entries each memo holds: ~150 bytes each, so at most a few megabytes apiece. */
const MEMO_ENTRIES = 50_000;

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
    memo: {
      keyedIds: new BoundedMemo(MEMO_ENTRIES),
      ciphertexts: new BoundedMemo(MEMO_ENTRIES),
    },
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

/** The governance of one request: the project's PII fields and the consent changes it carries. */
export class RequestGovernance {
  /** Consent changes found in this request's identify calls, written before it is acknowledged. */
  readonly consentChanges: ConsentChange[] = [];
  /** Analytics consent set by earlier calls of this request (distinct id → granted). */
  private readonly analyticsHere = new Map<string, boolean>();
  private readonly consent: ConsentCache;
  private readonly suppression: SuppressionList;
  private readonly memo: GovernanceMemo;
  readonly keyed: KeyedContactId;

  constructor(
    readonly governance: IngestGovernance,
    readonly projectId: string,
    private readonly piiFields: ReadonlySet<string>,
  ) {
    this.consent = governance.consent;
    this.suppression = governance.suppression;
    const ring = governance.keyring;
    const memo = governance.memo;
    this.memo = memo;
    this.keyed = (kind, value) =>
      memo.keyedIds.get(`${kind}\u0000${value}`, () => keyedContactId(ring, kind, value));
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
  noteConsent(message: SegmentMessage, timestampMs: number): void {
    if (message.type !== 'identify' || !carriesConsent(message.traits)) return;
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
  isOptedOut(message: SegmentMessage, personOf: (distinctId: string) => string | undefined): boolean {
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

  /**
   * The call with its PII fields encrypted (traits, properties, context.traits); the same object
   * when it carries none. The original keeps the plain values for the keyed join ids.
   */
  protect<M extends SegmentMessage>(message: M): M {
    let out = message;
    const sender = message.userId ?? message.anonymousId;
    if ('traits' in message) {
      const traits = this.encryptObject(message.traits, sender);
      if (traits !== message.traits) out = { ...out, traits };
    } else if ('properties' in message) {
      const properties = this.encryptObject(message.properties, sender);
      if (properties !== message.properties) out = { ...out, properties };
    }
    const context = this.protectContext(message.context, sender);
    if (context !== message.context) out = { ...out, context };
    return out;
  }

  /** A context (an event's or a batch's) with the PII fields of its `traits` encrypted. */
  protectContext(context: JsonObject, sender?: string): JsonObject {
    const traits = context.traits;
    if (!isPlainObject(traits)) return context;
    const encrypted = this.encryptObject(traits, sender);
    return encrypted === traits ? context : { ...context, traits: encrypted };
  }

  /** What was sent for an invalid call, with the PII fields it holds encrypted, for quarantine. */
  protectRaw(raw: unknown): unknown {
    if (!isPlainObject(raw)) return raw;
    let out = raw;
    for (const key of ['traits', 'properties'] as const) {
      const value = raw[key];
      if (!isPlainObject(value)) continue;
      const encrypted = this.encryptObject(value);
      if (encrypted !== value) out = { ...out, [key]: encrypted };
    }
    if (isPlainObject(raw.context)) {
      const context = this.protectContext(raw.context);
      if (context !== raw.context) out = { ...out, context };
    }
    return out;
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

  /**
   * The object with every PII field encrypted; the same object when it has none (the usual case).
   * With a sender, its repeated values reuse their ciphertext (`GovernanceMemo`).
   */
  private encryptObject(object: JsonObject, sender?: string): JsonObject {
    let out: JsonObject | undefined;
    const ring = this.governance.keyring;
    for (const key in object) {
      if (!this.piiFields.has(key)) continue;
      const plain = plainText(object[key]);
      if (plain === undefined) continue;
      out ??= { ...object };
      out[key] =
        sender === undefined
          ? encryptField(ring, plain)
          : this.memo.ciphertexts.get(`${sender}\u0000${key}\u0000${plain}`, () => encryptField(ring, plain));
    }
    return out ?? object;
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

/**
 * The text to encrypt for a PII value: strings as they are, numbers and booleans as written,
 * objects and arrays as JSON (an address object is PII as a whole). Empty, null and already
 * encrypted values are left alone.
 */
function plainText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' || isEncrypted(value) ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return undefined;
}

function isPlainObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
