import { createHash } from 'node:crypto';
import type { FactsEngine } from '../../store/facts/engine.js';
import type { QuarantineRow } from '../../store/facts/rows.js';
import { toQuarantineRow } from '../segment/quarantine.js';
import type { RejectedRow, StreamTable } from './types.js';

/**
 * Writes one page into the facts store. Rows go to their table, rejected rows to quarantine.
 *
 * Writing the same page twice (a resume after a crash between this write and the checkpoint) adds
 * nothing: the fact tables are ReplacingMergeTree keyed by the natural key (ad_spend: project, date,
 * platform, campaign, ad group, creative; content_stats: project, platform, account, content, date),
 * so the second copy replaces the first for every reader using FINAL. Quarantine rows get an id
 * derived from the run, the page and the row's position, with the run's start as received_at, so a
 * re-written page replaces its quarantine entries too.
 */
export async function writePage(
  facts: FactsEngine,
  table: StreamTable,
  rows: readonly object[],
  rejected: readonly RejectedRow[],
  origin: { projectId: string; instanceId: string; runStartedAt: number; pageKey: string },
): Promise<void> {
  if (rows.length > 0) {
    await facts.insertJsonEachRow(table, `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`);
  }
  if (rejected.length > 0) {
    const quarantined = rejected.map((entry, index): QuarantineRow => {
      const row = toQuarantineRow(entry.error, entry.raw, {
        projectId: origin.projectId,
        sourceId: origin.instanceId,
        receivedAt: origin.runStartedAt,
        origin: 'connector',
        rowNumber: index,
      });
      row.id = createHash('sha256')
        .update(`${origin.instanceId}\n${origin.runStartedAt}\n${origin.pageKey}\n${index}`)
        .digest('hex')
        .slice(0, 32);
      return row;
    });
    await facts.insertJsonEachRow(
      'quarantine',
      `${quarantined.map((row) => JSON.stringify(row)).join('\n')}\n`,
    );
  }
}
