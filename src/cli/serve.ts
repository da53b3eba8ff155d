import type { Command } from 'commander';
import type { Server } from '../api/server.js';
import { type Config, loadConfig } from '../config/config.js';
import { detailText, PulseloopError } from '../errors/registry.js';
import { ownerExists } from '../govern/users.js';
import type { FactsEngine } from '../store/facts/engine.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { say } from './lang.js';
import { progressBar } from './progress.js';

/** Starts the server and stops it gracefully (draining the log) on SIGINT/SIGTERM. */
export async function serveUntilSignal(
  config: Config,
  stores: { facts?: FactsEngine; metadata?: MetadataStore } = {},
): Promise<Server> {
  // The HTTP stack is loaded only by the commands that serve, so the others start quickly.
  const { startServer } = await import('../api/server.js');
  // One bar per start-up phase: the log's replay, then the dedupe window's message ids.
  const labels: Record<string, [string, string]> = {
    replay: [say('Replaying the log', '重放预写日志'), say('rows', '行')],
    dedupe: [say('Loading message ids', '加载消息 ID'), say('ids', '个')],
  };
  let phase: string | undefined;
  let bar: ReturnType<typeof progressBar> | undefined;
  const server = await startServer(config, {
    ...stores,
    onProgress: (next, done, total) => {
      if (next !== phase) {
        bar?.stop();
        const [label, unit] = labels[next] ?? [next, ''];
        bar = progressBar(label, unit);
        phase = next;
      }
      bar?.update(done, total);
    },
  });
  bar?.stop();
  const stop = async (signal: string) => {
    server.logger.info({ signal }, 'shutting down: draining the write-ahead log');
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return server;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      say(
        'Start the Pulseloop server (collection API, health, OpenAPI at /openapi.json).',
        '启动 Pulseloop 服务器（采集 API、健康检查，OpenAPI 文档位于 /openapi.json）。',
      ),
    )
    .option(
      '-p, --port <port>',
      say('port to listen on (default: PORT or 8080)', '监听端口（默认：PORT 或 8080）'),
    )
    .option(
      '--host <host>',
      say('address to listen on (default: HOST or 127.0.0.1)', '监听地址（默认：HOST 或 127.0.0.1）'),
    )
    .action(async (options: { port?: string; host?: string }) => {
      const config = loadConfig(process.env, {
        ...(options.port !== undefined ? { port: portOption(options.port) } : {}),
        ...(options.host !== undefined ? { host: options.host } : {}),
      });
      const server = await serveUntilSignal(config);
      process.stdout.write(
        say(`Pulseloop is listening on ${server.url}\n`, `Pulseloop 正在监听 ${server.url}\n`),
      );
      if (!(await ownerExists(server.metadata))) {
        process.stdout.write(
          [
            say(
              'No one can sign in yet. Create the first owner (the password is printed once):',
              '还没有可以登录的用户。请创建首个所有者（密码仅显示一次）：',
            ),
            '  pulseloop users create-owner --email you@example.com',
            '',
          ].join('\n'),
        );
      }
    });
}

/** `--port` as a number, refused with both languages when it is not a port (PORT is checked by the configuration). */
function portOption(value: string): number {
  const port = Number(value);
  if (/^\d+$/.test(value) && port <= 65_535) return port;
  const given = JSON.stringify(value.slice(0, 40));
  throw new PulseloopError(
    'invalid_request',
    detailText(
      `--port must be a whole number from 0 to 65535 (0: any free port), got ${given}.`,
      `--port 必须是 0 到 65535 之间的整数（0 表示任一空闲端口），而不是 ${given}。`,
    ),
  );
}
