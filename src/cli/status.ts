import { join } from 'node:path';
import type { Command } from 'commander';
import { runningServerAddress } from '../api/server-address.js';
import type { WindowStats } from '../collect/dedupe.js';
import { storeStatus } from '../collect/status.js';
import { hostAndPort, loadConfig } from '../config/config.js';
import { PulseloopError } from '../errors/registry.js';
import { openStores, printTable } from './context.js';
import { integer, say } from './lang.js';

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

/** Where a server listening on host:port answers this machine (a wildcard host listens on loopback too). */
export function serverUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${hostAndPort(reachable, port)}`;
}

/** The `/status` of the first of these servers that answers, and which one it was. */
async function firstAnswer<Status>(urls: string[]): Promise<{ url: string; status: Status } | undefined> {
  for (const url of new Set(urls)) {
    const status = await fetch(`${url}/status`)
      .then((r) => (r.ok ? (r.json() as Promise<Status>) : undefined))
      .catch(() => undefined);
    if (status) return { url, status };
  }
  return undefined;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      say(
        'Row counts and sizes of the stores, and how far the write-ahead log is behind.',
        '各存储的行数和大小，以及预写日志尚未写入存储的积压量。',
      ),
    )
    .action(async () => {
      const config = loadConfig();
      // What the server adds to the stores' status: the dedupe window lives in its memory.
      type ServerStatus = Awaited<ReturnType<typeof storeStatus>> & { dedupeWindow?: WindowStats };
      // A running server holds the embedded store: ask it instead of opening the files. The server
      // this data directory recorded comes first (a server on the configured port may serve another).
      const configuredUrl = serverUrl(config.host, config.port);
      const recorded = runningServerAddress(config.dataDir);
      const answer = await firstAnswer<ServerStatus>([
        ...(recorded ? [serverUrl(recorded.host, recorded.port)] : []),
        configuredUrl,
      ]);
      const fromServer = answer?.status;
      let status = fromServer;
      if (!status) {
        const stores = await openStores(config).catch((error: unknown) => {
          if (!(error instanceof PulseloopError) || error.code !== 'data_dir_in_use') throw error;
          throw new PulseloopError('status_server_elsewhere', {
            ...error.details,
            url: `${configuredUrl}/status`,
          });
        });
        status = await storeStatus(stores.facts, join(stores.config.dataDir, 'wal'));
        await stores.close();
      }
      process.stdout.write(
        say(
          `facts engine: ${status.engine}${answer ? ` (from the running server at ${answer.url})` : ''}\n`,
          `事实存储引擎：${status.engine}${answer ? `（来自运行于 ${answer.url} 的服务器）` : ''}\n`,
        ),
      );
      printTable(
        status.tables.map((t) => ({
          table: t.table,
          rows: integer.format(t.rows),
          size: formatBytes(t.bytesOnDisk),
          parts: t.parts,
        })),
      );
      const lag = formatBytes(status.walLagBytes);
      process.stdout.write(
        say(
          `write-ahead log: ${lag} not yet in the store, ${status.walSegments} segment(s)\n`,
          `预写日志：${lag} 尚未写入存储，共 ${status.walSegments} 个段\n`,
        ),
      );
      const window = fromServer?.dedupeWindow;
      if (window) {
        const ids = window.exactIds + window.compactIds;
        process.stdout.write(
          say(
            `dedupe window: ${ids} message ids (${window.exactIds} not yet known to be stored, ${window.compactIds} stored), ${formatBytes(window.bytes)} of memory\n`,
            `去重窗口：${ids} 个消息 ID（尚未确认入库 ${window.exactIds} 个，已入库 ${window.compactIds} 个），占用内存 ${formatBytes(window.bytes)}\n`,
          ),
        );
        if (window.droppedIds > 0 || window.keptHours < window.windowHours) {
          process.stdout.write(
            say(
              `dedupe window at its memory limit (PULSELOOP_DEDUPE_MEMORY_MB): keeps ${window.keptHours} hour(s), ${window.droppedIds} ids dropped since start (their re-deliveries are stored again and folded by queries)\n`,
              `去重窗口已达内存上限（PULSELOOP_DEDUPE_MEMORY_MB）：仅保留 ${window.keptHours} 小时，启动以来丢弃 ${window.droppedIds} 个 ID（其重复投递会再次入库，查询时合并）\n`,
            ),
          );
        }
      }
      // Absent in the answer of a server older than this command.
      if ((status.identityConflicts ?? 0) > 0) {
        const count = integer.format(status.identityConflicts);
        const open = integer.format(status.openIdentityConflicts ?? status.identityConflicts);
        process.stdout.write(
          say(
            `identity conflicts (two known users whose ids met, kept apart): ${count}, ${open} of them to decide (merge or keep apart); \`pulseloop identity conflicts\` lists them\n`,
            `身份冲突（两个已知用户的标识相遇，已保持分开）：${count} 条，其中 ${open} 条待处理（合并或保持分开）；用 \`pulseloop identity conflicts\` 查看\n`,
          ),
        );
      }
      if (status.refusedRows > 0) {
        process.stdout.write(
          say(
            `rows the facts store refused, kept in quarantine (reason store_refused_row): ${status.refusedRows}\n`,
            `事实存储拒绝、已保存在隔离区的行（原因 store_refused_row）：${status.refusedRows}\n`,
          ),
        );
      }
    });
}
