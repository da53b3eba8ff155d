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
        sink.ascii(',');
        sink.jsonString(ascii);
        expect(sink.take().toString('utf8')).toBe(`${JSON.stringify(any)},${JSON.stringify(ascii)}`);
      }),
      { numRuns: 3000 },
    );
  });

  it('writes a lone surrogate in a JSON string as U+FFFD, never as an escape the store refuses', () => {
    const withLoneSurrogates = fc
      .array(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('\ud800', '\udfff', '\udc00\ud800')))
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(withLoneSurrogates, (text) => {
        const sink = new ByteSink(1);
        sink.jsonString(text);
        const written = sink.take().toString('utf8');
        expect(written).not.toMatch(/\\u[dD][89a-fA-F]/);
        expect(JSON.parse(written)).toBe(
          text.replace(/[\ud800-\udfff]/g, (c, at: number) => {
            const code = c.charCodeAt(0);
            const paired =
              code < 0xdc00
                ? /[\udc00-\udfff]/.test(text[at + 1] ?? '')
                : /[\ud800-\udbff]/.test(text[at - 1] ?? '');
            return paired ? c : '\ufffd';
          }),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('writes RowBinary integers little-endian and strings and arrays after their LEB128 length', () => {
    const leb128 = (value: number): number[] => {
      const out: number[] = [];
      let v = BigInt(value);
      do {
        const low = Number(v & 0x7fn);
        v >>= 7n;
        out.push(v > 0n ? low | 0x80 : low);
      } while (v > 0n);
      return out;
    };
    fc.assert(
      fc.property(
        fc.maxSafeNat(),
        fc.maxSafeInteger(),
        fc.nat({ max: 0xffff }),
        fc.nat({ max: 0xffffffff }),
        // Past 127 bytes or elements, lengths take two LEB128 bytes.
        fc.string({ unit: 'binary', maxLength: 300, size: 'max' }),
        fc.array(fc.nat({ max: 0xffff }), { maxLength: 300, size: 'max' }),
        (length, int64, u16, u32, text, values) => {
          const sink = new ByteSink(1);
          sink.varUInt(length);
          sink.int64LE(int64);
          sink.uintLE(u16, 2);
          sink.uintLE(u32, 4);
          sink.uintLE(u16 & 0xff, 1);
          sink.binaryString(text);
          sink.uintArray(Uint16Array.from(values), values.length, 2);
          const expected = Buffer.alloc(15);
          expected.writeBigInt64LE(BigInt(int64), 0);
          expected.writeUInt16LE(u16, 8);
          expected.writeUInt32LE(u32, 10);
          expected.writeUInt8(u16 & 0xff, 14);
          const textBytes = Buffer.from(text, 'utf8');
          const array = Buffer.alloc(values.length * 2);
          for (const [k, v] of values.entries()) array.writeUInt16LE(v, 2 * k);
          expect(sink.take()).toEqual(
            Buffer.concat([
              Buffer.from(leb128(length)),
              expected,
              Buffer.from(leb128(textBytes.length)),
              textBytes,
              Buffer.from(leb128(values.length)),
              array,
            ]),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('writes RowBinary strings whose length takes one, two or three bytes, lone surrogates as U+FFFD', () => {
    const texts = [
      'a'.repeat(23),
      'a'.repeat(24),
      'a'.repeat(127),
      'a'.repeat(128),
      '长'.repeat(42), // 126 bytes
      '长'.repeat(43), // 129 bytes
      'a'.repeat(16_383),
      'a'.repeat(16_384),
      '长'.repeat(5_462), // 16,386 bytes
      `x\ud800${'y'.repeat(30)}\udc00`,
    ];
    for (const text of texts) {
      const sink = new ByteSink(1);
      sink.binaryString(text);
      const written = sink.take();
      const bytes = Buffer.from(text, 'utf8');
      let length = 0;
      let scale = 1;
      let at = 0;
      for (;;) {
        const byte = written[at++]!;
        length += (byte & 0x7f) * scale;
        if (byte < 0x80) break;
        scale *= 0x80;
      }
      expect(at, `prefix of ${bytes.length} bytes`).toBe(
        bytes.length < 128 ? 1 : bytes.length < 16_384 ? 2 : 3,
      );
      expect(length).toBe(bytes.length);
      expect(written.subarray(at)).toEqual(bytes);
    }
  });
});
