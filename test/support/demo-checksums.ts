import type { FactsEngine } from '../../src/store/facts/engine.js';

/** The tables the demo world writes. */
export const DEMO_TABLES = [
  'events',
  'identities',
  'persons',
  'content_stats',
  'ad_spend',
  'orders',
  'comments',
  'identity_log',
] as const;

/**
 * An order-independent fingerprint of every row of every demo table (row count and XOR of row
 * hashes), and of the hourly rollup's sums per key (its rows depend on how its parts merged).
 */
export async function demoChecksums(engine: FactsEngine): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of DEMO_TABLES) {
    const [row] = await engine.query<{ n: number; h: string }>(
      `SELECT count() AS n, toString(groupBitXor(cityHash64(*))) AS h FROM ${table}`,
    );
    out[table] = `${row?.n} ${row?.h}`;
  }
  const [rollup] = await engine.query<{ h: string }>(
    `SELECT toString(groupBitXor(cityHash64(*))) AS h FROM (
       SELECT event, hour, platform, channel, utm_source, utm_medium, device_type, country,
         sum(events), sum(revenue)
       FROM event_rollup_hourly
       GROUP BY event, hour, platform, channel, utm_source, utm_medium, device_type, country)`,
  );
  out.event_rollup_hourly = rollup?.h ?? '';
  return out;
}

/** Empties the demo tables and the rollup. */
export async function emptyDemoTables(engine: FactsEngine): Promise<void> {
  for (const table of [...DEMO_TABLES, 'event_rollup_hourly'])
    await engine.command(`TRUNCATE TABLE ${table}`);
}
