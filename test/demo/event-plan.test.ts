import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStagingSql } from '../../src/demo/event-expansion.js';
import {
  EVENT,
  MAX_SESSION_MS,
  SessionRecorder,
  STAGING_COLUMNS,
  type VisitHeader,
  writeVisit,
} from '../../src/demo/event-plan.js';
import { ByteSink } from '../../src/lib/byte-sink.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import { type FactsEngine, insertRows } from '../../src/store/facts/engine.js';

// chdb binds one data directory per process; vitest gives this file its own process.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-demo-event-plan-'));
let engine: FactsEngine;

beforeAll(async () => {
  engine = await openChdbEngine(dataDir, 'pulseloop_demo_event_plan');
});

afterAll(async () => {
  await engine?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the compact event plan', () => {
  it('keeps code, value, object, time since the start and payload number per event', () => {
    const recorder = new SessionRecorder();
    recorder.add(EVENT.pageview, 0, 3);
    recorder.addWithPayload(EVENT.identify, 2_000, '{"a":1}');
    recorder.add(EVENT.videoPlayed, 12_345, 300, 87);
    recorder.addWithPayload(EVENT.orderCompleted, 500, '{"b":2}', 7);
    recorder.finalize(1_000_000, Number.MAX_SAFE_INTEGER);
    const first = (a: ArrayLike<number>) => Array.from(a).slice(0, 4);
    expect(first(recorder.codes)).toEqual([
      EVENT.pageview,
      EVENT.identify,
      EVENT.videoPlayed,
      EVENT.orderCompleted,
    ]);
    expect(first(recorder.values)).toEqual([0, 0, 87, 0]);
    expect(first(recorder.objects)).toEqual([3, 0, 300, 7]);
    expect(first(recorder.offsetsDs)).toEqual([0, 20, 143, 148]);
    expect(first(recorder.timesMs)).toEqual([1_000_000, 1_002_000, 1_014_300, 1_014_800]);
    expect(first(recorder.payloadSlots)).toEqual([0, 1, 0, 2]);
    // A recorder reused for the next visit forgets the slots of the last one.
    recorder.reset();
    recorder.add(EVENT.pageview, 0);
    recorder.add(EVENT.pageview, 1_000);
    expect(recorder.payloadSlots[1]).toBe(0);
  });

  it('compresses a visit that would run past the limit, keeping events in order', () => {
    const recorder = new SessionRecorder();
    for (let i = 0; i < 10; i++) recorder.add(EVENT.pageview, 20 * 60_000);
    recorder.finalize(0, 60 * 60_000);
    const times = Array.from(recorder.timesMs.subarray(0, 10));
    expect(times[9]! - times[0]!).toBeLessThanOrEqual(MAX_SESSION_MS);
    expect(times[9]!).toBeLessThan(60 * 60_000);
    for (let i = 1; i < 10; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
  });

  it('writes a visit as one binary row of every staging column, which the engine reads back', async () => {
    const recorder = new SessionRecorder();
    recorder.add(EVENT.pageview, 0, 4);
    recorder.addWithPayload(EVENT.identify, 2000, '{"nickname":"小鱼"}');
    recorder.addWithPayload(EVENT.identify, 1000, '{"bio":"a\\"b\\tc"}', 0, 9);
    recorder.finalize(1_750_000_000_123, Number.MAX_SAFE_INTEGER);
    const header: VisitHeader = {
      index: 2_000_000_009,
      personId: 'prs_1',
      firstId: 'anon',
      laterId: 'u_1',
      switchAt: 1,
      sdk: true,
      platform: 0,
      touch: 300,
      sharerId: '',
      device: 5,
      city: 2,
      locale: 1,
      appVersion: 0,
    };
    const sink = new ByteSink(16);
    writeVisit(sink, header, recorder);
    writeVisit(
      sink,
      { ...header, index: 10, laterId: '', sdk: false, platform: 3, touch: 7, sharerId: 'u_2' },
      new SessionRecorder(),
    );
    expect(sink.lines).toBe(2);
    await engine.command('DROP TABLE IF EXISTS plan_staging');
    await engine.command(createStagingSql('plan_staging'));
    await insertRows(engine, 'plan_staging', sink.take(), { format: 'RowBinary', columns: STAGING_COLUMNS });
    const rows = await engine.query<Record<string, unknown>>(
      `SELECT ${STAGING_COLUMNS.join(', ')} FROM plan_staging ORDER BY i DESC`,
    );
    expect(rows).toEqual([
      {
        i: 2_000_000_009,
        p: 'prs_1',
        a: 'anon',
        u: 'u_1',
        ix: 1,
        w: 1,
        ts: 1_750_000_000_123,
        pl: 0,
        tc: 300,
        sh: '',
        dv: 5,
        g: 2,
        lc: 1,
        v: 0,
        codes: [EVENT.pageview, EVENT.identify, EVENT.identify],
        vals: [0, 0, 9],
        objs: [4, 0, 0],
        offs: [0, 20, 30],
        slots: [0, 1, 2],
        payloads: ['{"nickname":"小鱼"}', '{"bio":"a\\"b\\tc"}'],
      },
      // A sender who never switches ids reads the anonymous id for every event.
      {
        i: 10,
        p: 'prs_1',
        a: 'anon',
        u: '',
        ix: 65535,
        w: 0,
        ts: 0,
        pl: 3,
        tc: 7,
        sh: 'u_2',
        dv: 5,
        g: 2,
        lc: 1,
        v: 0,
        codes: [],
        vals: [],
        objs: [],
        offs: [],
        slots: [],
        payloads: [],
      },
    ]);
  });
});
