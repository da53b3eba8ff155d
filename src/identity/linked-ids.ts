import { type DistinctId, hashContact, type IdType } from './resolver.js';

const PLATFORM_ID_TYPES: Record<string, IdType> = {
  openid: 'openid',
  open_id: 'openid',
  unionid: 'unionid',
  union_id: 'unionid',
};

function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim().length > 0) return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** The keyed join id of a phone number or e-mail (`phone_k:…`, govern/pii/crypto.ts keyedContactId). */
export type KeyedContactId = (kind: 'phone' | 'email', value: string) => string;

/**
 * How phone numbers and e-mails become join ids: `keyed` (under governance) gives the HMAC id only,
 * or also the old unkeyed SHA-256 id while stored identities move over (`keepUnkeyed`). Without a
 * key, the unkeyed id alone.
 */
export interface ContactIdOptions {
  keyed?: KeyedContactId;
  keepUnkeyed?: boolean;
}

/**
 * The platform and contact ids a message vouches for, as distinct ids:
 * - Segment's `context.externalIds` ([{ id, type, collection }]);
 * - traits (identify) or `context.traits` with `openid`/`unionid` (optionally with `platform`,
 *   e.g. a WeChat mini-program's openid), `phone` and `email` (hashed: never stored in plain text).
 * With a key, each phone and e-mail yields its keyed id; the unkeyed one (a plain SHA-256, which a
 * list of phone numbers reverses) only while moving over (docs/governance.md, "Pseudonymous join keys").
 */
export function linkedIdsOf(traits: unknown, context: unknown, options: ContactIdOptions = {}): DistinctId[] {
  const { keyed } = options;
  const unkeyed = !keyed || options.keepUnkeyed === true;
  const c = context as { traits?: unknown; externalIds?: unknown } | undefined;
  if (traits === undefined && c?.traits === undefined && c?.externalIds === undefined) return [];
  const ids: DistinctId[] = [];
  const sources = [traits, (context as { traits?: unknown } | undefined)?.traits];
  for (const source of sources) {
    if (!source || typeof source !== 'object') continue;
    const t = source as Record<string, unknown>;
    const platform = text(t.platform) ?? 'any';
    for (const [field, type] of Object.entries(PLATFORM_ID_TYPES)) {
      const id = text(t[field]);
      if (id) ids.push({ id: `${type}:${type === 'unionid' ? '' : `${platform}:`}${id}`, type });
    }
    const phone = text(t.phone);
    if (phone) {
      if (unkeyed) ids.push({ id: `phone:${hashContact('phone', phone)}`, type: 'phone_hash' });
      if (keyed) ids.push({ id: keyed('phone', phone), type: 'phone_hash' });
    }
    const email = text(t.email);
    if (email?.includes('@')) {
      if (unkeyed) ids.push({ id: `email:${hashContact('email', email)}`, type: 'email_hash' });
      if (keyed) ids.push({ id: keyed('email', email), type: 'email_hash' });
    }
  }
  const external = (context as { externalIds?: unknown } | undefined)?.externalIds;
  if (Array.isArray(external)) {
    for (const entry of external.slice(0, 20)) {
      const id = text((entry as { id?: unknown })?.id);
      const type = text((entry as { type?: unknown })?.type)?.toLowerCase();
      if (!id || !type) continue;
      const idType =
        PLATFORM_ID_TYPES[type] ??
        (type === 'phone' ? 'phone_hash' : type === 'email' ? 'email_hash' : 'platform');
      const contact = idType === 'phone_hash' || idType === 'email_hash';
      if (!contact || unkeyed) {
        const value =
          idType === 'phone_hash'
            ? hashContact('phone', id)
            : idType === 'email_hash'
              ? hashContact('email', id)
              : id;
        ids.push({
          id: `${idType === 'platform' ? type : idType.replace('_hash', '')}:${value}`,
          type: idType,
        });
      }
      if (keyed && contact) {
        ids.push({ id: keyed(idType === 'phone_hash' ? 'phone' : 'email', id), type: idType });
      }
    }
  }
  const unique = new Map(ids.map((d) => [d.id, d]));
  return [...unique.values()];
}
