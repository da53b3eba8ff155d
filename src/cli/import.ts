import { createReadStream, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { detectImport } from '../collect/import/detect.js';
import { type ImportSummary, importFile } from '../collect/import/importer.js';
import { IMPORT_KINDS } from '../collect/import/kinds/index.js';
import { type CustomMapping, withDayOfNumbers } from '../collect/import/mapping.js';
import { PRESETS } from '../collect/import/presets/index.js';
import { loadConfig } from '../config/config.js';
import { detailText, PulseloopError } from '../errors/registry.js';
import { listProjects } from '../store/metadata/projects.js';
import { chooseProject, openStores, printTable, withMetadata } from './context.js';
import { integer, say } from './lang.js';
import { progressBar } from './progress.js';
import { displayWidth, padToWidth } from './width.js';

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

/** `label   value` lines whose values start at the same terminal column (Chinese labels take two per character). */
function aligned(rows: Array<[label: string, value: string]>): string[] {
  const width = Math.max(...rows.map(([label]) => displayWidth(label))) + 2;
  return rows.map(([label, value]) => padToWidth(label, width) + value);
}

function printSummary(summary: ImportSummary): void {
  const skipped = summary.skipped;
  const lines = [
    `${summary.kind}${summary.preset ? ` (${summary.preset})` : ''} · ${summary.format} · ${summary.encoding} · ${say(`header on row ${summary.headerRow}`, `表头在第 ${summary.headerRow} 行`)}`,
    ...aligned([
      [say('rows read', '读取行数'), integer.format(summary.rowsRead)],
      [say('imported', '新增'), integer.format(summary.imported)],
      [say('updated', '更新'), integer.format(summary.updated)],
      [say('unchanged', '未变'), integer.format(summary.unchanged)],
      [say('duplicates', '重复'), integer.format(summary.duplicates)],
      [say('quarantined', '已隔离'), integer.format(summary.quarantined)],
      [
        say('skipped', '已跳过'),
        say(
          `${integer.format(skipped.blank)} blank, ${integer.format(skipped.summary)} summary, ${integer.format(skipped.header)} repeated header`,
          `空行 ${integer.format(skipped.blank)}，合计行 ${integer.format(skipped.summary)}，重复表头 ${integer.format(skipped.header)}`,
        ),
      ],
    ]),
    say(
      `${(summary.durationMs / 1000).toFixed(1)} s, ${integer.format(summary.rowsPerSecond)} rows/s`,
      `用时 ${(summary.durationMs / 1000).toFixed(1)} 秒，每秒 ${integer.format(summary.rowsPerSecond)} 行`,
    ),
  ];
  if (summary.parsedBy && summary.parsedBy.engine > 0) {
    const { engine, javascript } = summary.parsedBy;
    lines.push(
      say(
        `read by the engine ${integer.format(engine)} rows, by JavaScript ${integer.format(javascript)}`,
        `引擎解析 ${integer.format(engine)} 行，JavaScript 解析 ${integer.format(javascript)} 行`,
      ),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (summary.errors.length > 0) {
    const count = integer.format(summary.errorCount);
    process.stdout.write(
      say(`\nRow errors (${count}; all kept in quarantine):\n`, `\n行错误（${count} 行，均已隔离）：\n`),
    );
    // Each row error in both languages, as every error is.
    for (const e of summary.errors.slice(0, 20)) process.stdout.write(`  ${e.message}\n  ${e.message_zh}\n`);
    if (summary.errorCount > 20) {
      const more = integer.format(summary.errorCount - 20);
      process.stdout.write(say(`  … ${more} more\n`, `  … 还有 ${more} 行\n`));
    }
  }
}

interface ImportCommandOptions {
  kind?: string;
  preset?: string;
  mapping?: string;
  date?: string;
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
      say(
        'Import a platform export (CSV, TSV, XLSX, NDJSON; UTF-8 or GBK) into the facts store.\n' +
          `Kinds: ${Object.keys(IMPORT_KINDS).join(', ')}. Presets: ${PRESETS.map((p) => p.name).join(', ')}.`,
        '将平台导出文件（CSV、TSV、XLSX、NDJSON；UTF-8 或 GBK）导入事实存储。\n' +
          `类型：${Object.keys(IMPORT_KINDS).join('、')}。预设：${PRESETS.map((p) => p.name).join('、')}。`,
      ),
    )
    .option(
      '--kind <kind>',
      say('what the file holds (default: the preset’s kind)', '文件内容的类型（默认：预设的类型）'),
    )
    .option('--preset <name>', say('column names of a platform’s export', '某个平台导出文件的列名预设'))
    .option(
      '--mapping <file.json>',
      say(
        'custom mapping: {"columns": {"列名": "field"}, "defaults": {...}}',
        '自定义映射：{"columns": {"列名": "field"}, "defaults": {...}}',
      ),
    )
    .option(
      '--date <yyyy-mm-dd>',
      say(
        'the day the numbers are for, when the file has no date column or dated title line',
        '数据所属的日期（文件没有日期列、标题行也没有日期时）',
      ),
    )
    .option(
      '--project <id>',
      say('project id or name (default: the only project)', '项目 ID 或名称（默认：唯一的项目）'),
    )
    .option('--source <id>', say('source id recorded on the imported rows', '记录在导入行上的数据源 ID'))
    .option(
      '--detect',
      say(
        'only propose a preset and mapping and show a preview; imports nothing',
        '只建议预设和映射并显示预览，不导入任何数据',
      ),
    )
    .option('--json', say('print the summary as JSON', '以 JSON 输出汇总'))
    .option(
      '--reader <auto|javascript>',
      say(
        'who parses the file: the store’s engine where it can (auto, faster), or always JavaScript',
        '由谁解析文件：尽可能由存储引擎解析（auto，更快），或始终由 JavaScript 解析',
      ),
      'auto',
    )
    .action(async (file: string, options: ImportCommandOptions) => {
      if (options.reader !== 'auto' && options.reader !== 'javascript') {
        throw new PulseloopError('import_reader_unknown', { reader: String(options.reader) });
      }
      const size = fileSize(file);
      const mapping = withDayOfNumbers(
        options.mapping ? readMapping(options.mapping) : undefined,
        options.date,
      );
      if (options.detect) {
        // Detection needs no project; a named one must exist, and gives its time zone.
        const timeZone = await withMetadata(async (metadata) =>
          options.project
            ? (await chooseProject(metadata, options.project)).timeZone
            : ((await listProjects(metadata))[0]?.timeZone ?? 'Asia/Shanghai'),
        );
        const detection = await detectImport(createReadStream(file, { highWaterMark: 1 << 20 }), {
          fileName: basename(file),
          timeZone,
        });
        if (options.json) {
          process.stdout.write(`${JSON.stringify(detection, null, 2)}\n`);
          return;
        }
        const headerRow = detection.headerRow;
        process.stdout.write(
          `${detection.format} · ${detection.encoding} · ` +
            say(
              `header on row ${headerRow}\ncolumns: ${detection.columns.join(', ')}\n\nCandidates:\n`,
              `表头在第 ${headerRow} 行\n列：${detection.columns.join('、')}\n\n候选：\n`,
            ),
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
            say(
              '\nNo kind fits these columns: write a --mapping file.\n',
              '\n没有与这些列匹配的类型：请编写 --mapping 映射文件。\n',
            ),
          );
          return;
        }
        const p = detection.proposal;
        const flags = `--kind ${p.kind}${p.preset ? ` --preset ${p.preset}` : ''}`;
        const mappingJson = JSON.stringify(p.mapping, null, 2);
        process.stdout.write(
          say(
            `\nProposal: ${flags}\nMapping (save as a --mapping file to adjust):\n${mappingJson}\n` +
              (p.unmappedColumns.length > 0 ? `Unmapped: ${p.unmappedColumns.join(', ')}\n` : '') +
              (p.missing ? `Missing: ${p.missing}\n` : ''),
            `\n建议：${flags}\n映射（可另存为 --mapping 文件后调整）：\n${mappingJson}\n` +
              (p.unmappedColumns.length > 0 ? `未映射：${p.unmappedColumns.join('、')}\n` : '') +
              (p.missing ? `缺失：${p.missing_zh ?? p.missing}\n` : ''),
          ),
        );
        process.stdout.write(say('\nPreview:\n', '\n预览：\n'));
        for (const row of detection.preview) {
          // A row's errors in both languages, as every error is.
          const shown = row.values
            ? JSON.stringify(row.values)
            : (row.errors?.map((e) => `${e.message} / ${e.message_zh}`).join('; ') ?? '');
          process.stdout.write(say(`  row ${row.row}: ${shown}\n`, `  第 ${row.row} 行：${shown}\n`));
        }
        return;
      }
      const stores = await openStores(loadConfig());
      const bar = progressBar(say('Importing', '导入中'), say('rows', '行'));
      try {
        const project = await chooseProject(stores.metadata, options.project);
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
