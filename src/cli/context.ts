import { type Config, loadConfig } from '../config/config.js';
import { detailText, PulseloopError } from '../errors/registry.js';
import type { FactsEngine } from '../store/facts/engine.js';
import { migrateMetadata } from '../store/metadata/migrate.js';
import { type MetadataStore, openMetadataStore } from '../store/metadata/open.js';
import { listProjects, type Project } from '../store/metadata/projects.js';
import { openMigratedStores } from '../store/open.js';
import { say } from './lang.js';
import { displayWidth, padToWidth } from './width.js';

/** The stores a command works on, opened and migrated. */
export interface CliStores {
  config: Config;
  facts: FactsEngine;
  metadata: MetadataStore;
  close(): Promise<void>;
}

/** Runs `work` on the migrated metadata store and closes it, whatever happens. */
export async function withMetadata<T>(work: (metadata: MetadataStore) => Promise<T>): Promise<T> {
  const metadata = await openMetadataStore(loadConfig());
  try {
    await migrateMetadata(metadata);
    return await work(metadata);
  } finally {
    await metadata.close();
  }
}

export async function openStores(config: Config = loadConfig()): Promise<CliStores> {
  const { facts, metadata } = await openMigratedStores(config);
  return {
    config,
    facts,
    metadata,
    async close() {
      await metadata.close();
      await facts.close();
    },
  };
}

/**
 * The project a command works on: the one `--project` names (id or name), else the only one; with
 * none or several, an error that says what to do.
 */
export async function chooseProject(metadata: MetadataStore, given: string | undefined): Promise<Project> {
  const projects = await listProjects(metadata);
  if (given) {
    const match = projects.find((p) => p.id === given || p.name === given);
    if (!match) throw new PulseloopError('not_found', { what: 'Project', what_zh: '项目', id: given });
    return match;
  }
  if (projects.length === 1) return projects[0]!;
  throw new PulseloopError(
    'invalid_request',
    projects.length === 0
      ? detailText(
          'there is no project yet: create one with `pulseloop projects create --name <name>`.',
          '还没有项目，请先用 `pulseloop projects create --name <name>` 创建一个。',
        )
      : detailText(
          'there are several projects: choose one with --project <id or name> (see `pulseloop projects list`).',
          '有多个项目，请用 --project <ID 或名称> 选择一个（见 `pulseloop projects list`）。',
        ),
  );
}

/** Prints rows as an aligned text table. */
export function printTable(rows: Array<Record<string, string | number | null>>): void {
  if (rows.length === 0) {
    process.stdout.write(say('(none)\n', '（无）\n'));
    return;
  }
  const columns = Object.keys(rows[0]!);
  const width = (c: string) => Math.max(c.length, ...rows.map((r) => displayWidth(String(r[c] ?? ''))));
  const widths = columns.map(width);
  const line = (values: string[]) =>
    values
      .map((v, i) => padToWidth(v, widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(columns)}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((c) => String(row[c] ?? '')))}\n`);
}
