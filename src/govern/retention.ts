import { noteFactsDeleted } from '../analyze/cache.js';
import { detailText, PulseloopError } from '../errors/registry.js';
import type { FactsEngine } from '../store/facts/engine.js';
import { rebuildEventRollup } from '../store/facts/rollups.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { readGovernanceSetting, writeGovernanceSetting } from './settings.js';

/**
 * Retention per data kind: how many days each project keeps each kind of fact. Enforced in two
 * ways: a scheduled delete per project (`enforceRetention`, exact per project), and a table TTL as
 * a server-wide ceiling (`applyRetentionTtl`: the longest period any project keeps, set only when
 * every project has one) so ClickHouse drops expired parts on its own even if no job runs.
 */

/** Each data kind, the facts table holding it and the column that dates a row (identifiers, never user text). */
export const RETENTION_KINDS = {
  events: { table: 'events', time: 'timestamp', ttlTime: 'toDateTime(timestamp)' },
  quarantine: { table: 'quarantine', time: 'received_at', ttlTime: 'toDateTime(received_at)' },
  identity_log: { table: 'identity_log', time: 'at', ttlTime: 'toDateTime(at)' },
  orders: { table: 'orders', time: 'created_at', ttlTime: 'toDateTime(created_at)' },
  comments: { table: 'comments', time: 'created_at', ttlTime: 'toDateTime(created_at)' },
  content_stats: { table: 'content_stats', time: 'date', ttlTime: 'date' },
  ad_spend: { table: 'ad_spend', time: 'date', ttlTime: 'date' },
} as const;
export type RetentionKind = keyof typeof RETENTION_KINDS;
export const RETENTION_KIND_NAMES = Object.keys(RETENTION_KINDS) as RetentionKind[];
export const MAX_RETENTION_DAYS = 36_500;

/** Days per kind; null keeps forever. */
export type RetentionSettings = Record<RetentionKind, number | null>;

const SETTINGS_KEY = 'retention';

export function defaultRetention(): RetentionSettings {
  return Object.fromEntries(RETENTION_KIND_NAMES.map((k) => [k, null])) as RetentionSettings;
}

/** A whole number of days in 1…36500, or an invalid_retention error; the only path from input to SQL. */
export function validRetentionDays(kind: string, value: unknown): number | null {
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_RETENTION_DAYS) {
    throw new PulseloopError('invalid_retention', {
      kind,
      ...detailText(
        `expected a whole number of days from 1 to ${MAX_RETENTION_DAYS}, or null to keep forever.`,
        `必须是 1 到 ${MAX_RETENTION_DAYS} 之间的整数天数，或为 null（永久保留）。`,
      ),
    });
  }
  return value;
}

export async function getRetention(store: MetadataStore, projectId: string): Promise<RetentionSettings> {
  const stored = await readGovernanceSetting<Partial<RetentionSettings>>(store, projectId, SETTINGS_KEY);
  return { ...defaultRetention(), ...stored };
}

/** Changes some kinds' periods; returns the settings before and after. */
export async function setRetention(
  store: MetadataStore,
  projectId: string,
  patch: Record<string, unknown>,
): Promise<{ before: RetentionSettings; after: RetentionSettings }> {
  const before = await getRetention(store, projectId);
  const after = { ...before };
  for (const [kind, days] of Object.entries(patch)) {
    if (!(kind in RETENTION_KINDS)) {
      throw new PulseloopError('invalid_retention', {
        kind: kind.slice(0, 40),
        ...detailText(
          `use one of ${RETENTION_KIND_NAMES.join(', ')}.`,
          `请使用 ${RETENTION_KIND_NAMES.join('、')} 之一。`,
        ),
      });
    }
    after[kind as RetentionKind] = validRetentionDays(kind, days);
  }
  await writeGovernanceSetting(store, projectId, SETTINGS_KEY, after);
  return { before, after };
}

/** Deletes the project's rows older than each kind's period; returns the rows removed per kind. */
export async function enforceRetention(
  facts: FactsEngine,
  metadata: MetadataStore,
  projectId: string,
  now = Date.now(),
): Promise<Partial<Record<RetentionKind, number>>> {
  const settings = await getRetention(metadata, projectId);
  const removed: Partial<Record<RetentionKind, number>> = {};
  for (const kind of RETENTION_KIND_NAMES) {
    const days = settings[kind];
    if (days === null) continue;
    const { table, time } = RETENTION_KINDS[kind];
    const params = { projectId, cutoff: new Date(now - validRetentionDays(kind, days)! * 86_400_000) };
    const where = `project_id = {projectId:String} AND ${time} < {cutoff:DateTime64(3, 'UTC')}`;
    const [count] = await facts.query<{ n: number }>(
      `SELECT count() AS n FROM ${table} WHERE ${where}`,
      params,
    );
    removed[kind] = Number(count?.n ?? 0);
    if (removed[kind] > 0) {
      await facts.command(`ALTER TABLE ${table} DELETE WHERE ${where} SETTINGS mutations_sync = 2`, params);
      // At once: a cached result must not show deleted rows while the other tables are done.
      noteFactsDeleted(facts, projectId);
    }
  }
  // The hourly rollup cannot see deletions: recompute it from what is left.
  if ((removed.events ?? 0) > 0) {
    await rebuildEventRollup(facts, projectId);
    // Results cached while the rollup was rebuilt read it half done.
    noteFactsDeleted(facts, projectId);
  }
  return removed;
}

/**
 * Sets each table's TTL to the longest period of all projects, when every project has one for the
 * kind; removes the TTL otherwise (a project that keeps forever must not lose rows to another's
 * setting). Returns the TTL days now in force per kind.
 */
export async function applyRetentionTtl(
  facts: FactsEngine,
  metadata: MetadataStore,
): Promise<Record<RetentionKind, number | null>> {
  const projects = await metadata.db.selectFrom('projects').select('id').execute();
  const all = await Promise.all(projects.map((p) => getRetention(metadata, p.id)));
  const applied = defaultRetention();
  for (const kind of RETENTION_KIND_NAMES) {
    const periods = all.map((s) => s[kind]);
    const ceiling =
      projects.length > 0 && periods.every((d) => d !== null) ? Math.max(...(periods as number[])) : null;
    const { table, ttlTime } = RETENTION_KINDS[kind];
    if (ceiling === null) {
      if (await hasTableTtl(facts, table)) await facts.command(`ALTER TABLE ${table} REMOVE TTL`);
    } else {
      // A validated integer, written as a literal: DDL keeps it in the table definition.
      const days = validRetentionDays(kind, ceiling)!;
      await facts.command(`ALTER TABLE ${table} MODIFY TTL ${ttlTime} + toIntervalDay(${days})`);
    }
    applied[kind] = ceiling;
  }
  return applied;
}

async function hasTableTtl(facts: FactsEngine, table: string): Promise<boolean> {
  const [row] = await facts.query<{ engine_full: string }>(
    'SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {table:String}',
    { table },
  );
  return / TTL /.test(row?.engine_full ?? '');
}
