import { detailText, PulseloopError } from '../../errors/registry.js';
import type { MetadataStore } from '../../store/metadata/open.js';
import { readGovernanceSetting, writeGovernanceSetting } from '../settings.js';
import { DEFAULT_PII_FIELDS } from './crypto.js';

/**
 * The PII field list per project: which trait and property names are encrypted at rest and masked
 * in responses. Starts from DEFAULT_PII_FIELDS; a project may add its own (e.g. `qq`, `line_id`).
 */

const SETTINGS_KEY = 'pii_fields';
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_FIELDS = 200;

export async function getPiiFields(store: MetadataStore, projectId: string): Promise<string[]> {
  return (await readGovernanceSetting<string[]>(store, projectId, SETTINGS_KEY)) ?? [...DEFAULT_PII_FIELDS];
}

/** Replaces the project's PII field list (names of traits/properties); returns the list before and after. */
export async function setPiiFields(
  store: MetadataStore,
  projectId: string,
  fields: unknown,
): Promise<{ before: string[]; after: string[] }> {
  if (!Array.isArray(fields) || fields.length > MAX_FIELDS) {
    throw new PulseloopError('invalid_request', {
      ...detailText(
        `PII fields must be a list of at most ${MAX_FIELDS} names.`,
        `PII 字段必须是最多 ${MAX_FIELDS} 个字段名的列表。`,
      ),
    });
  }
  for (const field of fields) {
    if (typeof field !== 'string' || !FIELD_NAME.test(field)) {
      throw new PulseloopError('invalid_request', {
        ...detailText(
          `PII field "${String(field).slice(0, 40)}" must be letters, digits and underscores.`,
          `PII 字段 "${String(field).slice(0, 40)}" 只能包含字母、数字和下划线。`,
        ),
      });
    }
  }
  const after = [...new Set(fields as string[])];
  const before = await getPiiFields(store, projectId);
  await writeGovernanceSetting(store, projectId, SETTINGS_KEY, after);
  for (const listener of changeListeners.get(store) ?? []) listener(projectId);
  return { before, after };
}

// Caches that must forget a project's list when it changes in this process.
const changeListeners = new WeakMap<MetadataStore, Set<(projectId: string) => void>>();

/**
 * The PII field lists ingestion needs for every request, kept in memory: `cached()` answers
 * synchronously once a project's list was loaded; a list changed through `setPiiFields` in this
 * process is forgotten at once, one changed by another process after `maxAgeMs`.
 */
export interface PiiFieldCache {
  /** The project's fields, when loaded and fresh. */
  cached(projectId: string): ReadonlySet<string> | undefined;
  load(projectId: string): Promise<ReadonlySet<string>>;
}

export function createPiiFieldCache(store: MetadataStore, maxAgeMs: number): PiiFieldCache {
  const lists = new Map<string, { fields: ReadonlySet<string>; loadedAt: number }>();
  let listeners = changeListeners.get(store);
  if (!listeners) {
    listeners = new Set();
    changeListeners.set(store, listeners);
  }
  listeners.add((projectId) => lists.delete(projectId));
  return {
    cached(projectId) {
      const entry = lists.get(projectId);
      return entry && Date.now() - entry.loadedAt < maxAgeMs ? entry.fields : undefined;
    },
    async load(projectId) {
      const fields = new Set(await getPiiFields(store, projectId));
      lists.set(projectId, { fields, loadedAt: Date.now() });
      return fields;
    },
  };
}
