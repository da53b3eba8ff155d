import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanWrittenRows } from '../../src/analyze/cache.js';
import { compactJsonLine } from '../../src/collect/ingest.js';
import { ByteSink } from '../../src/lib/byte-sink.js';
import { writeEventBinary } from '../../src/store/facts/event-binary.js';
import type { EventRow } from '../../src/store/facts/rows.js';
import { EMPTY_EVENT } from '../support/event-rows.js';

const lines = (rows: object[]) => Buffer.from(rows.map((row) => `${compactJsonLine(row)}\n`).join(''));
const json = (table: string, ...rows: Buffer[]) => scanWrittenRows({ table, format: 'JSONEachRow', rows });

describe('the rows the batch writer inserted, as the analysis cache reads them', () => {
  it('gives each project the span of its event times', () => {
    const rows = lines([
      { project_id: 'p1', message_id: 'a', timestamp: 1_700_000_000_500 },
      { project_id: 'p1', message_id: 'b', timestamp: 1_700_000_000_100 },
      { project_id: 'p2', message_id: 'c', timestamp: 1_700_000_009_000 },
      { project_id: 'p1', message_id: 'd', timestamp: 1_700_000_000_900 },
      { project_id: '项目', message_id: 'e', timestamp: 5 },
    ]);
    expect(json('events', rows)).toEqual(
      new Map([
        ['p1', { fromMs: 1_700_000_000_100, toMs: 1_700_000_000_900 }],
        ['p2', { fromMs: 1_700_000_009_000, toMs: 1_700_000_009_000 }],
        ['项目', { fromMs: 5, toMs: 5 }],
      ]),
    );
  });

  it('marks the whole project when a row has no event time or is not an event', () => {
    const events = lines([
      { project_id: 'p1', message_id: 'a', timestamp: 10 },
      { project_id: 'p1', message_id: 'b' },
      { project_id: 'p10', message_id: 'c', timestamp: 20 },
    ]);
    expect(json('events', events)).toEqual(
      new Map<string, unknown>([
        ['p1', 'all'],
        ['p10', { fromMs: 20, toMs: 20 }],
      ]),
    );
    const identities = lines([{ project_id: 'p1', distinct_id: 'u' }]);
    expect(json('identities', identities)).toEqual(new Map([['p1', 'all']]));
  });

  it('reads rows handed over in pieces as one payload', () => {
    const first = lines([
      { project_id: 'p1', message_id: 'a', timestamp: 30 },
      { project_id: 'p2', message_id: 'b', timestamp: 7 },
    ]);
    const second = lines([
      { project_id: 'p1', message_id: 'c', timestamp: 10 },
      { project_id: 'p2', message_id: 'd' },
    ]);
    expect(json('events', first, second)).toEqual(
      new Map<string, unknown>([
        ['p1', { fromMs: 10, toMs: 30 }],
        ['p2', 'all'],
      ]),
    );
  });

  /** RowBinary events rows as ingestion writes them: every column, from a few fields given. */
  const binary = (rows: Array<Partial<EventRow>>) => {
    const sink = new ByteSink(64);
    for (const row of rows) writeEventBinary(sink, { ...EMPTY_EVENT, ...row });
    return sink.copyAndReset();
  };
  const scanBinary = (...rows: Buffer[]) => scanWrittenRows({ table: 'events', format: 'RowBinary', rows });

  it('reads binary events rows: the span of each project, over pieces, with long and non-ASCII text', () => {
    const first = binary([
      {
        project_id: 'p1',
        timestamp: 1_700_000_000_500,
        properties: JSON.stringify({ note: '长'.repeat(300) }),
      },
      { project_id: '项目', timestamp: 5, context: 'x'.repeat(20_000) },
    ]);
    const second = binary([
      { project_id: 'p1', timestamp: 1_700_000_000_100, revenue: 19.99 },
      { project_id: 'p2', timestamp: -86_400_000, user_agent: 'ua\ud800' },
    ]);
    expect(scanBinary(first, second)).toEqual(
      new Map([
        ['p1', { fromMs: 1_700_000_000_100, toMs: 1_700_000_000_500 }],
        ['项目', { fromMs: 5, toMs: 5 }],
        ['p2', { fromMs: -86_400_000, toMs: -86_400_000 }],
      ]),
    );
  });

  it('gives binary rows the same spans as the same rows in JSON', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            project_id: fc.constantFrom('p1', 'p2', '项目'),
            timestamp: fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }),
            event: fc.string({ unit: 'binary' }),
            properties: fc.string({ maxLength: 300 }),
          }),
          { minLength: 1, maxLength: 30 },
        ),
        (rows) => {
          expect(scanBinary(binary(rows))).toEqual(json('events', lines(rows)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses binary rows cut short rather than reading past them', () => {
    const whole = binary([{ project_id: 'p1', timestamp: 10 }]);
    expect(() => scanBinary(whole.subarray(0, whole.length - 1))).toThrow(/cut short/);
  });
});
