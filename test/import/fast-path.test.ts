import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RowChunk } from '../../src/collect/import/chunk.js';
import { importFile } from '../../src/collect/import/importer.js';
import { JSON_ROW_CODEC, type RowCodec, rowCodecFor } from '../../src/collect/import/row-codec.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import { csvText } from './fixtures.js';

// chdb binds one data directory per process; vitest gives this file its own process.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-import-fast-'));
let facts: FactsEngine;
const T = Date.UTC(2025, 2, 1, 6, 30, 15, 123);

beforeAll(async () => {
  facts = await openChdbEngine(dataDir, 'pulseloop_import_fast_test');
  await migrateFacts(facts);
});
afterAll(async () => {
  await facts.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Text that TabSeparated must escape, and some that it must not touch. */
const NASTY = 'tab\there, line\nbreak, cr\rhere, back\\slash \\N, quote \' " [x], 中文 🎉';

/** Rows as the kinds build them (only some columns set), one table each. */
function sampleRows(project: string): Record<string, Array<Record<string, unknown>>> {
  return {
    content_stats: [
      {
        project_id: project,
        platform: 'douyin',
        account_id: '',
        content_id: NASTY,
        date: '2025-03-01',
        title: NASTY,
        content_type: '',
        published_at: null,
        duration_seconds: 35.5,
        tags: ['美食', "it's", 'a\\b', 'tab\tin', 'line\nin', ''],
        impressions: 0,
        plays: 12_000,
        completion_rate: 0.123,
        followers_gained: -15,
        source_id: 'src',
        updated_at: T,
      },
      { project_id: project, platform: 'kuaishou', content_id: 'k1', date: '2025-03-02', published_at: T },
    ],
    ad_spend: [
      {
        project_id: project,
        date: '2025-03-01',
        platform: 'oceanengine',
        campaign_id: 'c1',
        currency: 'CNY',
        spend: 1234.5678,
        conversion_revenue: 0.30000000000000004,
        impressions: 12_345_678_901,
        updated_at: T,
      },
    ],
    orders: [
      {
        project_id: project,
        order_id: 'o-1',
        platform: 'taobao',
        created_at: T,
        paid_at: T + 60_000,
        status: NASTY,
        amount: 99.5,
        currency: 'CNY',
        item_count: 3,
        updated_at: T,
      },
      { project_id: project, order_id: 'o-2', created_at: T, updated_at: T },
    ],
    comments: [
      {
        project_id: project,
        platform: 'douyin',
        content_id: 'v1',
        comment_id: 'c1',
        created_at: T,
        text: NASTY,
        like_count: 7,
        sentiment_score: 0.25,
        updated_at: T,
      },
    ],
    events: [
      {
        project_id: project,
        type: 'track',
        event: 'Order Completed',
        timestamp: T,
        received_at: T,
        distinct_id: 'u1',
        message_id: 'm1',
        revenue: 12.3456,
        properties: JSON.stringify({ note: NASTY }),
      },
    ],
    persons: [
      {
        project_id: project,
        person_id: 'p1',
        traits: JSON.stringify({ name: NASTY }),
        consent: '{}',
        created_at: T,
        updated_at: T,
        version: T * 1000,
      },
    ],
  };
}

async function stored(table: string, project: string): Promise<Array<Record<string, unknown>>> {
  const rows = await facts.query<Record<string, unknown>>(
    `SELECT * EXCEPT (project_id) FROM ${table} WHERE project_id = {p:String}`,
    { p: project },
  );
  return rows.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

async function insertWith(codec: RowCodec, table: string, rows: Array<Record<string, unknown>>) {
  const chunk = new RowChunk(16);
  for (const [i, row] of rows.entries()) chunk.add(String(i), codec.encode(row));
  if (codec.format === 'TabSeparated') {
    await facts.insertRows!(table, chunk.payload(), {
      format: 'TabSeparated',
      ...(codec.columns ? { columns: codec.columns } : {}),
    });
  } else await facts.insertJsonEachRow(table, chunk.payload());
}

describe('the TabSeparated row codec', () => {
  for (const table of ['content_stats', 'ad_spend', 'orders', 'comments', 'events', 'persons']) {
    it(`stores ${table} rows exactly as JSONEachRow stores them`, async () => {
      const codec = await rowCodecFor(facts, table);
      expect(codec.format).toBe('TabSeparated');
      const viaJson = `json-${table}`;
      const viaTsv = `tsv-${table}`;
      await insertWith(JSON_ROW_CODEC, table, sampleRows(viaJson)[table]!);
      await insertWith(codec, table, sampleRows(viaTsv)[table]!);
      const expected = await stored(table, viaJson);
      expect(expected).toHaveLength(sampleRows('x')[table]!.length);
      expect(await stored(table, viaTsv)).toEqual(expected);
    });
  }

  it('reads a line back into the values it was written from', async () => {
    const codec = await rowCodecFor(facts, 'content_stats');
    await fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 4 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.option(fc.integer({ min: 0, max: 4_102_444_800_000 })),
        (title, tags, rate, published) => {
          const row = { content_id: 'v', date: '2025-03-01', title, tags, completion_rate: rate };
          const back = codec.decode(codec.encode({ ...row, published_at: published }));
          expect(back).toMatchObject({ ...row, completion_rate: rate === 0 ? 0 : rate });
          expect(back.published_at).toBe(published);
          expect(back.plays).toBe(0); // a column the row left out reads as its default
        },
      ),
    );
  });
});

describe('a chunk of encoded rows', () => {
  it('keeps the latest row of a repeated key, in file order, and drops or replaces rows on request', () => {
    const chunk = new RowChunk(4); // grows as rows arrive
    chunk.add('a', 'a-1', '2025-03-02');
    chunk.add('b', 'b-1', '2025-03-01');
    chunk.add('a', 'a-2 中文', '2025-03-03');
    chunk.add('c', 'c-1', '2025-02-27');
    expect([chunk.rows, chunk.size, chunk.duplicates, chunk.lo, chunk.hi]).toEqual([
      4,
      3,
      1,
      '2025-02-27',
      '2025-03-03',
    ]);
    expect(chunk.line(2)).toBe('a-2 中文');
    expect(chunk.payload().toString()).toBe('b-1\na-2 中文\nc-1\n');
    expect(chunk.payload((i) => i !== 1).toString()).toBe('a-2 中文\nc-1\n');
    expect(chunk.payload(undefined, new Map([[1, 'b-new']])).toString()).toBe('b-new\na-2 中文\nc-1\n');
  });

  it('hands over its own bytes when every row is written as it is', () => {
    const chunk = new RowChunk();
    chunk.add('a', 'x');
    chunk.add('b', 'y');
    expect(chunk.payload().toString()).toBe('x\ny\n');
  });
});

/** A content export of `posts` posts over `days` days, one day after another. */
function contentCsv(posts: number, days: number, plays: (post: number, day: number) => number): Buffer {
  const rows: Array<Array<string | number>> = [['作品ID', '作品名称', '日期', '播放量', '完播率', '点赞量']];
  for (let day = 1; day <= days; day++) {
    for (let post = 0; post < posts; post++) {
      const n = plays(post, day);
      rows.push([
        `v${post}`,
        `视频\t${post}`,
        `2025-03-0${day}`,
        n >= 10_000 ? `${n / 10_000}万` : n,
        '12.5%',
        3,
      ]);
    }
  }
  return Buffer.from(csvText(rows));
}

async function importContent(engine: FactsEngine, projectId: string, bytes: Buffer, chunkRows: number) {
  return importFile(
    engine,
    Readable.from([bytes]),
    { projectId, timeZone: 'Asia/Shanghai', currency: 'CNY' },
    // Chunks are the JavaScript reader's: the engine reads a file as one (test/import/engine-read.test.ts).
    { preset: 'douyin_content', fileName: 'douyin.csv', chunkRows, reader: 'javascript' },
  );
}

async function playsOf(projectId: string): Promise<string[]> {
  const rows = await facts.query<{ content_id: string; date: string; plays: number; title: string }>(
    `SELECT content_id, toString(date) AS date, plays, title FROM content_stats FINAL
     WHERE project_id = {p:String} ORDER BY date, content_id`,
    { p: projectId },
  );
  return rows.map((r) => `${r.content_id} ${r.date} ${r.plays} ${r.title}`);
}

describe('importing through small chunks', () => {
  const first = contentCsv(5, 4, (post, day) => post * 1000 + day);
  const newer = contentCsv(5, 4, (post, day) => (post === 2 && day === 3 ? 25_000 : post * 1000 + day));
  // A repeated key: the same post and day twice in one file, the later row wins.
  const repeated = Buffer.concat([
    first,
    Buffer.from(csvText([['v1', '视频\t1', '2025-03-01', 777, '12.5%', 3]])),
  ]);

  for (const [name, engine] of [
    ['TabSeparated', () => facts],
    // An engine without insertRows (a test double, an older engine) takes JSONEachRow.
    ['JSONEachRow', () => ({ ...facts, insertRows: undefined })],
  ] as const) {
    it(`counts new, updated and unchanged rows across chunk boundaries (${name})`, async () => {
      const projectId = `chunks-${name}`;
      // 7 rows a chunk: chunks end in the middle of a day, so later chunks find stored rows in their range.
      const a = await importContent(engine(), projectId, first, 7);
      expect(a).toMatchObject({ rowsRead: 20, imported: 20, updated: 0, unchanged: 0, duplicates: 0 });
      const b = await importContent(engine(), projectId, first, 7);
      expect(b).toMatchObject({ imported: 0, updated: 0, unchanged: 20 });
      const c = await importContent(engine(), projectId, newer, 6);
      expect(c).toMatchObject({ imported: 0, updated: 1, unchanged: 19 });
      const stored = await playsOf(projectId);
      expect(stored).toHaveLength(20);
      expect(stored).toContain('v2 2025-03-03 25000 视频\t2');
      expect(stored).toContain('v4 2025-03-04 4004 视频\t4');
    });

    it(`lets the later of two rows with one key win (${name})`, async () => {
      const projectId = `repeat-${name}`;
      const summary = await importContent(engine(), projectId, repeated, 1000);
      expect(summary).toMatchObject({ rowsRead: 21, imported: 20, duplicates: 1 });
      expect(await playsOf(projectId)).toContain('v1 2025-03-01 777 视频\t1');
      // Across chunks the later row is an update of the stored one.
      const again = await importContent(engine(), `${projectId}-chunked`, repeated, 7);
      expect(again).toMatchObject({ rowsRead: 21, imported: 20, updated: 1, duplicates: 0 });
      expect(await playsOf(`${projectId}-chunked`)).toContain('v1 2025-03-01 777 视频\t1');
    });
  }
});
