import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFile } from '../src/collect/import/importer.js';
import { openChdbEngine } from '../src/store/facts/chdb-engine.js';
import { type FactsEngine, type InsertRowsOptions, insertRows } from '../src/store/facts/engine.js';
import { migrateFacts } from '../src/store/facts/migrate.js';

/**
 * The engine's share of a file import, alone: the file is parsed and encoded first (not timed), the
 * encoded chunks are then written into a fresh embedded store exactly as the import writes them
 * (timed). Run as its own process (chdb takes one data directory per process):
 * `node dist/bench/import-engine.js FILE` prints `{"rows":…,"seconds":…}`.
 */

interface Captured {
  table: string;
  rows: Buffer;
  options: InsertRowsOptions;
}

async function encodeChunks(file: string, engine: FactsEngine): Promise<Captured[]> {
  const captured: Captured[] = [];
  const capturing: FactsEngine = {
    ...engine,
    // Chunk buffers are reused by the importer: each is copied as it is handed over.
    insertRows: async (table, rows, options) => {
      captured.push({ table, rows: Buffer.from(rows), options });
    },
    insertJsonEachRow: async (table, rows, options) => {
      captured.push({ table, rows: Buffer.from(rows), options: { ...options, format: 'JSONEachRow' } });
    },
  };
  await importFile(
    capturing,
    createReadStream(file),
    { projectId: 'bench', timeZone: 'Asia/Shanghai', currency: 'CNY' },
    { preset: 'douyin_content', fileName: file },
  );
  return captured;
}

async function main(file: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pulseloop-bench-import-engine-'));
  try {
    const engine = await openChdbEngine(dir, 'pulseloop_bench_import');
    await migrateFacts(engine);
    const chunks = await encodeChunks(file, engine);
    let rows = 0;
    const started = performance.now();
    for (const chunk of chunks) {
      await insertRows(engine, chunk.table, chunk.rows, chunk.options);
      rows += chunk.rows.reduce((n, byte) => (byte === 10 ? n + 1 : n), 0);
    }
    const seconds = (performance.now() - started) / 1000;
    await engine.close();
    process.stdout.write(`${JSON.stringify({ rows, seconds })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('import-engine.js')) {
  main(process.argv[2] ?? '').then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
