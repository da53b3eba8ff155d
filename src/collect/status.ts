import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { conflictCounts } from '../identity/inspect.js';
import type { FactsEngine } from '../store/facts/engine.js';
import { FACTS_TABLES } from '../store/facts/schema.js';
import { listSegments, type WalPosition } from './wal.js';

export interface StoreStatus {
  engine: string;
  /**
   * `parts`: the table's active parts. Each insert makes one and background merges fold them; a count
   * that keeps climbing under load means merges are falling behind (ClickHouse delays inserts into a
   * partition past ~1,000 of them).
   */
  tables: Array<{ table: string; rows: number; bytesOnDisk: number; parts: number }>;
  /** Bytes of the write-ahead log not yet moved into the facts store. */
  walLagBytes: number;
  walSegments: number;
  /** Rows the facts store refused, kept in quarantine (set-aside.ts), since the store began. */
  refusedRows: number;
  /** Identity conflicts recorded in every project: two known users kept apart (identity/inspect.ts). */
  identityConflicts: number;
  /** Those of them still open: neither merged since nor decided to be kept apart. */
  openIdentityConflicts: number;
}

/** Bytes of the log beyond the batch writer's checkpoint. */
export function walLagBytes(walDir: string): { bytes: number; segments: number } {
  if (!existsSync(walDir)) return { bytes: 0, segments: 0 };
  const segments = listSegments(walDir);
  const checkpointPath = join(walDir, 'checkpoint.json');
  const committed: WalPosition = existsSync(checkpointPath)
    ? (JSON.parse(readFileSync(checkpointPath, 'utf8')) as { committed: WalPosition }).committed
    : { segment: segments[0] ?? 1, offset: 0 };
  let bytes = 0;
  for (const segment of segments) {
    if (segment < committed.segment) continue;
    const size = statSync(join(walDir, `${String(segment).padStart(10, '0')}.wal`)).size;
    bytes += segment === committed.segment ? Math.max(0, size - committed.offset) : size;
  }
  return { bytes, segments: segments.length };
}

/** Row counts and sizes of every facts table, and the log's lag. */
export async function storeStatus(facts: FactsEngine, walDir: string): Promise<StoreStatus> {
  const parts = await facts.query<{ table: string; rows: number; bytes: number; parts: number }>(
    `SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes, count() AS parts
     FROM system.parts
     WHERE database = currentDatabase() AND active
     GROUP BY table`,
  );
  const byTable = new Map(parts.map((p) => [p.table, p]));
  const [[refused], conflicts] = await Promise.all([
    facts.query<{ rows: number }>(
      'SELECT count() AS rows FROM quarantine WHERE reason_code = {code:String}',
      { code: 'store_refused_row' },
    ),
    conflictCounts(facts),
  ]);
  const lag = walLagBytes(walDir);
  return {
    engine: facts.kind,
    tables: FACTS_TABLES.map((table) => ({
      table,
      rows: Number(byTable.get(table)?.rows ?? 0),
      bytesOnDisk: Number(byTable.get(table)?.bytes ?? 0),
      parts: Number(byTable.get(table)?.parts ?? 0),
    })),
    walLagBytes: lag.bytes,
    walSegments: lag.segments,
    refusedRows: Number(refused?.rows ?? 0),
    identityConflicts: conflicts.total,
    openIdentityConflicts: conflicts.open,
  };
}
