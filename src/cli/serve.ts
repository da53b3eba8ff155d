import type { Command } from 'commander';
import type { Server } from '../api/server.js';
import { type Config, loadConfig } from '../config/config.js';
import { ownerExists } from '../govern/users.js';
import type { FactsEngine } from '../store/facts/engine.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { progressBar } from './progress.js';

/** Starts the server and stops it gracefully (draining the log) on SIGINT/SIGTERM. */
export async function serveUntilSignal(
  config: Config,
  stores: { facts?: FactsEngine; metadata?: MetadataStore } = {},
): Promise<Server> {
  // The HTTP stack is loaded only by the commands that serve, so the others start quickly.
  const { startServer } = await import('../api/server.js');
  const bar = progressBar('Replaying the log', 'rows');
  const server = await startServer(config, {
    ...stores,
    onProgress: (_phase, done, total) => bar.update(done, total),
  });
  bar.stop();
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
    .description('Start the Pulseloop server (collection API, health, OpenAPI at /openapi.json).')
    .option('-p, --port <port>', 'port to listen on (default: PORT or 8080)')
    .option('--host <host>', 'address to listen on (default: HOST or 127.0.0.1)')
    .action(async (options: { port?: string; host?: string }) => {
      const config = loadConfig(process.env, {
        ...(options.port !== undefined ? { port: Number(options.port) } : {}),
        ...(options.host !== undefined ? { host: options.host } : {}),
      });
      const server = await serveUntilSignal(config);
      process.stdout.write(`Pulseloop is listening on ${server.url}\n`);
      if (!(await ownerExists(server.metadata))) {
        process.stdout.write(
          [
            'No one can sign in yet. Create the first owner (the password is printed once):',
            '还没有可以登录的用户。请创建首个所有者（密码仅显示一次）：',
            '  pulseloop users create-owner --email you@example.com',
            '',
          ].join('\n'),
        );
      }
    });
}
