import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_QUARANTINE_RAW_BYTES } from '../../../src/collect/segment/limits.js';
import { capText, toQuarantineRow } from '../../../src/collect/segment/quarantine.js';
import { PulseloopError } from '../../../src/errors/registry.js';

const env = { projectId: 'p1', sourceId: 's1', receivedAt: 1714550000000, origin: 'http' as const };

describe('toQuarantineRow', () => {
  it('keeps the reason in both languages, its code, the field and the raw event as JSON text', () => {
    const error = new PulseloopError('invalid_field', {
      field: 'event',
      detail: 'must not be empty',
      detail_zh: '不能为空',
    });
    const raw = { type: 'track', userId: 'u1', event: '' };
    const row = toQuarantineRow(error, raw, { ...env, rowNumber: 3 });
    expect(row).toEqual({
      project_id: 'p1',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      received_at: 1714550000000,
      origin: 'http',
      source_id: 's1',
      reason_code: 'invalid_field',
      reason: 'Field "event" is invalid: must not be empty',
      reason_zh: '字段 "event" 无效：不能为空',
      field: 'event',
      row_number: 3,
      raw: '{"type":"track","userId":"u1","event":""}',
    });
  });

  it('leaves field empty and row_number 0 when they do not apply', () => {
    const row = toQuarantineRow(new PulseloopError('missing_id'), { event: 'x' }, env);
    expect(row).toMatchObject({
      field: '',
      row_number: 0,
      reason: 'The event needs a userId or an anonymousId.',
    });
  });

  it('keeps a body that is not JSON as its text', () => {
    const error = new PulseloopError('invalid_json', { detail: 'Unexpected token' });
    expect(toQuarantineRow(error, Buffer.from('{"a":'), env).raw).toBe('{"a":');
    expect(toQuarantineRow(error, 'plain text', env).raw).toBe('plain text');
  });

  it('gives every row its own id', () => {
    const error = new PulseloopError('missing_id');
    expect(toQuarantineRow(error, {}, env).id).not.toBe(toQuarantineRow(error, {}, env).id);
  });

  it('caps the raw payload at 64 KiB with a marker saying how large it was', () => {
    const raw = { userId: 'u', properties: { text: 'x'.repeat(200_000) } };
    const row = toQuarantineRow(new PulseloopError('event_too_large', { size: 1, limit: 1 }), raw, env);
    expect(Buffer.byteLength(row.raw)).toBeLessThanOrEqual(MAX_QUARANTINE_RAW_BYTES);
    expect(row.raw.startsWith('{"userId":"u","properties":{"text":"xxx')).toBe(true);
    expect(row.raw.endsWith(`…[truncated: ${JSON.stringify(raw).length} bytes in all]`)).toBe(true);
  });

  it('does not throw on a value too deep to serialise', () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const row = toQuarantineRow(new PulseloopError('too_deep', { limit: 32 }), deep, env);
    expect(row.raw).toMatch(/^\[not serialisable: /);
  });
});

describe('capText', () => {
  it('leaves text within the limit alone', () => {
    expect(capText('short', 10)).toBe('short');
    expect(capText('exactly10!', 10)).toBe('exactly10!');
  });

  it('never cuts a character in half and never passes the limit', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.integer({ min: 40, max: 400 }),
        (text, limit) => {
          const capped = capText(text, limit);
          if (Buffer.byteLength(text) <= limit) {
            expect(capped).toBe(text);
          } else {
            expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(limit);
            expect(text.startsWith(capped.slice(0, capped.lastIndexOf('…[truncated: ')))).toBe(true);
          }
        },
      ),
    );
  });
});
