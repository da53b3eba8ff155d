import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFile, resolveKind } from '../../src/collect/import/importer.js';
import type { PulseloopError } from '../../src/errors/registry.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import { chunked, csvText, gbk, twoRowHeaderXlsx, utf8Bom } from './fixtures.js';

// chdb binds one data directory per process; vitest gives this file its own process.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-import-'));
let facts: FactsEngine;
const project = { projectId: 'p-import', timeZone: 'Asia/Shanghai', currency: 'CNY', sourceId: 'src-file' };

beforeAll(async () => {
  facts = await openChdbEngine(dataDir, 'pulseloop_import_test');
  await migrateFacts(facts);
});
afterAll(async () => {
  await facts.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function contentRows(platform: string) {
  return facts.query<Record<string, unknown>>(
    `SELECT content_id, toString(date) AS date, title, plays, likes, comments, shares, favourites, completion_rate,
            avg_watch_seconds, followers_gained, toUnixTimestamp64Milli(published_at) AS published_ms
     FROM content_stats FINAL WHERE project_id = {p:String} AND platform = {platform:String}
     ORDER BY content_id, date`,
    { p: project.projectId, platform },
  );
}

async function quarantined() {
  return facts.query<{
    row_number: number;
    field: string;
    reason_code: string;
    reason: string;
    reason_zh: string;
    raw: string;
  }>(
    `SELECT row_number, field, reason_code, reason, reason_zh, raw FROM quarantine
     WHERE project_id = {p:String} AND origin = 'import' ORDER BY row_number, field`,
    { p: project.projectId },
  );
}

describe('importing a Douyin content export (GBK CSV)', () => {
  const header = [
    '作品名称',
    '作品ID',
    '发布时间',
    '日期',
    '播放量',
    '完播率',
    '平均播放时长',
    '点赞量',
    '评论量',
    '分享量',
    '收藏量',
    '涨粉量',
  ];
  const rows = (plays2: string) => [
    ['数据导出 2025-03-01'],
    header,
    [
      '春日新茶',
      'v1',
      '2025/3/1 14:05',
      '2025-03-01',
      '1.2万',
      '35.5%',
      '00:35',
      '3.5w',
      '1,234',
      '88',
      '12',
      '-',
    ],
    [
      '冷泡教程, 第二集',
      'v2',
      '2025年3月1日',
      '2025/3/2',
      plays2,
      '12%',
      '1:02',
      '500',
      '--',
      '3',
      '',
      '-15',
    ],
    [],
    ['山茶花开', 'v3', '2025-03-01 09:00', '20250302', 'lots', '40%', '2分30秒', '10', '1', '0', '0', '7'],
    ['合计', '', '', '', '13000', '', '', '', '', '', '', ''],
  ];
  const file = (plays2: string) => gbk(csvText(rows(plays2)));

  it('stores the good rows with their values and quarantines the bad one', async () => {
    const summary = await importFile(facts, chunked(file('8000'), 11), project, {
      kind: 'content_stats',
      preset: 'douyin_content',
      fileName: 'douyin.csv',
    });
    expect(summary).toMatchObject({
      format: 'csv',
      encoding: 'gb18030',
      headerRow: 2,
      rowsRead: 3,
      imported: 2,
      updated: 0,
      unchanged: 0,
      quarantined: 1,
      skipped: { blank: 1, summary: 1, header: 0 },
    });
    expect(summary.errors).toEqual([
      expect.objectContaining({
        row: 6,
        column: '播放量',
        field: 'plays',
        value: 'lots',
        code: 'import_invalid_value',
      }),
    ]);
    expect(summary.errors[0]!.message_zh).toContain('不是数字');
    const stored = await contentRows('douyin');
    expect(stored).toEqual([
      {
        content_id: 'v1',
        date: '2025-03-01',
        title: '春日新茶',
        plays: 12000,
        likes: 35000,
        comments: 1234,
        shares: 88,
        favourites: 12,
        completion_rate: 0.355,
        avg_watch_seconds: 35,
        followers_gained: 0,
        // 14:05 in Shanghai is 06:05 UTC
        published_ms: Date.UTC(2025, 2, 1, 6, 5),
      },
      {
        content_id: 'v2',
        date: '2025-03-02',
        title: '冷泡教程, 第二集',
        plays: 8000,
        likes: 500,
        comments: 0,
        shares: 3,
        favourites: 0,
        completion_rate: 0.12,
        avg_watch_seconds: 62,
        followers_gained: -15,
        published_ms: Date.UTC(2025, 1, 28, 16, 0),
      },
    ]);
    const q = await quarantined();
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ row_number: 6, field: 'plays', reason_code: 'import_invalid_value' });
    // Each language in its own column, for the dashboard to show the reader's.
    expect(q[0]!.reason).toMatch(/^Row 6, column "播放量" \(plays\): "lots"/);
    expect(q[0]!.reason).not.toMatch(/第 6 行/);
    expect(q[0]!.reason_zh).toMatch(/^第 6 行，列“播放量”（plays）：“lots”/);
    expect(JSON.parse(q[0]!.raw)).toMatchObject({ 作品ID: 'v3', 播放量: 'lots' });
  });

  it('changes nothing when the same file is imported again', async () => {
    const summary = await importFile(facts, chunked(file('8000'), 4096), project, {
      kind: 'content_stats',
      preset: 'douyin_content',
    });
    expect(summary).toMatchObject({ imported: 0, updated: 0, unchanged: 2, quarantined: 1 });
    const [{ n } = { n: 0 }] = await facts.query<{ n: number }>(
      'SELECT count() AS n FROM content_stats WHERE project_id = {p:String}',
      { p: project.projectId },
    );
    expect(Number(n)).toBe(2); // not even an unmerged duplicate was written
    expect(await quarantined()).toHaveLength(1);
  });

  it('updates the rows whose numbers changed in a newer export', async () => {
    const summary = await importFile(facts, chunked(file('9100'), 4096), project, {
      kind: 'content_stats',
      preset: 'douyin_content',
    });
    expect(summary).toMatchObject({ imported: 0, updated: 1, unchanged: 1 });
    const stored = await contentRows('douyin');
    expect(stored.map((r) => [r.content_id, r.plays])).toEqual([
      ['v1', 12000],
      ['v2', 9100],
    ]);
  });
});

describe('importing other formats and kinds', () => {
  it('reads a UTF-8 CSV with BOM of Taobao orders, in the project time zone', async () => {
    const text = csvText([
      [
        '订单编号',
        '买家会员名',
        '买家实际支付金额',
        '订单状态',
        '订单创建时间',
        '订单付款时间',
        '宝贝标题',
        '宝贝总数量',
      ],
      ['T1001', 'tea_lover', '¥1,234.50', '交易成功', '2025/3/1 14:05', '2025/3/1 14:06', '明前龙井', '2'],
      ['T1002', 'leaf', '￥88', '等待买家付款', '2025-03-02 08:00:00', '', '白茶', '1'],
      ['T1003', 'leaf', 'free', '交易关闭', '2025-03-02 09:00:00', '', '白茶', '1'],
      ['总计', '', '1322.5', '', '', '', '', ''],
    ]);
    const summary = await importFile(facts, chunked(utf8Bom(text), 5), project, {
      kind: 'orders',
      preset: 'taobao_orders',
      fileName: 'orders.csv',
    });
    expect(summary).toMatchObject({
      encoding: 'utf-8-bom',
      imported: 2,
      quarantined: 1,
      skipped: { summary: 1 },
    });
    expect(summary.errors[0]).toMatchObject({ row: 4, field: 'amount', value: 'free' });
    const orders = await facts.query<Record<string, unknown>>(
      `SELECT order_id, distinct_id, platform, status, amount, currency, item_count, items,
              toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(paid_at) AS paid_ms
       FROM orders FINAL WHERE project_id = {p:String} ORDER BY order_id`,
      { p: project.projectId },
    );
    expect(orders).toEqual([
      {
        order_id: 'T1001',
        distinct_id: 'tea_lover',
        platform: 'taobao',
        status: 'completed',
        amount: 1234.5,
        currency: 'CNY',
        item_count: 2,
        items: JSON.stringify([{ sku: '', name: '明前龙井', quantity: 2 }]),
        created_ms: Date.UTC(2025, 2, 1, 6, 5),
        paid_ms: Date.UTC(2025, 2, 1, 6, 6),
      },
      {
        order_id: 'T1002',
        distinct_id: 'leaf',
        platform: 'taobao',
        status: 'created',
        amount: 88,
        currency: 'CNY',
        item_count: 1,
        items: JSON.stringify([{ sku: '', name: '白茶', quantity: 1 }]),
        created_ms: Date.UTC(2025, 3 - 1, 2, 0, 0),
        paid_ms: null,
      },
    ]);
  });

  it('reads a TSV of Ocean Engine ad spend with units in the headers', async () => {
    const text = csvText(
      [
        [
          '时间',
          '广告组ID',
          '广告组名称',
          '计划ID',
          '计划名称',
          '创意ID',
          '展示数',
          '点击数',
          '消耗(元)',
          '转化数',
        ],
        ['2025-03-01', 'g1', '春茶', 'a1', '春茶-通投', 'c1', '1.5万', '320', '1,200.55', '12'],
        ['2025-03-01', 'g1', '春茶', 'a1', '春茶-通投', 'c2', '8000', '100', '300', '3'],
        ['2025-03-02', 'g1', '春茶', 'a1', '春茶-通投', 'c1', '9000', 'many', '200', '1'],
      ],
      '\t',
    );
    const summary = await importFile(facts, chunked(Buffer.from(text), 64), project, {
      kind: 'ad_spend',
      preset: 'oceanengine_ads',
      fileName: 'report.tsv',
    });
    expect(summary).toMatchObject({ format: 'tsv', imported: 2, quarantined: 1 });
    expect(summary.columns).toContainEqual({ column: '消耗(元)', field: 'spend', unit: 'CNY' });
    const ads = await facts.query<Record<string, unknown>>(
      `SELECT toString(date) AS date, platform, channel, campaign_id, ad_group_id, creative_id, impressions, clicks, spend, currency
       FROM ad_spend FINAL WHERE project_id = {p:String} ORDER BY creative_id`,
      { p: project.projectId },
    );
    expect(ads).toEqual([
      {
        date: '2025-03-01',
        platform: 'douyin',
        channel: 'oceanengine',
        campaign_id: 'g1',
        ad_group_id: 'a1',
        creative_id: 'c1',
        impressions: 15000,
        clicks: 320,
        spend: 1200.55,
        currency: 'CNY',
      },
      {
        date: '2025-03-01',
        platform: 'douyin',
        channel: 'oceanengine',
        campaign_id: 'g1',
        ad_group_id: 'a1',
        creative_id: 'c2',
        impressions: 8000,
        clicks: 100,
        spend: 300,
        currency: 'CNY',
      },
    ]);
  });

  it('reads an XLSX whose header spans two merged rows, with date cells', async () => {
    const xlsx = await twoRowHeaderXlsx(
      '小红书笔记数据 2025-03-05',
      ['日期', '笔记ID', '笔记标题', '互动数据', null, null, '观看数据', null],
      [null, null, null, '点赞', '收藏', '评论', '观看量', '人均观看时长'],
      ['A2:A3', 'B2:B3', 'C2:C3', 'D2:F2', 'G2:H2'],
      [
        [new Date(Date.UTC(2025, 2, 5)), 'n1', '龙井怎么泡', 120, '1.1万', 30, '2.5w', '00:41'],
        [45721, 'n2', '白茶', 5, 6, 7, 1000, 12.5],
        [null, null, null, null, null, null, null, null],
        ['合计', null, null, 125, null, null, null, null],
      ],
    );
    const summary = await importFile(facts, chunked(xlsx, 1000), project, {
      kind: 'content_stats',
      preset: 'xiaohongshu_content',
      fileName: 'notes.xlsx',
    });
    expect(summary).toMatchObject({ format: 'xlsx', headerRow: 3, imported: 2, quarantined: 0 });
    expect(summary.skipped.summary).toBe(1);
    const stored = await contentRows('xiaohongshu');
    expect(
      stored.map((r) => [
        r.content_id,
        r.date,
        r.title,
        r.likes,
        r.favourites,
        r.comments,
        r.plays,
        r.avg_watch_seconds,
      ]),
    ).toEqual([
      ['n1', '2025-03-05', '龙井怎么泡', 120, 11000, 30, 25000, 41],
      ['n2', '2025-03-05', '白茶', 5, 6, 7, 1000, 12.5],
    ]);
  });

  it('imports NDJSON events with derived message ids, so a re-import dedupes', async () => {
    const lines = [
      { event: 'coupon_redeemed', time: '2025-03-01 10:00:00', user_id: 'u1', coupon: 'SPRING', 金额: '¥20' },
      { event: 'coupon_redeemed', time: '2025-03-01 11:00:00', user_id: 'u2', coupon: 'SPRING' },
      { event: 'coupon_redeemed', time: 'yesterday', user_id: 'u3' },
    ];
    const file = Buffer.from(`${lines.map((l) => JSON.stringify(l)).join('\n')}\nnot json\n`);
    const first = await importFile(facts, chunked(file, 9), project, {
      kind: 'events',
      fileName: 'e.ndjson',
    });
    expect(first).toMatchObject({ format: 'ndjson', imported: 2, quarantined: 2 });
    const again = await importFile(facts, chunked(file, 9), project, {
      kind: 'events',
      fileName: 'e.ndjson',
    });
    expect(again).toMatchObject({ imported: 0, unchanged: 2, quarantined: 2 });
    const stored = await facts.query<Record<string, unknown>>(
      `SELECT distinct_id, event, toUnixTimestamp64Milli(timestamp) AS ms, revenue, properties
       FROM events FINAL WHERE project_id = {p:String} ORDER BY distinct_id`,
      { p: project.projectId },
    );
    expect(stored).toEqual([
      {
        distinct_id: 'u1',
        event: 'coupon_redeemed',
        ms: Date.UTC(2025, 2, 1, 2),
        revenue: 20,
        properties: '{"coupon":"SPRING"}',
      },
      {
        distinct_id: 'u2',
        event: 'coupon_redeemed',
        ms: Date.UTC(2025, 2, 1, 3),
        revenue: 0,
        properties: '{"coupon":"SPRING"}',
      },
    ]);
  });

  it('says in both languages why an NDJSON line was refused, quoting the JSON parser as it wrote it', async () => {
    const good = JSON.stringify({ event: 'signup', time: '2025-03-02 10:00:00', user_id: 'u9' });
    const file = Buffer.from(`${good}\n{"event": \n[1, 2]\n`);
    const summary = await importFile(facts, chunked(file), project, {
      kind: 'events',
      fileName: 'bad.ndjson',
    });
    let said = '';
    try {
      JSON.parse('{"event": ');
    } catch (error) {
      said = (error as Error).message;
    }
    expect(summary.errors.map((e) => [e.row, e.message, e.message_zh])).toEqual([
      [2, `Row 2: the line is not valid JSON (${said}).`, `第 2 行：该行不是有效的 JSON（${said}）。`],
      [3, 'Row 3: the line is not a JSON object.', '第 3 行：该行不是 JSON 对象。'],
    ]);
  });

  it('merges imported person traits into the stored ones', async () => {
    const first = csvText([
      ['用户ID', '姓名', '城市', 'vip'],
      ['u1', '小李', '杭州', 'gold'],
    ]);
    await importFile(facts, chunked(Buffer.from(first)), project, { kind: 'persons' });
    const second = csvText([
      ['用户ID', '性别'],
      ['u1', '女'],
    ]);
    const summary = await importFile(facts, chunked(Buffer.from(second)), project, { kind: 'persons' });
    expect(summary).toMatchObject({ updated: 1 });
    const again = await importFile(facts, chunked(Buffer.from(second)), project, { kind: 'persons' });
    expect(again).toMatchObject({ unchanged: 1, updated: 0 });
    const [person] = await facts.query<{ traits: string }>(
      'SELECT traits FROM persons FINAL WHERE project_id = {p:String} AND person_id = {id:String}',
      { p: project.projectId, id: 'u1' },
    );
    expect(JSON.parse(person!.traits)).toEqual({ vip: 'gold', name: '小李', city: '杭州', gender: '女' });
  });

  it('imports comments keyed by platform, post and comment id', async () => {
    const text = csvText([
      ['平台', '作品ID', '评论ID', '评论内容', '评论时间', '用户昵称', '点赞数'],
      ['douyin', 'v1', 'c1', '好喝！', '2025-03-01 20:00', '茶友', '1.2k'],
      ['douyin', 'v1', 'c2', 'too sweet', '2025-03-01 21:00', 'Ann', '3'],
    ]);
    const summary = await importFile(facts, chunked(Buffer.from(text)), project, { kind: 'comments' });
    expect(summary).toMatchObject({ imported: 2 });
    const stored = await facts.query<Record<string, unknown>>(
      `SELECT comment_id, text, like_count, toUnixTimestamp64Milli(created_at) AS ms FROM comments FINAL
       WHERE project_id = {p:String} ORDER BY comment_id`,
      { p: project.projectId },
    );
    expect(stored).toEqual([
      { comment_id: 'c1', text: '好喝！', like_count: 1200, ms: Date.UTC(2025, 2, 1, 12) },
      { comment_id: 'c2', text: 'too sweet', like_count: 3, ms: Date.UTC(2025, 2, 1, 13) },
    ]);
  });

  it('refuses a file without the required columns, naming what is missing', async () => {
    const text = csvText([
      ['foo', 'bar'],
      ['1', '2'],
    ]);
    await expect(
      importFile(facts, chunked(Buffer.from(text)), project, { kind: 'orders' }),
    ).rejects.toMatchObject({ code: 'import_missing_columns' });
    await expect(
      importFile(facts, chunked(Buffer.from('1,2\n3,4\n')), project, { kind: 'orders' }),
    ).rejects.toMatchObject({ code: 'import_no_header' });
    const text2 = csvText([
      ['订单编号', '备注'],
      ['1', '2'],
    ]);
    await expect(importFile(facts, chunked(Buffer.from(text2)), project, { kind: 'orders' })).rejects.toThrow(
      /created_at.*amount/,
    );
  });

  it('explains an invalid mapping in English and in Chinese', async () => {
    const file = () =>
      chunked(
        Buffer.from(
          csvText([
            ['作品ID', '播放量'],
            ['v1', '10'],
          ]),
        ),
      );
    const refusal = (defaults: Record<string, string>) =>
      importFile(facts, file(), project, { kind: 'content_stats', mapping: { columns: {}, defaults } }).then(
        () => expect.unreachable(),
        (error: PulseloopError) => [error.message, error.zh],
      );
    expect(await refusal({ colour: 'red' })).toEqual([
      'The mapping is invalid: "colour" is not a field of content_stats',
      '映射无效："colour" 不是 content_stats 的字段',
    ]);
    expect(await refusal({ date: 'someday' })).toEqual([
      'The mapping is invalid: the default "someday" of date is not a date (such as 2025-03-01, 2025/3/1 14:05 or 2025年3月1日)',
      '映射无效：date 的默认值 "someday" 不是日期（例如 2025-03-01、2025/3/1 14:05 或 2025年3月1日）',
    ]);
    expect(() => resolveKind({})).toThrow(
      expect.objectContaining({ zh: '请求无效：请用 --kind 指明文件类型（或使用预设）。' }),
    );
  });
});
