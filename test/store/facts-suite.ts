import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quarantineRows } from '../../src/collect/import/rows.js';
import { writeQuarantine } from '../../src/collect/import/store.js';
import { ByteSink } from '../../src/lib/byte-sink.js';
import { commandsConcurrently, type FactsEngine, FactsQueryError } from '../../src/store/facts/engine.js';
import { type MigrationReport, migrateFacts } from '../../src/store/facts/migrate.js';
import type { EventRow } from '../../src/store/facts/rows.js';
import { FACTS_MIGRATIONS, FACTS_TABLES } from '../../src/store/facts/schema.js';

/** 2024-03-01 08:30:15.123 UTC, in epoch milliseconds as ingestion writes it. */
const T0 = Date.UTC(2024, 2, 1, 8, 30, 15, 123);

/** A project no other test writes to: tests share one database and never see each other's rows. */
function newProject(): string {
  return `project-${randomUUID()}`;
}

function eventRow(fields: Pick<EventRow, 'project_id' | 'message_id'> & Partial<EventRow>): EventRow {
  return {
    type: 'track',
    event: 'Order Completed',
    timestamp: T0,
    received_at: T0 + 1_000,
    distinct_id: 'user-1',
    anonymous_id: 'anon-1',
    user_id: 'user-1',
    person_id: '',
    session_id: 'session-1',
    source_id: 'web',
    platform: 'web',
    channel: 'organic',
    utm_source: '',
    utm_medium: '',
    utm_campaign: '',
    utm_content: '',
    utm_term: '',
    campaign_id: '',
    content_id: '',
    sharer_id: '',
    revenue: 0,
    currency: 'CNY',
    ip: '',
    user_agent: '',
    locale: 'zh-CN',
    country: 'CN',
    region: '',
    city: '',
    device_type: 'mobile',
    os: 'iOS',
    browser: '',
    app_version: '',
    page_url: '',
    page_path: '',
    referrer: '',
    properties: '{}',
    context: '{}',
    ...fields,
  };
}

function jsonEachRow(rows: readonly object[]): string {
  return `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`;
}

/** `{v:<type>}` bound to `value` must come back from the engine as `back`. */
interface BindingCase {
  says: string;
  type: string;
  value: unknown;
  back: unknown;
}

const TRICKY_TEXT = `抖音'"\\ a\nb\tc 😀`;

const BINDINGS: BindingCase[] = [
  {
    says: 'a String with quotes, backslashes, a newline, a tab and unicode',
    type: 'String',
    value: TRICKY_TEXT,
    back: TRICKY_TEXT,
  },
  {
    says: 'an Array(String) whose items need escaping',
    type: 'Array(String)',
    value: ["it's", 'C:\\path', 'line\nbreak', '抖音', ''],
    back: ["it's", 'C:\\path', 'line\nbreak', '抖音', ''],
  },
  { says: 'an empty Array(String)', type: 'Array(String)', value: [], back: [] },
  {
    says: 'a DateTime64(3) given as UTC text, to the millisecond',
    type: "DateTime64(3, 'UTC')",
    value: '2024-03-01 08:30:15.123',
    back: '2024-03-01 08:30:15.123',
  },
  {
    says: 'a DateTime64(3) given as a Date, to the millisecond',
    type: "DateTime64(3, 'UTC')",
    value: new Date(T0),
    back: '2024-03-01 08:30:15.123',
  },
  {
    says: 'a DateTime64(3) given as a Date on a whole second',
    type: "DateTime64(3, 'UTC')",
    value: new Date(Date.UTC(2024, 2, 1, 8, 30, 15)),
    back: '2024-03-01 08:30:15.000',
  },
  { says: 'a Float64 without rounding', type: 'Float64', value: 0.1 + 0.2, back: 0.30000000000000004 },
  {
    says: 'the most negative safe integer as Int64',
    type: 'Int64',
    value: -9007199254740991,
    back: -9007199254740991,
  },
  { says: 'null as Nullable(String)', type: 'Nullable(String)', value: null, back: null },
  { says: 'a number as Nullable(Int32)', type: 'Nullable(Int32)', value: 42, back: 42 },
  { says: 'a boolean as UInt8', type: 'UInt8', value: true, back: 1 },
  { says: 'a boolean as Bool', type: 'Bool', value: false, back: false },
];

/** A query the engine refuses, with the ClickHouse error code it must carry. */
interface FailureCase {
  says: string;
  sql: string;
  code: number;
}

const FAILURES: FailureCase[] = [
  { says: 'an unknown column', sql: 'SELECT no_such_column FROM events', code: 47 },
  { says: 'an unknown table', sql: 'SELECT count() FROM no_such_table', code: 60 },
  { says: 'a syntax error', sql: 'SELEC 1', code: 62 },
];

async function rejection(promise: Promise<unknown>): Promise<FactsQueryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FactsQueryError);
  return error as FactsQueryError;
}

/**
 * The facts engine's behaviour, run against a real engine. `open` is called once and must give an
 * engine on an empty database; the suite migrates it and closes it at the end.
 */
/** The content_stats columns the TabSeparated tests write, in payload order. */
const TSV_COLUMNS = [
  'project_id',
  'platform',
  'content_id',
  'date',
  'title',
  'published_at',
  'tags',
  'plays',
];

export function describeFactsSuite(name: string, open: () => Promise<FactsEngine>): void {
  describe(`facts engine on ${name}`, () => {
    let engine: FactsEngine;
    let firstMigration: MigrationReport;

    beforeAll(async () => {
      engine = await open();
      firstMigration = await migrateFacts(engine);
    });

    afterAll(async () => {
      await engine?.close();
    });

    describe('migrations', () => {
      const versions = FACTS_MIGRATIONS.map((migration) => migration.version);

      it('create every facts table on an empty database', async () => {
        expect(firstMigration).toEqual({ applied: versions, alreadyApplied: [] });
        const tables = await engine.query<{ name: string }>(
          'SELECT name FROM system.tables WHERE database = {database:String}',
          { database: engine.database },
        );
        expect(tables.map((table) => table.name)).toEqual(
          expect.arrayContaining([...FACTS_TABLES, 'schema_migrations']),
        );
      });

      it('apply nothing when run a second time', async () => {
        expect(await migrateFacts(engine)).toEqual({ applied: [], alreadyApplied: versions });
      });

      it('write events parts of up to 128 MiB in the compact format, one file for all columns', async () => {
        // ~16 MB of rows: ClickHouse's default writes parts over 10 MiB in the wide format.
        const properties = JSON.stringify({ note: 'p'.repeat(700) });
        const lines = Array.from(
          { length: 20_000 },
          (_, i) =>
            `${JSON.stringify({ project_id: 'p_parts', message_id: `m${i}`, event: 'e', timestamp: '2001-01-02 03:04:05.000', properties })}\n`,
        );
        await engine.insertJsonEachRow('events', lines.join(''));
        const parts = await engine.query<{ part_type: string }>(
          `SELECT part_type FROM system.parts
           WHERE database = {database:String} AND table = 'events' AND active AND partition = '200101'`,
          { database: engine.database },
        );
        expect(parts.map((part) => part.part_type)).toEqual(['Compact']);
        const [setting] = await engine.query<{ value: string }>(
          `SELECT extract(create_table_query, 'min_bytes_for_wide_part = (\\d+)') AS value
           FROM system.tables WHERE database = {database:String} AND name = 'events'`,
          { database: engine.database },
        );
        expect(setting?.value).toBe('134217728');
        await engine.command(`ALTER TABLE events DROP PARTITION 200101`);
      });
    });

    describe('bound parameters', () => {
      for (const binding of BINDINGS) {
        it(`round-trip ${binding.says}`, async () => {
          const rows = await engine.query(`SELECT {v:${binding.type}} AS v`, { v: binding.value });
          expect(rows).toEqual([{ v: binding.back }]);
        });
      }

      it('bind a UInt64 above 2^53 exactly, from a bigint or from its digits', async () => {
        const rows = await engine.query(
          'SELECT toString({big:UInt64}) AS big, toString({digits:UInt64}) AS digits',
          { big: 18446744073709551615n, digits: '9007199254740993' },
        );
        expect(rows).toEqual([{ big: '18446744073709551615', digits: '9007199254740993' }]);
      });

      // Decision: 64-bit integers come back as JSON numbers (QUERY_SETTINGS), which JavaScript
      // rounds above 2^53. Counts and sums stay far below that; a query that needs an exact id
      // selects toString(x).
      it('return a UInt64 above 2^53 as a rounded number, so exact values are selected with toString()', async () => {
        const rows = await engine.query('SELECT {u:UInt64} AS u, toString({u:UInt64}) AS exact', {
          u: 9007199254740993n,
        });
        expect(rows).toEqual([{ u: 9007199254740992, exact: '9007199254740993' }]);
      });

      it('treat a value that looks like SQL injection as data', async () => {
        const project = newProject();
        await engine.insertJsonEachRow(
          'events',
          jsonEachRow([eventRow({ project_id: project, message_id: 'm1' })]),
        );
        const injection = "x' OR '1'='1'; DROP TABLE events; --";
        const rows = await engine.query(
          'SELECT {s:String} AS s, count() AS n FROM events WHERE project_id = {s:String}',
          { s: injection },
        );
        expect(rows).toEqual([{ s: injection, n: 0 }]);
        expect(await engine.query('EXISTS TABLE events')).toEqual([{ result: 1 }]);
      });
    });

    describe('events', () => {
      it('are inserted as JSONEachRow and read back with FINAL', async () => {
        const project = newProject();
        const properties = JSON.stringify({ title: '抖音 "直播"', price: 99.5 });
        await engine.insertJsonEachRow(
          'events',
          jsonEachRow([
            eventRow({ project_id: project, message_id: 'm1', revenue: 99.5, properties }),
            eventRow({ project_id: project, message_id: 'm2', type: 'page', event: '$pageview' }),
          ]),
        );
        const rows = await engine.query(
          `SELECT message_id, event, timestamp, revenue, properties
           FROM events FINAL WHERE project_id = {project:String} ORDER BY message_id`,
          { project },
        );
        expect(rows).toEqual([
          {
            message_id: 'm1',
            event: 'Order Completed',
            timestamp: '2024-03-01 08:30:15.123',
            revenue: 99.5,
            properties,
          },
          {
            message_id: 'm2',
            event: '$pageview',
            timestamp: '2024-03-01 08:30:15.123',
            revenue: 0,
            properties: '{}',
          },
        ]);
      });

      it('accept an empty payload and store nothing', async () => {
        await engine.insertJsonEachRow('events', '');
        await engine.insertJsonEachRow('events', Buffer.alloc(0));
      });

      it('are stored once when the same payload is inserted twice with the same deduplication token', async () => {
        const project = newProject();
        const payload = Buffer.from(
          jsonEachRow([
            eventRow({ project_id: project, message_id: 'm1' }),
            eventRow({ project_id: project, message_id: 'm2' }),
          ]),
        );
        const deduplicationToken = `wal-segment-${project}`;
        // As the batch writer inserts: a token, parsed on one thread.
        await engine.insertJsonEachRow('events', payload, { deduplicationToken, parallelParsing: false });
        await engine.insertJsonEachRow('events', payload, { deduplicationToken, parallelParsing: false });
        // Without FINAL: the second insert never reached the table.
        const rows = await engine.query(
          'SELECT count() AS n FROM events WHERE project_id = {project:String}',
          {
            project,
          },
        );
        expect(rows).toEqual([{ n: 2 }]);
      });

      it('are counted once under FINAL when the same event is re-delivered without a token', async () => {
        const project = newProject();
        const first = eventRow({ project_id: project, message_id: 'm1', received_at: T0 + 1_000 });
        const again = { ...first, received_at: T0 + 5_000 };
        await engine.insertJsonEachRow('events', jsonEachRow([first]));
        await engine.insertJsonEachRow('events', jsonEachRow([again]));
        const rows = await engine.query(
          `SELECT count() AS n, any(received_at) AS received_at
           FROM events FINAL WHERE project_id = {project:String}`,
          { project },
        );
        expect(rows).toEqual([{ n: 1, received_at: '2024-03-01 08:30:20.123' }]);
      });
    });

    it('inserts only the named columns and leaves the others at their defaults', async () => {
      const project = newProject();
      const columns = ['project_id', 'distinct_id', 'id_type', 'person_id', 'version', 'updated_at'];
      await engine.insertJsonEachRow(
        'identities',
        jsonEachRow([
          {
            project_id: project,
            distinct_id: 'anon-1',
            id_type: 'anonymous',
            person_id: 'person-1',
            version: 1,
            updated_at: T0,
          },
        ]),
        { columns },
      );
      const rows = await engine.query(
        'SELECT distinct_id, person_id, is_deleted FROM identities FINAL WHERE project_id = {project:String}',
        { project },
      );
      expect(rows).toEqual([{ distinct_id: 'anon-1', person_id: 'person-1', is_deleted: 0 }]);
    });

    it('inserts TabSeparated rows through insertRows: escapes, NULL, arrays, named columns', async () => {
      const project = newProject();
      const columns = TSV_COLUMNS;
      const payload = [
        [
          project,
          'douyin',
          'v1',
          '2024-03-01',
          'tab\\there\\nnext \\\\ 中文',
          String(T0),
          "['a\\'b','c']",
          '12000',
        ],
        [project, 'douyin', 'v2', '2024-03-02', '', '\\N', '[]', '0'],
      ]
        .map((fields) => fields.join('\t'))
        .join('\n');
      await engine.insertRows!('content_stats', `${payload}\n`, { format: 'TabSeparated', columns });
      await engine.insertRows!('content_stats', '', { format: 'TabSeparated', columns });
      const rows = await engine.query(
        `SELECT content_id, title, toUnixTimestamp64Milli(published_at) AS published, tags, plays, likes
         FROM content_stats FINAL WHERE project_id = {project:String} ORDER BY content_id`,
        { project },
      );
      expect(rows).toEqual([
        {
          content_id: 'v1',
          title: 'tab\there\nnext \\ 中文',
          published: T0,
          tags: ["a'b", 'c'],
          plays: 12000,
          likes: 0,
        },
        { content_id: 'v2', title: '', published: null, tags: [], plays: 0, likes: 0 },
      ]);
    });

    it('inserts RowBinary rows through insertRows: any bytes in strings, arrays, named columns', async () => {
      const table = `scratch_binary_${randomUUID().replaceAll('-', '')}`;
      await engine.command(
        `CREATE TABLE ${table} (id UInt64, at Int64, name String, codes Array(UInt16),
           notes Array(String), extra String DEFAULT 'x') ENGINE = Memory`,
      );
      try {
        const sink = new ByteSink(16);
        const rows = [
          {
            id: 2 ** 40 + 3,
            at: -1_700_000_000_123,
            name: 'tab\t"quote"\\ 中文 \u0000 end',
            codes: [0, 65535],
            notes: ['a', ''],
          },
          { id: 0, at: 0, name: '', codes: [], notes: [] },
        ];
        for (const row of rows) {
          sink.int64LE(row.id);
          sink.int64LE(row.at);
          sink.binaryString(row.name);
          sink.uintArray(row.codes, row.codes.length, 2);
          sink.varUInt(row.notes.length);
          for (const note of row.notes) sink.binaryString(note);
          sink.endRow();
        }
        await engine.insertRows!(table, sink.take(), {
          format: 'RowBinary',
          columns: ['id', 'at', 'name', 'codes', 'notes'],
        });
        const stored = await engine.query(
          `SELECT id, at, name, codes, notes, extra FROM ${table} ORDER BY id DESC`,
        );
        expect(stored).toEqual(rows.map((row) => ({ ...row, extra: 'x' })));
        // Binary rows cannot say which columns they hold: a payload without the list is refused.
        await expect(engine.insertRows!(table, sink.take(), { format: 'RowBinary' })).rejects.toThrow(
          /RowBinary rows for scratch_binary_\w+ must name their columns/,
        );
        // A format name goes into the SQL text: only the known ones pass.
        await expect(
          engine.insertRows!(table, '', { format: 'CSV; DROP TABLE events' as 'RowBinary', columns: ['id'] }),
        ).rejects.toThrow(/unknown insert format CSV; DROP TABLE events/);
      } finally {
        await engine.command(`DROP TABLE IF EXISTS ${table}`);
      }
    });

    it('inserts RowBinary rows into LowCardinality columns, nested and nullable ones too', async () => {
      const table = `scratch_binary_lc_${randomUUID().replaceAll('-', '')}`;
      await engine.command(
        `CREATE TABLE ${table} (id UInt64, kind LowCardinality(String), tags Array(LowCardinality(String)),
           maybe LowCardinality(Nullable(String))) ENGINE = MergeTree ORDER BY id`,
      );
      try {
        const sink = new ByteSink(16);
        const rows = Array.from({ length: 3_000 }, (_, i) => ({
          id: i,
          kind: ['video_play', '', '中文', 'x'.repeat(300)][i % 4]!,
          tags: i % 3 === 0 ? [] : [`t${i % 7}`, 'same'],
          maybe: i % 5 === 0 ? null : `m${i % 11}`,
        }));
        for (const row of rows) {
          sink.int64LE(row.id);
          sink.binaryString(row.kind);
          sink.varUInt(row.tags.length);
          for (const tag of row.tags) sink.binaryString(tag);
          // Nullable in RowBinary: a null flag byte, then the value when it is not null.
          if (row.maybe === null) sink.varUInt(1);
          else {
            sink.varUInt(0);
            sink.binaryString(row.maybe);
          }
          sink.endRow();
        }
        await engine.insertRows!(table, sink.take(), {
          format: 'RowBinary',
          columns: ['id', 'kind', 'tags', 'maybe'],
        });
        const stored = await engine.query<{ id: number }>(
          `SELECT id, kind, tags, maybe FROM ${table} ORDER BY id`,
        );
        expect(stored).toEqual(rows);
        const types = await engine.query<{ type: string }>(
          'SELECT type FROM system.columns WHERE database = {database:String} AND table = {table:String} ORDER BY position',
          { database: engine.database, table },
        );
        expect(types.map((column) => column.type)).toEqual([
          'UInt64',
          'LowCardinality(String)',
          'Array(LowCardinality(String))',
          'LowCardinality(Nullable(String))',
        ]);
      } finally {
        await engine.command(`DROP TABLE IF EXISTS ${table}`);
      }
    });

    it('inserts a large TabSeparated payload exactly, and refuses a malformed one whole', async () => {
      // Over a MiB: the in-process engine reads such payloads from a spool file instead of inline.
      const project = newProject();
      const columns = TSV_COLUMNS;
      const rowCount = 30_000;
      const lines: string[] = [];
      for (let i = 0; i < rowCount; i++) {
        const published = i % 3 === 0 ? '\\N' : String(T0 + i);
        lines.push(
          [
            project,
            'douyin',
            `v${i}`,
            '2024-03-01',
            `标题 ${i}\\t第二段 ${'x'.repeat(20)}`,
            published,
            `['t${i % 7}']`,
            String(i),
          ].join('\t'),
        );
      }
      const payload = `${lines.join('\n')}\n`;
      expect(Buffer.byteLength(payload)).toBeGreaterThan(1 << 20);
      await engine.insertRows!('content_stats', payload, { format: 'TabSeparated', columns });
      const [summary] = await engine.query<{ rows: number; plays: number; nulls: number; tags: number }>(
        `SELECT count() AS rows, sum(plays) AS plays, countIf(published_at IS NULL) AS nulls,
           countIf(tags = ['t3']) AS tags
         FROM content_stats FINAL WHERE project_id = {project:String}`,
        { project },
      );
      expect(summary).toEqual({
        rows: rowCount,
        plays: (rowCount * (rowCount - 1)) / 2,
        nulls: rowCount / 3,
        tags: Math.ceil((rowCount - 3) / 7),
      });
      const [one] = await engine.query<{ title: string; published: number }>(
        `SELECT title, toUnixTimestamp64Milli(published_at) AS published FROM content_stats FINAL
         WHERE project_id = {project:String} AND content_id = 'v7'`,
        { project },
      );
      expect(one).toEqual({ title: `标题 7\t第二段 ${'x'.repeat(20)}`, published: T0 + 7 });

      const broken = newProject();
      const bad = lines.map((line, i) =>
        (i === 20_000 ? line.replace(/\t\d+$/, '\tnot-a-number') : line).replace(project, broken),
      );
      await expect(
        engine.insertRows!('content_stats', `${bad.join('\n')}\n`, { format: 'TabSeparated', columns }),
      ).rejects.toThrow(FactsQueryError);
      const stored = await engine.query('SELECT 1 FROM content_stats WHERE project_id = {project:String}', {
        project: broken,
      });
      expect(stored).toEqual([]);
    });

    it('inserts large JSON lines exactly, omitted keys as defaults, and a repeated token once', async () => {
      // Over a MiB: the in-process engine reads such payloads from a spool file instead of inline.
      const project = newProject();
      const count = 6_000;
      const lines: string[] = [];
      for (let i = 0; i < count; i++) {
        // Compact lines as ingestion writes them: empty strings and zeros left out.
        const row: Record<string, unknown> = {
          project_id: project,
          message_id: `big-${i}`,
          type: 'track',
          event: i % 2 === 0 ? 'Video Played' : 'Order Completed',
          timestamp: T0 + i,
          received_at: T0 + i + 500,
          distinct_id: `user-${i % 97}`,
          properties: JSON.stringify({ note: `第 ${i} 条\t"quoted"`, pad: 'x'.repeat(120) }),
        };
        if (i % 2 === 1) row.revenue = 12.5;
        lines.push(JSON.stringify(row));
      }
      const payload = `${lines.join('\n')}\n`;
      expect(Buffer.byteLength(payload)).toBeGreaterThan(1 << 20);
      const stored = async () => {
        const [row] = await engine.query<{ rows: number; revenue: number; channel: number; copies: number }>(
          `SELECT count() AS rows, sum(revenue) AS revenue, countIf(channel = '') AS channel,
             (SELECT count() FROM events WHERE project_id = {project:String}) AS copies
           FROM events FINAL WHERE project_id = {project:String}`,
          { project },
        );
        return row;
      };
      // Parsed on one thread, as the batch writer inserts beside request serving.
      await engine.insertJsonEachRow('events', payload, { parallelParsing: false });
      expect(await stored()).toEqual({
        rows: count,
        revenue: (count / 2) * 12.5,
        channel: count,
        copies: count,
      });
      // The batch writer's replay after a crash: the same range with the same token is stored once.
      // (Without FINAL a second copy would show until a merge folds it; merges run later.) The
      // writer hands over its log records' buffers as they are, in pieces of whole rows (here more
      // pieces than one gathered write takes, 1,024 on Linux).
      const pieces: Buffer[] = [];
      for (let i = 0; i < count; i += 4) pieces.push(Buffer.from(`${lines.slice(i, i + 4).join('\n')}\n`));
      await engine.insertJsonEachRow('events', pieces, { deduplicationToken: `big-${project}` });
      await engine.insertJsonEachRow('events', pieces, { deduplicationToken: `big-${project}` });
      expect(await stored()).toEqual({
        rows: count,
        revenue: (count / 2) * 12.5,
        channel: count,
        copies: 2 * count,
      });
      const [one] = await engine.query<{ properties: string; revenue: number; user_id: string }>(
        `SELECT properties, revenue, user_id FROM events FINAL
         WHERE project_id = {project:String} AND message_id = 'big-7'`,
        { project },
      );
      expect(one).toEqual({
        properties: JSON.stringify({ note: '第 7 条\t"quoted"', pad: 'x'.repeat(120) }),
        revenue: 12.5,
        user_id: '',
      });
    });

    it("fills a key large JSON lines omit with the column's own DEFAULT", async () => {
      const table = `scratch_defaults_${randomUUID().replaceAll('-', '')}`;
      await engine.command(
        `CREATE TABLE ${table} (id UInt32, note String, level UInt16 DEFAULT 65535) ENGINE = MergeTree ORDER BY id`,
      );
      try {
        const lines = Array.from({ length: 12_000 }, (_, id) =>
          JSON.stringify(id === 5 ? { id, note: 'x'.repeat(100), level: 3 } : { id, note: 'x'.repeat(100) }),
        );
        const payload = `${lines.join('\n')}\n`;
        expect(Buffer.byteLength(payload)).toBeGreaterThan(1 << 20);
        await engine.insertJsonEachRow(table, payload);
        const rows = await engine.query<{ level: number; n: number }>(
          `SELECT level, count() AS n FROM ${table} GROUP BY level ORDER BY level`,
        );
        expect(rows).toEqual([
          { level: 3, n: 1 },
          { level: 65535, n: 11_999 },
        ]);
      } finally {
        await engine.command(`DROP TABLE IF EXISTS ${table}`);
      }
    });

    it('inserts JSONEachRow through insertRows as insertJsonEachRow does', async () => {
      const project = newProject();
      await engine.insertRows!('events', jsonEachRow([eventRow({ project_id: project, message_id: 'm1' })]), {
        format: 'JSONEachRow',
      });
      const rows = await engine.query('SELECT message_id FROM events WHERE project_id = {project:String}', {
        project,
      });
      expect(rows).toEqual([{ message_id: 'm1' }]);
    });

    it('returns [] for a query without rows', async () => {
      const rows = await engine.query(
        'SELECT message_id FROM events FINAL WHERE project_id = {project:String}',
        {
          project: newProject(),
        },
      );
      expect(rows).toEqual([]);
    });

    describe('statements run at once (table maintenance)', () => {
      it('runs each statement once, in the database of the engine, more at a time than there are statements too', async () => {
        const table = `at_once_${randomUUID().replaceAll('-', '')}`;
        await engine.command(`CREATE TABLE ${table} (n UInt32) ENGINE = MergeTree ORDER BY n`);
        try {
          // Literal numbers, not parameters: the statements these are for (OPTIMIZE) take none.
          const statements = Array.from({ length: 7 }, (_, n) => `INSERT INTO ${table} SELECT ${n}`);
          const done: number[] = [];
          await commandsConcurrently(engine, statements, 3, (index) => done.push(index));
          expect([...done].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
          await commandsConcurrently(engine, [`INSERT INTO ${table} SELECT 7`], 4);
          const rows = await engine.query<{ n: number }>(`SELECT n FROM ${table} ORDER BY n`);
          expect(rows.map((r) => Number(r.n))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
        } finally {
          await engine.command(`DROP TABLE IF EXISTS ${table}`);
        }
      });

      it('rejects with the statement that failed, starts no more, and the engine goes on working', async () => {
        const table = `at_once_${randomUUID().replaceAll('-', '')}`;
        await engine.command(`CREATE TABLE ${table} (n UInt32) ENGINE = MergeTree ORDER BY n`);
        try {
          const failing = 'OPTIMIZE TABLE no_such_table FINAL';
          const statements = [
            failing,
            ...Array.from({ length: 20 }, (_, n) => `INSERT INTO ${table} SELECT ${n}`),
          ];
          const error = await rejection(commandsConcurrently(engine, statements, 2));
          expect(error.clickhouseCode).toBe(60);
          expect(error.sql).toBe(failing);
          const [row] = await engine.query<{ n: number }>(`SELECT count() AS n FROM ${table}`);
          // The other turn may have finished the statement it had begun, not the twenty.
          expect(Number(row!.n)).toBeLessThan(20);
        } finally {
          await engine.command(`DROP TABLE IF EXISTS ${table}`);
        }
      });
    });

    describe('rows an import set aside', () => {
      it('stores 25,000 at once, and none again when the same file is imported again', async () => {
        // Ids are looked up in slices: all at once, a server's URL (1 MiB) could not hold them.
        const env = { projectId: 'import-quarantine', sourceId: 's', receivedAt: Date.now(), kind: 'orders' };
        const rows = Array.from({ length: 25_000 }, (_, i) =>
          quarantineRows(
            [
              {
                row: i + 2,
                column: 'paid_at',
                field: 'paid_at',
                value: 'yesterday',
                code: 'import_invalid_row',
                message: 'not a time',
                message_zh: '不是时间',
              },
            ],
            `order-${i},yesterday`,
            env,
          ),
        ).flat();
        expect(await writeQuarantine(engine, env.projectId, rows)).toBe(25_000);
        expect(await writeQuarantine(engine, env.projectId, rows)).toBe(0);
        const [stored] = await engine.query<{ n: number }>(
          `SELECT count() AS n FROM quarantine WHERE project_id = {p:String}`,
          { p: env.projectId },
        );
        expect(Number(stored!.n)).toBe(25_000);
      });
    });

    describe('a refused statement', () => {
      for (const failure of FAILURES) {
        it(`rejects ${failure.says} with FactsQueryError code ${failure.code} and the SQL`, async () => {
          const error = await rejection(engine.query(failure.sql));
          expect(error.clickhouseCode).toBe(failure.code);
          expect(error.sql).toBe(failure.sql);
          expect(error.message).not.toBe('');
        });
      }

      it('rejects a command on an unknown table with code 60', async () => {
        const error = await rejection(engine.command('DROP TABLE no_such_table'));
        expect(error.clickhouseCode).toBe(60);
        expect(error.sql).toBe('DROP TABLE no_such_table');
      });

      it('rejects an insert into an unknown table with code 60', async () => {
        const error = await rejection(engine.insertJsonEachRow('no_such_table', '{"a":1}\n'));
        expect(error.clickhouseCode).toBe(60);
        expect(error.sql).toBe('INSERT INTO no_such_table');
      });
    });
  });
}
