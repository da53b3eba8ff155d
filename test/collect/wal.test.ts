import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LARGE_INSERT_ROWS, replayWal, startBatchWriter } from '../../src/collect/batch-writer.js';
import { compactJsonLine } from '../../src/collect/ingest.js';
import { storeStatus } from '../../src/collect/status.js';
import {
  listSegments,
  openWal,
  readSegment,
  type WalPosition,
  type WalRecord,
} from '../../src/collect/wal.js';
import { ByteSink } from '../../src/lib/byte-sink.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import { type FactsEngine, insertRows } from '../../src/store/facts/engine.js';
import {
  decodeEventRows,
  EVENT_BINARY_COLUMNS,
  writeEventBinary,
} from '../../src/store/facts/event-binary.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import type { EventRow } from '../../src/store/facts/rows.js';
import { EMPTY_EVENT } from '../support/event-rows.js';

const root = mkdtempSync(join(tmpdir(), 'pulseloop-wal-'));
let engine: FactsEngine;
let dirCounter = 0;
const newDir = () => join(root, `wal-${++dirCounter}`);

function quarantineRecord(project: string, ids: string[]): WalRecord {
  const lines = ids.map((id) =>
    JSON.stringify({
      project_id: project,
      id,
      received_at: 1_700_000_000_000,
      origin: 'http',
      reason: 'test',
      raw: id,
    }),
  );
  return { table: 'quarantine', rows: Buffer.from(`${lines.join('\n')}\n`), rowCount: ids.length };
}

async function storedIds(project: string): Promise<string[]> {
  const rows = await engine.query<{ id: string }>(
    'SELECT id FROM quarantine WHERE project_id = {p:String} ORDER BY id',
    { p: project },
  );
  return rows.map((r) => r.id);
}

/** As if the process died after inserting the log's first range, before the checkpoint said so. */
function crashAfterInsert(dir: string, to: WalPosition, how: Record<string, unknown> = {}): void {
  writeFileSync(
    join(dir, 'checkpoint.json'),
    JSON.stringify({
      committed: { segment: 1, offset: 0 },
      inflight: { from: { segment: 1, offset: 0 }, to, ...how },
    }),
  );
}

beforeAll(async () => {
  engine = await openChdbEngine(join(root, 'facts'), 'wal_test');
  await migrateFacts(engine);
});
afterAll(async () => {
  await engine.close();
  rmSync(root, { recursive: true, force: true });
});

describe('write-ahead log', () => {
  it('reads back every appended record after reopening', async () => {
    const dir = newDir();
    const wal = await openWal(dir);
    await wal.append([quarantineRecord('p', ['a', 'b'])]);
    await wal.append([quarantineRecord('p', ['c'])]);
    await wal.close();
    const frames = readSegment(dir, 1).frames;
    expect(frames.map((f) => f.rowCount)).toEqual([2, 1]);
    expect(frames[1]!.rows.toString()).toContain('"id":"c"');
  });

  it('commits concurrent appends in groups and resolves each with a growing position', async () => {
    const wal = await openWal(newDir());
    const ends = await Promise.all(
      Array.from({ length: 200 }, (_, i) => wal.append([quarantineRecord('p', [`x${i}`])])),
    );
    for (let i = 1; i < ends.length; i += 1)
      expect(ends[i]!.offset).toBeGreaterThanOrEqual(ends[i - 1]!.offset);
    expect(wal.end()).toEqual(ends.at(-1));
    await wal.close();
  });

  it('cuts off a torn write at the end and keeps appending after the last whole frame', async () => {
    const dir = newDir();
    const wal = await openWal(dir);
    const end = await wal.append([quarantineRecord('p', ['whole'])]);
    await wal.close();
    appendFileSync(join(dir, '0000000001.wal'), Buffer.from([0xff, 0x10, 0, 0, 1, 2, 3]));
    const reopened = await openWal(dir);
    expect(reopened.end()).toEqual(end);
    await reopened.append([quarantineRecord('p', ['after'])]);
    await reopened.close();
    expect(readSegment(dir, 1).frames.map((f) => f.rowCount)).toEqual([1, 1]);
  });

  it('stops reading at a frame whose checksum does not match', async () => {
    const dir = newDir();
    const wal = await openWal(dir);
    await wal.append([quarantineRecord('p', ['good'])]);
    await wal.append([quarantineRecord('p', ['bad'])]);
    await wal.close();
    const path = join(dir, '0000000001.wal');
    const data = readFileSync(path);
    data.writeUInt8(data.readUInt8(data.length - 3) ^ 0xff, data.length - 3);
    writeFileSync(path, data);
    expect(readSegment(dir, 1).frames).toHaveLength(1);
  });

  it('rotates into a new segment past the size limit', async () => {
    const dir = newDir();
    const wal = await openWal(dir, { segmentBytes: 200 });
    for (let i = 0; i < 5; i += 1) await wal.append([quarantineRecord('p', [`r${i}`])]);
    await wal.close();
    expect(listSegments(dir).length).toBeGreaterThan(1);
  });

  it("deletes the segments before a position, and keeps that position's segment and the ones after", async () => {
    const dir = newDir();
    const wal = await openWal(dir, { segmentBytes: 100 });
    const ends: WalPosition[] = [];
    for (let i = 0; i < 6; i += 1) ends.push(await wal.append([quarantineRecord('p', [`d${i}`])]));
    const segments = listSegments(dir);
    expect(segments.length).toBeGreaterThan(3);
    const keepFrom = segments[2]!;
    await wal.removeSegmentsBefore({ segment: keepFrom, offset: 0 });
    expect(listSegments(dir)).toEqual(segments.slice(2));
    // What is left still reads back (the last record among it), and appends go on after it.
    const leftText = listSegments(dir)
      .flatMap((n) => readSegment(dir, n).frames.map((f) => f.rows.toString()))
      .join('');
    expect(leftText).toContain('"id":"d5"');
    expect(leftText).not.toContain('"id":"d0"');
    const last = await wal.append([quarantineRecord('p', ['d6'])]);
    expect(last.segment).toBeGreaterThanOrEqual(ends.at(-1)!.segment);
    await wal.removeSegmentsBefore(last);
    expect(listSegments(dir)).toEqual([last.segment]);
    await wal.close();
  });
});

describe('batch writer and replay', () => {
  it('moves acknowledged records into the store and deletes finished segments', async () => {
    const dir = newDir();
    const wal = await openWal(dir, { segmentBytes: 300 });
    const writer = startBatchWriter(engine, wal, wal.end(), { flushIntervalMs: 10_000 });
    for (let i = 0; i < 6; i += 1) {
      const record = quarantineRecord('moved', [`m${i}`]);
      writer.enqueue([record], await wal.append([record]));
    }
    await writer.flush();
    expect(await storedIds('moved')).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(writer.stats()).toMatchObject({ pendingRows: 0, pendingBytes: 0, insertedRows: 6 });
    expect(listSegments(dir).length).toBe(1);
    await writer.close();
    await wal.close();
  });

  it('replays what the log holds beyond the checkpoint, once', async () => {
    const dir = newDir();
    const wal = await openWal(dir);
    await wal.append([quarantineRecord('replay', ['r1', 'r2'])]);
    await wal.append([quarantineRecord('replay', ['r3'])]);
    await wal.close();
    expect(await replayWal(engine, dir)).toMatchObject({ rows: 3 });
    expect(await replayWal(engine, dir)).toMatchObject({ rows: 0 });
    expect(await storedIds('replay')).toEqual(['r1', 'r2', 'r3']);
  });

  it('counts the active parts each insert makes, as `pulseloop status` shows them', async () => {
    const partsOf = async () =>
      (await storeStatus(engine, newDir())).tables.find((t) => t.table === 'quarantine')?.parts ?? -1;
    const dir = newDir();
    const wal = await openWal(dir);
    const writer = startBatchWriter(engine, wal, wal.end(), { flushIntervalMs: 10_000 });
    // Merges stopped, so that only inserts change the count.
    await engine.command('SYSTEM STOP MERGES quarantine');
    try {
      const before = await partsOf();
      for (let i = 0; i < 3; i += 1) {
        const record = quarantineRecord('parts', [`p${i}`]);
        writer.enqueue([record], await wal.append([record]));
        await writer.flush();
      }
      expect(await partsOf()).toBe(before + 3);
    } finally {
      await engine.command('SYSTEM START MERGES quarantine');
      await writer.close();
      await wal.close();
    }
  });
  it('replays a log holding JSON events rows (written before binary rows) and binary ones, each once', async () => {
    const dir = newDir();
    const event = (id: string): EventRow => ({
      ...EMPTY_EVENT,
      project_id: 'mixed',
      message_id: id,
      event: 'e',
      timestamp: 1_700_000_000_000,
    });
    const sink = new ByteSink(64);
    writeEventBinary(sink, event('bin-1'));
    writeEventBinary(sink, event('bin-2'));
    const binaryRecord: WalRecord = {
      table: 'events',
      rows: sink.copyAndReset(),
      rowCount: 2,
      format: 'RowBinary',
    };
    const jsonRecord: WalRecord = {
      table: 'events',
      rows: Buffer.from(`${compactJsonLine(event('json-1'))}\n`),
      rowCount: 1,
    };
    const wal = await openWal(dir);
    await wal.append([jsonRecord, quarantineRecord('mixed', ['q1'])]);
    await wal.append([binaryRecord]);
    await wal.close();
    expect(readSegment(dir, 1).frames.map((f) => [f.table, f.format ?? 'JSONEachRow'])).toEqual([
      ['events', 'JSONEachRow'],
      ['quarantine', 'JSONEachRow'],
      ['events', 'RowBinary'],
    ]);
    expect(await replayWal(engine, dir)).toMatchObject({ rows: 4 });
    expect(await replayWal(engine, dir)).toMatchObject({ rows: 0 });
    const stored = await engine.query<{ message_id: string }>(
      "SELECT message_id FROM events WHERE project_id = 'mixed' ORDER BY message_id",
    );
    expect(stored.map((r) => r.message_id)).toEqual(['bin-1', 'bin-2', 'json-1']);
  });

  it('re-inserts an in-flight range after a crash without duplicating what was already stored', async () => {
    const dir = newDir();
    const wal = await openWal(dir);
    const writer = startBatchWriter(engine, wal, wal.end(), { flushIntervalMs: 10_000 });
    const record = quarantineRecord('crash', ['c1', 'c2']);
    const end = await wal.append([record]);
    writer.enqueue([record], end);
    await writer.flush();
    await wal.close();
    crashAfterInsert(dir, end);
    await replayWal(engine, dir);
    const [row] = await engine.query<{ n: number }>(
      "SELECT count() AS n FROM quarantine WHERE project_id = 'crash'",
    );
    expect(Number(row!.n)).toBe(2);
  });
});

describe('rows the store refuses', () => {
  /** A JSON events record whose row the store cannot read (a time that is no time). */
  const refusedRecord = (): WalRecord => ({
    table: 'events',
    rows: Buffer.from(
      '{"project_id":"refused","message_id":"bad","event":"e","timestamp":"no time at all"}\n',
    ),
    rowCount: 1,
  });
  const goodEvents = (ids: string[]): WalRecord => {
    const sink = new ByteSink(64);
    for (const id of ids)
      writeEventBinary(sink, {
        ...EMPTY_EVENT,
        project_id: 'refused',
        message_id: id,
        timestamp: 1_700_000_000_000,
      });
    return { table: 'events', rows: sink.copyAndReset(), rowCount: ids.length, format: 'RowBinary' };
  };
  const storedEvents = async () =>
    (
      await engine.query<{ message_id: string }>(
        "SELECT message_id FROM events WHERE project_id = 'refused' ORDER BY message_id",
      )
    ).map((r) => r.message_id);
  const setAside = () =>
    engine.query<{ reason_code: string; reason: string; reason_zh: string; raw: string }>(
      "SELECT reason_code, reason, reason_zh, raw FROM quarantine WHERE project_id = 'refused'",
    );

  it('are set aside in quarantine with the reason, and the rest of their range is stored', async () => {
    const dir = newDir();
    const wal = await openWal(dir);
    const writer = startBatchWriter(engine, wal, wal.end(), { flushIntervalMs: 10_000 });
    // One range: a good request, one whose events row the store refuses (with a good quarantine
    // row beside it), and another good one.
    for (const records of [
      [goodEvents(['ok-1'])],
      [refusedRecord(), quarantineRecord('refused', ['q1'])],
      [goodEvents(['ok-2', 'ok-3'])],
    ])
      writer.enqueue(records, await wal.append(records));
    await writer.flush();
    expect(writer.stats()).toMatchObject({ pendingRows: 0, lastError: undefined, setAsideRows: 1 });
    expect(await storedEvents()).toEqual(['ok-1', 'ok-2', 'ok-3']);
    expect(await storedIds('refused')).toContain('q1');
    const [row] = (await setAside()).filter((r) => r.reason_code === 'store_refused_row');
    expect(row?.reason).toMatch(/^The store refused this events row, so it was set aside here instead: /);
    expect(row?.reason_zh).toContain('存储拒绝了这一行 events 数据');
    expect(JSON.parse(row!.raw)).toMatchObject({
      table: 'events',
      row: { message_id: 'bad', timestamp: 'no time at all' },
    });
    // `pulseloop status` counts them.
    expect((await storeStatus(engine, dir)).refusedRows).toBeGreaterThanOrEqual(1);
    // Later ranges go in as usual.
    const next = [goodEvents(['ok-4'])];
    writer.enqueue(next, await wal.append(next));
    await writer.flush();
    expect(await storedEvents()).toEqual(['ok-1', 'ok-2', 'ok-3', 'ok-4']);
    await writer.close();
    await wal.close();
    // Re-inserting the range, as after a crash while it was set aside, changes nothing.
    crashAfterInsert(dir, readSegment(dir, 1).frames[3]!.end, { isolation: { inserted: [] } });
    await replayWal(engine, dir);
    expect(await storedEvents()).toEqual(['ok-1', 'ok-2', 'ok-3', 'ok-4']);
    expect((await setAside()).filter((r) => r.reason_code === 'store_refused_row')).toHaveLength(1);
  });

  it('do not stop the server from starting: a replay sets them aside too', async () => {
    const dir = newDir();
    const wal = await openWal(dir);
    await wal.append([goodEvents(['start-1']), refusedRecord()]);
    await wal.close();
    expect(await replayWal(engine, dir)).toMatchObject({ rows: 1, setAside: 1 });
    expect(await storedEvents()).toContain('start-1');
  });
});

describe('two logs writing to one store', () => {
  it('stores the inserts of both, even at the same positions (two servers, one ClickHouse)', async () => {
    const logs = [newDir(), newDir()];
    for (const [i, dir] of logs.entries()) {
      const wal = await openWal(dir);
      const writer = startBatchWriter(engine, wal, wal.end(), { flushIntervalMs: 10_000 });
      // Records of the same size at the same positions of each log: only the log tells the inserts apart.
      const record = quarantineRecord('two-logs', [`log-${i}`]);
      writer.enqueue([record], await wal.append([record]));
      await writer.flush();
      await writer.close();
      await wal.close();
    }
    expect(await storedIds('two-logs')).toEqual(['log-0', 'log-1']);
    const ids = logs.map((dir) => readFileSync(join(dir, 'log-id'), 'utf8'));
    expect(ids[0]).not.toBe(ids[1]);
  });
});

describe('a log written before log ids', () => {
  it('re-inserts its in-flight range with the tokens it was first inserted with', async () => {
    const dir = newDir();
    const wal = await openWal(dir);
    const record = quarantineRecord('legacy', ['l1', 'l2']);
    const end = await wal.append([record]);
    await wal.close();
    // What a server before log ids did: insert with the token of positions alone, then die.
    await engine.insertJsonEachRow('quarantine', record.rows, {
      deduplicationToken: `wal:1.0-${end.segment}.${end.offset}:quarantine`,
      parallelParsing: false,
    });
    crashAfterInsert(dir, end);
    await replayWal(engine, dir);
    expect(await storedIds('legacy')).toEqual(['l1', 'l2']);
  });
});

describe('re-inserting a large in-flight range after a crash', () => {
  // JSON rows past the store's 10 MB parallel-parsing chunk: parsed in parallel, they form other
  // blocks than on one thread, and the blocks' deduplication tokens then differ.
  const bigRecord = (project: string): WalRecord => {
    const ids = Array.from({ length: 40_000 }, (_, i) => `${'x'.repeat(300)}-${i}`);
    return quarantineRecord(project, ids);
  };
  const count = async (project: string) => {
    const [row] = await engine.query<{ n: number }>(
      'SELECT count() AS n FROM quarantine WHERE project_id = {p:String}',
      { p: project },
    );
    return Number(row!.n);
  };

  it('stores it once when the batch writer inserted it (one parsing thread)', async () => {
    const dir = newDir();
    const wal = await openWal(dir);
    const writer = startBatchWriter(engine, wal, wal.end(), { flushIntervalMs: 10_000 });
    const record = bigRecord('big-writer');
    expect(record.rows.length).toBeGreaterThan(11 * 1024 * 1024);
    const end = await wal.append([record]);
    writer.enqueue([record], end);
    await writer.flush();
    await wal.close();
    crashAfterInsert(dir, end, { parallelParsing: false });
    await replayWal(engine, dir);
    expect(await count('big-writer')).toBe(40_000);
  });

  it('stores it once when a replay inserted it (every core parsing)', async () => {
    const dir = newDir();
    const wal = await openWal(dir);
    const end = await wal.append([bigRecord('big-from-a-replay')]);
    await wal.close();
    await replayWal(engine, dir);
    crashAfterInsert(dir, end, { parallelParsing: true });
    await replayWal(engine, dir);
    expect(await count('big-from-a-replay')).toBe(40_000);
  });
});

describe('insert pacing under load', () => {
  // Elapsed time on the monotonic clock: the wall clock of a CI machine may step while a test waits.
  const until = async (check: () => Promise<boolean>, timeoutMs: number): Promise<number> => {
    const started = performance.now();
    while (!(await check())) {
      if (performance.now() - started > timeoutMs) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
    return performance.now() - started;
  };

  it('holds the next insert back after a large one, and lets a trickle through at the flush interval', async () => {
    const wal = await openWal(newDir());
    const writer = startBatchWriter(engine, wal, wal.end(), {
      flushIntervalMs: 20,
      minInsertIntervalMs: 3000,
    });
    try {
      const stored = (id: string) => async () => (await storedIds('paced')).includes(id);
      const enqueue = async (record: WalRecord) => writer.enqueue([record], await wal.append([record]));

      // A trickle: small inserts are not held back.
      await enqueue(quarantineRecord('paced', ['small-1']));
      await until(stored('small-1'), 5000);
      await enqueue(quarantineRecord('paced', ['small-2']));
      expect(await until(stored('small-2'), 5000)).toBeLessThan(1000);

      // A large insert: what arrives next waits for the interval, then is stored.
      const large = Array.from({ length: LARGE_INSERT_ROWS }, (_, i) => `large-${i}`);
      await enqueue(quarantineRecord('paced', large));
      await until(stored('large-0'), 10_000);
      await enqueue(quarantineRecord('paced', ['after-large']));
      await new Promise((r) => setTimeout(r, 300));
      expect(await storedIds('paced')).not.toContain('after-large');
      await until(stored('after-large'), 5000);
      // The rows are visible a moment before the writer's insert call returns and counts them.
      await until(async () => writer.stats().pendingRows === 0, 5000);
      expect(writer.stats().insertedRows).toBe(LARGE_INSERT_ROWS + 3);
    } finally {
      await writer.close();
      await wal.close();
    }
  });
});

describe('compact JSON lines', () => {
  it('drop default values and parse back to the same row', async () => {
    const row = { a: 'x"y\n', b: '', c: 0, d: 1.5, e: null, f: [1, 'z'], g: '抖音' };
    expect(JSON.parse(compactJsonLine(row))).toEqual({ a: 'x"y\n', d: 1.5, f: [1, 'z'], g: '抖音' });
    expect(compactJsonLine({ only: '' })).toBe('{}');
  });

  it('encode any text and number exactly as JSON.stringify would', async () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.string(),
        fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
        (text, ascii, value) => {
          const row = { text, ascii, value };
          const kept = Object.fromEntries(Object.entries(row).filter(([, v]) => v !== '' && v !== 0));
          expect(JSON.parse(compactJsonLine(row))).toEqual(kept);
          expect(compactJsonLine({ ascii })).toBe(ascii === '' ? '{}' : `{"ascii":${JSON.stringify(ascii)}}`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  /** The events table's columns as the store has them (the writer must cover each). */
  const eventColumns = () =>
    engine.query<{ name: string; type: string }>(
      "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'events' ORDER BY position",
    );

  it('lay out binary events rows in every column of the events table, in its order', async () => {
    expect([...EVENT_BINARY_COLUMNS]).toEqual((await eventColumns()).map((c) => c.name));
  });

  it('store binary events rows exactly as the same rows sent as JSON lines', async () => {
    // Any text (lone surrogates too), times from 2000 to 2100, amounts with any number of decimals.
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'binary', minLength: 130, maxLength: 400 }),
      fc.constantFrom('', '\ud800', 'a\udc00b', '抖音 "直播" \\ \n'),
    );
    const time = fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 });
    const amount = fc.oneof(
      fc.constant(0),
      fc.integer({ min: -1e9, max: 1e9 }).map((cents) => cents / 100),
      fc.double({ min: -99_999_999_999_999, max: 99_999_999_999_999, noNaN: true }),
      fc.constantFrom(0.00015, 19.99, -3.5, 1e-7, 99_999_999_999_999.98),
    );
    const rowArbitrary = fc.record(
      Object.fromEntries(
        EVENT_BINARY_COLUMNS.map((column) => [
          column,
          column === 'revenue'
            ? amount
            : column === 'timestamp' || column === 'received_at'
              ? time
              : column === 'properties' || column === 'context'
                ? fc.object().map((o) => JSON.stringify(o))
                : text,
        ]),
      ),
    ) as unknown as fc.Arbitrary<EventRow>;
    const rows = fc.sample(rowArbitrary, { numRuns: 400, seed: 42 }).map((row, i) => ({
      ...row,
      message_id: `m${i}`,
    }));
    const binary = new ByteSink(1024);
    for (const row of rows) writeEventBinary(binary, { ...row, project_id: 'as-binary' });
    const binaryRows = binary.copyAndReset();
    await insertRows(engine, 'events', binaryRows, { format: 'RowBinary', columns: EVENT_BINARY_COLUMNS });
    const lines = rows.map((row) => `${compactJsonLine({ ...row, project_id: 'as-json' })}\n`).join('');
    await engine.insertJsonEachRow('events', lines);
    // Binary rows read back (as rows the store refused are kept in quarantine) store the same again.
    const decoded = decodeEventRows(binaryRows)
      .map((row) => `${JSON.stringify({ ...row, project_id: 'as-decoded' })}\n`)
      .join('');
    await engine.insertJsonEachRow('events', decoded);
    const stored = (project: string) =>
      engine.query<Record<string, unknown>>(
        'SELECT * EXCEPT project_id FROM events WHERE project_id = {p:String} ORDER BY message_id',
        { p: project },
      );
    const [asBinary, asJson] = [await stored('as-binary'), await stored('as-json')];
    expect(asBinary).toHaveLength(rows.length);
    expect(asBinary).toEqual(asJson);
    expect(await stored('as-decoded')).toEqual(asBinary);
  });
});
