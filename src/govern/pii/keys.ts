import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { detailText, PulseloopError } from '../../errors/registry.js';

/**
 * The PII key ring: AES-256 keys by id (one active, older ones kept until nothing uses them) and
 * one HMAC key for pseudonymous join keys. It comes from `PULSELOOP_PII_KEYS` (the same JSON as
 * the file, for deployments that hold secrets outside the data directory) or from the file
 * `<dataDir>/pii-keys.json`, created with mode 0600 on first use.
 *
 * The HMAC key never rotates: rotating it would change every join key and split identities.
 */

export const KEY_FILE_NAME = 'pii-keys.json';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export interface PiiKey {
  id: string;
  key: Buffer;
  createdAt: string;
}

export interface PiiKeyring {
  activeKeyId: string;
  keys: Map<string, PiiKey>;
  hashKey: Buffer;
  /** Where the ring came from; rotation and retirement only write to a file. */
  origin: { type: 'file'; path: string } | { type: 'env' };
}

interface KeyFile {
  version: 1;
  active: string;
  hashKey: string;
  keys: Array<{ id: string; key: string; createdAt: string }>;
}

/** Loads the ring from the environment value when given, else from (or into) the data directory's key file. */
export function loadPiiKeyring(options: { dataDir: string; envValue?: string | undefined }): PiiKeyring {
  if (options.envValue !== undefined && options.envValue.trim() !== '') {
    return { ...parseKeyFile(options.envValue, 'PULSELOOP_PII_KEYS'), origin: { type: 'env' } };
  }
  const path = join(options.dataDir, KEY_FILE_NAME);
  if (!existsSync(path)) {
    const fresh: KeyFile = {
      version: 1,
      active: newKeyId(),
      hashKey: randomBytes(32).toString('base64'),
      keys: [],
    };
    fresh.keys.push({
      id: fresh.active,
      key: randomBytes(32).toString('base64'),
      createdAt: new Date().toISOString(),
    });
    writeKeyFile(path, fresh);
  }
  return { ...parseKeyFile(readFileSync(path, 'utf8'), path), origin: { type: 'file', path } };
}

/** Adds a new key and makes it active; older keys stay for decryption until retired. */
export function rotatePiiKey(ring: PiiKeyring): PiiKeyring {
  const path = writablePath(ring);
  const key: PiiKey = { id: newKeyId(), key: randomBytes(32), createdAt: new Date().toISOString() };
  const next: PiiKeyring = { ...ring, activeKeyId: key.id, keys: new Map([...ring.keys, [key.id, key]]) };
  writeKeyFile(path, toKeyFile(next));
  return next;
}

/** Drops a key that is not active (the caller has checked that nothing is encrypted with it). */
export function retirePiiKey(ring: PiiKeyring, keyId: string): PiiKeyring {
  const path = writablePath(ring);
  if (keyId === ring.activeKeyId) {
    throw new PulseloopError('pii_keys_invalid', {
      ...detailText(`key "${keyId}" is active; rotate first.`, `密钥 "${keyId}" 正在使用中，请先轮换。`),
    });
  }
  if (!ring.keys.has(keyId)) throw new PulseloopError('pii_key_missing', { keyId });
  const keys = new Map(ring.keys);
  keys.delete(keyId);
  const next = { ...ring, keys };
  writeKeyFile(path, toKeyFile(next));
  return next;
}

function writablePath(ring: PiiKeyring): string {
  if (ring.origin.type !== 'file') {
    throw new PulseloopError('pii_keys_invalid', {
      ...detailText(
        'the keys come from PULSELOOP_PII_KEYS; change that value to rotate or retire keys.',
        '密钥来自 PULSELOOP_PII_KEYS；如需轮换或停用密钥，请修改该变量的值。',
      ),
    });
  }
  return ring.origin.path;
}

function newKeyId(): string {
  return `k${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** Checks a key ring's JSON (the value of PULSELOOP_PII_KEYS); throws pii_keys_invalid naming the problem. */
export function parsePiiKeys(text: string, where: string): void {
  parseKeyFile(text, where);
}

function parseKeyFile(text: string, where: string): Omit<PiiKeyring, 'origin'> {
  const invalid = (detail: string, detailZh: string): never => {
    throw new PulseloopError('pii_keys_invalid', {
      ...detailText(`${where}: ${detail}`, `${where}：${detailZh}`),
    });
  };
  let file: KeyFile;
  try {
    file = JSON.parse(text) as KeyFile;
  } catch {
    return invalid('not valid JSON.', '不是有效的 JSON。');
  }
  if (!file || !Array.isArray(file.keys) || typeof file.active !== 'string') {
    return invalid(
      'expected {"version":1,"active":"<id>","hashKey":"<base64>","keys":[{"id","key"}]}.',
      '格式应为 {"version":1,"active":"<id>","hashKey":"<base64>","keys":[{"id","key"}]}。',
    );
  }
  const keys = new Map<string, PiiKey>();
  for (const k of file.keys) {
    if (typeof k.id !== 'string' || !KEY_ID.test(k.id))
      invalid(
        `key id "${String(k.id)}" must be 1–32 letters, digits, _ or -.`,
        `密钥 ID "${String(k.id)}" 必须由 1–32 个字母、数字、_ 或 - 组成。`,
      );
    const key = Buffer.from(String(k.key), 'base64');
    if (key.length !== 32)
      invalid(
        `key "${k.id}" must be 32 bytes, base64-encoded.`,
        `密钥 "${k.id}" 必须是 base64 编码的 32 字节。`,
      );
    keys.set(k.id, { id: k.id, key, createdAt: String(k.createdAt ?? '') });
  }
  if (!keys.has(file.active)) {
    invalid(
      `the active key "${file.active}" is not in "keys".`,
      `当前密钥 "${file.active}" 不在 "keys" 中。`,
    );
  }
  const hashKey = Buffer.from(String(file.hashKey ?? ''), 'base64');
  if (hashKey.length < 32)
    invalid(
      '"hashKey" must be at least 32 bytes, base64-encoded.',
      '"hashKey" 必须是 base64 编码且至少 32 字节。',
    );
  return { activeKeyId: file.active, keys, hashKey };
}

function toKeyFile(ring: PiiKeyring): KeyFile {
  return {
    version: 1,
    active: ring.activeKeyId,
    hashKey: ring.hashKey.toString('base64'),
    keys: [...ring.keys.values()].map((k) => ({
      id: k.id,
      key: k.key.toString('base64'),
      createdAt: k.createdAt,
    })),
  };
}

/** Writes atomically (temp file + rename), readable by the owner only. */
function writeKeyFile(path: string, file: KeyFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}
