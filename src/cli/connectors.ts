import type { Command } from 'commander';
import {
  addConnectorInstance,
  type ConnectorInstance,
  findConnectorInstance,
  listCheckpoints,
  listConnectorInstances,
} from '../collect/connectors/instances.js';
import { listJobs } from '../collect/connectors/jobs.js';
import { CONNECTORS, connectorById } from '../collect/connectors/registry.js';
import {
  type JobOutcome,
  type PageProgress,
  queueSyncsNow,
  runDueSyncJobs,
  type SyncDeps,
  syncJobKey,
  syncNow,
} from '../collect/connectors/sync.js';
import type { JobStatus } from '../collect/connectors/tables.js';
import { setWebhookSecret } from '../collect/webhooks/secrets.js';
import { type Config, loadConfig } from '../config/config.js';
import { detailText, PulseloopError } from '../errors/registry.js';
import { loadPiiKeyring, type PiiKeyring } from '../govern/pii/keys.js';
import { type CliStores, chooseProject, openStores, printTable, withMetadata } from './context.js';

const JOB_STATUS_ZH: Record<JobStatus, string> = {
  queued: '排队中',
  running: '运行中',
  succeeded: '已成功',
  failed: '已失败',
};

import { say } from './lang.js';

/** `pulseloop connectors …`: connect platform accounts, run and watch their syncs, set webhook secrets. */

/** Settings from --config JSON and `key=value` pairs (text; the connector converts to the types it needs). */
function settingsOf(json: string | undefined, pairs: string[]): Record<string, unknown> {
  let settings: Record<string, unknown> = {};
  if (json) {
    try {
      settings = JSON.parse(json) as Record<string, unknown>;
    } catch (error) {
      throw new PulseloopError('invalid_request', {
        // JSON.parse's own words stay in English.
        ...detailText(
          `--config is not JSON: ${(error as Error).message}`,
          `--config 不是有效的 JSON：${(error as Error).message}`,
        ),
      });
    }
  }
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0)
      throw new PulseloopError('invalid_request', {
        ...detailText(
          `--set needs key=value, not "${pair}".`,
          `--set 需要 key=value 格式，而不是 "${pair}"。`,
        ),
      });
    settings[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return settings;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Progress of a sync on stderr: one line per page (rewritten in place on a terminal). */
function pageReporter(instance: ConnectorInstance): (progress: PageProgress) => void {
  const tty = process.stderr.isTTY === true;
  return (p) => {
    const line = say(
      `${instance.name} / ${p.stream}: ${p.position} · ${p.pages} pages · ${p.rows} rows · ${p.quarantined} quarantined`,
      `${instance.name} / ${p.stream}：${p.position} · ${p.pages} 页 · ${p.rows} 行 · 已隔离 ${p.quarantined} 行`,
    );
    process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
  };
}

function describeOutcome(instance: ConnectorInstance, stream: string, outcome: JobOutcome): string {
  if (outcome.status === 'succeeded') {
    const r = outcome.report;
    return say(
      `${instance.name} / ${stream}: ${r.pages} pages, ${r.rows} rows, ${r.quarantined} quarantined${r.resumed ? ' (resumed from the last checkpoint)' : ''}; next run ${outcome.nextRunAt}`,
      `${instance.name} / ${stream}：${r.pages} 页，${r.rows} 行，已隔离 ${r.quarantined} 行${r.resumed ? '（从上次的检查点继续）' : ''}；下次运行 ${outcome.nextRunAt}`,
    );
  }
  const error = outcome.error;
  const message =
    error instanceof PulseloopError ? `${error.message}\n  ${error.zh}` : (error as Error).message;
  // The error itself in both languages, as every error is.
  return outcome.status === 'failed'
    ? say(
        `${instance.name} / ${stream}: failed, not retried: ${message}`,
        `${instance.name} / ${stream}：失败，不再重试：${message}`,
      )
    : say(
        `${instance.name} / ${stream}: failed, will retry at ${outcome.job.nextRunAt}: ${message}`,
        `${instance.name} / ${stream}：失败，将于 ${outcome.job.nextRunAt} 重试：${message}`,
      );
}

/** The key ring stored access tokens are encrypted with: the server's (PULSELOOP_PII_KEYS or <data>/pii-keys.json). */
function keyringOf(config: Config): PiiKeyring {
  return loadPiiKeyring({ dataDir: config.dataDir, envValue: config.piiKeys });
}

function syncDeps(stores: CliStores, onPage?: (p: PageProgress) => void): SyncDeps {
  return {
    metadata: stores.metadata,
    facts: stores.facts,
    // Access tokens referenced as env:NAME are read from the environment of this command.
    env: process.env,
    keyring: keyringOf(stores.config),
    ...(onPage && { onPage }),
    // The reason is a status or the platform's own code and words (HTTP 429, error_code …), in
    // Chinese where the client words it.
    onRetry: (event) => {
      const seconds = (event.delayMs / 1000).toFixed(1);
      process.stderr.write(
        say(
          `\n  retry ${event.retry} in ${seconds} s (${event.reason})\n`,
          `\n  ${seconds} 秒后第 ${event.retry} 次重试（${event.reasonZh ?? event.reason}）\n`,
        ),
      );
    },
  };
}

async function withStores<T>(work: (stores: CliStores) => Promise<T>): Promise<T> {
  const stores = await openStores();
  try {
    return await work(stores);
  } finally {
    await stores.close();
  }
}

export function registerConnectorsCommand(program: Command): void {
  const connectors = program
    .command('connectors')
    .description(
      say(
        'Pull data from platform APIs (Ocean Engine, Douyin) and receive webhooks.',
        '从平台 API（巨量引擎、抖音）拉取数据，并接收 Webhook。',
      ),
    );

  connectors
    .command('list')
    .description(
      say('List the connected accounts and the connectors available.', '列出已连接的账号和可用的连接器。'),
    )
    .action(async () => {
      await withMetadata(async (metadata) => {
        printTable(
          (await listConnectorInstances(metadata)).map((i) => ({
            id: i.id,
            name: i.name,
            connector: i.connector,
            project: i.projectId,
            streams: connectorById(i.connector)
              .streams.map((s) => s.name)
              .join(','),
            credentials: i.credentialsRef.startsWith('env:') ? i.credentialsRef : say('stored', '已存储'),
          })),
        );
        process.stdout.write(
          say(
            `\navailable: ${CONNECTORS.map((c) => `${c.id} (${c.title.en})`).join(', ')}\n`,
            `\n可用：${CONNECTORS.map((c) => `${c.id}（${c.title.zh}）`).join('、')}\n`,
          ),
        );
      });
    });

  connectors
    .command('add')
    .description(say('Connect a platform account to a project.', '将平台账号连接到项目。'))
    .requiredOption(
      '--connector <id>',
      say(
        `connector: ${CONNECTORS.map((c) => c.id).join(', ')}`,
        `连接器：${CONNECTORS.map((c) => c.id).join('、')}`,
      ),
    )
    .requiredOption('--name <name>', say('a name for this account', '此账号的名称'))
    .option(
      '--project <id>',
      say('project id or name (default: the only project)', '项目 ID 或名称（默认：唯一的项目）'),
    )
    .option(
      '--config <json>',
      say(
        'settings as JSON, e.g. {"advertiserId":"…","startDate":"2025-03-01"}',
        'JSON 格式的设置，例如 {"advertiserId":"…","startDate":"2025-03-01"}',
      ),
    )
    .option('--set <key=value>', say('one setting (repeatable)', '单项设置（可重复）'), collect, [])
    .option(
      '--token-env <NAME>',
      say(
        'read the access token from this environment variable at each sync',
        '每次同步时从此环境变量读取访问令牌',
      ),
    )
    .option(
      '--token <token>',
      say(
        'store this access token in the metadata store (encrypted with the PII key ring)',
        '将此访问令牌保存到元数据存储中（用 PII 密钥环加密）',
      ),
    )
    .action(
      async (options: {
        connector: string;
        name: string;
        project?: string;
        config?: string;
        set: string[];
        tokenEnv?: string;
        token?: string;
      }) => {
        if (!options.tokenEnv === !options.token) {
          throw new PulseloopError('invalid_request', {
            ...detailText(
              'give exactly one of --token-env NAME or --token TOKEN.',
              '必须且只能提供 --token-env NAME 或 --token TOKEN 其中之一。',
            ),
          });
        }
        await withMetadata(async (metadata) => {
          const instance = await addConnectorInstance(metadata, {
            projectId: (await chooseProject(metadata, options.project)).id,
            connector: options.connector,
            name: options.name,
            config: settingsOf(options.config, options.set),
            credentials: options.tokenEnv
              ? { env: options.tokenEnv }
              : { token: options.token as string, keyring: keyringOf(loadConfig()) },
          });
          // The first run of every stream is due at once: a running server takes it up at its next poll.
          await queueSyncsNow(metadata, instance);
          process.stdout.write(`${instance.id}\n`);
          process.stderr.write(
            say(
              `first sync queued: a running server starts it within PULSELOOP_CONNECTOR_POLL_SECONDS, or run \`pulseloop connectors sync "${instance.name}"\` now\n`,
              `首次同步已排队：运行中的服务器会在 PULSELOOP_CONNECTOR_POLL_SECONDS 秒内开始同步，也可以现在运行 \`pulseloop connectors sync "${instance.name}"\`\n`,
            ),
          );
        });
      },
    );

  connectors
    .command('sync <connector>')
    .description(
      say(
        'Sync a connected account now (every stream, or one), resuming from its last checkpoint.',
        '立即同步已连接的账号（全部数据流或其中一个），从上次的检查点继续。',
      ),
    )
    .option('--stream <name>', say('only this stream', '只同步此数据流'))
    .action(async (idOrName: string, options: { stream?: string }) => {
      await withStores(async (stores) => {
        const instance = await findConnectorInstance(stores.metadata, idOrName);
        const streams = options.stream
          ? [options.stream]
          : connectorById(instance.connector).streams.map((s) => s.name);
        let failed = false;
        for (const stream of streams) {
          const outcome = await syncNow(syncDeps(stores, pageReporter(instance)), instance, stream);
          if (process.stderr.isTTY) process.stderr.write('\n');
          process.stdout.write(`${describeOutcome(instance, stream, outcome)}\n`);
          failed ||= outcome.status !== 'succeeded';
        }
        if (failed) process.exitCode = 2;
      });
    });

  connectors
    .command('run-due')
    .description(
      say(
        'Run every sync that is due (for cron or a systemd timer), then exit.',
        '运行所有已到期的同步（供 cron 或 systemd 定时器使用），然后退出。',
      ),
    )
    .action(async () => {
      await withStores(async (stores) => {
        const outcomes = await runDueSyncJobs(syncDeps(stores));
        for (const outcome of outcomes) {
          const { instanceId, stream } = outcome.job.payload;
          const instance = await findConnectorInstance(stores.metadata, instanceId);
          process.stdout.write(`${describeOutcome(instance, stream, outcome)}\n`);
        }
        if (outcomes.length === 0) process.stdout.write(say('no sync is due\n', '没有到期的同步\n'));
      });
    });

  connectors
    .command('status [connector]')
    .description(
      say(
        'Show where each stream stands: checkpoint, rows written, the latest jobs.',
        '显示每个数据流的进度：检查点、已写入的行数和最近的任务。',
      ),
    )
    .action(async (idOrName: string | undefined) => {
      await withMetadata(async (metadata) => {
        const instances = idOrName
          ? [await findConnectorInstance(metadata, idOrName)]
          : await listConnectorInstances(metadata);
        const rows: Array<Record<string, string | number | null>> = [];
        for (const instance of instances) {
          const checkpoints = await listCheckpoints(metadata, instance.id);
          for (const stream of connectorById(instance.connector).streams) {
            const checkpoint = checkpoints.find((c) => c.stream === stream.name);
            const [latest] = await listJobs(metadata, {
              singletonKeyPrefix: syncJobKey(instance.id, stream.name),
              limit: 1,
            });
            rows.push({
              connector: instance.name,
              stream: stream.name,
              state: checkpoint
                ? checkpoint.inProgress
                  ? say('part-way', '进行中')
                  : say('complete', '已完成')
                : say('never run', '从未运行'),
              cursor: checkpoint ? JSON.stringify(checkpoint.state.cursor) : null,
              pages: checkpoint?.pagesWritten ?? 0,
              rows: checkpoint?.rowsWritten ?? 0,
              job: latest
                ? say(
                    `${latest.status} (attempt ${latest.attempts})`,
                    `${JOB_STATUS_ZH[latest.status]}（第 ${latest.attempts} 次尝试）`,
                  )
                : null,
              next_run: latest?.status === 'queued' ? latest.nextRunAt : null,
              last_error: latest?.lastError?.split('\n')[0] ?? null,
            });
          }
        }
        printTable(rows);
      });
    });

  connectors
    .command('webhook-secret')
    .description(
      say(
        "Set the secret a source's webhook is verified with (POST /v1/webhooks/<source>/<platform>).",
        '设置用于验证数据源 Webhook 的密钥（POST /v1/webhooks/<source>/<platform>）。',
      ),
    )
    .requiredOption(
      '--source <id>',
      say('source id (see `pulseloop keys list`)', '数据源 ID（见 `pulseloop keys list`）'),
    )
    .requiredOption(
      '--platform <platform>',
      say('shopify, doudian or generic', 'shopify、doudian 或 generic'),
    )
    .requiredOption(
      '--secret <secret>',
      say(
        'the signing secret (Shopify app secret, Douyin shop app secret, or your own)',
        '签名密钥（Shopify 应用密钥、抖店应用密钥或自定义密钥）',
      ),
    )
    .option('--app-key <key>', say('Douyin shop: the app key', '抖店：应用的 App Key'))
    .action(async (options: { source: string; platform: string; secret: string; appKey?: string }) => {
      await withMetadata(async (metadata) => {
        await setWebhookSecret(metadata, {
          sourceId: options.source,
          platform: options.platform,
          secret: options.secret,
          ...(options.appKey && { appKey: options.appKey }),
        });
        process.stdout.write(`/v1/webhooks/${options.source}/${options.platform}\n`);
      });
    });
}
