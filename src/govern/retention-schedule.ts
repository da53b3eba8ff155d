import type { Logger } from 'pino';
import { type Periodic, runPeriodically } from '../lib/periodic.js';
import type { FactsEngine } from '../store/facts/engine.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { recordAudit, SYSTEM_ACTOR } from './audit.js';
import { applyRetentionTtl, enforceRetention, type RetentionKind } from './retention.js';

/**
 * Retention enforced without anyone pressing a button: every interval the server deletes each
 * project's rows older than its periods (recorded in the audit log as the system's act) and keeps
 * the tables' ClickHouse TTL in step with the settings, so the engine also drops expired parts.
 */

export interface RetentionRound {
  /** Rows removed per project that had something to remove. */
  removed: Record<string, Partial<Record<RetentionKind, number>>>;
  /** TTL days now in force per kind (null: none). */
  ttl: Record<RetentionKind, number | null>;
}

/** runOnce(): one round now; stop(): stops the timer and waits for a round in progress. */
export type RetentionSchedule = Periodic<RetentionRound>;

export function scheduleRetention(deps: {
  facts: FactsEngine;
  metadata: MetadataStore;
  logger: Pick<Logger, 'info' | 'warn'>;
  intervalMs: number;
  /** Delay before the first round, so start-up is not slowed (default: a minute or the interval). */
  firstDelayMs?: number;
}): RetentionSchedule {
  return runPeriodically(() => round(deps), {
    intervalMs: deps.intervalMs,
    ...(deps.firstDelayMs !== undefined ? { firstDelayMs: deps.firstDelayMs } : {}),
    onError: (error) => deps.logger.warn({ err: error }, 'enforcing data retention failed'),
  });
}

async function round(deps: {
  facts: FactsEngine;
  metadata: MetadataStore;
  logger: Pick<Logger, 'info' | 'warn'>;
}): Promise<RetentionRound> {
  const projects = await deps.metadata.db.selectFrom('projects').select('id').execute();
  const removed: RetentionRound['removed'] = {};
  for (const { id } of projects) {
    // Kinds kept forever cost no query: enforceRetention only reads the kinds with a period.
    const rows = await enforceRetention(deps.facts, deps.metadata, id);
    if (!Object.values(rows).some((n) => n > 0)) continue;
    removed[id] = rows;
    deps.logger.info({ projectId: id, removed: rows }, 'data retention: removed expired rows');
    await recordAudit(deps.metadata, {
      actor: SYSTEM_ACTOR,
      projectId: id,
      action: 'retention.apply',
      target: { type: 'settings', id: 'retention' },
      details: { removed: rows, scheduled: true },
    });
  }
  const ttl = await applyRetentionTtl(deps.facts, deps.metadata);
  return { removed, ttl };
}
