import { commandsConcurrently, type FactsEngine } from './engine.js';
import { FACTS_TABLES, type FactsTable } from './schema.js';

/**
 * Partitions merged at once. A merge keeps ~1.6 of two cores busy; two at once fill the gaps
 * (compacting the demo world: 1.13×, five alternating pairs). More were not measured.
 */
const MERGES_AT_ONCE = 2;

/**
 * Merges each partition of the facts tables into one part. Readers use FINAL so that re-delivered
 * or re-imported rows count once; over a partition with a single part FINAL has nothing to fold and
 * costs no more than a plain read, while over many small parts it merges them at every query. After a
 * bulk load (the demo world, a large import) compacting once makes every later analysis cheaper;
 * background merges do the same over time for data that arrives in small batches.
 */
export async function compactFacts(
  facts: FactsEngine,
  onProgress?: (done: number, total: number) => void,
): Promise<{ table: FactsTable; partitions: number }[]> {
  const report: { table: FactsTable; partitions: number }[] = [];
  const work: { table: FactsTable; partition: string }[] = [];
  for (const table of FACTS_TABLES) {
    const rows = await facts.query<{ partition_id: string }>(
      `SELECT partition_id FROM system.parts
       WHERE database = currentDatabase() AND table = {table:String} AND active
       GROUP BY partition_id HAVING count() > 1 ORDER BY partition_id`,
      { table },
    );
    for (const r of rows) work.push({ table, partition: r.partition_id });
    report.push({ table, partitions: rows.length });
  }
  const statements = work.map(({ table, partition }) => {
    // The table name comes from FACTS_TABLES and the partition id from system.parts (digits and
    // hex), both checked here: OPTIMIZE takes no bound parameters.
    if (!/^[A-Za-z0-9_-]+$/.test(partition)) throw new Error(`unexpected partition id ${partition}`);
    return `OPTIMIZE TABLE ${table} PARTITION ID '${partition}' FINAL`;
  });
  let done = 0;
  onProgress?.(0, statements.length);
  await commandsConcurrently(facts, statements, MERGES_AT_ONCE, () =>
    onProgress?.(++done, statements.length),
  );
  return report;
}
