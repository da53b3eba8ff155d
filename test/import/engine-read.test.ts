import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ImportSummary, importFile } from '../../src/collect/import/importer.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import { chunked, gbk } from './fixtures.js';

/**
 * The engine reader (engine-import.ts) is an optimisation of the JavaScript reader, never a second
 * opinion: the same bytes imported by each reader into its own project must give the same summary,
 * the same stored rows and the same quarantine. Every test here imports with both and compares.
 */

// chdb binds one data directory per process; vitest gives this file its own process.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-engine-read-'));
let facts: FactsEngine;
const T = Date.UTC(2025, 2, 1, 6, 30, 15, 123);

beforeAll(async () => {
  facts = await openChdbEngine(dataDir, 'pulseloop_engine_read_test');
  await migrateFacts(facts);
});
afterAll(async () => {
  await facts.close();
  rmSync(dataDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Files

const HEADER = [
  '作品ID',
  '作品名称',
  '日期',
  '播放量',
  '完播率',
  '平均播放时长',
  '点赞量',
  '评论量',
  '分享量',
  '收藏量',
  '涨粉量',
  '主页访问量',
  '曝光量',
  '体裁',
  '作品时长',
  '抖音号',
] as const;
type Column = (typeof HEADER)[number];

/** A row every reader stores as it is: the canonical spellings the engine reads itself. */
const CANONICAL: Record<Column, string> = {
  作品ID: 'v',
  作品名称: '标题',
  日期: '2025-03-01',
  播放量: '1200',
  完播率: '12.5%',
  平均播放时长: '00:35',
  点赞量: '30',
  评论量: '4',
  分享量: '5',
  收藏量: '6',
  涨粉量: '7',
  主页访问量: '8',
  曝光量: '9000',
  体裁: '视频',
  作品时长: '35',
  抖音号: 'acct',
};

// Spellings of values as exports write them, accepted or refused by the parsers (values.ts).
const COUNTS = [
  '0',
  '12',
  '007',
  '999999999999999',
  '1.2万',
  '3.5w',
  '3.5W',
  '1.2亿',
  '10万+',
  '2k',
  '2K',
  '5千',
  '1.5m',
  '1.2千万',
  '3百万',
  '1,234',
  ' 12 ',
  '１２３',
  '12\u00a0',
  '-',
  '--',
  '—',
  'N/A',
  '无',
  '暂无',
  'null',
  '',
  '-5',
  '1e3',
  '2.5',
  '0.5',
  '.5',
  '12.3456789万',
  'abc',
];
const INTEGERS = [...COUNTS, '+3', '-1.5万', '-2.5', '-0'];
const RATES = [
  '12.5%',
  '12.50%',
  '100%',
  '0%',
  '-3%',
  '0.5',
  '45',
  '1',
  '0',
  '５０％',
  '12.5 %',
  '12.3456789%',
  '-',
  '',
  'N/A',
  'abc',
];
const DURATIONS = [
  '00:35',
  '0:35',
  '1:02:03',
  '00:35.25',
  '100:00',
  '2分30秒',
  '35秒',
  '1小时2分',
  '35',
  '35.5',
  '1e3',
  '35s',
  ' 35 ',
  '-',
  '',
  'abc',
];
const DATES = [
  '2025-03-01',
  '2025/3/1',
  '2025年3月1日',
  '20250301',
  '2025-3-1',
  '2025-02-30',
  '2023-02-29',
  '2024-02-29',
  '2105-12-31',
  '2106-01-01',
  '1969-12-31',
  '1970-01-01',
  ' 2025-03-02 ',
  '2025-03-01 14:05',
  '45717',
  '',
  '-',
  'N/A',
  'abc',
];
const TEXTS = [
  '标题',
  ' padded ',
  '\u00a0nbsp\u00a0',
  '\u3000全角空格\u3000',
  'a,b',
  'say "hi"',
  'multi\nline',
  'multi\r\nline',
  '中文🎉emoji',
  '\\N',
  '',
  '-',
  '--',
  'N/A',
  '无',
  '合计',
  'Total',
  '总计:',
  'summer',
  'tab\tinside',
  "it's",
];
const IDS = ['v1', '007', ' v2 ', 'a,b', 'say "hi"', '视频🎉', '', '-', 'N/A', '\\N', 'line\nbreak', '合计'];

const SPELLINGS: Record<Column, readonly string[]> = {
  作品ID: IDS,
  作品名称: TEXTS,
  日期: DATES,
  播放量: COUNTS,
  完播率: RATES,
  平均播放时长: DURATIONS,
  点赞量: COUNTS,
  评论量: COUNTS,
  分享量: COUNTS,
  收藏量: COUNTS,
  涨粉量: INTEGERS,
  主页访问量: COUNTS,
  曝光量: COUNTS,
  体裁: TEXTS,
  作品时长: DURATIONS,
  抖音号: TEXTS,
};

/** A cell as written: quoted when it must be (or when asked), quotes doubled (RFC 4180). */
function field(cell: string, delimiter: string, quote = false): string {
  const needs = cell.includes(delimiter) || /["\r\n]/.test(cell);
  return needs || quote ? `"${cell.replaceAll('"', '""')}"` : cell;
}

interface FileShape {
  header?: readonly string[];
  delimiter?: string;
  lineEnd?: '\n' | '\r\n';
  bom?: boolean;
  /** A title line above the header, as exports write it. */
  title?: string;
  /** Every cell quoted, the header's too (some back-ends write them so). */
  quoteAll?: boolean;
  /** No line break after the last line. */
  unterminated?: boolean;
}

/** Lines (each a row of cells, or text written as it is) into the bytes of an export. */
function exportFile(lines: Array<readonly string[] | string>, shape: FileShape = {}): Buffer {
  const delimiter = shape.delimiter ?? ',';
  const lineEnd = shape.lineEnd ?? '\n';
  const cells = (line: readonly string[]) =>
    line.map((cell) => field(cell, delimiter, shape.quoteAll)).join(delimiter);
  const head = [...(shape.title === undefined ? [] : [shape.title]), cells(shape.header ?? HEADER)];
  const body = lines.map((line) => (typeof line === 'string' ? line : cells(line)));
  const text = `${[...head, ...body].join(lineEnd)}${shape.unterminated ? '' : lineEnd}`;
  return Buffer.concat([Buffer.from(shape.bom ? [0xef, 0xbb, 0xbf] : []), Buffer.from(text)]);
}

/** A data row: canonical cells, some replaced. */
function row(id: string, changes: Partial<Record<Column, string>> = {}): string[] {
  return HEADER.map((column) => (column === '作品ID' ? id : (changes[column] ?? CANONICAL[column])));
}

/** Every spelling of every column, each in a row of its own (its own post, so no row replaces another). */
function spellingRows(): string[][] {
  const rows: string[][] = [];
  for (const column of HEADER) {
    SPELLINGS[column].forEach((spelling, i) => {
      rows.push(column === '作品ID' ? row(spelling) : row(`${column}-${i}`, { [column]: spelling }));
    });
  }
  return rows;
}

/** Rows that are not data, or data in an unusual shape. */
const ODD_LINES: Array<readonly string[] | string> = [
  '',
  ['合计', '', '', '99999'],
  ['Total', '', '', '99999'],
  ['总计:', '', '', '99999'],
  ['', '', '', '', '', '', '', '', '', '', '', '', '', '', '', ''],
  [...HEADER], // the header repeated mid-file (exports concatenated)
  ['short-1', '短行', '2025-03-01'],
  ['short-2'],
  [...row('long-1'), 'extra', '多余'],
  [...row('long-2', { 点赞量: 'x' }), 'extra', '多余'],
  ['', '', '', '', '', '', '', '', '', '', '', '12'], // every cell empty but one
  ['', '只有标题', '2025-03-01', '100'], // no post id: the title identifies the post
  ['', '', '2025-03-01', '100'], // neither id nor title
  '',
  '   ',
];

/** A narrow export (short lines: many records per small segment). */
const NARROW = ['作品ID', '作品名称', '日期', '播放量', '完播率', '点赞量'];

/** `rows` posts of a narrow export: a multi-line quoted title every 7th row, a refused row every 11th. */
function narrowRows(rows: number): string[][] {
  return Array.from({ length: rows }, (_, i) => [
    `p${i}`,
    i % 7 === 3 ? `第 ${i} 条\n"多行"标题,\r\n带逗号` : `标题${i}`,
    '2025-03-01',
    i % 13 === 0 ? '1.5万' : String(i),
    '12.5%',
    i % 11 === 5 ? 'many' : '3',
  ]);
}

// ---------------------------------------------------------------------------------------------
// Importing with both readers

interface ReadOptions {
  /** Projects `${project}-js` and `${project}-engine`; fresh ones when absent. */
  project?: string;
  segmentBytes?: number;
  /** Bytes per chunk of the input stream (small chunks let the segmenter cut small segments). */
  chunkBytes?: number;
  fileName?: string;
  now?: number;
  /** The preset both readers import with (default: Douyin content data). */
  preset?: string;
}

let projects = 0;
const freshProject = (label: string) => `${label}-${++projects}`;

function importWith(
  reader: 'auto' | 'javascript',
  projectId: string,
  bytes: Buffer,
  options: ReadOptions,
): Promise<ImportSummary> {
  const chunkBytes = options.chunkBytes ?? (options.segmentBytes === undefined ? bytes.length : 7);
  return importFile(
    facts,
    chunked(bytes, Math.max(1, chunkBytes)),
    { projectId, timeZone: 'Asia/Shanghai', currency: 'CNY' },
    {
      preset: options.preset ?? 'douyin_content',
      fileName: options.fileName ?? 'douyin.csv',
      reader,
      now: () => options.now ?? T,
      ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
    },
  );
}

/** The summary without what depends on the run (timings) or on the reader (who parsed what). */
function outcome(summary: ImportSummary): Omit<ImportSummary, 'durationMs' | 'rowsPerSecond' | 'parsedBy'> {
  const { durationMs: _d, rowsPerSecond: _r, parsedBy: _p, ...rest } = summary;
  return rest;
}

const STORED_COLUMNS = [
  'platform',
  'account_id',
  'content_id',
  'date',
  'title',
  'content_type',
  'published_at',
  'duration_seconds',
  'impressions',
  'plays',
  'unique_viewers',
  'likes',
  'comments',
  'shares',
  'favourites',
  'completion_rate',
  'avg_watch_seconds',
  'followers_gained',
  'profile_visits',
  'source_id',
  'updated_at',
];

/** Every stored content row of a project, every column as text (64-bit counts stay exact). */
async function storedRows(projectId: string): Promise<Array<Record<string, unknown>>> {
  return facts.query(
    `SELECT ${STORED_COLUMNS.map((c) => `toString(${c}) AS ${c}`).join(', ')}, tags
     FROM content_stats FINAL WHERE project_id = {p:String}
     ORDER BY platform, account_id, content_id, date`,
    { p: projectId },
  );
}

/** Every quarantined row of a project, without its id (derived from the project id). */
async function quarantined(projectId: string): Promise<Array<Record<string, unknown>>> {
  return facts.query(
    `SELECT row_number, field, reason_code, reason, raw, origin, source_id, toString(received_at) AS received_at
     FROM quarantine FINAL WHERE project_id = {p:String}
     ORDER BY row_number, field, reason, raw`,
    { p: projectId },
  );
}

/**
 * Imports the bytes with the JavaScript reader into `${project}-js` and with the engine reader into
 * `${project}-engine`, and checks that both end with the same summary, rows and quarantine.
 */
async function compareReaders(
  bytes: Buffer,
  options: ReadOptions = {},
): Promise<{ js: ImportSummary; engine: ImportSummary; project: string }> {
  const project = options.project ?? freshProject('case');
  const js = await importWith('javascript', `${project}-js`, bytes, options);
  const engine = await importWith('auto', `${project}-engine`, bytes, options);
  expect(js.parsedBy).toEqual({ engine: 0, javascript: js.rowsRead });
  expect(outcome(engine), 'summary').toEqual(outcome(js));
  const [jsRows, engineRows] = [await storedRows(`${project}-js`), await storedRows(`${project}-engine`)];
  expect(engineRows, 'stored content rows').toEqual(jsRows);
  const [jsRefused, engineRefused] = [
    await quarantined(`${project}-js`),
    await quarantined(`${project}-engine`),
  ];
  expect(engineRefused, 'quarantine').toEqual(jsRefused);
  expect(engine.parsedBy!.engine).toBeLessThanOrEqual(engine.rowsRead);
  return { js, engine, project };
}

// ---------------------------------------------------------------------------------------------

describe('the engine reader stores exactly what the JavaScript reader stores', () => {
  const messy = [...spellingRows(), ...ODD_LINES];
  // Segments cost the engine a few statements each: small segments are for the narrow file below.
  const variants: Array<[string, FileShape, ReadOptions]> = [
    ['LF line ends, one segment', { title: '数据导出 2025-03-01' }, {}],
    [
      'CRLF line ends, 4 KiB segments',
      { lineEnd: '\r\n', title: '数据导出 2025-03-01' },
      { segmentBytes: 4096, chunkBytes: 500 },
    ],
    ['a UTF-8 BOM and CRLF line ends', { bom: true, lineEnd: '\r\n' }, {}],
    ['tab-separated values', { delimiter: '\t', title: '数据导出 2025-03-01' }, { fileName: 'douyin.tsv' }],
    ['semicolon-separated values', { delimiter: ';' }, {}],
    ['every cell quoted, no line break at the end', { quoteAll: true, unterminated: true }, {}],
  ];
  for (const [name, shape, options] of variants) {
    it(`for a messy export with every spelling the parsers accept or refuse (${name})`, async () => {
      const { js, engine } = await compareReaders(exportFile(messy, shape), options);
      expect(js.quarantined).toBeGreaterThan(30);
      expect(js.imported).toBeGreaterThan(200);
      expect(js.skipped.blank + js.skipped.summary + js.skipped.header).toBeGreaterThan(5);
      expect(engine.parsedBy!.engine).toBeGreaterThan(100);
    });
  }

  it('for a post repeated on one day: the later row wins and the duplicate is counted', async () => {
    const bytes = exportFile([
      row('v1', { 播放量: '100' }),
      row('v2', { 播放量: '200' }),
      row('v1', { 播放量: '101' }), // engine-read duplicate
      row(' v2 ', { 播放量: '1.5万' }), // read by JavaScript (padded id), duplicates an engine row
      row('v3', { 播放量: '3,000' }),
      row('v3', { 播放量: '3001' }), // an engine row after a JavaScript one
      row('v1', { 播放量: '102', 日期: '2025/3/1' }), // the same day spelled otherwise
      row('v4', { 播放量: '1' }),
      row('v4', { 播放量: 'abc' }), // refused: the earlier row stands
    ]);
    const { js, engine, project } = await compareReaders(bytes);
    expect(js).toMatchObject({ rowsRead: 9, imported: 4, duplicates: 4, quarantined: 1 });
    expect(engine.parsedBy!.engine).toBeGreaterThan(0);
    const plays = (await storedRows(`${project}-engine`)).map((r) => `${r.content_id} ${r.plays}`);
    expect(plays).toEqual(['v1 102', 'v2 15000', 'v3 3001', 'v4 1']);
  });

  it('for a re-import of the same export and then of an updated one', async () => {
    const project = freshProject('reimport');
    const a = exportFile(
      [
        row('v1', { 播放量: '100' }),
        row('v2', { 播放量: '1.2万' }),
        row('v3', { 播放量: ' 300 ', 作品名称: ' 标题 ' }),
        row('v4', { 播放量: '-5' }), // refused
        row('v5', { 播放量: '500', 日期: '2025/3/2' }),
        row('v6', { 完播率: '0.5' }),
      ],
      { title: '数据导出 2025-03-01' },
    );
    const b = exportFile([
      row('v1', { 播放量: '150' }), // changed, canonical spelling
      row('v2', { 播放量: '12000' }), // the same number spelled otherwise: unchanged
      row('v3', { 播放量: ' 301 ', 作品名称: ' 标题 ' }), // changed, read by JavaScript
      row('v4', { 播放量: '-5' }), // refused again: no second quarantine row
      row('v5', { 播放量: '500', 日期: '2025-03-02', 作品名称: '新标题' }), // title changed
      row('v6', { 完播率: '50%' }), // the same rate: unchanged
      row('v7', { 播放量: '700' }), // new
      row('v1', { 播放量: '160', 日期: '2025-03-02' }), // a new day of a known post
    ]);
    const first = await compareReaders(a, { project, now: T });
    expect(first.js).toMatchObject({ imported: 5, quarantined: 1 });
    const again = await compareReaders(a, { project, now: T + 60_000 });
    expect(again.js).toMatchObject({ imported: 0, updated: 0, unchanged: 5, quarantined: 1 });
    const updated = await compareReaders(b, { project, now: T + 120_000, segmentBytes: 200, chunkBytes: 50 });
    expect(updated.js).toMatchObject({ imported: 2, updated: 3, unchanged: 2, quarantined: 1 });
    expect(updated.engine.parsedBy!.engine).toBeGreaterThan(0);
  });

  for (const [rows, segmentBytes] of [
    [150, 64],
    [300, 300],
  ] as const) {
    it(`for ${rows} rows cut into ${segmentBytes}-byte segments: the same rows and the same row numbers`, async () => {
      // Multi-line quoted titles land next to segment ends; refused rows check the row numbers.
      const bytes = exportFile(narrowRows(rows), { header: NARROW });
      const { js, engine } = await compareReaders(bytes, { segmentBytes, chunkBytes: 5 });
      expect(js.quarantined).toBe(Math.ceil((rows - 5) / 11));
      expect(engine.parsedBy!.engine).toBeGreaterThan(rows / 2);
    });
  }

  it('for a file whose first segments end before the header does (a title line, tiny segments)', async () => {
    const bytes = exportFile(narrowRows(20), { header: NARROW, title: '数据导出 2025-03-01' });
    const { js } = await compareReaders(bytes, { segmentBytes: 16, chunkBytes: 7 });
    expect(js).toMatchObject({ rowsRead: 20, quarantined: 2 });
  });

  it('for an export of 2,500 rows arriving in 4 KiB chunks (more than the bytes looked at first)', async () => {
    const { js, engine } = await compareReaders(exportFile(narrowRows(2500), { header: NARROW }), {
      chunkBytes: 4096,
    });
    expect(js).toMatchObject({ rowsRead: 2500, imported: 2500 - js.quarantined });
    expect(engine.parsedBy!.engine).toBeGreaterThan(2000);
  });

  it('for an export with a header and no rows', async () => {
    const { js } = await compareReaders(exportFile([], { title: '数据导出 2025-03-01' }));
    expect(js).toMatchObject({ rowsRead: 0, imported: 0 });
  });

  it('for an export whose day is written only in the title line', async () => {
    const header = ['作品ID', '作品名称', '播放量', '完播率'];
    const lines = [
      ['v1', '标题', '12', '12.5%'],
      ['v2', '', '1.2万', '0.5'],
      ['', '只有标题', '3', '-'],
      ['v3', '标题', 'x', '1%'],
    ];
    const { js, engine } = await compareReaders(exportFile(lines, { header, title: '数据导出 2025-03-05' }));
    expect(js).toMatchObject({ imported: 3, quarantined: 1 });
    expect(engine.parsedBy!.engine).toBeGreaterThan(0);
  });

  it('for an export with a platform column, in any case and spelling', async () => {
    const header = ['平台', '作品ID', '日期', '播放量'];
    const platforms = [
      'douyin',
      'Douyin',
      'KUAISHOU',
      'xiao_hong.shu-1',
      '',
      '-',
      'N/A',
      ' douyin ',
      '抖音',
      'İstanbul',
    ];
    const lines = platforms.map((platform, i) => [platform, `v${i}`, '2025-03-01', String(i)]);
    const { js, engine } = await compareReaders(exportFile(lines, { header }));
    expect(js.imported).toBe(platforms.length);
    expect(engine.parsedBy!.engine).toBeGreaterThan(0);
  });

  it('for counts written with the magnitudes 千万 and 百万', async () => {
    const bytes = exportFile(
      [
        ['v1', '标题', '2025-03-01', '1.2千万'],
        ['v2', '标题', '2025-03-01', '3百万'],
      ],
      {
        header: ['作品ID', '作品名称', '日期', '播放量'],
      },
    );
    const { project } = await compareReaders(bytes);
    expect((await storedRows(`${project}-js`)).map((r) => r.plays)).toEqual(['12000000', '3000000']);
  });

  it('for a cell holding only the control character U+0001', async () => {
    const bytes = exportFile([['v1', '\u0001', '2025-03-01', '\u0001']], {
      header: ['作品ID', '作品名称', '日期', '播放量'],
    });
    const { js } = await compareReaders(bytes);
    expect(js).toMatchObject({ imported: 0, quarantined: 1 });
  });

  it('for rows longer than the header (by up to the 16 cells the engine reads beyond it)', async () => {
    const header = ['作品ID', '作品名称', '日期', '播放量'];
    const extra = Array.from({ length: 16 }, (_, i) => `extra${i}`);
    const bytes = exportFile(
      [
        ['v0', '标题', '2025-03-01', '12'], // (right below the header, a row of text would join it)
        ['v1', '标题', '2025-03-01', 'abc', ...extra], // refused: its quarantine text keeps every cell
        ['', '', '', '', ...extra.map((_, i) => (i === 15 ? 'x' : ''))], // not blank: a far cell holds a value
      ],
      { header },
    );
    const { js } = await compareReaders(bytes);
    expect(js).toMatchObject({ imported: 1, quarantined: 2, skipped: { blank: 0, summary: 0, header: 0 } });
  });

  it('for the first cells of the header repeated on a short line', async () => {
    const header = ['作品ID', '作品名称', '日期', '播放量'];
    const bytes = exportFile(
      [
        ['v1', '标题', '2025-03-01', '12'],
        ['作品ID', '作品名称'],
      ],
      { header },
    );
    // Only the whole header repeated (empty cells at its end aside) is a header: a part of it is a row.
    const { js } = await compareReaders(bytes);
    expect(js).toMatchObject({ imported: 1, quarantined: 1, skipped: { blank: 0, summary: 0, header: 0 } });
    const repeated = exportFile(
      [
        ['v1', '标题', '2025-03-01', '12'],
        [...header, '', ''],
      ],
      { header },
    );
    const again = await compareReaders(repeated);
    expect(again.js).toMatchObject({
      imported: 1,
      quarantined: 0,
      skipped: { blank: 0, summary: 0, header: 1 },
    });
  });

  it('for days past the last day the store can hold (2149-06-06)', async () => {
    const header = ['作品ID', '作品名称', '日期', '播放量'];
    const bytes = exportFile(
      [
        ['v1', '标题', '2150-01-01', '1'],
        ['v1', '标题', '2150-02-01', '2'],
      ],
      { header },
    );
    const project = freshProject('far-future');
    // Refused, not stored as another day: a re-import finds nothing stored and refuses them again.
    const { js } = await compareReaders(bytes, { project });
    expect(js).toMatchObject({ imported: 0, quarantined: 2 });
    expect(js.errors[0]).toMatchObject({ row: 2, column: '日期', value: '2150-01-01' });
    const again = await compareReaders(bytes, { project, now: T + 60_000 });
    expect(again.js).toMatchObject({ imported: 0, quarantined: 2 });
  });
});

describe('an ad report (ad_spend) read by both readers', () => {
  const AD_HEADER = [
    '时间',
    '广告组ID',
    '广告组名称',
    '计划ID',
    '计划名称',
    '展示数',
    '点击数',
    '消耗',
    '转化数',
    '转化金额',
    '币种',
  ];
  const AMOUNTS = [
    '123.45',
    '0',
    '1234',
    '99.5000',
    '1,234.50',
    '¥99',
    '12.5元',
    '1.2万',
    '-5',
    '',
    '-',
    '12.34567',
    'abc',
    '100000000000000000000',
    '¥99,999,999,999,999',
  ];
  const COUNTS = ['1000', '0', '1.2万', '3.5w', '', '-', '007', '1,200', '-3', 'x'];
  const CURRENCIES = ['', 'cny', 'USD', '人民币'];
  const IDS = ['c1', 'c2', '', '计划'];

  async function adRows(projectId: string): Promise<Array<Record<string, unknown>>> {
    return facts.query(
      `SELECT * EXCEPT (project_id), toString(spend) AS spend_text, toString(conversion_revenue) AS revenue_text
       FROM ad_spend FINAL WHERE project_id = {p:String}
       ORDER BY date, platform, campaign_id, ad_group_id, creative_id`,
      { p: projectId },
    );
  }

  async function compareAds(lines: string[][], options: ReadOptions = {}) {
    const project = options.project ?? freshProject('ads');
    const bytes = Buffer.from(
      `${[AD_HEADER, ...lines].map((l) => l.map((c) => field(c, ',')).join(',')).join('\n')}\n`,
    );
    const read = { ...options, preset: 'oceanengine_ads', fileName: 'ads.csv' };
    const js = await importWith('javascript', `${project}-js`, bytes, read);
    const engine = await importWith('auto', `${project}-engine`, bytes, read);
    expect(outcome(engine), 'summary').toEqual(outcome(js));
    expect(await adRows(`${project}-engine`), 'stored ad rows').toEqual(await adRows(`${project}-js`));
    expect(await quarantined(`${project}-engine`), 'quarantine').toEqual(await quarantined(`${project}-js`));
    return { js, engine, project };
  }

  const adLine = (i: number, amount: string, count: string, currency: string, id: string) => [
    `2025-03-0${(i % 9) + 1}`,
    id === 'c1' || id === 'c2' ? `${id}-${i}` : id,
    `组${i}`,
    `g${i}`,
    `计划${i}`,
    count,
    COUNTS[(i + 3) % COUNTS.length]!,
    amount,
    COUNTS[(i + 5) % COUNTS.length]!,
    AMOUNTS[(i + 7) % AMOUNTS.length]!,
    currency,
  ];

  it('stores the same rows for every spelling of amounts, counts, currencies and ids', async () => {
    const lines: string[][] = [];
    let i = 0;
    for (const amount of AMOUNTS)
      for (const currency of CURRENCIES)
        lines.push(adLine(i++, amount, COUNTS[i % COUNTS.length]!, currency, IDS[i % IDS.length]!));
    const { engine } = await compareAds(lines);
    // Most lines mix a spelling only JavaScript reads into some cell: both readers take part.
    expect(engine.parsedBy!.engine).toBeGreaterThan(0);
    expect(engine.parsedBy!.javascript).toBeGreaterThan(10);
  });

  it('stores the same rows for a re-import and an updated report', async () => {
    // Every cell in a spelling both readers accept: the counts below are exact.
    const clean = (i: number, amount: string) => [
      `2025-03-0${(i % 9) + 1}`,
      `c${i}`,
      `组${i}`,
      `g${i}`,
      `计划${i}`,
      `${i * 10}`,
      `${i}`,
      amount,
      '1',
      '9.9',
      '',
    ];
    const first = Array.from({ length: 40 }, (_, i) => clean(i, `${i}.25`));
    const project = freshProject('ads-update');
    await compareAds(first, { project });
    const again = await compareAds(first, { project, now: T + 60_000 });
    expect(again.engine).toMatchObject({
      imported: 0,
      unchanged: 40,
      parsedBy: { engine: 40, javascript: 0 },
    });
    const updated = first.map((line, i) =>
      i % 4 === 0 ? [...line.slice(0, 7), `${i}.75`, ...line.slice(8)] : line,
    );
    const third = await compareAds([...updated, adLine(99, '1.00', '1', '', 'c2')], {
      project,
      now: T + 120_000,
    });
    expect(third.engine).toMatchObject({ imported: 1, updated: 10, unchanged: 30 });
  });

  it('stores the same rows for generated reports', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.constantFrom(...AMOUNTS),
            fc.constantFrom(...COUNTS),
            fc.constantFrom(...CURRENCIES),
            fc.constantFrom(...IDS),
          ),
          { minLength: 1, maxLength: 30 },
        ),
        async (cells) => {
          await compareAds(
            cells.map(([amount, count, currency, id], i) => adLine(i, amount, count, currency, id)),
          );
        },
      ),
      { numRuns: 15 },
    );
  });
});

describe('a materialized view reading content_stats', () => {
  it('sees the rows the engine reader imports (their parts are written, not moved in)', async () => {
    // Moving parts in (ATTACH PARTITION) would bypass a view: with one, the rows are inserted.
    await facts.command(
      `CREATE MATERIALIZED VIEW content_plays_view ENGINE = MergeTree ORDER BY tuple()
       AS SELECT project_id, content_id, plays FROM content_stats`,
    );
    try {
      const bytes = exportFile([row('v1', { 播放量: '1.2万' }), row('v2', { 播放量: '800' })]);
      const { engine, project } = await compareReaders(bytes);
      expect(engine.parsedBy).toEqual({ engine: 2, javascript: 0 });
      const seen = await facts.query<{ content_id: string; plays: number }>(
        'SELECT content_id, plays FROM content_plays_view WHERE project_id = {p:String} ORDER BY content_id',
        { p: `${project}-engine` },
      );
      expect(seen).toEqual([
        { content_id: 'v1', plays: 12000 },
        { content_id: 'v2', plays: 800 },
      ]);
    } finally {
      await facts.command('DROP TABLE IF EXISTS content_plays_view');
    }
  });
});

describe('files the engine does not read as JavaScript would are read by JavaScript alone', () => {
  const good = [row('v1'), row('v2', { 播放量: '1.2万' }), row('v3', { 点赞量: 'x' })];
  const irregular: Array<[string, string]> = [
    ['a quote inside an unquoted field', 'v9,ab"c,2025-03-01,100'],
    ['text after a closing quote', 'v9,"ab"c,2025-03-01,100'],
    ['a space before an opening quote', 'v9, "b,c",2025-03-01,100'],
    ['a carriage return after a closing quote', 'v9,"ab"\rc,2025-03-01,100'],
  ];
  for (const [name, line] of irregular) {
    it(`falls back to the JavaScript reader for ${name}`, async () => {
      const { engine } = await compareReaders(exportFile([...good, line, row('v10')]));
      expect(engine.parsedBy).toEqual({ engine: 0, javascript: engine.rowsRead });
    });
  }

  it('falls back to the JavaScript reader for irregular quoting in a file that arrives in 4 KiB chunks', async () => {
    // Uploads and streams arrive in chunks: the fallback must read every chunk, not only the first.
    const lines: Array<readonly string[] | string> = narrowRows(1000);
    lines.splice(2, 0, 'early,"ab"c,2025-03-01,100');
    const { js, engine } = await compareReaders(exportFile(lines, { header: NARROW }), { chunkBytes: 4096 });
    expect(engine.parsedBy).toEqual({ engine: 0, javascript: engine.rowsRead });
    expect(js).toMatchObject({ rowsRead: 1001 });
  });

  it('falls back to the JavaScript reader for an unclosed quote at the end of the file', async () => {
    const bytes = Buffer.concat([exportFile(good), Buffer.from('v9,"never closed,2025-03-01,100')]);
    const { engine } = await compareReaders(bytes);
    expect(engine.parsedBy).toEqual({ engine: 0, javascript: engine.rowsRead });
  });

  it('falls back late in a file after segments were staged, and stores no row twice', async () => {
    const lines: Array<readonly string[] | string> = narrowRows(60);
    lines.splice(50, 0, 'late,"ab"c,2025-03-01,100');
    const bytes = exportFile(lines, { header: NARROW });
    const { js, engine, project } = await compareReaders(bytes, { segmentBytes: 200, chunkBytes: 50 });
    expect(engine.parsedBy).toEqual({ engine: 0, javascript: engine.rowsRead });
    expect(js).toMatchObject({ rowsRead: 61, duplicates: 0 });
    expect(await storedRows(`${project}-engine`)).toHaveLength(js.imported);
  });

  it('reads a GBK export with JavaScript', async () => {
    const lines = [
      row('v1', { 作品名称: '中文标题' }),
      row('v2', { 播放量: '1.2万' }),
      row('v3', { 点赞量: 'x' }),
    ];
    const text = exportFile(lines, { title: '数据导出 2025-03-01' }).toString();
    const { js, engine } = await compareReaders(gbk(text));
    expect(js).toMatchObject({ encoding: 'gb18030', imported: 2, quarantined: 1 });
    expect(engine.parsedBy).toEqual({ engine: 0, javascript: engine.rowsRead });
  });

  it('reads an XLSX export with JavaScript', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('数据');
    sheet.addRow(['数据导出 2025-03-01']);
    sheet.addRow([...HEADER]);
    sheet.addRow(row('v1'));
    sheet.addRow(row('v2', { 播放量: '1.2万', 作品名称: 'a,b\n"c"' }));
    sheet.addRow(row('v3', { 点赞量: 'x' }));
    const bytes = Buffer.from(await workbook.xlsx.writeBuffer());
    const { js, engine } = await compareReaders(bytes, { fileName: 'douyin.xlsx' });
    expect(js).toMatchObject({ format: 'xlsx', imported: 2, quarantined: 1 });
    expect(engine.parsedBy).toEqual({ engine: 0, javascript: engine.rowsRead });
  });

  it('reads an NDJSON export with JavaScript', async () => {
    const line = (cells: string[]) => JSON.stringify(Object.fromEntries(HEADER.map((h, i) => [h, cells[i]])));
    const lines = [
      line(row('v1')),
      line(row('v2', { 播放量: '1.2万' })),
      line(row('v3', { 点赞量: 'x' })),
      '[1]',
    ];
    const { js, engine } = await compareReaders(Buffer.from(`${lines.join('\n')}\n`), {
      fileName: 'douyin.ndjson',
    });
    expect(js).toMatchObject({ format: 'ndjson', imported: 2, quarantined: 2 });
    expect(engine.parsedBy).toEqual({ engine: 0, javascript: engine.rowsRead });
  });
});

describe('any export built from the spellings exports use', () => {
  // Columns of every field type (text, count, rate, duration, date, integer): short lines, so that
  // small segments stay few.
  const columns: Column[] = [
    '作品ID',
    '作品名称',
    '日期',
    '播放量',
    '完播率',
    '平均播放时长',
    '涨粉量',
    '抖音号',
  ];
  const cell = (pool: readonly string[]) =>
    fc.record({ value: fc.constantFrom(...pool), quoted: fc.boolean() });
  const dataRow = fc.record({
    cells: fc.tuple(...columns.map((column) => cell(SPELLINGS[column]))),
    // Cells dropped at the end (negative) or added past the header.
    widthChange: fc.integer({ min: -4, max: 3 }),
  });
  const line = fc.oneof(
    { weight: 12, arbitrary: dataRow.map((r) => ({ kind: 'data' as const, ...r })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', '  ', ',,,').map((text) => ({ kind: 'text' as const, text })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('合计', 'Total', '总计:', '小计')
        .map((word) => ({ kind: 'summary' as const, word })),
    },
  );
  const file = fc.record({
    lines: fc.array(line, { minLength: 1, maxLength: 60 }),
    crlf: fc.boolean(),
    bom: fc.boolean(),
    title: fc.boolean(),
    unterminated: fc.boolean(),
    segmentBytes: fc.integer({ min: 16, max: 4096 }),
    chunkBytes: fc.integer({ min: 1, max: 512 }),
  });

  it('is stored by the engine reader exactly as by the JavaScript reader', async () => {
    await fc.assert(
      fc.asyncProperty(file, async (f) => {
        const lines = f.lines.map((l) => {
          if (l.kind === 'text') return l.text;
          if (l.kind === 'summary') return `${l.word},,,12345`;
          const cells = l.cells.map((c) => field(c.value, ',', c.quoted));
          const width = columns.length + l.widthChange;
          return (
            width < cells.length
              ? cells.slice(0, width)
              : [...cells, ...Array(width - cells.length).fill('x')]
          ).join(',');
        });
        const shape: FileShape = {
          header: columns,
          lineEnd: f.crlf ? '\r\n' : '\n',
          bom: f.bom,
          unterminated: f.unterminated,
          ...(f.title ? { title: '数据导出 2025-03-01' } : {}),
        };
        await compareReaders(exportFile(lines, shape), {
          segmentBytes: f.segmentBytes,
          chunkBytes: f.chunkBytes,
        });
      }),
      // A failing run shrinks for at most this long (each run is two imports), then reports.
      { numRuns: 40, interruptAfterTimeLimit: 20_000 },
    );
  });
});
