import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { detailText, PulseloopError } from '../../errors/registry.js';
import { hashContact } from '../../identity/resolver.js';
import type { PiiKeyring } from './keys.js';

/**
 * Field encryption with AES-256-GCM. An encrypted value is self-describing text,
 * `enc:v1:<keyId>:<iv>:<ciphertext>:<tag>` (base64url parts), so it fits any String column, names
 * the key that can open it (rotation keeps old values readable) and is recognisable by prefix.
 */

export const ENCRYPTED_PREFIX = 'enc:v1:';

export function isEncrypted(value: string): boolean {
  return value.startsWith(ENCRYPTED_PREFIX);
}

/** The key id of an encrypted value, or undefined for plain text. */
export function keyIdOf(value: string): string | undefined {
  return isEncrypted(value) ? value.slice(ENCRYPTED_PREFIX.length).split(':', 1)[0] : undefined;
}

// IVs are cut from a pool of CSPRNG bytes: one randomBytes call per 341 values instead of one each
// (a randomBytes call costs about as much as the cipher itself).
const IV_BYTES = 12;
const IV_POOL_BYTES = IV_BYTES * 341;
let ivPool = Buffer.alloc(0);
let ivOffset = 0;

function freshIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL_BYTES);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

/** Encrypts with the active key; a fresh random 96-bit IV per value. */
export function encryptField(ring: PiiKeyring, plaintext: string): string {
  const key = ring.keys.get(ring.activeKeyId);
  if (!key) throw new PulseloopError('pii_key_missing', { keyId: ring.activeKeyId });
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const parts = [
    key.id,
    iv.toString('base64url'),
    ciphertext.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
  ];
  return `${ENCRYPTED_PREFIX}${parts.join(':')}`;
}

/** Decrypts an `enc:v1:` value; plain text (stored before encryption was on) is returned as it is. */
export function decryptField(ring: PiiKeyring, value: string): string {
  if (!isEncrypted(value)) return value;
  const [keyId = '', iv = '', ciphertext = '', tag = ''] = value.slice(ENCRYPTED_PREFIX.length).split(':');
  const key = ring.keys.get(keyId);
  if (!key) throw new PulseloopError('pii_key_missing', { keyId });
  const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    throw new PulseloopError('pii_keys_invalid', {
      ...detailText(
        `a value under key "${keyId}" fails authentication (tampered or wrong key).`,
        `使用密钥 "${keyId}" 加密的值未通过校验（已被篡改或密钥不符）。`,
      ),
    });
  }
}

/** The value under the active key (decrypts and encrypts again); values already under it are returned unchanged. */
export function reencryptField(ring: PiiKeyring, value: string): string {
  if (keyIdOf(value) === ring.activeKeyId) return value;
  return encryptField(ring, decryptField(ring, value));
}

/** The PII fields encrypted at rest and masked in responses; projects may extend the list. */
export const DEFAULT_PII_FIELDS = [
  'phone',
  'mobile',
  'email',
  'name',
  'first_name',
  'last_name',
  'firstName',
  'lastName',
  'address',
  'street',
  'id_number',
  'idNumber',
  'passport',
  'birthday',
  'wechat_id',
] as const;

/** A copy of `record` with every PII field that holds a string encrypted. */
export function encryptPiiFields(
  ring: PiiKeyring,
  record: Record<string, unknown>,
  fields: readonly string[] = DEFAULT_PII_FIELDS,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...record };
  for (const field of fields) {
    const value = out[field];
    if (typeof value === 'string' && value !== '' && !isEncrypted(value))
      out[field] = encryptField(ring, value);
  }
  return out;
}

/** A copy of `record` with every encrypted string value decrypted. */
export function decryptPiiFields(ring: PiiKeyring, record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) out[k] = typeof v === 'string' ? decryptField(ring, v) : v;
  return out;
}

/** Every encrypted value inside a JSON text moved to the active key; undefined when nothing changed. */
export function reencryptJsonText(ring: PiiKeyring, text: string): string | undefined {
  if (!text.includes(ENCRYPTED_PREFIX)) return undefined;
  let changed = false;
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const next = isEncrypted(value) ? reencryptField(ring, value) : value;
      if (next !== value) changed = true;
      return next;
    }
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    }
    return value;
  };
  const result = walk(JSON.parse(text));
  return changed ? JSON.stringify(result) : undefined;
}

/**
 * A keyed pseudonymous join key: HMAC-SHA256 with the ring's hash key over `kind:normalised`.
 * The keyed replacement for identity/resolver.ts `hashContact` (an unkeyed SHA-256, which anyone
 * can recompute from a phone-number list); same normalisation, same 40 hex characters.
 */
export function keyedContactHash(
  ring: Pick<PiiKeyring, 'hashKey'>,
  kind: 'phone' | 'email',
  value: string,
): string {
  const normalised = kind === 'email' ? value.trim().toLowerCase() : value.replace(/[^\d+]/g, '');
  return createHmac('sha256', ring.hashKey).update(`${kind}:${normalised}`).digest('hex').slice(0, 40);
}

/**
 * The distinct id a phone number or e-mail joins identities by, keyed: `phone_k:<hmac>` /
 * `email_k:<hmac>`. The `_k` prefix keeps these apart from the unkeyed `phone:`/`email:` ids of
 * `hashContact`, so both can be emitted side by side while identities move over.
 */
export function keyedContactId(
  ring: Pick<PiiKeyring, 'hashKey'>,
  kind: 'phone' | 'email',
  value: string,
): string {
  return `${kind}_k:${keyedContactHash(ring, kind, value)}`;
}

/**
 * Every join id a phone number or e-mail may be stored under: the unkeyed SHA-256 id and the keyed
 * one (ingestion stores one or, while moving over, both), for looking a person up by either.
 */
export function contactJoinIds(
  ring: Pick<PiiKeyring, 'hashKey'>,
): (kind: 'phone' | 'email', value: string) => string[] {
  return (kind, value) => [`${kind}:${hashContact(kind, value)}`, keyedContactId(ring, kind, value)];
}

/** A keyed hash of any identifier (erased distinct ids in the suppression list). */
export function keyedIdHash(ring: Pick<PiiKeyring, 'hashKey'>, projectId: string, id: string): string {
  return createHmac('sha256', ring.hashKey).update(`id:${projectId}:${id}`).digest('hex');
}
