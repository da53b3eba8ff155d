import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonBodyScanned } from '../../../src/collect/segment/body.js';
import {
  MAX_BATCH_EVENTS,
  MAX_DEPTH,
  MAX_EVENT_BYTES,
  MAX_EVENT_NAME_LENGTH,
  MAX_ID_LENGTH,
  MAX_MESSAGE_ID_LENGTH,
} from '../../../src/collect/segment/limits.js';
import {
  CALL_TYPES,
  type CallType,
  GENERATED_MESSAGE_ID_PREFIX,
  nestingDepth,
  parseTimestamp,
  readBatchEnvelope,
  type SegmentMessage,
  type ValidationResult,
  validateBatchItem,
  validateMessage,
  withoutProtoKeys,
} from '../../../src/collect/segment/validate.js';
import type { PulseloopError } from '../../../src/errors/registry.js';

function accepted(result: ValidationResult): SegmentMessage {
  if (!result.ok)
    throw new Error(`expected the call to pass, got ${result.error.code}: ${result.error.message}`);
  return result.message;
}

function refused(
  result: ValidationResult | { ok: false; error: PulseloopError } | { ok: true },
): PulseloopError {
  if (result.ok) throw new Error('expected the call to be refused');
  return result.error;
}

/** A JSON object nested `depth` levels deep in all (the object itself is level 1). */
function nested(depth: number): Record<string, unknown> {
  let node: Record<string, unknown> = {};
  for (let level = 2; level < depth; level++) node = { n: node };
  return { userId: 'u1', event: 'Deep', properties: node };
}

/** A track call whose JSON text is exactly `bytes` long. */
function trackOfSize(bytes: number): Record<string, unknown> {
  const call = { userId: 'u1', event: 'Big', properties: { pad: '' } };
  const overhead = Buffer.byteLength(JSON.stringify(call));
  call.properties.pad = 'x'.repeat(bytes - overhead);
  return call;
}

/** A batch event whose JSON text is exactly `bytes` long. */
function batchItemOfSize(bytes: number): Record<string, unknown> {
  const item = { type: 'track', userId: 'u1', event: 'Big', properties: { pad: '' } };
  item.properties.pad = 'x'.repeat(bytes - Buffer.byteLength(JSON.stringify(item)));
  return item;
}

/** A result with a generated messageId made comparable. */
function comparable(result: ValidationResult): unknown {
  if (!result.ok) return { code: result.error.code, details: result.error.details };
  const { messageId, ...rest } = result.message;
  return { ...rest, messageId: result.message.messageIdGenerated ? 'generated' : messageId };
}

describe('validateMessage: what every call needs', () => {
  it('accepts a minimal track call and gives it a recognisable generated messageId', () => {
    const message = accepted(validateMessage({ userId: 'u1', event: 'Signed Up' }, 'track'));
    expect(message).toMatchObject({
      type: 'track',
      event: 'Signed Up',
      userId: 'u1',
      properties: {},
      context: {},
      messageIdGenerated: true,
    });
    expect(message.messageId.startsWith(GENERATED_MESSAGE_ID_PREFIX)).toBe(true);
    expect(message.messageId.length).toBeLessThanOrEqual(MAX_MESSAGE_ID_LENGTH);
  });

  it('keeps a sent messageId', () => {
    const message = accepted(validateMessage({ anonymousId: 'a1', event: 'x', messageId: 'm-1' }, 'track'));
    expect(message.messageId).toBe('m-1');
    expect(message.messageIdGenerated).toBe(false);
  });

  it('lets the endpoint, not the body, decide the call type', () => {
    const message = accepted(validateMessage({ userId: 'u1', type: 'track', traits: { a: 1 } }, 'identify'));
    expect(message.type).toBe('identify');
  });

  it.each<[Record<string, unknown>, string]>([
    [{}, 'no id at all'],
    [{ userId: '', anonymousId: '' }, 'empty ids'],
    [{ userId: '   ', anonymousId: null }, 'a blank userId and a null anonymousId'],
  ])('answers missing_id for %j (%s)', (ids) => {
    const error = refused(validateMessage({ ...ids, event: 'x' }, 'track'));
    expect(error.code).toBe('missing_id');
  });

  it.each([
    [{ userId: 42 }, { userId: '42' }],
    [{ userId: 0 }, { userId: '0' }],
    [{ anonymousId: 1.5 }, { anonymousId: '1.5' }],
    [
      { userId: 'u1', anonymousId: 7 },
      { userId: 'u1', anonymousId: '7' },
    ],
    [{ userId: '', anonymousId: 'a1' }, { anonymousId: 'a1' }],
  ])('reads ids %j as %j', (ids, expected) => {
    const message = accepted(validateMessage({ ...ids, event: 'x' }, 'track'));
    expect({ userId: message.userId, anonymousId: message.anonymousId }).toEqual({
      userId: undefined,
      anonymousId: undefined,
      ...expected,
    });
  });

  it.each([
    ['userId', true, 'must be a string or a number', '必须是字符串或数值'],
    ['userId', { id: 1 }, 'must be a string or a number', '必须是字符串或数值'],
    ['anonymousId', ['a'], 'must be a string or a number', '必须是字符串或数值'],
    ['userId', 2 ** 53 + 2, 'lost precision', '是大于 2^53 的数值，已丢失精度'],
    ['userId', Number.POSITIVE_INFINITY, 'finite', '必须是字符串或有限数值'],
    ['userId', 'u'.repeat(MAX_ID_LENGTH + 1), `longer than ${MAX_ID_LENGTH}`, `超过 ${MAX_ID_LENGTH} 个字符`],
    ['messageId', 123, 'must be a string', '必须是字符串'],
    [
      'messageId',
      'm'.repeat(MAX_MESSAGE_ID_LENGTH + 1),
      `longer than ${MAX_MESSAGE_ID_LENGTH}`,
      `超过 ${MAX_MESSAGE_ID_LENGTH} 个字符`,
    ],
    ['properties', [1, 2], 'must be a JSON object', '必须是 JSON 对象'],
    ['properties', 'text', 'must be a JSON object', '必须是 JSON 对象'],
    ['context', 5, 'must be a JSON object', '必须是 JSON 对象'],
  ])('answers invalid_field for %s = %j, in English and in Chinese', (field, value, detail, detailZh) => {
    const error = refused(validateMessage({ userId: 'u0', event: 'x', [field]: value }, 'track'));
    expect(error.code).toBe('invalid_field');
    expect(error.details.field).toBe(field);
    expect(error.message).toContain(detail);
    expect(error.zh).toContain(`字段 "${field}" 无效：${detailZh}`);
    expect(error.zh).not.toContain(detail);
  });

  it('accepts ids and messageIds of exactly the maximum length', () => {
    const userId = 'u'.repeat(MAX_ID_LENGTH);
    const messageId = 'm'.repeat(MAX_MESSAGE_ID_LENGTH);
    const message = accepted(validateMessage({ userId, messageId, event: 'x' }, 'track'));
    expect(message.userId).toBe(userId);
    expect(message.messageId).toBe(messageId);
  });

  it('treats null properties, traits and context as absent', () => {
    const message = accepted(
      validateMessage({ userId: 'u', event: 'x', properties: null, context: null }, 'track'),
    );
    expect(message).toMatchObject({ properties: {}, context: {} });
  });

  it('answers body_not_object when given something that is not an object', () => {
    expect(refused(validateMessage([1], 'track')).code).toBe('body_not_object');
  });

  it('answers unknown_type when the caller names no known call type', () => {
    const error = refused(validateMessage({ userId: 'u' }, 'purchase' as CallType));
    expect(error.code).toBe('unknown_type');
    expect(error.details.value).toBe('purchase');
  });
});

describe('validateMessage: what each call type needs', () => {
  it.each([
    ['track', { event: 'Order Completed', properties: { revenue: 10 } }, { event: 'Order Completed' }],
    [
      'page',
      { name: 'Home', category: 'Docs', properties: { url: 'https://a.cn/' } },
      { name: 'Home', category: 'Docs' },
    ],
    ['screen', { name: 'Feed' }, { name: 'Feed', properties: {} }],
    ['identify', { traits: { email: 'a@b.cn' } }, { traits: { email: 'a@b.cn' } }],
    ['group', { groupId: 99, traits: { name: 'Initech' } }, { groupId: '99', traits: { name: 'Initech' } }],
    ['alias', { previousId: 'anon-1' }, { previousId: 'anon-1' }],
  ] as const)('accepts a %s call with its fields', (callType, fields, expected) => {
    const message = accepted(validateMessage({ userId: 'u1', ...fields }, callType));
    expect(message).toMatchObject({ type: callType, ...expected });
  });

  it.each([
    ['track', {}, 'event', 'is required', '必须填写行为名称'],
    ['track', { event: '' }, 'event', 'must not be empty', '不能为空'],
    ['track', { event: '   ' }, 'event', 'must not be empty', '不能为空'],
    ['track', { event: 12 }, 'event', 'must be a string', '必须是字符串'],
    ['track', { event: 'e'.repeat(MAX_EVENT_NAME_LENGTH + 1) }, 'event', 'longer than', '超过'],
    ['page', { name: { a: 1 } }, 'name', 'must be a string', '必须是字符串'],
    ['screen', { category: 3 }, 'category', 'must be a string', '必须是字符串'],
    ['identify', { traits: [1] }, 'traits', 'must be a JSON object', '必须是 JSON 对象'],
    ['group', {}, 'groupId', 'is required for group calls', 'group 调用必须提供该字段'],
    ['group', { groupId: '' }, 'groupId', 'is required for group calls', 'group 调用必须提供该字段'],
    ['alias', {}, 'previousId', 'is required for alias calls', 'alias 调用必须提供该字段'],
    ['alias', { previousId: false }, 'previousId', 'must be a string or a number', '必须是字符串或数值'],
  ] as const)('refuses a %s call with %j: invalid_field %s', (callType, fields, field, detail, detailZh) => {
    const error = refused(validateMessage({ userId: 'u1', ...fields }, callType));
    expect(error.code).toBe('invalid_field');
    expect(error.details.field).toBe(field);
    expect(error.message).toContain(detail);
    expect(error.zh).toContain(detailZh);
    expect(error.zh).not.toContain(detail);
  });
});

describe('validateMessage: size and depth', () => {
  it('accepts an event of exactly 32 KB and refuses one byte more with event_too_large', () => {
    const exact = trackOfSize(MAX_EVENT_BYTES);
    expect(accepted(validateMessage(exact, 'track')).sizeBytes).toBe(MAX_EVENT_BYTES);
    const error = refused(validateMessage(trackOfSize(MAX_EVENT_BYTES + 1), 'track'));
    expect(error.code).toBe('event_too_large');
    expect(error.details).toEqual({ size: MAX_EVENT_BYTES + 1, limit: MAX_EVENT_BYTES });
  });

  it('counts bytes, not characters: 32 KB of Chinese is about 11,000 characters', () => {
    const call = { userId: 'u1', event: 'x', properties: { text: '中'.repeat(11_000) } };
    expect(refused(validateMessage(call, 'track')).code).toBe('event_too_large');
  });

  it('refuses a huge string property without trouble', () => {
    const call = { userId: 'u1', event: 'x', properties: { text: 'x'.repeat(5_000_000) } };
    expect(refused(validateMessage(call, 'track')).code).toBe('event_too_large');
  });

  it('accepts 32 levels of nesting and refuses 33 with too_deep', () => {
    expect(nestingDepth(nested(MAX_DEPTH))).toBe(MAX_DEPTH);
    accepted(validateMessage(nested(MAX_DEPTH), 'track'));
    const error = refused(validateMessage(nested(MAX_DEPTH + 1), 'track'));
    expect(error.code).toBe('too_deep');
    expect(error.details.limit).toBe(MAX_DEPTH);
  });

  it('refuses a 100,000-level object without overflowing the stack', () => {
    let node: unknown = [];
    for (let i = 0; i < 100_000; i++) node = [node];
    const error = refused(validateMessage({ userId: 'u', event: 'x', properties: { node } }, 'track'));
    expect(error.code).toBe('too_deep');
  });

  it.each([
    [1, 0],
    [{}, 1],
    [[[], {}], 2],
    [{ a: { b: [1] } }, 3],
  ])('measures the nesting of %j as %i', (value, depth) => {
    expect(nestingDepth(value)).toBe(depth);
  });
});

describe('validateMessage: the scanned text of a call', () => {
  it('takes the size from the scanned text instead of serialising the call again', () => {
    const call = { userId: 'u1', event: 'x' };
    expect(accepted(validateMessage(call, 'track', { bytes: 1234, keyCount: 2 })).sizeBytes).toBe(1234);
  });

  it.each([
    ['a key was sent twice', '{"userId":"u","event":"x","userId":"v"}', { userId: 'v', event: 'x' }],
    [
      'a __proto__ key was dropped',
      '{"userId":"u","event":"x","__proto__":{"a":1}}',
      { userId: 'u', event: 'x' },
    ],
  ])('serialises the call when %s', (_name, text, kept) => {
    const { body, scan } = parseJsonBodyScanned(Buffer.from(text));
    expect(scan.root).toBeDefined();
    const message = accepted(validateMessage(body, 'track', scan.root));
    expect(message.sizeBytes).toBe(Buffer.byteLength(JSON.stringify(kept)));
  });

  it.each([
    ['written compactly', undefined],
    ['pretty-printed', 2],
  ])('accepts a batch event of exactly 32 KB and refuses one byte more, %s', (_name, indent) => {
    const batch = [batchItemOfSize(MAX_EVENT_BYTES), batchItemOfSize(MAX_EVENT_BYTES + 1)];
    const { body, scan } = parseJsonBodyScanned(Buffer.from(JSON.stringify({ batch }, null, indent)));
    const read = readBatchEnvelope(body, scan.batch);
    if (!read.ok) throw read.error;
    const { items, itemTexts } = read.envelope;
    expect(itemTexts?.[0]).toEqual(indent === undefined ? expect.anything() : undefined);
    expect(accepted(validateBatchItem(items[0], itemTexts?.[0])).sizeBytes).toBe(MAX_EVENT_BYTES);
    const error = refused(validateBatchItem(items[1], itemTexts?.[1]));
    expect(error.code).toBe('event_too_large');
    expect(error.details).toEqual({ size: MAX_EVENT_BYTES + 1, limit: MAX_EVENT_BYTES });
  });

  it('gives the same answer with or without the scanned text, for any call', () => {
    const field = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string(), fc.integer(), fc.double());
    const call = fc.record(
      {
        type: fc.oneof(fc.constantFrom(...CALL_TYPES), field),
        userId: field,
        anonymousId: field,
        messageId: field,
        event: field,
        timestamp: field,
        properties: field,
        context: field,
        traits: field,
        groupId: field,
        previousId: field,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(call, { maxLength: 5 }), fc.constantFrom(undefined, 1), (batch, indent) => {
        const { body, scan } = parseJsonBodyScanned(Buffer.from(JSON.stringify({ batch }, null, indent)));
        const read = readBatchEnvelope(body, scan.batch);
        if (!read.ok) throw read.error;
        const { items, itemTexts } = read.envelope;
        items.forEach((item, index) => {
          expect(comparable(validateBatchItem(item, itemTexts?.[index]))).toEqual(
            comparable(validateBatchItem(item)),
          );
        });
      }),
    );
  });
});

describe('validateMessage: times', () => {
  it.each([
    ['2024-05-01T08:30:00.000Z', Date.UTC(2024, 4, 1, 8, 30)],
    ['2024-05-01T16:30:00+08:00', Date.UTC(2024, 4, 1, 8, 30)],
    ['2024-05-01T16:30:00+0800', Date.UTC(2024, 4, 1, 8, 30)],
    ['2024-05-01T03:30-05:00', Date.UTC(2024, 4, 1, 8, 30)],
    ['2024-05-01 08:30:00', Date.UTC(2024, 4, 1, 8, 30)],
    ['2024-05-01', Date.UTC(2024, 4, 1)],
    ['2024-05-01T08:30:00.123456Z', Date.UTC(2024, 4, 1, 8, 30, 0, 123)],
    ['2024-05-01T08:30:00.5Z', Date.UTC(2024, 4, 1, 8, 30, 0, 500)],
    ['2015-2-02T00:30:08.276Z', Date.UTC(2015, 1, 2, 0, 30, 8, 276)], // as in Segment's batch example
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29T00:00:00.000Z', Date.UTC(2000, 1, 29)],
    ['2024-12-31T23:59:59.999Z', Date.UTC(2024, 11, 31, 23, 59, 59, 999)],
    ['0050-01-01T00:00:00Z', -60589296000000],
    [1714552200000, 1714552200000],
    [0, 0],
  ])('reads %j as %i ms', (text, ms) => {
    expect(parseTimestamp(text)).toBe(ms);
  });

  it.each([
    ['yesterday'],
    ['2024-13-01T00:00:00Z'],
    ['2023-02-29T00:00:00Z'],
    ['2024-05-01T24:00:00Z'],
    ['2024-05-01T08:60:00Z'],
    ['2024-05-01T08:30:60.000Z'],
    ['1900-02-29T00:00:00.000Z'],
    ['2024-04-31T00:00:00.000Z'],
    ['2024-05-01T08:30:00.00xZ'],
    ['2024-05-01T08:30:00+25:00'],
    ['1714552200'],
    [''],
    [`2024-05-01T08:30:00Z${' '.repeat(100)}`],
    [Number.NaN],
    [1e20],
    [true],
    [{}],
  ])('does not read %j as a time', (value) => {
    expect(parseTimestamp(value)).toBeUndefined();
  });

  it('reads any toISOString time, with or without milliseconds', () => {
    const date = fc.date({
      min: new Date('0000-01-01T00:00:00.000Z'),
      max: new Date('9999-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    });
    fc.assert(
      fc.property(date, (value) => {
        const text = value.toISOString();
        expect(parseTimestamp(text)).toBe(value.getTime());
        expect(parseTimestamp(text.replace(/\.\d{3}Z$/, 'Z'))).toBe(
          value.getTime() - value.getUTCMilliseconds(),
        );
      }),
    );
  });

  it('reads the toISOString shape as the general ISO 8601 reader does, valid or not', () => {
    // With "+00:00" instead of "Z", the same time takes the general path.
    const usual = fc.stringMatching(/^\d{4}-(0\d|1[0-3])-[0-3]\d[T](\d{2}:){2}\d{2}(\.\d{3})?Z$/);
    fc.assert(
      fc.property(usual, (text) => {
        expect(parseTimestamp(text)).toBe(parseTimestamp(`${text.slice(0, -1)}+00:00`));
      }),
    );
  });

  it.each(['timestamp', 'originalTimestamp', 'sentAt'])(
    'answers invalid_timestamp naming %s and the value sent',
    (field) => {
      const error = refused(validateMessage({ userId: 'u', event: 'x', [field]: 'last Tuesday' }, 'track'));
      expect(error.code).toBe('invalid_timestamp');
      expect(error.details).toEqual({ field, value: '"last Tuesday"' });
      expect(error.message).toBe(`Field "${field}" is not a parseable time: "last Tuesday"`);
    },
  );

  it('keeps the three client times as UTC milliseconds', () => {
    const message = accepted(
      validateMessage(
        {
          userId: 'u',
          event: 'x',
          timestamp: '2024-05-01T08:30:00Z',
          originalTimestamp: 1714552200000,
          sentAt: '2024-05-01T08:30:05Z',
        },
        'track',
      ),
    );
    expect(message).toMatchObject({
      timestamp: 1714552200000,
      originalTimestamp: 1714552200000,
      sentAt: 1714552205000,
    });
  });
});

describe('validateMessage: hostile keys', () => {
  it('drops __proto__ keys at every level and leaves Object.prototype alone', () => {
    const raw = JSON.parse(
      '{"userId":"u","event":"x","__proto__":{"polluted":1},"properties":{"a":{"__proto__":{"polluted":2}},"b":1}}',
    );
    const message = accepted(validateMessage(raw, 'track'));
    expect(Object.hasOwn(message, '__proto__')).toBe(false);
    expect(message.type === 'track' && message.properties).toEqual({ a: {}, b: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('returns the same object when there is no __proto__ key to drop', () => {
    const value = { a: { b: [1, { c: 2 }] } };
    expect(withoutProtoKeys(value)).toBe(value);
  });
});

describe('validateBatchItem', () => {
  it.each(CALL_TYPES.map((type) => [type]))('lets the item type %s decide', (type) => {
    const item = {
      type,
      userId: 'u1',
      event: 'x',
      groupId: 'g',
      previousId: 'p',
    };
    expect(accepted(validateBatchItem(item)).type).toBe(type);
  });

  it.each([
    [{ userId: 'u' }, '(missing)'],
    [{ userId: 'u', type: '' }, '(missing)'],
    [{ userId: 'u', type: 'purchase' }, 'purchase'],
    [{ userId: 'u', type: 'TRACK' }, 'TRACK'],
    [{ userId: 'u', type: 3 }, '3'],
  ])('answers unknown_type for %j', (item, value) => {
    const error = refused(validateBatchItem(item));
    expect(error.code).toBe('unknown_type');
    expect(error.details.value).toBe(value);
    expect(error.zh).toContain(value === '(missing)' ? '"（缺失）"' : `"${value}"`);
  });

  it.each([['a string'], [null], [[1, 2]], [7]])(
    'refuses the non-object item %j with invalid_field',
    (item) => {
      const error = refused(validateBatchItem(item));
      expect(error.code).toBe('invalid_field');
      expect(error.details.field).toBe('batch');
      expect(error.zh).toContain('每个事件都必须是 JSON 对象，而不是');
      expect(error.zh).not.toContain('must be');
    },
  );
});

describe('readBatchEnvelope', () => {
  it('returns the items, the batch context and the batch sentAt', () => {
    const result = readBatchEnvelope({
      batch: [{ type: 'track' }],
      context: { device: { type: 'phone' } },
      sentAt: '2024-05-01T08:30:00Z',
      writeKey: 'k',
    });
    expect(result).toEqual({
      ok: true,
      envelope: {
        items: [{ type: 'track' }],
        context: { device: { type: 'phone' } },
        sentAt: Date.UTC(2024, 4, 1, 8, 30),
      },
    });
  });

  it.each([
    [{}, 'batch_not_array'],
    [{ batch: { type: 'track' } }, 'batch_not_array'],
    [{ batch: 'x' }, 'batch_not_array'],
    [{ batch: new Array(MAX_BATCH_EVENTS + 1).fill({}) }, 'batch_too_many_events'],
    [{ batch: [], context: [1] }, 'invalid_field'],
    [{ batch: [], sentAt: 'soon' }, 'invalid_timestamp'],
    [{ batch: [], context: nested(MAX_DEPTH) }, 'too_deep'],
  ])('refuses the whole batch %#: %s', (body, code) => {
    expect(refused(readBatchEnvelope(body)).code).toBe(code);
  });

  it('accepts exactly 2,500 events and reports the count of a larger batch', () => {
    expect(readBatchEnvelope({ batch: new Array(MAX_BATCH_EVENTS).fill({}) }).ok).toBe(true);
    const error = refused(readBatchEnvelope({ batch: new Array(2501).fill({}) }));
    expect(error.details).toEqual({ count: 2501, limit: 2500 });
  });

  it('passes on the scanned texts of the items only when the scan saw as many items', () => {
    const texts = { length: 2, items: [{ bytes: 2, keyCount: 0 }, undefined] };
    const read = readBatchEnvelope({ batch: [{}, 1] }, texts);
    expect(read.ok && read.envelope.itemTexts).toEqual(texts.items);
    const miscounted = readBatchEnvelope({ batch: [{}, 1] }, { ...texts, length: 3 });
    expect(miscounted.ok && miscounted.envelope.itemTexts).toBeUndefined();
  });

  it('drops __proto__ keys from the batch context', () => {
    const result = readBatchEnvelope(
      JSON.parse('{"batch":[],"context":{"__proto__":{"x":1},"ip":"1.2.3.4"}}'),
    );
    expect(result.ok && result.envelope.context).toEqual({ ip: '1.2.3.4' });
  });
});

describe('validateMessage never throws', () => {
  it('on any JSON value, for any call type', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(...CALL_TYPES), (value, type) => {
        validateMessage(value, type);
        validateBatchItem(value);
      }),
    );
  });

  it('on objects shaped like calls with arbitrary field values', () => {
    const field = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string(), fc.integer(), fc.double());
    const call = fc.record(
      {
        type: fc.oneof(fc.constantFrom(...CALL_TYPES), field),
        userId: field,
        anonymousId: field,
        messageId: field,
        event: field,
        timestamp: field,
        sentAt: field,
        properties: field,
        context: field,
        traits: field,
        groupId: field,
        previousId: field,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(call, (value) => {
        const result = validateBatchItem(value);
        if (result.ok) expect(result.message.userId ?? result.message.anonymousId).toBeTruthy();
      }),
    );
  });
});
