import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { PulseloopError } from '../../errors/registry.js';
import { decryptField, encryptField, keyIdOf } from '../../govern/pii/crypto.js';
import type { PiiKeyring } from '../../govern/pii/keys.js';
import type { MetadataStore } from '../../store/metadata/open.js';
import { type CollectDatabase, collectDb } from './tables.js';

/**
 * Access tokens kept in the metadata store (`connectors add --token`), encrypted at rest with the
 * PII key ring: the same AES-256-GCM values, `enc:v1:<keyId>:…`, as PII in the facts store
 * (src/govern/pii/crypto.ts). A copy of the metadata database alone then gives away no platform
 * account; the key ring (PULSELOOP_PII_KEYS or `<data>/pii-keys.json`) is needed as well.
 */

/** Stores a token encrypted under the ring's active key; answers the secret's id. */
export async function storeToken(
  db: Kysely<CollectDatabase>,
  keyring: PiiKeyring,
  token: string,
  now: string,
): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('connector_secrets')
    .values({ id, value: encryptField(keyring, token), created_at: now })
    .execute();
  return id;
}

/**
 * The token of a stored secret in clear text, or undefined when no secret has this id.
 *
 * A value not under the active key is written back under it once read. That covers tokens stored in
 * clear text before encryption existed, and tokens under a key rotated away since. This happens on
 * first read rather than in a metadata migration because migrations run without the key ring (the
 * store layer knows no keys, and `pulseloop migrate` may run where the keys are not available),
 * whereas every read of a token already has the ring in hand. A plain row therefore stays plain
 * until its connector's next sync.
 */
export async function readStoredToken(
  store: MetadataStore,
  keyring: PiiKeyring,
  secretId: string,
  instanceName: string,
): Promise<string | undefined> {
  const db = collectDb(store);
  const row = await db
    .selectFrom('connector_secrets')
    .select('value')
    .where('id', '=', secretId)
    .executeTakeFirst();
  if (!row) return undefined;
  const token = openToken(keyring, row.value, instanceName);
  await moveToActiveKey(db, keyring, { id: secretId, value: row.value }, token);
  return token;
}

/**
 * Writes a stored token back under the ring's active key when it is not under it yet, only if nobody
 * changed the row meanwhile (another worker re-encrypting it). Answers whether it was rewritten.
 */
async function moveToActiveKey(
  db: Kysely<CollectDatabase>,
  keyring: PiiKeyring,
  row: { id: string; value: string },
  token: string,
): Promise<boolean> {
  if (keyIdOf(row.value) === keyring.activeKeyId) return false;
  const result = await db
    .updateTable('connector_secrets')
    .set({ value: encryptField(keyring, token) })
    .where('id', '=', row.id)
    .where('value', '=', row.value)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Decrypts a stored value (plain text is returned as it is), naming the connector when it cannot. */
function openToken(keyring: PiiKeyring, stored: string, instance: string): string {
  try {
    return decryptField(keyring, stored);
  } catch (error) {
    const keyId = keyIdOf(stored) ?? '?';
    if (error instanceof PulseloopError && error.code === 'pii_key_missing') {
      throw new PulseloopError('connector_token_key_missing', { instance, keyId });
    }
    // A failed authentication, or parts too damaged for the cipher to take.
    throw new PulseloopError('connector_token_unreadable', { instance, keyId });
  }
}

/**
 * Moves every stored token to the ring's active key (`pulseloop pii reencrypt` and `rotate-key`), so
 * that an old key can be retired without waiting for each connector's next sync. Answers how many
 * tokens were rewritten.
 */
export async function reencryptStoredTokens(store: MetadataStore, keyring: PiiKeyring): Promise<number> {
  const db = collectDb(store);
  const rows = await db.selectFrom('connector_secrets').select(['id', 'value']).execute();
  let rewritten = 0;
  for (const row of rows) {
    if (keyIdOf(row.value) === keyring.activeKeyId) continue;
    const token = openToken(keyring, row.value, `secret ${row.id}`);
    if (await moveToActiveKey(db, keyring, row, token)) rewritten++;
  }
  return rewritten;
}

/** How many stored tokens are encrypted under the key (retiring it would make them unreadable). */
export async function countStoredTokensUnderKey(store: MetadataStore, keyId: string): Promise<number> {
  const rows = await collectDb(store).selectFrom('connector_secrets').select('value').execute();
  return rows.filter((row) => keyIdOf(row.value) === keyId).length;
}
