import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeBody,
  isPlainObject,
  jsonNestingDepth,
  parseJsonBody,
  parseJsonBodyScanned,
  safeMerge,
} from '../../../src/collect/segment/body.js';
import { scanJson } from '../../../src/collect/segment/json-scan.js';
import { MAX_BATCH_BYTES, MAX_BODY_DEPTH, requestLimitBytes } from '../../../src/collect/segment/limits.js';
import { PulseloopError } from '../../../src/errors/registry.js';
import { refusal } from '../../support/refusal.js';

const json = Buffer.from('{"type":"track","event":"Signed Up","userId":"u1"}');

describe('decodeBody', () => {
  it.each([
    [undefined, json],
    ['', json],
    ['identity', json],
    ['gzip', gzipSync(json)],
    ['x-gzip', gzipSync(json)],
    ['GZIP', gzipSync(json)],
    ['deflate', deflateSync(json)],
    ['deflate', deflateRawSync(json)],
    ['gzip, identity', gzipSync(json)],
  ] as const)('decodes a body sent with Content-Encoding %j', (encoding, body) => {
    expect(decodeBody(body, encoding, 1024).toString()).toBe(json.toString());
  });

  it('accepts an uncompressed body of exactly the limit and refuses one byte more', () => {
    expect(decodeBody(Buffer.alloc(100), undefined, 100)).toHaveLength(100);
    const error = refusal(() => decodeBody(Buffer.alloc(101), undefined, 100));
    expect(error.code).toBe('request_too_large');
    expect(error.details).toEqual({ size: 101, limit: 100 });
    expect(error.zh).toBe('请求大小：101 字节，上限为 100 字节。请拆分为更小的批次。');
  });

  it('accepts a gzip body that inflates to exactly the limit and refuses one that inflates past it', () => {
    expect(decodeBody(gzipSync(Buffer.alloc(1000)), 'gzip', 1000)).toHaveLength(1000);
    const error = refusal(() => decodeBody(gzipSync(Buffer.alloc(1001)), 'gzip', 1000));
    expect(error.code).toBe('request_too_large');
    expect(error.details.limit).toBe(1000);
    expect(error.message).toContain('more than 1000');
    // The size is not known exactly; the Chinese sentence still reads as one.
    expect(error.zh).toBe('请求大小：超过 1000 字节，上限为 1000 字节。请拆分为更小的批次。');
  });

  it('stops a zip bomb early instead of inflating it', () => {
    // 64 MiB of zeros compress to about 64 KB; decoding must stop near the 500 KB limit.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    const before = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    const error = refusal(() => decodeBody(bomb, 'gzip', MAX_BATCH_BYTES));
    expect(error.code).toBe('request_too_large');
    expect(performance.now() - started).toBeLessThan(2000);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it.each([['br'], ['compress'], ['gzip, deflate'], ['zstd']])('refuses Content-Encoding %j', (encoding) => {
    const error = refusal(() => decodeBody(json, encoding, 1024));
    expect(error.code).toBe('unsupported_encoding');
    expect(error.details.encoding).toBe(encoding);
  });

  it.each([
    ['a plain body labelled gzip', json, 'gzip'],
    ['a truncated gzip body', gzipSync(json).subarray(0, 15), 'gzip'],
    ['an empty gzip body', Buffer.alloc(0), 'gzip'],
    ['a plain body labelled deflate', json, 'deflate'],
  ] as const)('answers corrupt_body for %s', (_name, body, encoding) => {
    const error = refusal(() => decodeBody(body, encoding, 1024));
    expect(error.code).toBe('corrupt_body');
    expect(error.message).toMatch(/could not be decompressed: (gzip|deflate): ./);
  });

  it('gives each endpoint its Segment limit', () => {
    expect(requestLimitBytes('batch')).toBe(500 * 1024);
    expect(requestLimitBytes('single')).toBe(32 * 1024);
  });

  it('never throws anything but a PulseloopError, whatever the bytes and encoding', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom(undefined, 'gzip', 'deflate', 'x-gzip', 'identity', 'br', 'weird, gzip'),
        fc.integer({ min: 0, max: 300 }),
        (bytes, encoding, limit) => {
          try {
            decodeBody(Buffer.from(bytes), encoding, limit);
          } catch (error) {
            expect(error).toBeInstanceOf(PulseloopError);
          }
        },
      ),
    );
  });

  it('round-trips any body compressed with gzip or deflate within the limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), fc.boolean(), (bytes, useGzip) => {
        const body = Buffer.from(bytes);
        const packed = useGzip ? gzipSync(body) : deflateSync(body);
        expect(decodeBody(packed, useGzip ? 'gzip' : 'deflate', 500).equals(body)).toBe(true);
      }),
    );
  });
});

describe('parseJsonBody', () => {
  it('parses a JSON object, skipping a byte-order mark', () => {
    expect(parseJsonBody(Buffer.from('\ufeff{"a":1}'))).toEqual({ a: 1 });
  });

  it.each([
    ['an empty body', '', 'the body is empty'],
    ['a blank body', '  \n ', 'the body is empty'],
    ['a missing value', '{"a":}', "Unexpected token '}'"],
    ['a cut-off array', '{"a":[1,2', 'position'],
    ['a trailing comma', '{"a":1,}', 'JSON'],
  ])('answers invalid_json for %s, naming the problem', (_name, text, problem) => {
    const error = refusal(() => parseJsonBody(Buffer.from(text)));
    expect(error.code).toBe('invalid_json');
    expect(error.message).toContain(problem);
  });

  it('reports the position of the syntax error when JSON.parse gives one', () => {
    const error = refusal(() => parseJsonBody(Buffer.from('{"a":[1,2')));
    expect(error.details.position).toBe(9);
  });

  it('answers invalid_json for bytes that are not UTF-8', () => {
    const error = refusal(() => parseJsonBody(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])));
    expect(error.code).toBe('invalid_json');
    expect(error.message).toContain('not UTF-8');
    expect(error.zh).toBe('请求体不是有效的 JSON：请求体不是 UTF-8 文本');
  });

  it("says what is wrong in Chinese too, quoting JSON.parse's own words as they are", () => {
    expect(refusal(() => parseJsonBody(Buffer.from('  '))).zh).toBe('请求体不是有效的 JSON：请求体为空');
    const malformed = refusal(() => parseJsonBody(Buffer.from('{"a":}')));
    expect(malformed.zh).toBe(`请求体不是有效的 JSON：语法错误（${malformed.details.detail}）`);
    const placed = refusal(() => parseJsonBody(Buffer.from('{"a":1 "b":2}')));
    expect(placed.zh).toBe(`请求体不是有效的 JSON：位置 7 处语法错误（${placed.details.detail}）`);
  });

  it.each([['[]'], ['[{"type":"track"}]'], ['"text"'], ['42'], ['null'], ['true']])(
    'answers body_not_object for %s',
    (text) => {
      expect(refusal(() => parseJsonBody(Buffer.from(text))).code).toBe('body_not_object');
    },
  );

  it('answers too_deep for a 100,000-level array without building it', () => {
    const deep = Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    const error = refusal(() => parseJsonBody(deep));
    expect(error.code).toBe('too_deep');
    expect(error.details.limit).toBe(MAX_BODY_DEPTH);
  });

  it('answers too_deep for an unclosed 10-million-bracket body', () => {
    expect(refusal(() => parseJsonBody(Buffer.alloc(10_000_000, '['))).code).toBe('too_deep');
  });

  it('accepts nesting up to the body limit, so deep events can be refused one by one', () => {
    const depth = MAX_BODY_DEPTH - 1; // plus the body object itself
    const body = `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expect(parseJsonBody(Buffer.from(body))).toHaveProperty('a');
  });

  it('keeps __proto__ keys as plain data without changing any prototype', () => {
    const parsed = parseJsonBody(Buffer.from('{"__proto__":{"polluted":true},"a":1}'));
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseJsonBodyScanned', () => {
  it('gives the body parseJsonBody gives, and the scan of its text', () => {
    const text = Buffer.from('{"batch":[{"type":"track","userId":"u"}],"sentAt":"2024-05-01T08:30:00.000Z"}');
    const { body, scan } = parseJsonBodyScanned(text);
    expect(body).toEqual(parseJsonBody(text));
    expect(scan).toEqual(scanJson(text));
    expect(scan.batch).toEqual({ length: 1, items: [{ bytes: 29, keyCount: 2 }] });
  });
});

describe('jsonNestingDepth', () => {
  it.each([
    ['1', 0],
    ['{}', 1],
    ['{"a":[{}]}', 3],
    ['{"a":"[[[[{{{{"}', 1],
    ['{"a":"\\"[[["}', 1],
    ['{"a":"\\\\"}', 1],
    ['[[],[[]],[]]', 3],
    ['{"名字":"[值]"}', 1],
  ])('measures %s as %i levels deep, ignoring brackets inside strings', (text, depth) => {
    expect(jsonNestingDepth(Buffer.from(text))).toBe(depth);
  });

  it('agrees with the depth of what JSON.parse builds', () => {
    const depthOf = (value: unknown): number =>
      typeof value === 'object' && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        expect(jsonNestingDepth(Buffer.from(text))).toBe(depthOf(JSON.parse(text)));
      }),
    );
  });
});

describe('safeMerge', () => {
  it('merges nested objects, the override winning, without changing either input', () => {
    const base = { device: { type: 'phone', name: 'iPhone' }, locale: 'zh-CN', list: [1, 2] };
    const override = { device: { type: 'tablet' }, list: [3] };
    expect(safeMerge(base, override)).toEqual({
      device: { type: 'tablet', name: 'iPhone' },
      locale: 'zh-CN',
      list: [3],
    });
    expect(base.device).toEqual({ type: 'phone', name: 'iPhone' });
    expect(override.device).toEqual({ type: 'tablet' });
  });

  it('never reaches Object.prototype through __proto__, constructor or prototype keys', () => {
    const hostile = [
      '{"__proto__":{"polluted":"yes"}}',
      '{"constructor":{"prototype":{"polluted":"yes"}}}',
      '{"a":{"__proto__":{"polluted":"yes"}}}',
      '{"prototype":{"polluted":"yes"}}',
    ].map((text) => JSON.parse(text) as Record<string, unknown>);
    for (const object of hostile) {
      const merged = safeMerge(safeMerge({}, object), object);
      expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
      expect(Object.hasOwn(merged, '__proto__')).toBe(false);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps constructor and prototype as ordinary data keys', () => {
    const merged = safeMerge({}, JSON.parse('{"constructor":{"prototype":{"x":1}}}'));
    expect(merged.constructor).toEqual({ prototype: { x: 1 } });
    expect(Object.prototype.constructor).toBe(Object);
  });

  it('never changes Object.prototype, whatever JSON it merges', () => {
    const keys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'a', 'polluted');
    const hostileJson = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 1 }),
        fc.dictionary(keys, tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(hostileJson, hostileJson, (a, b) => {
        const parse = (value: unknown) => JSON.parse(JSON.stringify(value) ?? 'null') as unknown;
        const left = parse(a);
        const right = parse(b);
        if (isPlainObject(left) && isPlainObject(right)) safeMerge(left, right);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.keys(Object.prototype)).toEqual([]);
      }),
    );
  });
});
