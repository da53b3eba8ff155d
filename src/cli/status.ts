import { join } from 'node:path';
import type { Command } from 'commander';
import { storeStatus } from '../collect/status.js';
import { loadConfig } from '../config/config.js';
import { openStores, printTable } from './context.js';

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('Row counts and sizes of the stores, and how far the write-ahead log is behind.')
    .action(async () => {
      const config = loadConfig();
      // A running server holds the embedded store: ask it instead of opening the files.
      const fromServer = await fetch(`http://${config.host}:${config.port}/status`)
        .then((r) => (r.ok ? (r.json() as Promise<Awaited<ReturnType<typeof storeStatus>>>) : undefined))
        .catch(() => undefined);
      let status = fromServer;
      if (!status) {
        const stores = await openStores();
        status = await storeStatus(stores.facts, join(stores.config.dataDir, 'wal'));
        await stores.close();
      }
      process.stdout.write(
        `facts engine: ${status.engine}${fromServer ? ' (from the running server)' : ''}\n`,
      );
      printTable(
        status.tables.map((t) => ({ table: t.table, rows: t.rows, size: formatBytes(t.bytesOnDisk) })),
      );
      process.stdout.write(
        `write-ahead log: ${formatBytes(status.walLagBytes)} not yet in the store, ${status.walSegments} segment(s)\n`,
      );
    });
}
