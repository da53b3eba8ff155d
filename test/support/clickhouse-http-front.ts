/**
 * A test-only ClickHouse HTTP server: it answers ClickHouse's documented HTTP interface by running
 * the queries on chdb, so the production HTTP engine (@clickhouse/client) is tested unchanged
 * where no ClickHouse server can be installed. It follows `src/Server/HTTPHandler.cpp`:
 *
 * - `GET /ping` and `GET /` without a query answer `Ok.`;
 * - the query is the `query` URL parameter, a newline and the request body (an INSERT's data), or
 *   the body alone; multipart/form-data bodies carry `query` and `param_*` fields;
 * - `database` / `X-ClickHouse-Database`, `default_format` / `X-ClickHouse-Format`, `query_id`;
 * - `param_<name>` values arrive in ClickHouse's text (escaped) form and are bound with
 *   `SET param_<name> = '<that text>'`, which ClickHouse parses exactly as it parses HTTP
 *   parameters, so quotes, backslashes, arrays, DateTime64 and 64-bit integers bind faithfully;
 * - every other URL parameter that is not one of the handler's reserved names is a setting;
 * - GET requests are read-only (`readonly = 2`), as on a server;
 * - request bodies in gzip, deflate or br (`Content-Encoding`); compressed responses when the
 *   client sends `enable_http_compression=1` and an `Accept-Encoding` it understands;
 * - exceptions: the status ClickHouse maps the error to (404 unknown table, 400 syntax …, else
 *   500), body `Code: <n>. DB::Exception: <message>` and header `X-ClickHouse-Exception-Code`;
 *   `X-ClickHouse-Summary` and `X-ClickHouse-Query-Id` on success.
 *
 * Each request gets its own chdb Session (a connection with its own settings, parameters and
 * current database, like a server's per-request context), so concurrent requests never mix.
 *
 * - an INSERT whose `query` parameter ends in `FORMAT RowBinary` takes the body as binary rows
 *   (written to a file and inserted `FROM INFILE`, since chdb's query text is UTF-8).
 *
 * Not supported: sessions (`session_id` is accepted and ignored: each request starts afresh),
 * external tables in multipart bodies, ClickHouse's native `compress`/`decompress` block
 * compression, binary INSERT bodies in formats other than RowBinary, zstd/lz4 encodings, progress
 * headers, and rejecting multi-statement queries (chdb runs them all). Credentials are accepted, never checked.
 * The summary's written_rows/written_bytes are 0: chdb's query path does not report them.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Session } from 'chdb';

export interface ClickHouseHttpFront {
  url: string;
  close(): Promise<void>;
}

/** Starts the front on 127.0.0.1 (an ephemeral port unless one is given) over a chdb data directory. */
export async function startClickHouseHttpFront(options: {
  dataDir: string;
  port?: number;
}): Promise<ClickHouseHttpFront> {
  mkdirSync(options.dataDir, { recursive: true });
  // Keeps the engine and its data directory open between requests.
  const anchor = new Session(options.dataDir);
  const about = await anchor.queryAsync('SELECT timezone(), version()', { format: 'TSVRaw' });
  const [timezone = 'UTC', serverVersion = ''] = about.text().trim().split('\t');
  const front: Front = { dataDir: options.dataDir, timezone, version: serverVersion };
  // Query parameters travel in the URL: allow what a server does (http_max_uri_size, 1 MiB).
  const server = createServer({ maxHeaderSize: MAX_URI_BYTES }, (req, res) => {
    handle(front, req, res).catch((error: unknown) => {
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      anchor.close();
    },
  };
}

interface Front {
  dataDir: string;
  timezone: string;
  version: string;
}

interface FrontRequest {
  query: string;
  database: string | undefined;
  defaultFormat: string;
  queryId: string;
  /** Settings in the order they arrived; the last value of a name wins. */
  settings: [string, string][];
  /** Query parameters in ClickHouse's escaped text form; the first value of a name wins. */
  params: Map<string, string>;
  isInsert: boolean;
  bodyIsBlank: boolean;
  /** The rows of an INSERT … FORMAT RowBinary, kept as bytes. */
  binaryRows?: Buffer;
}

/** ClickHouse's default http_max_uri_size. */
const MAX_URI_BYTES = 1 << 20;

/** An INSERT query text that ends by naming the binary row format its body is in. */
const BINARY_INSERT = /^\s*INSERT\b[\s\S]*\bFORMAT\s+RowBinary\s*$/i;

/** An error answered the way ClickHouse answers it; `message` is the whole response body line. */
class ClickHouseException extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
  ) {
    super(message);
  }
}

/** An error the front raises itself, worded as ClickHouse words its exceptions. */
function exception(code: number, codeName: string, text: string): ClickHouseException {
  return new ClickHouseException(code, codeName, `Code: ${code}. DB::Exception: ${text}. (${codeName})`);
}

const SERVER_DISPLAY_NAME = 'pulseloop-test-front';

async function handle(front: Front, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://front');
  if (url.pathname === '/ping' || url.pathname === '/replicas_status') return sendOk(res);
  if (url.pathname !== '/') return sendNotFound(res, url.pathname);
  const isReadOnlyMethod = req.method === 'GET' || req.method === 'HEAD';
  if (isReadOnlyMethod && !url.searchParams.has('query')) return sendOk(res);
  const compression = responseCompression(req, url);
  try {
    const body = await readBody(req);
    const request = parseRequest(req, url, body, isReadOnlyMethod);
    const started = process.hrtime.bigint();
    const result = await execute(front, request);
    const headers = successHeaders(front, request, result, process.hrtime.bigint() - started);
    send(res, 200, headers, Buffer.from(result.bytes), compression);
  } catch (error) {
    sendException(res, toClickHouseException(error, front.version), compression);
  }
}

function sendOk(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8' });
  res.end('Ok.\n');
}

function sendNotFound(res: ServerResponse, path: string): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=UTF-8' });
  res.end(`There is no handle ${path}\n\nUse / or /ping for health checks.\n`);
}

// ---- request ---------------------------------------------------------------------------------

/** Parameters the HTTP handler consumes itself; every other non-`param_` parameter is a setting. */
const RESERVED_PARAMS = new Set([
  'query',
  'compress',
  'decompress',
  'user',
  'password',
  'quota_key',
  'query_id',
  'stacktrace',
  'role',
  'buffer_size',
  'wait_end_of_query',
  'session_id',
  'session_timeout',
  'session_check',
  'client_protocol_version',
  'close_session',
  'database',
  'default_format',
]);

function parseRequest(req: IncomingMessage, url: URL, body: Buffer, isReadOnlyMethod: boolean): FrontRequest {
  const search = url.searchParams;
  if (isTrue(search.get('compress')) || isTrue(search.get('decompress'))) {
    throw exception(48, 'NOT_IMPLEMENTED', 'The test front does not speak native compression');
  }
  const settings: [string, string][] = isReadOnlyMethod ? [['readonly', '2']] : [];
  const params = new Map<string, string>();
  const form = multipartFields(req, body);
  collectParams([...search], settings, params, form !== undefined);

  let query: string;
  let binaryRows: Buffer | undefined;
  if (form) {
    query = form
      .filter(([name]) => name === 'query')
      .map(([, value]) => value)
      .join('');
    collectParams(form, [], params, true);
  } else {
    const urlQuery = search.get('query') ?? '';
    if (BINARY_INSERT.test(urlQuery) && body.length > 0) {
      query = urlQuery;
      binaryRows = body;
    } else {
      query = urlQuery === '' ? body.toString('utf8') : `${urlQuery}\n${body.toString('utf8')}`;
    }
  }
  if (query.trim() === '') throw exception(62, 'SYNTAX_ERROR', 'Empty query');

  return {
    query,
    database: header(req, 'x-clickhouse-database') ?? search.get('database') ?? undefined,
    defaultFormat: header(req, 'x-clickhouse-format') ?? search.get('default_format') ?? 'TabSeparated',
    queryId: search.get('query_id') ?? header(req, 'x-clickhouse-query-id') ?? randomUUID(),
    settings,
    params,
    isInsert: /^\s*INSERT\b/i.test(query),
    bodyIsBlank: form === undefined && body.toString('utf8').trim() === '',
    ...(binaryRows ? { binaryRows } : {}),
  };
}

/**
 * Sorts URL (or form) parameters into settings and query parameters, as the handler does. With a
 * multipart body the handler skips names ending in _format, _types or _structure (they describe
 * external tables), so a setting such as date_time_input_format is then ignored, on a server too.
 */
function collectParams(
  entries: [string, string][],
  settings: [string, string][],
  params: Map<string, string>,
  isMultipart: boolean,
): void {
  for (const [name, value] of entries) {
    if (name === '' || RESERVED_PARAMS.has(name)) continue;
    if (isMultipart && /_(format|types|structure)$/.test(name)) continue;
    if (name.startsWith('param_')) {
      const parameter = name.slice('param_'.length);
      if (!params.has(parameter)) params.set(parameter, value);
    } else {
      settings.push([name, value]);
    }
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isTrue(value: string | null): boolean {
  return value === '1' || value === 'true';
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return decodeBody(Buffer.concat(chunks), header(req, 'content-encoding'));
}

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const brotliDecompress = promisify(zlib.brotliDecompress);

async function decodeBody(raw: Buffer, encoding: string | undefined): Promise<Buffer> {
  const method = (encoding ?? '').trim().toLowerCase();
  try {
    if (method === '' || method === 'identity' || method === 'none') return raw;
    if (method === 'gzip' || method === 'x-gzip') return await gunzip(raw);
    if (method === 'deflate') return await inflate(raw);
    if (method === 'br') return await brotliDecompress(raw);
  } catch (error) {
    throw exception(354, 'ZLIB_INFLATE_FAILED', `Cannot decompress the body: ${String(error)}`);
  }
  throw exception(36, 'BAD_ARGUMENTS', `Unknown compression method '${encoding}'`);
}

/** The named fields of a multipart/form-data body, or undefined when the body is not one. */
function multipartFields(req: IncomingMessage, body: Buffer): [string, string][] | undefined {
  const contentType = header(req, 'content-type') ?? '';
  if (!contentType.startsWith('multipart/form-data')) return undefined;
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw exception(36, 'BAD_ARGUMENTS', 'multipart/form-data without a boundary');
  const fields: [string, string][] = [];
  for (const part of body.toString('utf8').split(`--${boundary}`).slice(1)) {
    if (part.startsWith('--')) break;
    const headerEnd = part.indexOf('\r\n\r\n');
    const disposition = part.slice(0, headerEnd);
    if (/filename=/i.test(disposition)) {
      throw exception(48, 'NOT_IMPLEMENTED', 'The test front has no external tables');
    }
    const name = /name="([^"]*)"/.exec(disposition)?.[1];
    if (name !== undefined) fields.push([name, part.slice(headerEnd + 4).replace(/\r\n$/, '')]);
  }
  return fields;
}

// ---- execution -------------------------------------------------------------------------------

interface Execution {
  bytes: Uint8Array;
  rowsRead: number;
  bytesRead: number;
}

async function execute(front: Front, request: FrontRequest): Promise<Execution> {
  const session = new Session(front.dataDir);
  // The path is the front's own (a UUID in its data directory), never text from the request.
  const rowsFile = request.binaryRows ? join(front.dataDir, `front-rows-${randomUUID()}.bin`) : undefined;
  try {
    const setup = setupStatements(request);
    if (setup !== '') await session.queryAsync(setup);
    let query = request.query;
    if (rowsFile && request.binaryRows) {
      await writeFile(rowsFile, request.binaryRows);
      query = query.replace(/\bFORMAT\s+RowBinary\s*$/i, `FROM INFILE '${rowsFile}' FORMAT RowBinary`);
    }
    const result = await session.queryAsync(query, { format: request.defaultFormat });
    return { bytes: result.bytes(), rowsRead: result.rowsRead, bytesRead: result.bytesRead };
  } catch (error) {
    // A server inserts nothing for an empty INSERT body; chdb calls it NO_DATA_TO_INSERT.
    if (request.isInsert && request.bodyIsBlank && codeOf(error) === 108) {
      return { bytes: new Uint8Array(0), rowsRead: 0, bytesRead: 0 };
    }
    throw error;
  } finally {
    session.close();
    if (rowsFile) await unlink(rowsFile).catch(() => undefined);
  }
}

/** `USE db; SET setting = 'value', …, param_name = '<escaped text>'` for this request's session. */
function setupStatements(request: FrontRequest): string {
  const statements: string[] = [];
  if (request.database !== undefined && request.database !== '') {
    statements.push(`USE ${quoteIdentifier(request.database)}`);
  }
  const assignments = request.settings.map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw exception(115, 'UNKNOWN_SETTING', `Unknown setting '${name}'`);
    }
    return `${name} = ${quoteString(value)}`;
  });
  for (const [name, value] of request.params) {
    if (!/^[A-Za-z0-9_]+$/.test(name)) continue;
    assignments.push(`param_${name} = ${quoteString(value)}`);
  }
  if (assignments.length > 0) statements.push(`SET ${assignments.join(', ')}`);
  return statements.join('; ');
}

/** A ClickHouse string literal whose value is exactly `value` (the SET statement unescapes it once). */
function quoteString(value: string): string {
  return `'${value.replace(/[\\'\0]/g, (c) => (c === '\0' ? '\\0' : `\\${c}`))}'`;
}

function quoteIdentifier(name: string): string {
  return `\`${name.replace(/[\\`]/g, (c) => `\\${c}`)}\``;
}

// ---- response --------------------------------------------------------------------------------

function successHeaders(
  front: Front,
  request: FrontRequest,
  result: Execution,
  elapsedNs: bigint,
): Record<string, string> {
  const headers: Record<string, string> = {
    'X-ClickHouse-Server-Display-Name': SERVER_DISPLAY_NAME,
    'X-ClickHouse-Query-Id': request.queryId,
    'X-ClickHouse-Timezone': front.timezone,
    'X-ClickHouse-Summary': JSON.stringify({
      read_rows: String(result.rowsRead),
      read_bytes: String(result.bytesRead),
      written_rows: '0',
      written_bytes: '0',
      total_rows_to_read: '0',
      result_rows: String(request.isInsert ? 0 : result.rowsRead),
      result_bytes: String(result.bytes.byteLength),
      elapsed_ns: String(elapsedNs),
    }),
    'Content-Type': 'text/plain; charset=UTF-8',
  };
  if (!request.isInsert) {
    const format = outputFormat(request);
    headers['X-ClickHouse-Format'] = format;
    headers['Content-Type'] = contentType(format);
  }
  return headers;
}

/** The query's own FORMAT clause, else the default format. */
function outputFormat(request: FrontRequest): string {
  return /\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i.exec(request.query)?.[1] ?? request.defaultFormat;
}

function contentType(format: string): string {
  if (/^(TSV|TabSeparated)/i.test(format)) return 'text/tab-separated-values; charset=UTF-8';
  if (/^CSV/i.test(format)) return 'text/csv; charset=UTF-8';
  if (/EachRow$|^JSONLines$|^NDJSON$/i.test(format)) return 'application/x-ndjson; charset=UTF-8';
  if (/^JSON/i.test(format)) return 'application/json; charset=UTF-8';
  if (/^(Native|RowBinary|Parquet|Arrow|ORC|Avro)/i.test(format)) return 'application/octet-stream';
  return 'text/plain; charset=UTF-8';
}

type Encoding = 'br' | 'gzip' | 'deflate';

interface Compression {
  encoding: Encoding;
  level: number;
}

/** How to compress the response, when the client turned compression on and accepts an encoding we produce. */
function responseCompression(req: IncomingMessage, url: URL): Compression | undefined {
  const enabled = url.searchParams.getAll('enable_http_compression').at(-1);
  if (!isTrue(enabled ?? null)) return undefined;
  const accepted = (header(req, 'accept-encoding') ?? '').toLowerCase();
  // ClickHouse's preference order among the encodings Node can produce.
  const encoding = (['br', 'gzip', 'deflate'] as const).find((name) => accepted.includes(name));
  const level = Number(url.searchParams.get('http_zlib_compression_level') ?? 3);
  return encoding ? { encoding, level } : undefined;
}

function compress(body: Buffer, compression: Compression | undefined): Buffer {
  if (compression?.encoding === 'gzip') return zlib.gzipSync(body, { level: compression.level });
  if (compression?.encoding === 'deflate') return zlib.deflateSync(body, { level: compression.level });
  if (compression?.encoding === 'br') return zlib.brotliCompressSync(body);
  return body;
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Buffer,
  compression: Compression | undefined,
): void {
  const encoded = compress(body, compression);
  res.writeHead(status, {
    ...headers,
    ...(compression ? { 'Content-Encoding': compression.encoding } : {}),
    'Content-Length': String(encoded.byteLength),
  });
  res.end(res.req.method === 'HEAD' ? undefined : encoded);
}

function sendException(res: ServerResponse, error: ClickHouseException, compression?: Compression): void {
  const headers = {
    'Content-Type': 'text/plain; charset=UTF-8',
    'X-ClickHouse-Server-Display-Name': SERVER_DISPLAY_NAME,
    'X-ClickHouse-Exception-Code': String(error.code),
  };
  send(res, httpStatusOf(error.codeName), headers, Buffer.from(`${error.message}\n`), compression);
}

function codeOf(error: unknown): number | undefined {
  const e = error as { clickhouseCode?: number; message?: string };
  if (typeof e.clickhouseCode === 'number') return e.clickhouseCode;
  const match = /Code: (\d+)\./.exec(e.message ?? '');
  return match ? Number(match[1]) : undefined;
}

/** chdb reports errors in ClickHouse's own words (`Code: 60. DB::Exception: … (UNKNOWN_TABLE)`). */
function toClickHouseException(error: unknown, serverVersion: string): ClickHouseException {
  if (error instanceof ClickHouseException) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = codeOf(error);
  if (code === undefined) return exception(1001, 'STD_EXCEPTION', message);
  const codeName = /\(([A-Z0-9_]{3,})\)\s*$/.exec(message)?.[1] ?? 'UNKNOWN_EXCEPTION';
  const withVersion = message.includes('(version ') ? message : `${message} (version ${serverVersion})`;
  return new ClickHouseException(code, codeName, withVersion);
}

// ClickHouse's exceptionCodeToHTTPStatus, by error name.
const STATUS_BY_NAME: [number, string[]][] = [
  [403, ['UNKNOWN_USER', 'WRONG_PASSWORD', 'AUTHENTICATION_FAILED', 'SET_NON_GRANTED_ROLE', 'ACCESS_DENIED']],
  [
    400,
    [
      'BAD_ARGUMENTS',
      'CANNOT_COMPILE_REGEXP',
      'CANNOT_PARSE_TEXT',
      'CANNOT_PARSE_ESCAPE_SEQUENCE',
      'CANNOT_PARSE_QUOTED_STRING',
      'CANNOT_PARSE_DATE',
      'CANNOT_PARSE_DATETIME',
      'CANNOT_PARSE_NUMBER',
      'CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING',
      'CANNOT_PARSE_IPV4',
      'CANNOT_PARSE_IPV6',
      'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
      'CANNOT_PARSE_UUID',
      'DUPLICATE_COLUMN',
      'ILLEGAL_COLUMN',
      'UNKNOWN_ELEMENT_IN_AST',
      'UNKNOWN_TYPE_OF_AST_NODE',
      'THERE_IS_NO_COLUMN',
      'TOO_DEEP_AST',
      'TOO_BIG_AST',
      'UNEXPECTED_AST_STRUCTURE',
      'SYNTAX_ERROR',
      'INCORRECT_DATA',
      'TYPE_MISMATCH',
      'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
    ],
  ],
  [
    404,
    [
      'UNKNOWN_TABLE',
      'UNKNOWN_FUNCTION',
      'UNKNOWN_IDENTIFIER',
      'UNKNOWN_TYPE',
      'UNKNOWN_STORAGE',
      'UNKNOWN_DATABASE',
      'UNKNOWN_SETTING',
      'UNKNOWN_DIRECTION_OF_SORTING',
      'UNKNOWN_AGGREGATE_FUNCTION',
      'UNKNOWN_FORMAT',
      'UNKNOWN_DATABASE_ENGINE',
      'UNKNOWN_TYPE_OF_QUERY',
      'UNKNOWN_ROLE',
    ],
  ],
  [401, ['REQUIRED_PASSWORD']],
  [413, ['QUERY_IS_TOO_LARGE']],
  [501, ['NOT_IMPLEMENTED']],
  [503, ['SOCKET_TIMEOUT', 'CANNOT_OPEN_FILE', 'CANNOT_SCHEDULE_TASK']],
  [411, ['HTTP_LENGTH_REQUIRED']],
  [408, ['TIMEOUT_EXCEEDED']],
  [415, ['UNSUPPORTED_MEDIA_TYPE']],
];

function httpStatusOf(codeName: string): number {
  return STATUS_BY_NAME.find(([, names]) => names.includes(codeName))?.[0] ?? 500;
}
