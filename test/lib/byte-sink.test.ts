import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteSink } from '../../src/lib/byte-sink.js';

describe('the byte sink', () => {
  it('writes integers as String() does, around every split point', () => {
    const edges = [
      0,
      1,
      9,
      10,
      99,
      100,
      999_999_999,
      1_000_000_000,
      1_000_000_001,
      2 ** 31,
      2 ** 32,
      1_796_045_939_272,
    ];
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...edges), fc.maxSafeNat()), (value) => {
        const sink = new ByteSink(1);
        sink.int(value);
        expect(sink.take().toString('latin1')).toBe(String(value));
      }),
      { numRuns: 5000 },
    );
  });

  it('writes JSON strings as JSON.stringify does, escaping in place or falling back', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), (any, ascii) => {
        const sink = new ByteSink(1);
        sink.jsonString(any);
        sink.byte(0x2c);
        sink.jsonString(ascii);
        expect(sink.take().toString('utf8')).toBe(`${JSON.stringify(any)},${JSON.stringify(ascii)}`);
      }),
      { numRuns: 3000 },
    );
  });
});
