import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanJson } from '../../../src/collect/segment/json-scan.js';

const scan = (text: string) => scanJson(Buffer.from(text));
const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** Keys of all objects inside a value, as the scan counts them. */
function keysIn(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const own = Array.isArray(value) ? 0 : Object.keys(value).length;
  return own + Object.values(value).reduce<number>((sum, child) => sum + keysIn(child), 0);
}

/** A coin that lands heads with probability `p`, from a seed (so fast-check can replay and shrink it). */
function coins(seed: number): (p: number) => boolean {
  let state = seed | 0;
  return (p) => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) | 0;
    return ((state >>> 8) & 0xffff) / 0x10000 < p;
  };
}

/** The same number written so that JSON.stringify would not write it that way (`1.0`, `1.50`, `1E3`). */
function longhand(value: number): string {
  const text = JSON.stringify(value);
  if (text.includes('e')) return text.replace('e', 'E');
  return Number.isInteger(value) ? `${text}.0` : `${text}0`;
}

/**
 * JSON text of a value, written the many ways a sender may write it: with whitespace, `\/` and `\u`
 * escapes, numbers not in shortest form and keys sent twice.
 */
function looseJson(value: unknown, heads: (p: number) => boolean): string {
  const space = () => (heads(0.1) ? ' \n' : '');
  if (typeof value === 'number') return heads(0.1) ? longhand(value) : JSON.stringify(value);
  if (typeof value === 'string') {
    let text = JSON.stringify(value);
    if (heads(0.1)) text = text.replaceAll('/', '\\/');
    if (heads(0.05) && value.length > 0) {
      const escaped = `\\u${value.charCodeAt(0).toString(16).padStart(4, '0')}`;
      text = `"${escaped}${JSON.stringify(value.slice(1)).slice(1)}`;
    }
    return text;
  }
  if (Array.isArray(value)) return `[${space()}${value.map((item) => looseJson(item, heads)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value).map(([key, child]) => {
      const member = `${JSON.stringify(key)}:${space()}${looseJson(child, heads)}`;
      return heads(0.05) ? `${JSON.stringify(key)}:"sent twice",${member}` : member;
    });
    return `{${members.join(`,${space()}`)}}`;
  }
  return JSON.stringify(value);
}

describe('scanJson: the events of a batch', () => {
  it('knows the serialised size and the keys of each event of a batch written by JSON.stringify', () => {
    const batch = [
      { type: 'track', userId: 'u1', event: '下单', properties: { price: 14.99, tags: ['a', 'b'], n: -3 } },
      { type: 'identify', anonymousId: 'a', traits: { 'quote"back\\slash': 'line\n\ttab' } },
    ];
    expect(scan(JSON.stringify({ batch, sentAt: '2024-05-01T08:30:00.000Z' })).batch).toEqual({
      length: 2,
      items: [
        { bytes: bytesOf(batch[0]), keyCount: 7 },
        { bytes: bytesOf(batch[1]), keyCount: 4 },
      ],
    });
  });

  it('counts every element, but describes only the objects', () => {
    const result = scan('{"batch":[1,"x",[{}],null,{"a":1}]}').batch;
    expect(result?.length).toBe(5);
    expect(result?.items[4]).toEqual({ bytes: 7, keyCount: 1 });
    expect([0, 1, 2, 3].map((index) => result?.items[index])).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('counts no element in an empty batch', () => {
    expect(scan('{"batch":[ ]}').batch).toEqual({ length: 0, items: [] });
  });

  it('follows the last batch key, as JSON.parse does', () => {
    const result = scan('{"batch":[{"a":1}],"batch":[{"bb":2},{"c":3}]}').batch;
    expect(result).toEqual({
      length: 2,
      items: [
        { bytes: 8, keyCount: 1 },
        { bytes: 7, keyCount: 1 },
      ],
    });
  });

  it.each([
    ['no batch key', '{"events":[{"a":1}]}'],
    ['a batch key below the top level', '{"x":{"batch":[{"a":1}]}}'],
    ['a batch that is not an array', '{"batch":{"a":1}}'],
    ['a \\u escape, with which any key could spell batch', '{"b\\u0061tch":[{"a":1}],"batch":[{"b":2}]}'],
    ['a batch array that is never closed', '{"batch":[{"a":1}'],
  ])('describes no batch in a body with %s', (_name, text) => {
    expect(scan(text).batch).toBeUndefined();
  });

  it.each([
    ['whitespace between tokens', '{"a": 1}'],
    ['an escaped slash', '{"a":"http:\\/\\/x"}'],
    ['a trailing zero', '{"a":1.50}'],
    ['an integer written as a decimal', '{"a":1.0}'],
    ['an exponent', '{"a":1e3}'],
    ['minus zero', '{"a":-0}'],
    ['a number printed in exponent form', '{"a":0.0000001}'],
    ['more digits than a double keeps', '{"a":12345678901234567}'],
  ])('does not describe an event written with %s', (_name, item) => {
    expect(scan(`{"batch":[${item}]}`).batch?.items[0]).toBeUndefined();
  });

  it.each([
    ['0'],
    ['-12'],
    ['0.5'],
    ['-0.25'],
    ['0.000001'],
    ['3.14159'],
    ['123456789012345'],
    ['true'],
    ['null'],
    ['"tab\\t quote\\" backslash\\\\ 中文"'],
  ])('describes an event holding %s, which JSON.stringify writes the same way', (value) => {
    const item = `{"a":${value}}`;
    expect(scan(`{"batch":[${item}]}`).batch?.items[0]).toEqual({
      bytes: bytesOf(JSON.parse(item)),
      keyCount: 1,
    });
  });

  it('gives the serialised size of every event it describes that kept all its keys, however it was written', () => {
    const event = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 4 }), fc.integer(), (batch, seed) => {
        const heads = coins(seed);
        const text = `{"batch":[${batch.map((item) => looseJson(item, heads)).join(',')}]}`;
        const scanned = scan(text).batch;
        const parsed = JSON.parse(text).batch as unknown[];
        if (scanned === undefined) {
          expect(text).toContain('\\u');
          return;
        }
        expect(scanned.length).toBe(parsed.length);
        parsed.forEach((item, index) => {
          const described = scanned.items[index];
          if (described !== undefined && described.keyCount === keysIn(item)) {
            expect(described.bytes).toBe(bytesOf(item));
          }
        });
      }),
    );
  });

  it('calls a number shortest only when JSON.stringify writes it the same way', () => {
    const numberText = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
      fc
        .tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 20 }))
        .map(([value, digits]) => value.toFixed(digits)),
      fc
        .tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 1, max: 21 }))
        .map(([value, digits]) => value.toPrecision(digits)),
    );
    fc.assert(
      fc.property(numberText, (text) => {
        fc.pre(/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(text));
        const described = scan(`{"batch":[{"n":${text}}]}`).batch?.items[0];
        if (described !== undefined) expect(JSON.stringify(JSON.parse(text))).toBe(text);
      }),
    );
  });
});

describe('scanJson: the body itself', () => {
  it('describes a body object written compactly, as for a single call', () => {
    const call = { userId: 'u', event: 'Signed Up', properties: { plan: 'pro' } };
    expect(scan(JSON.stringify(call)).root).toEqual({ bytes: bytesOf(call), keyCount: 4 });
    expect(scan(`\ufeff${JSON.stringify(call)}\n`).root).toEqual({ bytes: bytesOf(call), keyCount: 4 });
  });

  it('does not describe a body written with whitespace inside', () => {
    expect(scan('{"userId": "u"}').root).toBeUndefined();
  });

  it('stops past the depth limit and then describes nothing', () => {
    expect(scanJson(Buffer.from('{"batch":[[[{}]]]}'), 3)).toEqual({ depth: 4 });
  });
});
