import type { Command } from 'commander';
import { PulseloopError } from '../errors/registry.js';
import {
  createSource,
  listWriteKeys,
  revokeWriteKey,
  SOURCE_KINDS,
  type SourceKind,
} from '../store/metadata/sources.js';
import { chooseProject, printTable, withMetadata } from './context.js';
import { say } from './lang.js';

export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description(say('Create, list and revoke write keys.', '创建、列出和吊销写入密钥。'));
  keys
    .command('create')
    .description(
      say(
        'Create a source with a write key for sending events.',
        '创建一个带写入密钥的数据源，用于上报事件。',
      ),
    )
    .option(
      '--project <id>',
      say('project id or name (default: the only project)', '项目 ID 或名称（默认：唯一的项目）'),
    )
    .option('--name <name>', say('source name', '数据源名称'), 'Website')
    .option(
      '--kind <kind>',
      say(`source kind: ${SOURCE_KINDS.join(', ')}`, `数据源类型：${SOURCE_KINDS.join('、')}`),
      'website',
    )
    .action(async (options: { project?: string; name: string; kind: string }) => {
      await withMetadata(async (metadata) => {
        const projectId = (await chooseProject(metadata, options.project)).id;
        const { writeKey } = await createSource(metadata, {
          projectId,
          name: options.name,
          kind: options.kind as SourceKind,
        });
        process.stdout.write(`${writeKey.key}\n`);
      });
    });
  keys
    .command('list')
    .description(
      say('List the write keys of a project, revoked ones included.', '列出项目的写入密钥（包括已吊销的）。'),
    )
    .option(
      '--project <id>',
      say('project id or name (default: the only project)', '项目 ID 或名称（默认：唯一的项目）'),
    )
    .action(async (options: { project?: string }) => {
      await withMetadata(async (metadata) => {
        const projectId = (await chooseProject(metadata, options.project)).id;
        printTable(
          (await listWriteKeys(metadata, projectId)).map((k) => ({
            key: k.key,
            source: k.sourceId,
            created_at: k.createdAt,
            revoked_at: k.revokedAt,
          })),
        );
      });
    });
  keys
    .command('revoke <key>')
    .description(
      say(
        'Revoke a write key: requests with it are refused with 401 from then on.',
        '吊销写入密钥：此后使用它的请求都会被拒绝（401）。',
      ),
    )
    .action(async (key: string) => {
      await withMetadata(async (metadata) => {
        if (!(await revokeWriteKey(metadata, key)))
          throw new PulseloopError('not_found', { what: 'Write key', what_zh: '写入密钥', id: key });
        process.stdout.write(say(`revoked ${key}\n`, `已吊销 ${key}\n`));
      });
    });
}
