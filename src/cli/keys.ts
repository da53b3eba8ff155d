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
  const keys = program.command('keys').description('Create, list and revoke write keys.');
  keys
    .command('create')
    .description('Create a source with a write key for sending events.')
    .option('--project <id>', 'project id or name (default: the only project)')
    .option('--name <name>', 'source name', 'Website')
    .option('--kind <kind>', `source kind: ${SOURCE_KINDS.join(', ')}`, 'website')
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
    .description('List the write keys of a project, revoked ones included.')
    .option('--project <id>', 'project id or name (default: the only project)')
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
    .description('Revoke a write key: requests with it are refused with 401 from then on.')
    .action(async (key: string) => {
      await withMetadata(async (metadata) => {
        if (!(await revokeWriteKey(metadata, key)))
          throw new PulseloopError('not_found', { what: 'Write key', what_zh: '写入密钥', id: key });
        process.stdout.write(`revoked ${key}\n`);
      });
    });
}
