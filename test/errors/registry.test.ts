import { describe, expect, it } from 'vitest';
import { detailOf, detailText, ERRORS, errorMessage, PulseloopError } from '../../src/errors/registry.js';

// A Chinese message may name a detail's Chinese text directly (`{reason_zh}`).
const placeholders = (text: string) =>
  [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!.replace(/_zh$/, '')).sort();

describe('error registry', () => {
  it('gives every code a message in both languages with the same placeholders', () => {
    for (const [code, entry] of Object.entries(ERRORS)) {
      expect(entry.en.trim(), code).not.toBe('');
      expect(entry.zh, code).toMatch(/[\u4e00-\u9fff]/);
      expect(placeholders(entry.zh), code).toEqual(placeholders(entry.en));
    }
  });

  it('fills a free-text detail in the language of each message', () => {
    const error = new PulseloopError(
      'invalid_request',
      detailText('--scale must be a positive number.', '--scale 必须是正数。'),
    );
    expect(error.message).toBe('Invalid request: --scale must be a positive number.');
    expect(error.zh).toBe('请求无效：--scale 必须是正数。');
    expect(error.toJSON().error).toMatchObject({
      message: error.message,
      message_zh: error.zh,
      details: { detail: '--scale must be a positive number.', detail_zh: '--scale 必须是正数。' },
    });
    expect(errorMessage('invalid_request', error.details, 'zh')).toBe(error.zh);
  });

  it('falls back to the detail as given where there is no Chinese text (quoted from elsewhere)', () => {
    const error = new PulseloopError('invalid_json', { detail: 'Unexpected token } in JSON at position 7' });
    expect(error.zh).toBe('请求体不是有效的 JSON：Unexpected token } in JSON at position 7');
  });

  it('writes a Chinese platform name next to 接口 without a space', () => {
    const named = {
      platform: 'Douyin',
      platform_zh: '抖音',
      instance: 'i',
      code: 1,
      attempts: 3,
      field: 'f',
      detail: 'd',
    };
    for (const code of [
      'connector_bad_credentials',
      'connector_api_error',
      'connector_retries_exhausted',
      'connector_row_invalid',
    ] as const) {
      expect(errorMessage(code, named, 'zh'), code).toMatch(/^抖音接口/);
      expect(errorMessage(code, named, 'en'), code).toContain('The Douyin API');
    }
  });

  it('carries both languages of a detail into another error', () => {
    const inner = new PulseloopError('invalid_query', { field: 'limit', ...detailText('too large', '过大') });
    const outer = new PulseloopError('invalid_request', detailOf(inner.details));
    expect(outer.message).toBe('Invalid request: too large');
    expect(outer.zh).toBe('请求无效：过大');
    expect(detailOf({ detail: 'plain' })).toEqual({ detail: 'plain' });
  });
});
