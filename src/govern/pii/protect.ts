import type { JsonObject, SegmentMessage } from '../../collect/segment/validate.js';
import type { KeyedContactId } from '../../identity/linked-ids.js';
import { BoundedMemo } from '../../lib/bounded-memo.js';
import { encryptField, isEncrypted, keyedContactId } from './crypto.js';
import type { PiiKeyring } from './keys.js';

/**
 * The same people identify again and again with the same phone, e-mail and name (every app start,
 * every sign-in), and a keyed hash or a cipher costs microseconds each. Remembered here:
 * - the keyed join id of each contact value (an HMAC of it; deterministic anyway);
 * - the ciphertext of each (sender, field, value): a sender's repeated value is stored as the same
 *   ciphertext, which tells a reader of the store nothing the sender's id on those rows does not
 *   already tell; different senders' equal values still get different ciphertexts.
 * Both belong to the process's one key ring (a rotated ring takes effect at the next start). Each
 * thread that protects calls has its own memo.
 */
export interface GovernanceMemo {
  keyedIds: BoundedMemo<string>;
  ciphertexts: BoundedMemo<string>;
}

/** Entries each memo holds: ~150 bytes each, so at most a few megabytes apiece. */
const MEMO_ENTRIES = 50_000;

export function createGovernanceMemo(): GovernanceMemo {
  return { keyedIds: new BoundedMemo(MEMO_ENTRIES), ciphertexts: new BoundedMemo(MEMO_ENTRIES) };
}

/**
 * Encrypts a project's PII fields in calls before they are stored, and computes the keyed join ids of
 * contact values. Needs only the key ring, the project's field list and a memo, so ingestion's
 * preparing threads run it as the serving thread does.
 */
export class PiiProtector {
  readonly keyed: KeyedContactId;

  constructor(
    private readonly keyring: PiiKeyring,
    readonly fields: ReadonlySet<string>,
    private readonly memo: GovernanceMemo,
  ) {
    this.keyed = (kind, value) =>
      memo.keyedIds.get(`${kind}\u0000${value}`, () => keyedContactId(keyring, kind, value));
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

  /**
   * The object with every PII field encrypted; the same object when it has none (the usual case).
   * With a sender, its repeated values reuse their ciphertext (`GovernanceMemo`).
   */
  private encryptObject(object: JsonObject, sender?: string): JsonObject {
    let out: JsonObject | undefined;
    const ring = this.keyring;
    for (const key in object) {
      if (!this.fields.has(key)) continue;
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
