import type { FactsEngine } from './engine.js';
import { FACTS_MIGRATIONS, type Migration } from './schema.js';

export interface MigrationReport {
  applied: number[];
  alreadyApplied: number[];
}

/** Applies every facts migration not yet recorded; safe to run any number of times, concurrently too. */
export async function migrateFacts(
  engine: FactsEngine,
  migrations: Migration[] = FACTS_MIGRATIONS,
): Promise<MigrationReport> {
  // The first statement of migration 1 creates schema_migrations itself.
  const first = migrations[0]?.statements[0];
  if (first) await engine.command(first);
  const rows = await engine.query<{ version: number }>('SELECT DISTINCT version FROM schema_migrations');
  const done = new Set(rows.map((r) => Number(r.version)));
  const report: MigrationReport = { applied: [], alreadyApplied: [] };
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(migration.version)) {
      report.alreadyApplied.push(migration.version);
      continue;
    }
    for (const statement of migration.statements) await engine.command(statement);
    await engine.command(
      'INSERT INTO schema_migrations (version, name) VALUES ({version:UInt32}, {name:String})',
      {
        version: migration.version,
        name: migration.name,
      },
    );
    report.applied.push(migration.version);
  }
  return report;
}
