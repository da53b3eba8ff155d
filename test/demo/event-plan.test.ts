import { describe, expect, it } from 'vitest';
import {
  EVENT,
  MAX_SESSION_MS,
  RECORD_BYTES,
  SessionRecorder,
  STAGING_COLUMNS,
  writeVisit,
} from '../../src/demo/event-plan.js';
import { ByteSink } from '../../src/lib/byte-sink.js';

describe('the compact event plan', () => {
  it('writes base64 exactly as Node does, for every length', () => {
    const bytes = Uint8Array.from({ length: 40 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let n = 0; n <= 40; n++) {
      const sink = new ByteSink(8);
      sink.base64(bytes, n);
      expect(sink.take().toString('latin1')).toBe(Buffer.from(bytes.subarray(0, n)).toString('base64'));
    }
  });

  it('packs code, value, object and gap into six little-endian bytes per event', () => {
    const recorder = new SessionRecorder();
    recorder.add(EVENT.pageview, 0, 3);
    recorder.add(EVENT.videoPlayed, 12_345, 300, 87);
    recorder.finalize(1_000_000, Number.MAX_SAFE_INTEGER);
    const bytes = Buffer.from(recorder.pack().subarray(0, 2 * RECORD_BYTES));
    expect([...bytes]).toEqual([0, 0, 3, 0, 0, 0, 4, 87, 300 & 0xff, 300 >> 8, 123, 0]);
    expect(Array.from(recorder.timesMs.subarray(0, 2))).toEqual([1_000_000, 1_012_300]);
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

  it('writes a visit as one tab-separated row of every staging column, payloads escaped', () => {
    const recorder = new SessionRecorder();
    recorder.add(EVENT.pageview, 0);
    recorder.addWithPayload(EVENT.identify, 2000, '{"nickname":"小鱼"}');
    recorder.addWithPayload(EVENT.identify, 1000, '{"bio":"a\\"b"}');
    recorder.finalize(5000, Number.MAX_SAFE_INTEGER);
    const header = {
      index: 9,
      personId: 'prs_1',
      firstId: 'anon',
      laterId: 'u_1',
      switchAt: 1,
      sdk: true,
      platform: 0,
      touch: 0,
      sharerId: '',
      device: 0,
      city: 2,
      locale: 0,
      appVersion: 0,
    };
    const sink = new ByteSink(16);
    writeVisit(sink, header, recorder);
    writeVisit(
      sink,
      { ...header, laterId: '', sdk: false, platform: 3, touch: 7, sharerId: 'u_2' },
      new SessionRecorder(),
    );
    const [first, second, rest] = sink.take().toString('utf8').split('\n');
    expect(rest).toBe('');
    const cells = first!.split('\t');
    expect(cells).toHaveLength(STAGING_COLUMNS.length);
    const row = Object.fromEntries(STAGING_COLUMNS.map((column, k) => [column, cells[k]]));
    expect(row).toEqual({
      i: '9',
      p: 'prs_1',
      a: 'anon',
      u: 'u_1',
      ix: '1',
      w: '1',
      ts: '5000',
      pl: '0',
      tc: '0',
      sh: '',
      dv: '0',
      g: '2',
      lc: '0',
      v: '0',
      r: Buffer.from([0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 20, 0, 2, 0, 0, 0, 10, 0]).toString('base64'),
      // TabSeparated doubles the backslash; the engine reads it back as one.
      x: '{"nickname":"小鱼"}\x1e{"bio":"a\\\\"b"}',
    });
    // A sender who never switches ids reads the anonymous id for every event.
    expect(second!.split('\t').slice(0, 10)).toEqual([
      '9',
      'prs_1',
      'anon',
      '',
      '65535',
      '0',
      '0',
      '3',
      '7',
      'u_2',
    ]);
  });
});
