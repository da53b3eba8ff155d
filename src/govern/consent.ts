import { detailText, PulseloopError } from '../errors/registry.js';
import { uuidV7 } from '../lib/uuid-v7.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { governDb } from './tables.js';

/**
 * Consent per person and purpose, kept as a history (every change is a new record with its source
 * and time); the latest record by `occurred_at` is in effect.
 *
 * Defaults when nothing was recorded: analytics and personalisation are allowed until withdrawn
 * (legitimate interest, opt-out); every contact purpose needs an explicit grant (opt-in), as PIPL
 * and the e-privacy rules expect for marketing messages.
 */

export const PURPOSES = ['analytics', 'personalisation', 'email', 'sms', 'push', 'wechat_message'] as const;
export type Purpose = (typeof PURPOSES)[number];
export const CONTACT_PURPOSES: readonly Purpose[] = ['email', 'sms', 'push', 'wechat_message'];
export const CONSENT_SOURCES = ['identify', 'api', 'import', 'erasure'] as const;
export type ConsentSource = (typeof CONSENT_SOURCES)[number];

const DEFAULT_GRANTED: Record<Purpose, boolean> = {
  analytics: true,
  personalisation: true,
  email: false,
  sms: false,
  push: false,
  wechat_message: false,
};

export interface ConsentChange {
  subjectId: string;
  purpose: Purpose;
  granted: boolean;
  source: ConsentSource;
  /** When the person gave or withdrew it (ISO); defaults to now. */
  occurredAt?: string;
}

export interface ConsentRecord extends Required<ConsentChange> {
  id: string;
  projectId: string;
  recordedAt: string;
}

/** The longest subject id: the longest user or anonymous id the collection API accepts. */
export const MAX_SUBJECT_ID_LENGTH = 255;

export function isPurpose(value: unknown): value is Purpose {
  return typeof value === 'string' && (PURPOSES as readonly string[]).includes(value);
}

/** Records consent changes; returns the stored records. */
export async function recordConsent(
  store: MetadataStore,
  projectId: string,
  changes: ConsentChange[],
  cache?: ConsentCache,
): Promise<ConsentRecord[]> {
  const records = consentRecordsOf(projectId, changes);
  if (records.length === 0) return [];
  await governDb(store).insertInto('consent_records').values(records.map(consentRow)).execute();
  for (const r of records) cache?.note(r);
  return records;
}

/** The records of consent changes, validated, with their ids and times (nothing is written). */
export function consentRecordsOf(projectId: string, changes: readonly ConsentChange[]): ConsentRecord[] {
  const recordedAt = new Date().toISOString();
  return changes.map((c): ConsentRecord => {
    if (!isPurpose(c.purpose)) {
      throw new PulseloopError('invalid_consent', {
        ...detailText(
          `unknown purpose "${String(c.purpose).slice(0, 40)}"; use ${PURPOSES.join(', ')}.`,
          `未知用途 "${String(c.purpose).slice(0, 40)}"；请使用 ${PURPOSES.join('、')} 之一。`,
        ),
      });
    }
    if (typeof c.subjectId !== 'string' || c.subjectId === '' || c.subjectId.length > MAX_SUBJECT_ID_LENGTH) {
      throw new PulseloopError('invalid_consent', {
        ...detailText(
          `subjectId must be a non-empty id of at most ${MAX_SUBJECT_ID_LENGTH} characters.`,
          `subjectId 必须是不为空且最多 ${MAX_SUBJECT_ID_LENGTH} 个字符的标识。`,
        ),
      });
    }
    const occurredAt = c.occurredAt ?? recordedAt;
    if (Number.isNaN(Date.parse(occurredAt))) {
      throw new PulseloopError('invalid_consent', {
        ...detailText(
          `"${occurredAt.slice(0, 40)}" is not a time.`,
          `"${occurredAt.slice(0, 40)}" 不是有效的时间。`,
        ),
      });
    }
    return {
      id: uuidV7(),
      projectId,
      subjectId: c.subjectId,
      purpose: c.purpose,
      granted: c.granted,
      source: c.source,
      occurredAt: new Date(occurredAt).toISOString(),
      recordedAt,
    };
  });
}

/** The `consent_records` row of a record (its keys always in this order: see consent-sqlite.ts). */
export function consentRow(r: ConsentRecord) {
  return {
    id: r.id,
    project_id: r.projectId,
    subject_id: r.subjectId,
    purpose: r.purpose,
    granted: r.granted ? 1 : 0,
    source: r.source,
    occurred_at: r.occurredAt,
    recorded_at: r.recordedAt,
  };
}

/**
 * Consent found in `identify` traits: `consent: { email: true, … }`, `consent: false` (withdraws
 * every purpose) and `consent_<purpose>: true|false` (the specific one wins).
 */
export function consentFromTraits(
  traits: Record<string, unknown>,
): Array<{ purpose: Purpose; granted: boolean }> {
  const found = new Map<Purpose, boolean>();
  const general = traits.consent;
  if (typeof general === 'boolean') for (const p of PURPOSES) found.set(p, general);
  else if (general !== null && typeof general === 'object' && !Array.isArray(general)) {
    for (const [purpose, granted] of Object.entries(general)) {
      if (isPurpose(purpose) && typeof granted === 'boolean') found.set(purpose, granted);
    }
  }
  for (const p of PURPOSES) {
    const specific = traits[`consent_${p}`];
    if (typeof specific === 'boolean') found.set(p, specific);
  }
  return [...found].map(([purpose, granted]) => ({ purpose, granted }));
}

/** The consent changes an `identify` call carries, ready for `recordConsent` (ingestion calls this). */
export function consentChangesFromIdentify(
  distinctId: string,
  traits: Record<string, unknown>,
  timestampMs: number,
): ConsentChange[] {
  const occurredAt = new Date(timestampMs).toISOString();
  return consentFromTraits(traits).map((c) => ({
    subjectId: distinctId,
    ...c,
    source: 'identify',
    occurredAt,
  }));
}

/** Every consent record about these subjects, oldest first. */
export async function consentHistory(
  store: MetadataStore,
  projectId: string,
  subjectIds: string[],
): Promise<ConsentRecord[]> {
  if (subjectIds.length === 0) return [];
  const rows = await governDb(store)
    .selectFrom('consent_records')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('subject_id', 'in', subjectIds)
    .orderBy('occurred_at')
    .orderBy('recorded_at')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    projectId: r.project_id,
    subjectId: r.subject_id,
    purpose: r.purpose as Purpose,
    granted: r.granted === 1,
    source: r.source as ConsentSource,
    occurredAt: r.occurred_at,
    recordedAt: r.recorded_at,
  }));
}

/** The consent in effect per purpose for a person known by these ids (the latest record across them). */
export async function currentConsent(
  store: MetadataStore,
  projectId: string,
  subjectIds: string[],
): Promise<
  Record<Purpose, { granted: boolean; source: ConsentSource | 'default'; occurredAt: string | null }>
> {
  const history = await consentHistory(store, projectId, subjectIds);
  const state = Object.fromEntries(
    PURPOSES.map((p) => [p, { granted: DEFAULT_GRANTED[p], source: 'default' as const, occurredAt: null }]),
  ) as Record<Purpose, { granted: boolean; source: ConsentSource | 'default'; occurredAt: string | null }>;
  for (const r of history)
    state[r.purpose] = { granted: r.granted, source: r.source, occurredAt: r.occurredAt };
  return state;
}

/**
 * Whether a sending feature may contact the person (known by one or several ids) for a purpose.
 * Every journey step, message and notification must ask this first.
 */
export async function canContact(
  store: MetadataStore,
  projectId: string,
  person: string | string[],
  purpose: Purpose,
): Promise<boolean> {
  const ids = Array.isArray(person) ? person : [person];
  return (await currentConsent(store, projectId, ids))[purpose].granted;
}

/**
 * The in-memory view ingestion asks for every event: is analytics withdrawn for this distinct id?
 * A synchronous Set lookup; `refresh()` picks up records other processes wrote since the last load.
 */
export interface ConsentCache {
  isAnalyticsOptedOut(projectId: string, distinctId: string): boolean;
  /** Whether anyone in the project has withdrawn analytics: when no one has, nothing needs looking up. */
  hasAnalyticsOptOuts(projectId: string): boolean;
  note(record: Pick<ConsentRecord, 'projectId' | 'subjectId' | 'purpose' | 'granted' | 'occurredAt'>): void;
  refresh(): Promise<void>;
}

export async function createConsentCache(store: MetadataStore): Promise<ConsentCache> {
  // project \u0000 subject → the latest analytics record seen.
  const latest = new Map<string, { granted: boolean; occurredAt: string }>();
  // project → subjects who withdrew analytics.
  const optedOut = new Map<string, Set<string>>();
  let seenUpTo = '';
  const keyOf = (projectId: string, subjectId: string) => `${projectId}\u0000${subjectId}`;
  const cache: ConsentCache = {
    isAnalyticsOptedOut: (projectId, distinctId) => optedOut.get(projectId)?.has(distinctId) ?? false,
    hasAnalyticsOptOuts: (projectId) => (optedOut.get(projectId)?.size ?? 0) > 0,
    note(record) {
      if (record.purpose !== 'analytics') return;
      const key = keyOf(record.projectId, record.subjectId);
      const previous = latest.get(key);
      if (previous && previous.occurredAt > record.occurredAt) return;
      latest.set(key, { granted: record.granted, occurredAt: record.occurredAt });
      if (record.granted) optedOut.get(record.projectId)?.delete(record.subjectId);
      else {
        const subjects = optedOut.get(record.projectId) ?? new Set<string>();
        subjects.add(record.subjectId);
        optedOut.set(record.projectId, subjects);
      }
    },
    async refresh() {
      let query = governDb(store)
        .selectFrom('consent_records')
        .select(['project_id', 'subject_id', 'purpose', 'granted', 'occurred_at', 'recorded_at'])
        .where('purpose', '=', 'analytics');
      if (seenUpTo !== '') query = query.where('recorded_at', '>=', seenUpTo);
      for (const r of await query.orderBy('recorded_at').execute()) {
        cache.note({
          projectId: r.project_id,
          subjectId: r.subject_id,
          purpose: 'analytics',
          granted: r.granted === 1,
          occurredAt: r.occurred_at,
        });
        if (r.recorded_at > seenUpTo) seenUpTo = r.recorded_at;
      }
    },
  };
  await cache.refresh();
  return cache;
}
