import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImportSummary } from '../src/collect/import/importer.js';
import { CLI_ENTRY, runCli } from './server-process.js';

/**
 * File import throughput and memory: a generated Douyin content-stats CSV (with 万 numbers,
 * percentages and mm:ss durations, as real exports have) imported by the built CLI into a fresh
 * embedded store. Peak RSS is the CLI process's own maximum resident set.
 */

export interface ImportBenchResult {
  rows: number;
  fileBytes: number;
  rowsPerSecond: number;
  seconds: number;
  peakRssBytes: number;
  imported: number;
  /** Rows the engine parsed (the rest went to JavaScript). */
  engineParsed: number;
  reimportRowsPerSecond?: number;
  reimportUnchanged?: number;
  /** The same file read by JavaScript, into another fresh store (rows/s). */
  javascriptRowsPerSecond?: number;
}

/**
 * Writes a content-stats export of `rows` rows: `posts` posts × days, one day after another. With
 * `irregularEvery`, every such row writes its likes with a thousands separator (`"1,234"`), a
 * spelling only JavaScript reads.
 */
export async function writeContentCsv(
  path: string,
  rows: number,
  posts = 10_000,
  irregularEvery = 0,
): Promise<void> {
  const out = createWriteStream(path);
  const write = (text: string) =>
    out.write(text) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', () => resolve()));
  await write(
    '数据导出 2025-03-01\n作品ID,作品名称,日期,播放量,完播率,平均播放时长,点赞量,评论量,分享量,收藏量,涨粉量\n',
  );
  const start = Date.UTC(2024, 0, 1);
  let buffer = '';
  for (let i = 0; i < rows; i++) {
    const post = i % posts;
    const day = new Date(start + Math.floor(i / posts) * 86_400_000).toISOString().slice(0, 10);
    const plays = (post * 7919 + i) % 250_000;
    const playsText = plays >= 10_000 ? `${(plays / 10_000).toFixed(1)}万` : String(plays);
    const seconds = 5 + (post % 55);
    const likes =
      irregularEvery > 0 && i % irregularEvery === 0
        ? `"1,${String(plays % 977).padStart(3, '0')}"`
        : plays % 977;
    buffer += `v${post},视频 ${post},${day},${playsText},${(post % 90) + 5}.5%,00:${String(seconds).padStart(2, '0')},${likes},${plays % 61},${plays % 37},${plays % 53},${(plays % 21) - 3}\n`;
    if (buffer.length > 1 << 20) {
      await write(buffer);
      buffer = '';
    }
  }
  await write(buffer);
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

function importOnce(
  dataDir: string,
  file: string,
  reader: 'auto' | 'javascript' = 'auto',
): ImportSummary & { peakRssBytes: number } {
  const output = execFileSync(
    process.execPath,
    [CLI_ENTRY, 'import', file, '--preset', 'douyin_content', '--reader', reader, '--json'],
    {
      env: { ...process.env, PULSELOOP_DATA: dataDir, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  return JSON.parse(output.trim().split('\n').pop()!) as ImportSummary & { peakRssBytes: number };
}

/** Imports a generated file of `rows` rows into a fresh store (and, if asked, a second time unchanged). */
export async function benchImport(options: {
  rows: number;
  reimport?: boolean;
  /** Also import the file with the JavaScript reader, for comparison. */
  javascript?: boolean;
  /** Every so many rows written in a spelling only JavaScript reads (0: none). */
  irregularEvery?: number;
  log: (line: string) => void;
}): Promise<ImportBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'pulseloop-bench-import-'));
  try {
    const file = join(dir, 'douyin-content.csv');
    options.log(`writing a ${options.rows.toLocaleString('en-US')}-row content-stats CSV`);
    await writeContentCsv(file, options.rows, 10_000, options.irregularEvery ?? 0);
    const dataDir = join(dir, 'data');
    runCli(dataDir, 'projects', 'create', '--name', 'Import bench');
    options.log('importing it');
    const first = importOnce(dataDir, file);
    const result: ImportBenchResult = {
      rows: first.rowsRead,
      fileBytes: statSync(file).size,
      rowsPerSecond: first.rowsPerSecond,
      seconds: first.durationMs / 1000,
      peakRssBytes: first.peakRssBytes,
      imported: first.imported,
      engineParsed: first.parsedBy?.engine ?? 0,
    };
    if (options.javascript) {
      options.log('importing it with the JavaScript reader, into another fresh store');
      const other = join(dir, 'data-javascript');
      runCli(other, 'projects', 'create', '--name', 'Import bench');
      result.javascriptRowsPerSecond = importOnce(other, file, 'javascript').rowsPerSecond;
      rmSync(other, { recursive: true, force: true });
    }
    if (options.reimport) {
      options.log('importing the same file again (nothing may change)');
      const again = importOnce(dataDir, file);
      result.reimportRowsPerSecond = again.rowsPerSecond;
      result.reimportUnchanged = again.unchanged;
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
