import type { Command } from 'commander';
import { createOrganisation, listOrganisations } from '../store/metadata/organisations.js';
import { createProject, listProjects } from '../store/metadata/projects.js';
import { printTable, withMetadata } from './context.js';

export function registerProjectsCommand(program: Command): void {
  const projects = program.command('projects').description('Create and list projects.');
  projects
    .command('create')
    .description('Create a project (and an organisation when there is none).')
    .requiredOption('--name <name>', 'project name')
    .option('--time-zone <iana>', 'IANA time zone of the project', 'Asia/Shanghai')
    .option('--currency <code>', 'ISO 4217 currency', 'CNY')
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
    .description('List projects.')
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
