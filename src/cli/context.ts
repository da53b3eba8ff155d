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

/** The Chinese of every column the command line's tables have (the English is the column's name). */
const COLUMNS_ZH: Record<string, string> = {
  id: 'ID',
  name: '名称',
  key: '密钥',
  source: '来源',
  created_at: '创建时间',
  revoked_at: '吊销时间',
  time_zone: '时区',
  currency: '货币',
  email: '邮箱',
  role: '角色',
  user: '用户',
  table: '表',
  rows: '行数',
  size: '大小',
  parts: '分片',
  connector: '连接器',
  project: '项目',
  streams: '数据流',
  credentials: '凭据',
  stream: '数据流',
  state: '状态',
  cursor: '游标',
  pages: '页数',
  job: '任务',
  next_run: '下次运行',
  last_error: '最近错误',
  kind: '类型',
  preset: '预设',
  matched: '匹配列数',
  by_preset: '按预设匹配',
  active: '当前使用',
  connector_tokens: '连接器令牌',
  persons: '人员',
  linked: '已关联',
  alreadyLinked: '此前已关联',
  conflicts: '冲突',
  at: '时间',
  type: '标识类型',
  linked_at: '关联时间',
  reason: '原因',
  distinct_id: '标识',
  other_distinct_id: '对方标识',
  person: '人员',
  other_person: '对方人员',
  now: '现状',
  times: '次数',
};

/** A table's column heading in the command line's language. */
export function columnHeading(column: string): string {
  return say(column, COLUMNS_ZH[column] ?? column);
}

/** Prints rows as an aligned text table, its headings in the command line's language. */
export function printTable(rows: Array<Record<string, string | number | null>>): void {
  if (rows.length === 0) {
    process.stdout.write(say('(none)\n', '（无）\n'));
    return;
  }
  const columns = Object.keys(rows[0]!);
  const headings = columns.map(columnHeading);
  const widths = columns.map((c, i) =>
    Math.max(displayWidth(headings[i]!), ...rows.map((r) => displayWidth(String(r[c] ?? '')))),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => padToWidth(v, widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(headings)}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((c) => String(row[c] ?? '')))}\n`);
}
