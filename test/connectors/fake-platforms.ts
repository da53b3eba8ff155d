import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the two platform APIs the connectors call, answering as their documentation
 * describes (see docs/connectors.md):
 *
 * - Ocean Engine `GET /open_api/2/report/ad/get/`: `Access-Token` header; advertiser_id, start_date,
 *   end_date, page, page_size, group_by, fields; `{code, message, data: {list, page_info}, request_id}`;
 *   code 40100 when called too often, 40102/40105 for an expired or invalid token.
 * - Douyin `GET /api/douyin/v1/video/video_list/`: `access-token` header; open_id, cursor, count;
 *   `{data: {list, cursor, has_more, error_code, description}, extra: {error_code, description, logid, now}}`;
 *   the cursor is the creation time in ms of the last video returned (videos newest first);
 *   28003018 when called too often, 28001008 for an expired token.
 *
 * Faults are queued per platform and served before normal answers, so a test can script
 * "rate-limited twice, then a 500, then fine".
 */

export interface AdReportRow {
  stat_datetime: string;
  campaign_id: string;
  campaign_name: string;
  ad_id: string;
  ad_name: string;
  cost: number;
  show: number;
  click: number;
  convert: number;
}

export interface DouyinVideo {
  item_id: string;
  title: string;
  create_time: number;
  statistics: {
    play_count: number;
    digg_count: number;
    comment_count: number;
    share_count: number;
    download_count: number;
    forward_count: number;
  };
}

export type Fault =
  | { kind: 'rate_limit' }
  | { kind: 'http_429'; retryAfterSeconds?: number }
  | { kind: 'http_500' }
  | { kind: 'http_503' }
  /** A gateway refusing the request before the API sees it (an HTML page, no JSON). */
  | { kind: 'http_403' };

export interface RequestRecord {
  platform: 'oceanengine' | 'douyin';
  at: number;
  query: Record<string, string>;
  outcome: string;
}

export interface FakePlatforms {
  url: string;
  requests: RequestRecord[];
  oceanEngine: { token: string; advertiserId: string; rows: AdReportRow[]; faults: Fault[] };
  douyin: { token: string; openId: string; videos: DouyinVideo[]; faults: Fault[] };
  /** Called on every request before it is answered (a test may kill the client here). */
  onRequest?: (record: RequestRecord, count: number) => void | Promise<void>;
  close(): Promise<void>;
}

/**
 * Makes the platforms slow to answer: every request waits until `release()`. `requested` settles at
 * the first request (a sync is then running). `release()` also stops holding later requests.
 */
export function holdRequests(fake: FakePlatforms): { requested: Promise<void>; release(): void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let reached!: () => void;
  const requested = new Promise<void>((resolve) => {
    reached = resolve;
  });
  fake.onRequest = async () => {
    reached();
    await gate;
  };
  return {
    requested,
    release() {
      fake.onRequest = undefined;
      open();
    },
  };
}

/** Deterministic report rows: `ads` ads in 2 campaigns on each day from `from` for `days` days. */
export function makeAdReport(from: string, days: number, ads: number): AdReportRow[] {
  const rows: AdReportRow[] = [];
  for (let d = 0; d < days; d++) {
    const date = new Date(`${from}T00:00:00Z`);
    date.setUTCDate(date.getUTCDate() + d);
    const day = date.toISOString().slice(0, 10);
    for (let a = 0; a < ads; a++) {
      const show = 1000 + 37 * a + 11 * d;
      const click = 20 + ((a * 7 + d) % 30);
      rows.push({
        stat_datetime: `${day} 00:00:00`,
        // 19-digit ids, as the platform's ids are: beyond what a double holds exactly.
        campaign_id: `17${String(a % 2).padStart(17, '0')}`,
        campaign_name: `春季上新 ${a % 2}`,
        ad_id: `17${String(1_000_000 + a).padStart(17, '0')}`,
        ad_name: `计划 ${a}`,
        cost: Math.round((15 + a * 1.25 + d * 0.5) * 100) / 100,
        show,
        click,
        convert: click % 4,
      });
    }
  }
  return rows;
}

/** Deterministic videos, newest first, one hour apart. */
export function makeVideos(count: number, newestAtSeconds = 1_740_000_000): DouyinVideo[] {
  return Array.from({ length: count }, (_, i) => ({
    item_id: `@9VwL0${String(i).padStart(4, '0')}Qm==`,
    title: `开箱视频 ${i}`,
    create_time: newestAtSeconds - i * 3600,
    statistics: {
      play_count: 10_000 + i * 13,
      digg_count: 500 + i,
      comment_count: 40 + (i % 9),
      share_count: 12 + (i % 5),
      download_count: 3,
      forward_count: 2,
    },
  }));
}

export async function startFakePlatforms(): Promise<FakePlatforms> {
  const fake: FakePlatforms = {
    url: '',
    requests: [],
    oceanEngine: { token: 'oe-token', advertiserId: '1760000000000001', rows: [], faults: [] },
    douyin: { token: 'act.dy-token', openId: 'ba253642-0590-40bc-9bdf-9a1334b94059', videos: [], faults: [] },
    close: async () => {},
  };
  let count = 0;
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://fake');
      const query = Object.fromEntries(url.searchParams);
      const platform = url.pathname.startsWith('/open_api/') ? 'oceanengine' : 'douyin';
      const record: RequestRecord = { platform, at: Date.now(), query, outcome: '' };
      fake.requests.push(record);
      await fake.onRequest?.(record, ++count);
      if (url.pathname === '/open_api/2/report/ad/get/')
        return answerAdReport(fake, request, query, record, response);
      if (url.pathname === '/api/douyin/v1/video/video_list/')
        return answerVideoList(fake, request, query, record, response);
      record.outcome = 'not found';
      response.writeHead(404).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}

/** Serves a scripted transport fault; true when one was served. */
function transportFault(fault: Fault | undefined, record: RequestRecord, response: ServerResponse): boolean {
  if (!fault || fault.kind === 'rate_limit') return false;
  record.outcome = fault.kind;
  if (fault.kind === 'http_429') {
    const headers: Record<string, string> =
      fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
    response.writeHead(429, { 'content-type': 'text/plain', ...headers }).end('Too Many Requests');
  } else if (fault.kind === 'http_403') {
    response.writeHead(403, { 'content-type': 'text/html' }).end('<h1>403 Forbidden</h1>');
  } else {
    response
      .writeHead(fault.kind === 'http_500' ? 500 : 503, { 'content-type': 'text/html' })
      .end('<h1>error</h1>');
  }
  return true;
}

function requestId(): string {
  return `2025030112000001${Math.floor(Math.random() * 1e6)}`;
}

function answerAdReport(
  fake: FakePlatforms,
  request: IncomingMessage,
  query: Record<string, string>,
  record: RequestRecord,
  response: ServerResponse,
) {
  const oe = fake.oceanEngine;
  const token = request.headers['access-token'];
  if (token === undefined) {
    record.outcome = 'no token';
    return json(response, 200, { code: 40104, message: 'Access-Token 为空', request_id: requestId() });
  }
  if (token !== oe.token) {
    record.outcome = 'bad token';
    return json(response, 200, { code: 40102, message: 'access_token已过期', request_id: requestId() });
  }
  const fault = oe.faults.shift();
  if (transportFault(fault, record, response)) return;
  if (fault?.kind === 'rate_limit') {
    record.outcome = 'rate_limit';
    return json(response, 200, { code: 40100, message: '请求过于频繁', request_id: requestId() });
  }
  const page = Number(query.page ?? 1);
  const pageSize = Number(query.page_size ?? 20);
  const groupBy = JSON.parse(query.group_by ?? '[]') as string[];
  if (
    query.advertiser_id !== oe.advertiserId ||
    !/^\d{4}-\d{2}-\d{2}$/.test(query.start_date ?? '') ||
    !/^\d{4}-\d{2}-\d{2}$/.test(query.end_date ?? '') ||
    !(page >= 1) ||
    !(pageSize >= 1 && pageSize <= 1000) ||
    !groupBy.includes('STAT_GROUP_BY_FIELD_STAT_TIME')
  ) {
    record.outcome = 'bad params';
    return json(response, 200, { code: 40002, message: '参数错误', request_id: requestId() });
  }
  const matching = oe.rows.filter((row) => {
    const day = row.stat_datetime.slice(0, 10);
    return day >= (query.start_date as string) && day <= (query.end_date as string);
  });
  const totalPage = Math.ceil(matching.length / pageSize);
  const list = matching.slice((page - 1) * pageSize, page * pageSize);
  record.outcome = `ok ${query.start_date} page ${page}/${totalPage}`;
  // Ids are written as bare JSON numbers, as the platform writes them.
  const body = JSON.stringify({
    code: 0,
    message: 'OK',
    data: {
      list,
      page_info: { page, page_size: pageSize, total_number: matching.length, total_page: totalPage },
    },
    request_id: requestId(),
  }).replace(/"(campaign_id|ad_id)":"(\d+)"/g, '"$1":$2');
  response.writeHead(200, { 'content-type': 'application/json' }).end(body);
}

function answerVideoList(
  fake: FakePlatforms,
  request: IncomingMessage,
  query: Record<string, string>,
  record: RequestRecord,
  response: ServerResponse,
) {
  const dy = fake.douyin;
  const extra = (code: number, description: string) => ({
    error_code: code,
    description,
    sub_error_code: 0,
    sub_description: '',
    logid: '202503011200000101980821035705926A',
    now: Date.now(),
  });
  if (request.headers['access-token'] !== dy.token) {
    record.outcome = 'bad token';
    const description = 'access_token过期,请刷新或重新授权';
    return json(response, 200, {
      data: { error_code: 28001008, description },
      extra: extra(28001008, description),
    });
  }
  const fault = dy.faults.shift();
  if (transportFault(fault, record, response)) return;
  if (fault?.kind === 'rate_limit') {
    record.outcome = 'rate_limit';
    return json(response, 200, {
      data: { error_code: 28003018, description: '请求频率过高' },
      extra: extra(28003018, '请求频率过高'),
    });
  }
  const count = Number(query.count ?? 10);
  const cursor = Number(query.cursor ?? 0);
  if (query.open_id !== dy.openId || !(count >= 1 && count <= 20) || !Number.isFinite(cursor)) {
    record.outcome = 'bad params';
    return json(response, 200, {
      data: { error_code: 28001007, description: '参数不合法' },
      extra: extra(28001007, '参数不合法'),
    });
  }
  const remaining = dy.videos.filter((v) => cursor === 0 || v.create_time * 1000 < cursor);
  const list = remaining.slice(0, count);
  const hasMore = remaining.length > list.length;
  const last = list[list.length - 1];
  record.outcome = `ok cursor ${cursor} (${list.length})`;
  return json(response, 200, {
    data: {
      list: list.map((v) => ({
        ...v,
        cover: 'https://example.com/c.jpeg',
        is_top: false,
        is_reviewed: true,
        share_url: '',
      })),
      cursor: last ? last.create_time * 1000 : 0,
      has_more: hasMore,
      error_code: 0,
      description: '',
    },
    extra: extra(0, ''),
  });
}
