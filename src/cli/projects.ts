import type { Command } from 'commander';
import { createOrganisation, listOrganisations } from '../store/metadata/organisations.js';
import { createProject, listProjects } from '../store/metadata/projects.js';
import { printTable, withMetadata } from './context.js';
import { say } from './lang.js';

export function registerProjectsCommand(program: Command): void {
  const projects = program
    .command('projects')
    .description(say('Create and list projects.', '创建和列出项目。'));
  projects
    .command('create')
    .description(
      say(
        'Create a project (and an organisation when there is none).',
        '创建项目（若还没有组织，则一并创建）。',
      ),
    )
    .requiredOption('--name <name>', say('project name', '项目名称'))
    .option('--time-zone <iana>', say('IANA time zone of the project', '项目的 IANA 时区'), 'Asia/Shanghai')
    .option('--currency <code>', say('ISO 4217 currency', 'ISO 4217 货币代码'), 'CNY')
    .action(async (options: { name: string; timeZone: string; currency: string }) => {
      await withMetadata(async (metadata) => {
        const organisation =
          (await listOrganisations(metadata))[0] ?? (await createOrganisation(metadata, { name: 'Default' }));
        const project = await createProject(metadata, {
          organisationId: organisation.id,
          name: options.name,
          timeZone: options.timeZone,
          currency: options.currency,
        });
        process.stdout.write(`${project.id}\n`);
      });
    });
  projects
    .command('list')
    .description(say('List projects.', '列出项目。'))
    .action(async () => {
      await withMetadata(async (metadata) => {
        printTable(
          (await listProjects(metadata)).map((p) => ({
            id: p.id,
            name: p.name,
            time_zone: p.timeZone,
            currency: p.currency,
            created_at: p.createdAt,
          })),
        );
      });
    });
}
