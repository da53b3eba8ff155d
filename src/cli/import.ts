import { createReadStream, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { detectImport } from '../collect/import/detect.js';
import { type ImportSummary, importFile } from '../collect/import/importer.js';
import { IMPORT_KINDS } from '../collect/import/kinds/index.js';
import type { CustomMapping } from '../collect/import/mapping.js';
import { PRESETS } from '../collect/import/presets/index.js';
import { loadConfig } from '../config/config.js';
import { detailText, PulseloopError } from '../errors/registry.js';
import type { MetadataStore } from '../store/metadata/open.js';
import { listProjects, type Project } from '../store/metadata/projects.js';
import { openStores, printTable, withMetadata } from './context.js';
import { progressBar } from './progress.js';

async function projectOf(metadata: MetadataStore, given: string | undefined): Promise<Project> {
  const projects = await listProjects(metadata);
  if (given) {
    const match = projects.find((p) => p.id === given || p.name === given);
    if (!match) throw new PulseloopError('not_found', { what: 'Project', what_zh: '项目', id: given });
    return match;
  }
  if (projects.length === 1) return projects[0]!;
  throw new PulseloopError('invalid_request', {
    ...(projects.length === 0
      ? detailText(
          'there is no project yet: create one with `pulseloop projects create --name <name>`.',
          '还没有项目，请先用 `pulseloop projects create --name <name>` 创建一个。',
        )
      : detailText(
          'there are several projects: choose one with --project <id or name>.',
          '有多个项目，请用 --project <ID 或名称> 选择一个。',
        )),
  });
}

function readMapping(path: string): CustomMapping {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new PulseloopError('import_invalid_mapping', {
      // The reader's or JSON.parse's own words, in English only.
      ...detailText(
        `${path}: ${error instanceof Error ? error.message : String(error)}`,
        `${path}：${error instanceof Error ? error.message : String(error)}`,
      ),
    });
  }
  const mapping = parsed as CustomMapping;
  if (typeof mapping !== 'object' || mapping === null || typeof mapping.columns !== 'object') {
    throw new PulseloopError('import_invalid_mapping', {
      ...detailText(
        `${path} needs a "columns" object of column name → field`,
        `${path} 需要一个 "columns" 对象（列名 → 字段）`,
      ),
    });
  }
  return mapping;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    throw new PulseloopError('not_found', { what: 'File', what_zh: '文件', id: path });
  }
}

const n = new Intl.NumberFormat('en-US');

function printSummary(summary: ImportSummary): void {
  const lines = [
    `${summary.kind}${summary.preset ? ` (${summary.preset})` : ''} · ${summary.format} · ${summary.encoding} · header on row ${summary.headerRow}`,
    `rows read 读取     ${n.format(summary.rowsRead)}`,
    `imported 新增      ${n.format(summary.imported)}`,
    `updated 更新       ${n.format(summary.updated)}`,
    `unchanged 未变     ${n.format(summary.unchanged)}`,
    `duplicates 重复    ${n.format(summary.duplicates)}`,
    `quarantined 隔离   ${n.format(summary.quarantined)}`,
    `skipped 跳过       ${n.format(summary.skipped.blank)} blank 空行, ${n.format(summary.skipped.summary)} summary 合计行, ${n.format(summary.skipped.header)} repeated header 重复表头`,
    `${(summary.durationMs / 1000).toFixed(1)} s, ${n.format(summary.rowsPerSecond)} rows/s`,
  ];
  if (summary.parsedBy && summary.parsedBy.engine > 0) {
    lines.push(
      `read by the engine 引擎解析 ${n.format(summary.parsedBy.engine)} rows, by JavaScript JavaScript 解析 ${n.format(summary.parsedBy.javascript)}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (summary.errors.length > 0) {
    process.stdout.write(
      `\nRow errors 行错误 (${n.format(summary.errorCount)}; all kept in quarantine 已全部隔离):\n`,
    );
    for (const e of summary.errors.slice(0, 20)) process.stdout.write(`  ${e.message}\n  ${e.message_zh}\n`);
    if (summary.errorCount > 20) process.stdout.write(`  … ${n.format(summary.errorCount - 20)} more\n`);
  }
}

interface ImportCommandOptions {
  kind?: string;
  preset?: string;
  mapping?: string;
  project?: string;
  source?: string;
  detect?: boolean;
  json?: boolean;
  reader?: string;
}

export function registerImportCommand(program: Command): void {
  program
    .command('import <file>')
    .description(
      'Import a platform export (CSV, TSV, XLSX, NDJSON; UTF-8 or GBK) into the facts store.\n' +
        `Kinds: ${Object.keys(IMPORT_KINDS).join(', ')}. Presets: ${PRESETS.map((p) => p.name).join(', ')}.`,
    )
    .option('--kind <kind>', 'what the file holds (default: the preset’s kind)')
    .option('--preset <name>', 'column names of a platform’s export')
    .option('--mapping <file.json>', 'custom mapping: {"columns": {"列名": "field"}, "defaults": {...}}')
    .option('--project <id>', 'project id or name (default: the only project)')
    .option('--source <id>', 'source id recorded on the imported rows')
    .option('--detect', 'only propose a preset and mapping and show a preview; imports nothing')
    .option('--json', 'print the summary as JSON')
    .option(
      '--reader <auto|javascript>',
      'who parses the file: the store’s engine where it can (auto, faster), or always JavaScript',
      'auto',
    )
    .action(async (file: string, options: ImportCommandOptions) => {
      if (options.reader !== 'auto' && options.reader !== 'javascript') {
        throw new PulseloopError('import_reader_unknown', { reader: String(options.reader) });
      }
      const size = fileSize(file);
      const mapping = options.mapping ? readMapping(options.mapping) : undefined;
      if (options.detect) {
        const timeZone = await withMetadata(async (metadata) => {
          const projects = await listProjects(metadata);
          return (
            projects.find((p) => p.id === options.project || p.name === options.project)?.timeZone ??
            projects[0]?.timeZone ??
            'Asia/Shanghai'
          );
        });
        const detection = await detectImport(createReadStream(file, { highWaterMark: 1 << 20 }), {
          fileName: basename(file),
          timeZone,
        });
        if (options.json) {
          process.stdout.write(`${JSON.stringify(detection, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `${detection.format} · ${detection.encoding} · header on row ${detection.headerRow} 表头在第 ${detection.headerRow} 行\n` +
            `columns 列: ${detection.columns.join(', ')}\n\nCandidates 候选:\n`,
        );
        printTable(
          detection.candidates.map((c) => ({
            kind: c.kind,
            preset: c.preset,
            matched: c.matched,
            by_preset: c.matchedByPreset,
          })),
        );
        if (!detection.proposal) {
          process.stdout.write(
            '\nNo kind fits these columns: write a --mapping file. 没有匹配的类型：请编写 --mapping 映射文件。\n',
          );
          return;
        }
        const p = detection.proposal;
        process.stdout.write(
          `\nProposal 建议: --kind ${p.kind}${p.preset ? ` --preset ${p.preset}` : ''}\n` +
            `Mapping 映射 (save as a --mapping file to adjust 可保存为映射文件后修改):\n${JSON.stringify(p.mapping, null, 2)}\n` +
            (p.unmappedColumns.length > 0 ? `Unmapped 未映射: ${p.unmappedColumns.join(', ')}\n` : '') +
            (p.missing ? `Missing 缺失: ${p.missing}\n` : ''),
        );
        process.stdout.write('\nPreview 预览:\n');
        for (const row of detection.preview) {
          process.stdout.write(
            row.values
              ? `  row ${row.row}: ${JSON.stringify(row.values)}\n`
              : `  row ${row.row}: ${row.errors?.map((e) => `${e.message} / ${e.message_zh}`).join('; ')}\n`,
          );
        }
        return;
      }
      const stores = await openStores(loadConfig());
      const bar = progressBar('Importing 导入', 'rows');
      try {
        const project = await projectOf(stores.metadata, options.project);
        const summary = await importFile(
          stores.facts,
          createReadStream(file, { highWaterMark: 1 << 20 }),
          {
            projectId: project.id,
            timeZone: project.timeZone,
            currency: project.currency,
            ...(options.source ? { sourceId: options.source } : {}),
          },
          {
            ...(options.kind ? { kind: options.kind } : {}),
            ...(options.preset ? { preset: options.preset } : {}),
            ...(mapping ? { mapping } : {}),
            fileName: basename(file),
            reader: options.reader,
            // Rows so far and bytes so far estimate the total rows, which gives rows/s and an ETA.
            onProgress: ({ rowsRead, bytesRead }) => {
              if (rowsRead === 0 || bytesRead === 0) return;
              bar.update(rowsRead, Math.max(rowsRead, Math.round((rowsRead * size) / bytesRead)));
            },
          },
        );
        bar.stop();
        // Peak memory of the whole process, for the benchmark's "flat, independent of file size".
        const peakRssBytes = process.resourceUsage().maxRSS * 1024;
        if (options.json) process.stdout.write(`${JSON.stringify({ ...summary, peakRssBytes })}\n`);
        else printSummary(summary);
      } finally {
        bar.stop();
        await stores.close();
      }
    });
}
