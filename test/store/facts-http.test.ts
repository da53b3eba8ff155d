import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { ClickHouseError, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHttpEngine } from '../../src/store/facts/http-engine.js';
import { type ClickHouseHttpFront, startClickHouseHttpFront } from '../support/clickhouse-http-front.js';
import { describeFactsSuite } from './facts-suite.js';

// With CLICKHOUSE_URL set the suite runs against that server, in a database of its own that is
// dropped afterwards; otherwise against the test front over chdb. The front's own tests always run.
const serverUrl = process.env.CLICKHOUSE_URL;
const credentials = {
  username: process.env.CLICKHOUSE_USER ?? 'default',
  password: process.env.CLICKHOUSE_PASSWORD ?? '',
};
const database = serverUrl ? `pulseloop_test_${randomBytes(6).toString('hex')}` : 'pulseloop_test';
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-facts-http-'));
let front: ClickHouseHttpFront;

beforeAll(async () => {
  front = await startClickHouseHttpFront({ dataDir });
});

afterAll(async () => {
  if (serverUrl) {
    const client = createClient({ url: serverUrl, ...credentials });
    await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await client.close();
  }
  await front.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describeFactsSuite(
  serverUrl ? 'a ClickHouse server over HTTP' : 'ClickHouse HTTP (test front over chdb)',
  () => openHttpEngine({ url: serverUrl ?? front.url, database, ...credentials }),
);

describe('ClickHouse HTTP test front', () => {
  function url(params: Record<string, string>): string {
    return `${front.url}/?${new URLSearchParams(params)}`;
  }

  async function expectException(response: Response, status: number, code: number, name: string) {
    expect(response.status).toBe(status);
    expect(response.headers.get('x-clickhouse-exception-code')).toBe(String(code));
    expect(await response.text()).toMatch(
      new RegExp(`^Code: ${code}\\. DB::Exception: .*\\(${name}\\)`, 's'),
    );
  }

  it('answers Ok. to /ping and to a GET / without a query', async () => {
    expect(await (await fetch(`${front.url}/ping`)).text()).toBe('Ok.\n');
    expect(await (await fetch(`${front.url}/`)).text()).toBe('Ok.\n');
  });

  it('runs a query given in the URL and reports a summary', async () => {
    const response = await fetch(url({ query: 'SELECT number FROM system.numbers LIMIT 3' }));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('0\n1\n2\n');
    expect(response.headers.get('x-clickhouse-format')).toBe('TabSeparated');
    const summary = JSON.parse(response.headers.get('x-clickhouse-summary') ?? '{}');
    expect(summary).toMatchObject({ read_rows: '3', written_rows: '0' });
  });

  it('runs a query given in the POST body', async () => {
    const response = await fetch(`${front.url}/`, { method: 'POST', body: 'SELECT 1 + 1' });
    expect(await response.text()).toBe('2\n');
  });

  it('joins the query parameter and the body with a newline', async () => {
    const response = await fetch(url({ query: 'SELECT 40 +' }), { method: 'POST', body: '2' });
    expect(await response.text()).toBe('42\n');
  });

  it('binds param_ values given in ClickHouse escaped text form', async () => {
    const response = await fetch(
      url({
        query: `SELECT {s:String} AS s, {a:Array(String)} AS a, {t:DateTime64(3, 'UTC')} AS t,
                toString({u:UInt64}) AS u FORMAT JSONEachRow`,
        param_s: "it\\'s\\ta tab, \\\\ a backslash, 抖音",
        param_a: "['x\\'y','抖音']",
        param_t: '1709281815.123',
        param_u: '18446744073709551615',
      }),
    );
    expect(await response.json()).toEqual({
      s: "it's\ta tab, \\ a backslash, 抖音",
      a: ["x'y", '抖音'],
      t: '2024-03-01 08:30:15.123',
      u: '18446744073709551615',
    });
  });

  it('reads the query and param_ fields of a multipart/form-data body', async () => {
    const client = createClient({ url: front.url });
    try {
      const result = await client.query({
        query: 'SELECT {s:String} AS s',
        query_params: { s: "a 'quoted' value" },
        format: 'JSONEachRow',
        use_multipart_params: true,
      });
      expect(await result.json()).toEqual([{ s: "a 'quoted' value" }]);
    } finally {
      await client.close();
    }
  });

  it('runs each request in the database it names, even when requests overlap', async () => {
    const databases = ['system', 'default', 'system', 'default', 'system', 'default'];
    const answers = await Promise.all(
      databases.map(async (name) => {
        const response = await fetch(url({ query: 'SELECT currentDatabase(), sleep(0.05)', database: name }));
        return (await response.text()).split('\t')[0];
      }),
    );
    expect(answers).toEqual(databases);
  });

  it('applies settings given as URL parameters and refuses an unknown one', async () => {
    const applied = await fetch(url({ query: "SELECT getSetting('max_threads')", max_threads: '1' }));
    expect(await applied.text()).toBe('1\n');
    const next = await fetch(url({ query: "SELECT getSetting('max_threads') = 1" }));
    expect(await next.text()).toBe('0\n');
    const unknown = await fetch(url({ query: 'SELECT 1', no_such_setting: '1' }));
    await expectException(unknown, 404, 115, 'UNKNOWN_SETTING');
  });

  it('answers in default_format unless the query has a FORMAT clause', async () => {
    const byDefault = await fetch(url({ query: 'SELECT 1 AS n', default_format: 'JSONEachRow' }));
    expect(await byDefault.text()).toBe('{"n":1}\n');
    expect(byDefault.headers.get('content-type')).toMatch(/json/);
    const byClause = await fetch(url({ query: 'SELECT 1 AS n FORMAT CSV', default_format: 'JSONEachRow' }));
    expect(await byClause.text()).toBe('1\n');
  });

  it('answers an exception with its code in the body, in a header and in the HTTP status', async () => {
    await expectException(await fetch(url({ query: 'SELECT nope' })), 404, 47, 'UNKNOWN_IDENTIFIER');
    await expectException(await fetch(url({ query: 'SELECT * FROM nope' })), 404, 60, 'UNKNOWN_TABLE');
    await expectException(await fetch(url({ query: 'SELEC 1' })), 400, 62, 'SYNTAX_ERROR');
    await expectException(
      await fetch(url({ query: 'SELECT throwIf(1)' })),
      500,
      395,
      'FUNCTION_THROW_IF_VALUE_IS_NON_ZERO',
    );
  });

  it('refuses to write on a GET request', async () => {
    const response = await fetch(url({ query: 'CREATE TABLE default.get_table (a UInt8) ENGINE = Memory' }));
    await expectException(response, 500, 164, 'READONLY');
  });

  it('reads gzip and deflate request bodies', async () => {
    const gzip = await fetch(`${front.url}/`, {
      method: 'POST',
      body: gzipSync('SELECT 42'),
      headers: { 'Content-Encoding': 'gzip' },
    });
    expect(await gzip.text()).toBe('42\n');
    const deflate = await fetch(`${front.url}/`, {
      method: 'POST',
      body: deflateSync('SELECT 43'),
      headers: { 'Content-Encoding': 'deflate' },
    });
    expect(await deflate.text()).toBe('43\n');
  });

  it('compresses the response only when the client enables HTTP compression', async () => {
    const headers = { 'Accept-Encoding': 'gzip' };
    const compressed = await fetch(url({ query: 'SELECT 7', enable_http_compression: '1' }), { headers });
    expect(compressed.headers.get('content-encoding')).toBe('gzip');
    expect(await compressed.text()).toBe('7\n');
    const plain = await fetch(url({ query: 'SELECT 7' }), { headers });
    expect(plain.headers.get('content-encoding')).toBeNull();
  });

  it('inserts the body as the data of an INSERT given in the URL, and an empty body as nothing', async () => {
    const table = `default.inserted_${randomBytes(4).toString('hex')}`;
    await fetch(`${front.url}/`, {
      method: 'POST',
      body: `CREATE TABLE ${table} (n UInt32, s String) ENGINE = MergeTree ORDER BY n`,
    });
    const insert = url({ query: `INSERT INTO ${table} FORMAT JSONEachRow` });
    const rows = '{"n":1,"s":"抖音"}\n{"n":2,"s":"it\'s"}\n';
    expect((await fetch(insert, { method: 'POST', body: rows })).status).toBe(200);
    expect((await fetch(insert, { method: 'POST', body: '' })).status).toBe(200);
    const read = await fetch(url({ query: `SELECT * FROM ${table} ORDER BY n FORMAT JSONEachRow` }));
    expect(await read.text()).toBe(rows);
  });

  it('accepts Basic auth and X-ClickHouse-User credentials', async () => {
    const basic = `Basic ${Buffer.from('default:secret').toString('base64')}`;
    const withBasic = await fetch(url({ query: 'SELECT 1' }), { headers: { Authorization: basic } });
    expect(withBasic.status).toBe(200);
    const withHeaders = await fetch(url({ query: 'SELECT 1' }), {
      headers: { 'X-ClickHouse-User': 'default', 'X-ClickHouse-Key': 'secret' },
    });
    expect(withHeaders.status).toBe(200);
  });

  it('makes an engine error reach @clickhouse/client as a ClickHouseError with the numeric code as a string', async () => {
    const client = createClient({ url: front.url, log: { level: ClickHouseLogLevel.OFF } });
    try {
      const error = await client.query({ query: 'SELECT * FROM no_such_table' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ClickHouseError);
      expect(error).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
    } finally {
      await client.close();
    }
  });
});
