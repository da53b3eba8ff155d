import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBatchWriter } from '../../src/collect/batch-writer.js';
import {
  retrySetAsideRows,
  rowsPerPage,
  type SetAsideRaw,
  setAsideRows,
} from '../../src/collect/set-aside.js';
import { openWal, type WalRecord } from '../../src/collect/wal.js';
import { ByteSink } from '../../src/lib/byte-sink.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import { type FactsEngine, FactsQueryError, insertRows } from '../../src/store/facts/engine.js';
import { EVENT_BINARY_COLUMNS, writeEventBinary } from '../../src/store/facts/event-binary.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import type { EventRow } from '../../src/store/facts/rows.js';
import { EMPTY_EVENT } from '../support/event-rows.js';

// Its own store: one test narrows a column of `events`, as a bad manual schema change would.
const root = mkdtempSync(join(tmpdir(), 'pulseloop-set-aside-'));
let engine: FactsEngine;

beforeAll(async () => {
  engine = await openChdbEngine(join(root, 'facts'), 'set_aside_test');
  await migrateFacts(engine);
});

afterAll(async () => {
  await engine?.close();
  rmSync(root, { recursive: true, force: true });
});

const binaryEvents = (rows: EventRow[]): WalRecord => {
  const sink = new ByteSink(64);
  for (const row of rows) writeEventBinary(sink, row);
  return { table: 'events', rows: sink.copyAndReset(), rowCount: rows.length, format: 'RowBinary' };
};

const jsonEvents = (rows: object[]): WalRecord => ({
  table: 'events',
  rows: Buffer.from(rows.map((row) => `${JSON.stringify(row)}\n`).join('')),
  rowCount: rows.length,
});

const refusal = new FactsQueryError('Code: 6. DB::Exception: Cannot parse text', 6, 'INSERT INTO events');

/** The quarantine rows `setAsideRows` makes, parsed. */
function keptOf(record: WalRecord): Array<{ project_id: string; id: string; raw: SetAsideRaw }> {
  const { payload, count } = setAsideRows(record, 'test', refusal);
  const rows = payload
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { project_id: string; id: string; raw: string });
  expect(count).toBe(record.rowCount);
  return rows.map((row) => ({ ...row, raw: JSON.parse(row.raw) as SetAsideRaw }));
}

/** Sets aside `requests` refused requests of `size` events each in `project`; `vary` changes a row. */
async function setAsideRequests(
  project: string,
  requests: number,
  size: number,
  vary: (request: number, i: number) => Partial<EventRow> = () => ({}),
): Promise<void> {
  for (let request = 0; request < requests; request++) {
    const rows = Array.from({ length: size }, (_, i) => ({
      ...EMPTY_EVENT,
      project_id: project,
      message_id: `${project}-${request}-${i}`,
      ...vary(request, i),
    }));
    const setAside = setAsideRows(binaryEvents(rows), `${project}-request-${request}`, refusal);
    await engine.insertJsonEachRow('quarantine', setAside.payload);
  }
}

/** Retries a project's set-aside rows; answers the outcome and each progress report. */
async function retryWithProgress(projectId: string) {
  const progress: Array<[number, number]> = [];
  const outcome = await retrySetAsideRows(engine, {
    projectId,
    onProgress: (done, total) => progress.push([done, total]),
  });
  return { outcome, progress };
}

const storedEvents = (project: string) =>
  engine.query<Record<string, unknown>>(
    'SELECT * EXCEPT project_id FROM events WHERE project_id = {p:String} ORDER BY message_id',
    { p: project },
  );

const keptInQuarantine = async (project: string) =>
  (
    await engine.query<{ raw: string }>(
      `SELECT raw FROM quarantine FINAL
       WHERE project_id = {p:String} AND reason_code = 'store_refused_row' ORDER BY id`,
      { p: project },
    )
  ).map((r) => JSON.parse(r.raw) as SetAsideRaw);

/** The project's set-aside quarantine rows, every column. */
const quarantineRows = (project: string) =>
  engine.query<Record<string, unknown>>(
    "SELECT * FROM quarantine FINAL WHERE project_id = {p:String} AND reason_code = 'store_refused_row'",
    { p: project },
  );

/**
 * Quarantine rows inserted again, as if a retry had stopped before removing them (with a token of
 * their own: the store would take the same rows inserted again for a repeat and drop them).
 */
let putBacks = 0;
const putBack = (rows: Array<Record<string, unknown>>) =>
  engine.insertJsonEachRow('quarantine', rows.map((row) => `${JSON.stringify(row)}\n`).join(''), {
    deduplicationToken: `put-back-${++putBacks}`,
  });

// Duplicates must stay visible to plain reads (no FINAL): the tests that look for them stop merges.
afterEach(() => engine.command('SYSTEM START MERGES events'));

describe('rows set aside', () => {
  it('are kept one by one, whole and readable: binary events rows decoded, JSON lines as they are', () => {
    const large = JSON.stringify({ note: '长'.repeat(40_000) }); // 120 KB: beyond the quarantine's usual cut
    const kept = keptOf(
      binaryEvents([
        { ...EMPTY_EVENT, project_id: 'p1', message_id: 'b1', timestamp: 1_764_000_000_123, revenue: 19.99 },
        { ...EMPTY_EVENT, project_id: 'p2', message_id: 'b2', properties: large, revenue: -0.5 },
      ]),
    );
    expect(kept.map((k) => k.project_id)).toEqual(['p1', 'p2']);
    expect(new Set(kept.map((k) => k.id)).size).toBe(2);
    expect(kept[0]!.raw).toMatchObject({
      table: 'events',
      row: { message_id: 'b1', timestamp: '2025-11-24T16:00:00.123Z', revenue: '19.9900' },
    });
    expect(kept[1]!.raw.row).toMatchObject({ properties: large, revenue: '-0.5000' });

    const [line] = keptOf(jsonEvents([{ project_id: 'p3', message_id: 'j1', timestamp: 'no time' }]));
    expect(line).toMatchObject({
      project_id: 'p3',
      raw: { table: 'events', row: { message_id: 'j1', timestamp: 'no time' } },
    });
    // Bytes that are not rows are kept whole too.
    const [cut] = keptOf({ ...binaryEvents([EMPTY_EVENT]), rows: Buffer.from([5, 1, 2]) });
    expect(cut!.raw).toEqual({ table: 'events', rowBinaryBase64: Buffer.from([5, 1, 2]).toString('base64') });
  });

  it('are stored by a retry exactly as they would have been stored at first', async () => {
    const rows = [0, 1, 2].map((i) => ({
      ...EMPTY_EVENT,
      message_id: `r${i}`,
      event: '下单',
      timestamp: 1_764_000_000_000 + i,
      revenue: 123.4567 * i,
      properties: JSON.stringify({ i, text: '抖音 "直播"' }),
    }));
    await insertRows(engine, 'events', binaryEvents(rows.map((r) => ({ ...r, project_id: 'first' }))).rows, {
      format: 'RowBinary',
      columns: EVENT_BINARY_COLUMNS,
    });
    const setAside = setAsideRows(
      binaryEvents(rows.map((r) => ({ ...r, project_id: 'retried' }))),
      'round-trip',
      refusal,
    );
    await engine.insertJsonEachRow('quarantine', setAside.payload);
    const quarantined = await quarantineRows('retried');
    await engine.command('SYSTEM STOP MERGES events');
    expect(await retrySetAsideRows(engine, { projectId: 'retried' })).toEqual({
      stored: 3,
      refusedAgain: 0,
      unreadable: 0,
    });
    expect(await storedEvents('retried')).toEqual(await storedEvents('first'));
    expect(await keptInQuarantine('retried')).toEqual([]);
    // Stopped before removing them from quarantine and repeated: the request's rows go in together
    // again with the same token, and are not stored twice.
    await putBack(quarantined);
    expect(await retrySetAsideRows(engine, { projectId: 'retried' })).toMatchObject({ stored: 3 });
    expect(await storedEvents('retried')).toEqual(await storedEvents('first'));
  });

  it('go in once the cause is fixed; rows still refused stay, and repeating stores nothing twice', async () => {
    // A bad manual schema change: amounts of a million or more no longer fit.
    await engine.command('ALTER TABLE events MODIFY COLUMN revenue Decimal(9, 4)');
    const wal = await openWal(join(root, 'wal'));
    const writer = startBatchWriter(engine, wal, wal.end(), { flushIntervalMs: 10_000 });
    try {
      const record = jsonEvents([
        { project_id: 'fixed', message_id: 'big', timestamp: '2026-11-30 08:00:00', revenue: 1234567.5 },
        { project_id: 'fixed', message_id: 'small', timestamp: '2026-11-30 08:00:00', revenue: 12.5 },
      ]);
      const bad = jsonEvents([{ project_id: 'fixed', message_id: 'never', timestamp: 'no time at all' }]);
      writer.enqueue([record], await wal.append([record]));
      writer.enqueue([bad], await wal.append([bad]));
      await writer.flush();
      expect(writer.stats()).toMatchObject({ setAsideRows: 3, lastError: undefined });
    } finally {
      await writer.close();
      await wal.close();
    }
    expect(await storedEvents('fixed')).toEqual([]);
    expect(await keptInQuarantine('fixed')).toHaveLength(3);
    // Retried before the fix: the row refused only for being in the same request as 'big' goes in.
    const before = await retrySetAsideRows(engine, { projectId: 'fixed' });
    expect(before).toMatchObject({ stored: 1, refusedAgain: 2, unreadable: 0 });
    expect(before.firstRefusal).toMatch(/Decimal value is too big/);
    const quarantined = await quarantineRows('fixed');
    expect(quarantined).toHaveLength(2);

    await engine.command('ALTER TABLE events MODIFY COLUMN revenue Decimal(18, 4)');
    await engine.command('SYSTEM STOP MERGES events');
    const progress: Array<[number, number]> = [];
    const after = await retrySetAsideRows(engine, {
      projectId: 'fixed',
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(after).toMatchObject({ stored: 1, refusedAgain: 1, unreadable: 0 });
    expect(progress.at(-1)).toEqual([2, 2]);
    const stored = async () => (await storedEvents('fixed')).map((e) => [e.message_id, e.revenue]);
    expect(await stored()).toEqual([
      ['big', 1234567.5],
      ['small', 12.5],
    ]);
    expect((await keptInQuarantine('fixed')).map((k) => k.row?.message_id)).toEqual(['never']);

    // That run stopped after storing 'big' but before removing it from quarantine: repeated, it
    // stores nothing twice (the row's insert carries the same token again).
    await putBack(quarantined);
    expect(await retrySetAsideRows(engine, { projectId: 'fixed' })).toMatchObject({
      stored: 1,
      refusedAgain: 1,
    });
    expect(await stored()).toEqual([
      ['big', 1234567.5],
      ['small', 12.5],
    ]);
    expect(await keptInQuarantine('fixed')).toHaveLength(1);
  });

  it('go in page by page, each request whole, however many there are', async () => {
    // Four requests of 3,000 rows: the first page of 10,000 ends inside the fourth request.
    await setAsideRequests('many', 4, 3000);
    const { outcome, progress } = await retryWithProgress('many');
    expect(outcome).toEqual({ stored: 12_000, refusedAgain: 0, unreadable: 0 });
    expect(progress).toEqual([
      [0, 12_000],
      [9000, 12_000],
      [12_000, 12_000],
      [12_000, 12_000],
    ]);
    const [stored] = await engine.query<{ n: number; ids: number }>(
      "SELECT count() AS n, uniqExact(message_id) AS ids FROM events WHERE project_id = 'many'",
    );
    expect(stored).toEqual({ n: 12_000, ids: 12_000 });
    expect(await keptInQuarantine('many')).toEqual([]);
  });

  it('go in smaller pages when the kept rows are long, each request still whole', async () => {
    // Three requests of 1,000 rows; one row carries 100 KB of properties, so a page of 10,000 such
    // rows could not be one answer of the store: pages of 2,500 rows, the least that hold a request.
    await setAsideRequests('long', 3, 1000, (request, i) =>
      request === 1 && i === 7 ? { properties: JSON.stringify({ note: 'n'.repeat(100_000) }) } : {},
    );
    const { outcome, progress } = await retryWithProgress('long');
    expect(outcome).toEqual({ stored: 3000, refusedAgain: 0, unreadable: 0 });
    expect(progress).toEqual([
      [0, 3000],
      [2000, 3000],
      [3000, 3000],
      [3000, 3000],
    ]);
    const [stored] = await engine.query<{ n: number; longest: number }>(
      "SELECT count() AS n, max(length(properties)) AS longest FROM events WHERE project_id = 'long'",
    );
    expect(stored).toEqual({ n: 3000, longest: 100_011 });
  });

  it('size pages by the longest kept row: 10,000 short rows, never fewer than a request of 2,500', () => {
    expect(rowsPerPage(200)).toBe(10_000);
    expect(rowsPerPage(10_000)).toBe(6710);
    expect(rowsPerPage(40_000)).toBe(2500);
    expect(rowsPerPage(0)).toBe(10_000);
  });

  it('leave rows whose kept text names no table of the store', async () => {
    await engine.insertJsonEachRow(
      'quarantine',
      `${JSON.stringify({ project_id: 'odd', id: 'o1', reason_code: 'store_refused_row', raw: '{"table":"system.users","row":{}}' })}\n` +
        `${JSON.stringify({ project_id: 'odd', id: 'o2', reason_code: 'store_refused_row', raw: 'not json' })}\n`,
    );
    expect(await retrySetAsideRows(engine, { projectId: 'odd' })).toEqual({
      stored: 0,
      refusedAgain: 0,
      unreadable: 2,
    });
  });
});
