import { describe, expect, it } from 'vitest';
import { scanWrittenRows } from '../../src/analyze/cache.js';
import { compactJsonLine } from '../../src/collect/ingest.js';

const lines = (rows: object[]) => Buffer.from(rows.map((row) => `${compactJsonLine(row)}\n`).join(''));

describe('the rows the batch writer inserted, as the analysis cache reads them', () => {
  it('gives each project the span of its event times', () => {
    const rows = lines([
      { project_id: 'p1', message_id: 'a', timestamp: 1_700_000_000_500 },
      { project_id: 'p1', message_id: 'b', timestamp: 1_700_000_000_100 },
      { project_id: 'p2', message_id: 'c', timestamp: 1_700_000_009_000 },
      { project_id: 'p1', message_id: 'd', timestamp: 1_700_000_000_900 },
      { project_id: '项目', message_id: 'e', timestamp: 5 },
    ]);
    expect(scanWrittenRows('events', rows)).toEqual(
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
    expect(scanWrittenRows('events', events)).toEqual(
      new Map<string, unknown>([
        ['p1', 'all'],
        ['p10', { fromMs: 20, toMs: 20 }],
      ]),
    );
    const identities = lines([{ project_id: 'p1', distinct_id: 'u' }]);
    expect(scanWrittenRows('identities', identities)).toEqual(new Map([['p1', 'all']]));
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
    expect(scanWrittenRows('events', [first, second])).toEqual(
      new Map<string, unknown>([
        ['p1', { fromMs: 10, toMs: 30 }],
        ['p2', 'all'],
      ]),
    );
  });
});
