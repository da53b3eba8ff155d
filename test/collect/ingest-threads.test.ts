import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchWriter } from '../../src/collect/batch-writer.js';
import { createMessageIdWindow } from '../../src/collect/dedupe.js';
import {
  type IngestDeps,
  type IngestResult,
  ingest,
  ingestBatchOnThread,
  type RawBatchRequest,
} from '../../src/collect/ingest.js';
import type { IngestThreads } from '../../src/collect/ingest-threads.js';
import { createLiveFeed, type LiveItem } from '../../src/collect/live.js';
import { writeKeyInBody } from '../../src/collect/segment/body.js';
import { MAX_BATCH_BYTES } from '../../src/collect/segment/limits.js';
import type { Wal, WalPosition, WalRecord } from '../../src/collect/wal.js';
import { createIdentityResolver } from '../../src/identity/resolver.js';
import { builtIngestThreads } from '../support/ingest-threads.js';

/**
 * Batches prepared on an ingestion thread must end in the log exactly as when the serving thread
 * prepares them: same rows, same identity changes, same answer. The threads are the real (compiled)
 * ones; the dedupe window and the identity resolver are the real ones; the log is a stand-in that
 * keeps what it is given (the real log is tested in wal.test.ts and, under SIGKILL, in
 * durability.test.ts, which runs the built server and so its threads).
 */

let threads: IngestThreads;

beforeAll(async () => {
  const opened = (await builtIngestThreads())(1);
  if (!opened) throw new Error('no ingestion thread opened');
  threads = opened;
});
afterAll(async () => {
  await threads?.close();
});

const position = { segment: 1, offset: 0 } as unknown as WalPosition;

/** A pipeline with its own window and identity graph, whose person ids are numbered (comparable). */
function pipeline(withThreads: boolean) {
  const logged: WalRecord[][] = [];
  const live = createLiveFeed();
  const published: LiveItem[] = [];
  const wal = {
    async append(records: WalRecord[]) {
      logged.push(records);
      return position;
    },
  } as unknown as Wal;
  const writer = { stats: () => ({ pendingBytes: 0 }), enqueue: () => undefined } as unknown as BatchWriter;
  let persons = 0;
  const deps: IngestDeps = {
    wal,
    writer,
    dedupe: createMessageIdWindow(48),
    identity: createIdentityResolver(() => `person-${++persons}`),
    maxPendingBytes: 1 << 30,
    live,
    ...(withThreads ? { threads } : {}),
  };
  /** Someone watches the project's live view from now on: what it is sent lands in `published`. */
  const watch = () => live.subscribe('p1', (items) => published.push(...items));
  return { deps, logged, published, watch };
}

const RECEIVED_AT = Date.parse('2026-11-20T08:00:00.000Z');

function request(body: Buffer, contentEncoding?: string): RawBatchRequest {
  return {
    body,
    ...(contentEncoding ? { contentEncoding } : {}),
    limitBytes: MAX_BATCH_BYTES,
    projectId: 'p1',
    sourceId: 's1',
    receivedAt: RECEIVED_AT,
    ip: '203.0.113.9',
  };
}

/** The serving thread's own path for the same request. */
function ingestHere(deps: IngestDeps, body: Buffer): Promise<IngestResult> {
  return ingest(deps, {
    callType: 'batch',
    body: JSON.parse(body.toString('utf8')) as Record<string, unknown>,
    projectId: 'p1',
    sourceId: 's1',
    receivedAt: RECEIVED_AT,
    ip: '203.0.113.9',
  });
}

/** Every call type, ids of several kinds, a batch context and sentAt, Chinese text, an order. */
function mixedBatch(): Buffer {
  const at = (minutes: number) => new Date(RECEIVED_AT - 3_600_000 + minutes * 60_000).toISOString();
  return Buffer.from(
    JSON.stringify({
      sentAt: new Date(RECEIVED_AT - 2_000).toISOString(),
      context: { locale: 'zh-CN', campaign: { source: 'douyin', medium: 'paid_social', name: '双11' } },
      batch: [
        {
          type: 'page',
          messageId: 'm-1',
          anonymousId: 'anon-1',
          name: '首页',
          timestamp: at(1),
          properties: { url: 'https://shop.example.cn/?utm_source=xhs' },
        },
        {
          type: 'track',
          messageId: 'm-2',
          anonymousId: 'anon-1',
          event: 'Product Viewed',
          timestamp: at(2),
          properties: { product_id: 'sku-9', price: 129.9, 名称: '保温杯' },
        },
        {
          type: 'identify',
          messageId: 'm-3',
          anonymousId: 'anon-1',
          userId: 'user-1',
          timestamp: at(3),
          traits: { name: '张伟', phone: '13800000001', email: 'zw@example.cn', plan: 'gold' },
        },
        {
          type: 'track',
          messageId: 'm-4',
          userId: 'user-1',
          event: 'Order Completed',
          timestamp: at(4),
          properties: { order_id: 'o-1', revenue: 258.8, currency: 'CNY' },
          context: { externalIds: [{ id: 'wx-openid-1', type: 'openid', collection: 'users' }] },
        },
        { type: 'alias', messageId: 'm-5', previousId: 'user-1', userId: 'user-1b', timestamp: at(5) },
        {
          type: 'screen',
          messageId: 'm-6',
          userId: 'user-1b',
          name: 'Cart',
          timestamp: at(6),
          context: { app: { version: '3.2.0' }, os: { name: 'iOS' } },
        },
        {
          type: 'group',
          messageId: 'm-7',
          userId: 'user-1b',
          groupId: 'shop-7',
          timestamp: at(7),
          traits: { name: '旗舰店' },
        },
        {
          type: 'track',
          messageId: 'm-8',
          anonymousId: 'anon-2',
          event: 'Video Played',
          timestamp: at(8),
          context: {
            traits: { unionid: 'union-2' },
            userAgent: 'Mozilla/5.0 (Linux; Android 14) Chrome/120.0 Mobile',
          },
        },
        {
          type: 'identify',
          messageId: 'm-9',
          anonymousId: 'anon-1',
          userId: 'user-2',
          timestamp: at(9),
          traits: { plan: 'basic' },
        },
      ],
    }),
  );
}

describe('a batch prepared on an ingestion thread', () => {
  it('is logged byte for byte as the serving thread logs it, with the same answer', async () => {
    const here = pipeline(false);
    const onThread = pipeline(true);
    const body = mixedBatch();
    const expected = await ingestHere(here.deps, body);
    const answered = await ingestBatchOnThread(onThread.deps, request(body));
    expect(expected).toMatchObject({ accepted: 9, duplicates: 0, quarantined: 0 });
    expect(answered).toEqual(expected);
    expect(onThread.logged).toEqual(here.logged);
    const tables = here.logged[0]!.map((record) => record.table).sort();
    expect(tables).toEqual(['events', 'identities', 'identity_log', 'persons']);
    expect(here.logged[0]!.find((r) => r.table === 'events')?.rowCount).toBe(9);
  });

  it("sends a watched live view the same rows as the serving thread's", async () => {
    const here = pipeline(false);
    const onThread = pipeline(true);
    here.watch();
    onThread.watch();
    const body = mixedBatch();
    await ingestHere(here.deps, body);
    expect(await ingestBatchOnThread(onThread.deps, request(body))).toMatchObject({ accepted: 9 });
    expect(here.published).toHaveLength(9);
    expect(onThread.published).toEqual(here.published);
    expect(onThread.logged).toEqual(here.logged);
  });

  it('takes gzip bodies, and counts a re-delivered batch as duplicates', async () => {
    const { deps, logged } = pipeline(true);
    const body = gzipSync(mixedBatch());
    expect(await ingestBatchOnThread(deps, request(body, 'gzip'))).toMatchObject({ accepted: 9 });
    expect(await ingestBatchOnThread(deps, request(body, 'gzip'))).toMatchObject({
      accepted: 0,
      duplicates: 9,
    });
    expect(logged).toHaveLength(1);
  });

  it('refuses a body that is not JSON with the same error as the serving thread', async () => {
    const { deps, logged } = pipeline(true);
    await expect(ingestBatchOnThread(deps, request(Buffer.from('{"batch": [')))).rejects.toMatchObject({
      code: 'invalid_json',
      status: 400,
    });
    await expect(
      ingestBatchOnThread(deps, request(Buffer.from('{"batch": {"type": "track"}}'))),
    ).rejects.toMatchObject({ code: 'batch_not_array' });
    expect(logged).toEqual([]);
  });

  it('leaves a batch with invalid events to the serving thread, which quarantines them and keeps the rest', async () => {
    const { deps, logged } = pipeline(true);
    const body = Buffer.from(
      JSON.stringify({
        batch: [
          { type: 'track', messageId: 'ok-1', userId: 'u-1', event: 'Viewed' },
          { type: 'track', messageId: 'bad-1', event: 'No sender' },
          { type: 'track', messageId: 'ok-2', userId: 'u-1', event: 'Viewed' },
        ],
      }),
    );
    // Nothing is claimed on the way: the serving thread then ingests the request as a whole.
    expect(await ingestBatchOnThread(deps, request(body))).toBeUndefined();
    expect(logged).toEqual([]);
    const result = await ingestHere(deps, body);
    expect(result).toMatchObject({ accepted: 2, duplicates: 0, quarantined: 1 });
    expect(result.errors[0]).toMatchObject({ index: 1, code: 'missing_id' });
    const tables = logged[0]!.map((record) => record.table);
    expect(tables).toContain('quarantine');
  });

  it('is ingested by the serving thread when its thread ends before answering', async () => {
    const { deps, logged } = pipeline(true);
    const ending = (await builtIngestThreads())(1);
    if (!ending) throw new Error('no ingestion thread opened');
    const body = mixedBatch();
    // The thread starts with this request and is stopped while it loads, holding the request.
    const handedBack = ingestBatchOnThread({ ...deps, threads: ending }, request(body));
    await ending.close();
    expect(await handedBack).toBeUndefined();
    expect(logged).toEqual([]);
    expect(await ingestHere(deps, body)).toMatchObject({ accepted: 9, duplicates: 0 });
    expect(logged).toHaveLength(1);
  });
});

describe('a write key in the body (browsers: sendBeacon cannot set headers)', () => {
  it('is found in the bytes before parsing, unless it is escaped or absent', () => {
    const key = (text: string) => writeKeyInBody(Buffer.from(text));
    expect(key('{"batch":[],"writeKey":"wk_abc123"}')).toBe('wk_abc123');
    expect(key('{ "writeKey" :\n "wk_abc123" , "batch": [] }')).toBe('wk_abc123');
    expect(key('{"batch":[],"writeKey":"wk_\\u0061bc"}')).toBeUndefined();
    expect(key('{"batch":[],"writeKey":""}')).toBeUndefined();
    expect(key('{"batch":[],"writeKey":42}')).toBeUndefined();
    expect(key('{"batch":[]}')).toBeUndefined();
  });

  it("is prepared on the thread when it is the body's own key, and handed back when it is not", async () => {
    const { deps, logged } = pipeline(true);
    const batch = [{ type: 'track', messageId: 'k-1', userId: 'u-1', event: 'Viewed' }];
    const own = Buffer.from(JSON.stringify({ writeKey: 'wk_own', batch }));
    expect(
      await ingestBatchOnThread(deps, { ...request(own), bodyWriteKey: writeKeyInBody(own)! }),
    ).toMatchObject({ accepted: 1 });
    // The first "writeKey" in the bytes is a property of an event; the body's own key is another.
    const decoy = Buffer.from(
      JSON.stringify({
        batch: [{ ...batch[0], messageId: 'k-2', properties: { writeKey: 'wk_decoy' } }],
        writeKey: 'wk_own',
      }),
    );
    expect(writeKeyInBody(decoy)).toBe('wk_decoy');
    expect(await ingestBatchOnThread(deps, { ...request(decoy), bodyWriteKey: 'wk_decoy' })).toBeUndefined();
    expect(logged).toHaveLength(1);
  });
});
