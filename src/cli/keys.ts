import type { Command } from 'commander';
import { detailText, PulseloopError } from '../errors/registry.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { listProjects } from '../store/metadata/projects.js';
import {
  createSource,
  listWriteKeys,
  revokeWriteKey,
  SOURCE_KINDS,
  type SourceKind,
} from '../store/metadata/sources.js';
import { printTable, withMetadata } from './context.js';
import { say } from './lang.js';

async function projectIdOf(metadata: MetadataStore, given: string | undefined): Promise<string> {
  const projects = await listProjects(metadata);
  if (given) {
    const match = projects.find((p) => p.id === given || p.name === given);
    if (!match) throw new PulseloopError('not_found', { what: 'Project', what_zh: '项目', id: given });
    return match.id;
  }
  if (projects.length === 1) return projects[0]!.id;
  throw new PulseloopError('invalid_request', {
    ...(projects.length === 0
      ? detailText(
          'there is no project yet: create one with `pulseloop projects create --name <name>`.',
          '还没有项目，请先用 `pulseloop projects create --name <name>` 创建一个。',
        )
      : detailText(
          'there are several projects: choose one with --project <id or name> (see `pulseloop projects list`).',
          '有多个项目，请用 --project <ID 或名称> 选择一个（见 `pulseloop projects list`）。',
        )),
  });
}

export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description(say('Create, list and revoke write keys.', '创建、列出和撤销写入密钥。'));
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
        const projectId = await projectIdOf(metadata, options.project);
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
      say('List the write keys of a project, revoked ones included.', '列出项目的写入密钥（包括已撤销的）。'),
    )
    .option(
      '--project <id>',
      say('project id or name (default: the only project)', '项目 ID 或名称（默认：唯一的项目）'),
    )
    .action(async (options: { project?: string }) => {
      await withMetadata(async (metadata) => {
        const projectId = await projectIdOf(metadata, options.project);
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
        '撤销写入密钥：此后使用它的请求都会被拒绝（401）。',
      ),
    )
    .action(async (key: string) => {
      await withMetadata(async (metadata) => {
        if (!(await revokeWriteKey(metadata, key)))
          throw new PulseloopError('not_found', { what: 'Write key', what_zh: '写入密钥', id: key });
        process.stdout.write(say(`revoked ${key}\n`, `已撤销 ${key}\n`));
      });
    });
}
