import { can, type Role } from '../permissions.js';
import { DEFAULT_PII_FIELDS, decryptField } from './crypto.js';
import type { PiiKeyring } from './keys.js';

/**
 * Masking by role: roles without `pii.read` see PII fields masked the way Chinese apps show them
 * (`138****1234`, `z***@example.com`, `张*`); roles with it see the decrypted value.
 */

export type PiiKind = 'phone' | 'email' | 'name' | 'id_number' | 'address' | 'other';

const KIND_OF_FIELD: Record<string, PiiKind> = {
  phone: 'phone',
  mobile: 'phone',
  email: 'email',
  name: 'name',
  first_name: 'name',
  last_name: 'name',
  firstName: 'name',
  lastName: 'name',
  author_name: 'name',
  id_number: 'id_number',
  idNumber: 'id_number',
  passport: 'id_number',
  address: 'address',
  street: 'address',
};

export function piiKindOf(field: string): PiiKind {
  return KIND_OF_FIELD[field] ?? 'other';
}

/** 13812341234 → 138****1234; +8613812341234 → +86138****1234. */
export function maskPhone(phone: string): string {
  const chars = [...phone];
  if (chars.length <= 4) return '*'.repeat(chars.length);
  if (chars.length < 8) return `${'*'.repeat(chars.length - 4)}${chars.slice(-4).join('')}`;
  return `${chars.slice(0, chars.length - 8).join('')}****${chars.slice(-4).join('')}`;
}

/** zhang@example.com → z***@example.com */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${[...email.slice(0, at)][0]}***${email.slice(at)}`;
}

/** 张三 → 张*, 欧阳娜娜 → 欧***, John Smith → J*** S***. */
export function maskName(name: string): string {
  return name
    .split(/(\s+)/)
    .map((part) => {
      if (/^\s*$/.test(part)) return part;
      const chars = [...part];
      return `${chars[0]}${'*'.repeat(Math.min(Math.max(chars.length - 1, 1), 3))}`;
    })
    .join('');
}

/** 110105199001011234 → 110***********1234 */
export function maskIdNumber(id: string): string {
  const chars = [...id];
  if (chars.length <= 7) return '*'.repeat(chars.length);
  return `${chars.slice(0, 3).join('')}${'*'.repeat(chars.length - 7)}${chars.slice(-4).join('')}`;
}

/** Keeps the first 6 characters (province, city) and hides the rest. */
export function maskAddress(address: string): string {
  const chars = [...address];
  return chars.length <= 6 ? '***' : `${chars.slice(0, 6).join('')}***`;
}

export function maskValue(kind: PiiKind, value: string): string {
  switch (kind) {
    case 'phone':
      return maskPhone(value);
    case 'email':
      return maskEmail(value);
    case 'name':
      return maskName(value);
    case 'id_number':
      return maskIdNumber(value);
    case 'address':
      return maskAddress(value);
    case 'other':
      return '***';
  }
}

/**
 * The response-serialisation helper: a copy of `record` as `role` may see it. Encrypted values are
 * decrypted; PII fields are masked unless the role holds `pii.read`.
 */
export function serialiseForRole(
  ring: PiiKeyring,
  role: Role,
  record: Record<string, unknown>,
  fields: readonly string[] = [...DEFAULT_PII_FIELDS, 'author_name'],
): Record<string, unknown> {
  const seesPii = can(role, 'pii.read');
  const pii = new Set(fields);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (typeof value !== 'string') {
      out[key] = value;
      continue;
    }
    const plain = decryptField(ring, value);
    out[key] = pii.has(key) && !seesPii && plain !== '' ? maskValue(piiKindOf(key), plain) : plain;
  }
  return out;
}

/**
 * `serialiseForRole` applied at every depth of a JSON value (event properties, context traits,
 * a quarantined payload): PII fields in nested objects and arrays are decrypted and masked too.
 */
export function maskDeepForRole(
  ring: PiiKeyring,
  role: Role,
  value: unknown,
  fields: readonly string[] = [...DEFAULT_PII_FIELDS, 'author_name'],
): unknown {
  if (Array.isArray(value)) return value.map((item) => maskDeepForRole(ring, role, item, fields));
  if (typeof value !== 'object' || value === null) return value;
  const flat = serialiseForRole(ring, role, value as Record<string, unknown>, fields);
  for (const [key, inner] of Object.entries(flat)) {
    if (typeof inner === 'object' && inner !== null) flat[key] = maskDeepForRole(ring, role, inner, fields);
  }
  return flat;
}

/**
 * The same for JSON text (how the facts store keeps properties and context): the masked JSON text,
 * or the text unchanged when it is not a JSON object or array (nothing to name fields by).
 */
export function maskJsonTextForRole(
  ring: PiiKeyring,
  role: Role,
  text: string,
  fields: readonly string[] = [...DEFAULT_PII_FIELDS, 'author_name'],
): string {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  return JSON.stringify(maskDeepForRole(ring, role, parsed, fields));
}
