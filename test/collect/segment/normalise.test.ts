import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  browserOf,
  CHANNELS,
  type Channel,
  type ChannelInput,
  checkEventTime,
  deriveChannel,
  eventTime,
  type NormaliseEnv,
  PLATFORMS,
  type PlatformInput,
  platformOf,
  revenueOf,
  toEventRow,
  withoutPaths,
} from '../../../src/collect/segment/normalise.js';
import {
  CALL_TYPES,
  type CallType,
  type SegmentMessage,
  validateMessage,
} from '../../../src/collect/segment/validate.js';
import type { EventRow } from '../../../src/store/facts/rows.js';
import { MAX_STORED_AMOUNT } from '../../../src/store/facts/rows.js';

const RECEIVED_AT = Date.UTC(2024, 4, 1, 8, 0, 10); // 2024-05-01T08:00:10Z
const HOUR = 3_600_000;

const env: NormaliseEnv = { projectId: 'p1', sourceId: 's1', receivedAt: RECEIVED_AT, ip: '10.0.0.1' };

function message(raw: Record<string, unknown>, callType: CallType = 'track'): SegmentMessage {
  const result = validateMessage({ userId: 'u1', event: 'Clicked', ...raw }, callType);
  if (!result.ok) throw new Error(`fixture is invalid: ${result.error.message}`);
  return result.message;
}

function row(
  raw: Record<string, unknown>,
  callType: CallType = 'track',
  extra: Partial<NormaliseEnv> = {},
): EventRow {
  const result = toEventRow(message(raw, callType), { ...env, ...extra });
  if (!result.ok) throw new Error(`expected a row, got ${result.error.code}: ${result.error.message}`);
  return result.row;
}

describe('clock-skew correction', () => {
  it.each([
    [
      'a device clock 5 minutes fast is corrected by sentAt',
      { originalTimestamp: '2024-05-01T08:05:00Z', sentAt: '2024-05-01T08:05:10Z' },
      '2024-05-01T08:00:00.000Z',
    ],
    [
      'a device clock 1 hour slow is corrected by sentAt',
      { timestamp: '2024-05-01T06:59:30Z', sentAt: '2024-05-01T07:00:00Z' },
      '2024-05-01T07:59:40.000Z',
    ],
    [
      'originalTimestamp is preferred to timestamp when correcting',
      {
        timestamp: '2020-01-01T00:00:00Z',
        originalTimestamp: '2024-05-01T08:00:05Z',
        sentAt: '2024-05-01T08:00:10Z',
      },
      '2024-05-01T08:00:05.000Z',
    ],
    [
      'an event queued offline for a day keeps its age',
      { timestamp: '2024-04-30T08:00:00Z', sentAt: '2024-05-01T08:00:00Z' },
      '2024-04-30T08:00:10.000Z',
    ],
    [
      'without sentAt the timestamp is taken as sent (historical import)',
      { timestamp: '2023-01-15T12:00:00+08:00' },
      '2023-01-15T04:00:00.000Z',
    ],
    [
      'without sentAt or timestamp, originalTimestamp is taken as sent',
      { originalTimestamp: 1714550000000 },
      new Date(1714550000000).toISOString(),
    ],
    ['with no time at all, the time of receipt is used', {}, '2024-05-01T08:00:10.000Z'],
    [
      'sentAt alone does not move the time of receipt',
      { sentAt: '2024-05-01T09:00:00Z' },
      '2024-05-01T08:00:10.000Z',
    ],
  ])('%s', (_name, times, expected) => {
    expect(new Date(row(times).timestamp).toISOString()).toBe(expected);
  });

  it('uses the batch sentAt for events that carry none, but an event sentAt wins', () => {
    const batchSentAt = Date.UTC(2024, 4, 1, 8, 5, 10);
    const own = row({ originalTimestamp: '2024-05-01T08:05:00Z' }, 'track', { batchSentAt });
    expect(own.timestamp).toBe(Date.UTC(2024, 4, 1, 8, 0, 0));
    const wins = row({ originalTimestamp: '2024-05-01T08:05:00Z', sentAt: '2024-05-01T08:05:00Z' }, 'track', {
      batchSentAt,
    });
    expect(wins.timestamp).toBe(RECEIVED_AT);
  });

  it('computes receivedAt − (sentAt − originalTimestamp) exactly', () => {
    expect(eventTime({ originalTimestamp: 1_000, sentAt: 5_000 }, 100_000)).toEqual({
      ms: 96_000,
      field: 'originalTimestamp',
    });
    expect(eventTime({ timestamp: 7_000, sentAt: 5_000 }, 100_000)).toEqual({
      ms: 102_000,
      field: 'timestamp',
    });
  });

  it('accepts a corrected time up to 24 hours ahead and refuses one millisecond more', () => {
    const limit = RECEIVED_AT + 24 * HOUR;
    expect(checkEventTime({ ms: limit, field: 'timestamp' }, RECEIVED_AT)).toBeUndefined();
    const error = checkEventTime({ ms: limit + 1, field: 'timestamp' }, RECEIVED_AT);
    expect(error?.code).toBe('future_timestamp');
    expect(error?.message).toBe(
      'Field "timestamp" lies more than 24 hours in the future after clock-skew correction.',
    );
  });

  it.each([
    ['a far-future timestamp', { timestamp: '2099-01-01T00:00:00Z' }, 'future_timestamp', 'timestamp'],
    [
      'a far-future originalTimestamp even after correction',
      { originalTimestamp: '2030-01-01T00:00:00Z', sentAt: '2024-05-01T08:00:10Z' },
      'future_timestamp',
      'originalTimestamp',
    ],
    ['an ancient timestamp', { timestamp: '1999-12-31T23:59:59Z' }, 'invalid_timestamp', 'timestamp'],
    ['epoch seconds sent as milliseconds', { timestamp: 1714550000 }, 'invalid_timestamp', 'timestamp'],
    ['a year-0050 timestamp', { timestamp: '0050-01-01T00:00:00Z' }, 'invalid_timestamp', 'timestamp'],
  ])('refuses %s', (_name, times, code, field) => {
    const result = toEventRow(message(times), env);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe(code);
      expect(result.error.details.field).toBe(field);
    }
  });

  it('accepts 2000-01-01T00:00:00Z itself', () => {
    expect(row({ timestamp: '2000-01-01T00:00:00Z' }).timestamp).toBe(Date.UTC(2000, 0, 1));
  });

  it('explains an ancient time in words', () => {
    const result = toEventRow(message({ timestamp: 1714550000 }), env);
    expect(!result.ok && result.error.message).toBe(
      'Field "timestamp" is not a parseable time: 1970-01-20T20:15:50.000Z (before 2000-01-01; epoch numbers are read as milliseconds)',
    );
  });

  it('refuses, without throwing, a correction that lands outside what a Date can hold', () => {
    const result = toEventRow(message({ originalTimestamp: -8.64e15, sentAt: 8.64e15 }), env);
    expect(!result.ok && result.error.code).toBe('invalid_timestamp');
  });
});

describe('event names, ids and properties', () => {
  it.each([
    ['track', { event: 'Order Completed' }, 'Order Completed'],
    ['page', {}, '$pageview'],
    ['screen', {}, '$screen'],
    ['identify', {}, '$identify'],
    ['group', { groupId: 'g1' }, '$group'],
    ['alias', { previousId: 'a0' }, '$alias'],
  ] as const)('names a %s call %s', (callType, fields, name) => {
    const r = row(fields, callType);
    expect(r.event).toBe(name);
    expect(r.type).toBe(callType);
  });

  it.each([
    [
      { userId: 'u1', anonymousId: 'a1' },
      { distinct_id: 'u1', user_id: 'u1', anonymous_id: 'a1' },
    ],
    [
      { userId: undefined, anonymousId: 'a1' },
      { distinct_id: 'a1', user_id: '', anonymous_id: 'a1' },
    ],
    [{ userId: 12345 }, { distinct_id: '12345', user_id: '12345', anonymous_id: '' }],
  ])('takes the distinct id from %j', (ids, expected) => {
    expect(row(ids)).toMatchObject(expected);
  });

  it('fills the row from the environment', () => {
    const r = row({ messageId: 'm1' }, 'track', { personId: 'person-9' });
    expect(r).toMatchObject({
      project_id: 'p1',
      source_id: 's1',
      message_id: 'm1',
      received_at: RECEIVED_AT,
      person_id: 'person-9',
    });
    expect(row({}).person_id).toBe('');
  });

  it.each([
    ['track', { properties: { plan: 'pro' } }, { plan: 'pro' }],
    [
      'page',
      { name: 'Home', category: 'Shop', properties: { url: 'https://a.cn/' } },
      { url: 'https://a.cn/', name: 'Home', category: 'Shop' },
    ],
    ['page', { name: 'Home', properties: { name: 'Sent name' } }, { name: 'Sent name' }],
    ['screen', { name: 'Feed' }, { name: 'Feed' }],
    ['identify', { traits: { email: 'a@b.cn' } }, { email: 'a@b.cn' }],
    ['group', { groupId: 'g1', traits: { industry: 'retail' } }, { industry: 'retail', $group_id: 'g1' }],
    ['alias', { previousId: 'anon-1' }, { $previous_id: 'anon-1' }],
  ] as const)('stores the properties of a %s call %j as %j', (callType, fields, expected) => {
    expect(JSON.parse(row(fields, callType).properties)).toEqual(expected);
  });

  it('keeps huge string values as sent', () => {
    const text = '长'.repeat(10_000);
    expect(JSON.parse(row({ properties: { text } }).properties).text).toBe(text);
  });
});

describe('context columns', () => {
  const fullContext = {
    ip: '8.8.8.8',
    userAgent:
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Mobile/15E148 Safari/604.1',
    locale: 'zh-CN',
    timezone: 'Asia/Shanghai',
    campaign: {
      name: 'spring',
      source: 'douyin',
      medium: 'cpc',
      content: 'video-a',
      term: 'shoes',
      id: 'c-7',
      custom: 'kept',
    },
    page: {
      url: 'https://shop.example.cn/p/1?x=1',
      path: '/p/1',
      referrer: 'https://www.douyin.com/video/1',
      title: 'P1',
    },
    app: { name: 'Shop', version: 545, build: '3.0.1' },
    device: { type: 'ios', model: 'iPhone15,2' },
    os: { name: 'iOS', version: '17.0' },
    location: { country: 'China', region: 'Zhejiang', city: 'Hangzhou', latitude: 30.2 },
    sessionId: 1714550000,
    library: { name: 'analytics-ios', version: '4.1' },
  };

  it('promotes the known context fields to columns', () => {
    expect(row({ context: fullContext })).toMatchObject({
      ip: '8.8.8.8',
      user_agent: fullContext.userAgent,
      locale: 'zh-CN',
      utm_source: 'douyin',
      utm_medium: 'cpc',
      utm_campaign: 'spring',
      utm_content: 'video-a',
      utm_term: 'shoes',
      campaign_id: 'c-7',
      page_url: 'https://shop.example.cn/p/1?x=1',
      page_path: '/p/1',
      referrer: 'https://www.douyin.com/video/1',
      app_version: '545',
      device_type: 'ios',
      os: 'iOS',
      browser: 'safari',
      country: 'China',
      region: 'Zhejiang',
      city: 'Hangzhou',
      session_id: '1714550000',
      platform: 'app',
      channel: 'paid_social',
    });
  });

  it('stores the context minus what went to columns', () => {
    expect(JSON.parse(row({ context: fullContext }).context)).toEqual({
      timezone: 'Asia/Shanghai',
      campaign: { custom: 'kept' },
      page: { title: 'P1' },
      app: { name: 'Shop', build: '3.0.1' },
      device: { model: 'iPhone15,2' },
      os: { version: '17.0' },
      location: { latitude: 30.2 },
      library: { name: 'analytics-ios', version: '4.1' },
    });
  });

  it('leaves fields of the wrong type in the stored context', () => {
    const r = row({ context: { ip: { v4: '1.2.3.4' }, locale: true } });
    expect(r.ip).toBe('10.0.0.1');
    expect(r.locale).toBe('');
    expect(JSON.parse(r.context)).toEqual({ ip: { v4: '1.2.3.4' }, locale: true });
  });

  it.each([
    [{ ip: '1.1.1.1' }, '1.1.1.1'],
    [{ ip: '' }, '10.0.0.1'],
    [{}, '10.0.0.1'],
  ])('takes ip from context %j over the request address', (context, ip) => {
    expect(row({ context }).ip).toBe(ip);
  });

  it('stores an empty context as {}', () => {
    expect(row({}).context).toBe('{}');
  });

  it('takes session_id from context, else properties.$session_id or session_id', () => {
    expect(row({ context: { sessionId: 's-ctx' }, properties: { $session_id: 's-p' } }).session_id).toBe(
      's-ctx',
    );
    expect(row({ properties: { $session_id: 's-p', session_id: 's-q' } }).session_id).toBe('s-p');
    expect(row({ properties: { session_id: 's-q' } }).session_id).toBe('s-q');
  });

  it('takes page fields of a page call from its properties first', () => {
    const r = row(
      {
        properties: { url: 'https://a.cn/list?page=2', referrer: 'https://www.baidu.com/s?wd=x' },
        context: { page: { url: 'https://a.cn/old', referrer: 'https://old.cn/' } },
      },
      'page',
    );
    expect(r).toMatchObject({
      page_url: 'https://a.cn/list?page=2',
      page_path: '/list',
      referrer: 'https://www.baidu.com/s?wd=x',
      channel: 'organic_search',
    });
    expect(JSON.parse(r.context)).toEqual({ page: { url: 'https://a.cn/old', referrer: 'https://old.cn/' } });
  });

  it('falls back to context.referrer.url for the referrer', () => {
    expect(row({ context: { referrer: { type: 'link', url: 'https://weibo.com/1' } } }).referrer).toBe(
      'https://weibo.com/1',
    );
  });
});

describe('batch context', () => {
  it('is merged into each event, the event winning, field by field', () => {
    const batchContext = {
      device: { type: 'phone', name: 'Apple iPhone 6' },
      locale: 'en-US',
      ip: '2.2.2.2',
    };
    const r = row({ context: { device: { type: 'tablet' }, locale: 'zh-CN' } }, 'track', { batchContext });
    expect(r).toMatchObject({ device_type: 'tablet', locale: 'zh-CN', ip: '2.2.2.2' });
    expect(JSON.parse(r.context)).toEqual({ device: { name: 'Apple iPhone 6' } });
    expect(batchContext.device.type).toBe('phone');
  });

  it('cannot pollute prototypes through __proto__ or constructor keys', () => {
    const batchContext = JSON.parse(
      '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}',
    );
    const r = row({ context: JSON.parse('{"__proto__":{"polluted":3}}') }, 'track', { batchContext });
    expect(JSON.parse(r.context)).toEqual({ constructor: { prototype: { polluted: 2 } } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('UTM parameters', () => {
  it('are read from the page URL when context.campaign is absent', () => {
    const url =
      'https://shop.cn/p?utm_source=xiaohongshu&utm_medium=kol&utm_campaign=618&utm_content=note-3&utm_term=%E9%9E%8B';
    expect(row({ context: { page: { url } } })).toMatchObject({
      utm_source: 'xiaohongshu',
      utm_medium: 'kol',
      utm_campaign: '618',
      utm_content: 'note-3',
      utm_term: '鞋',
      channel: 'kol',
    });
  });

  it('are read from a page call URL in its properties, even a relative one', () => {
    expect(row({ properties: { url: '/p?utm_source=baidu&utm_medium=cpc' } }, 'page')).toMatchObject({
      utm_source: 'baidu',
      utm_medium: 'cpc',
      channel: 'paid_search',
      page_path: '',
    });
  });

  it('come only from context.campaign when it is given', () => {
    const r = row({
      context: { campaign: { source: 'email' }, page: { url: 'https://a.cn/?utm_medium=cpc' } },
    });
    expect(r).toMatchObject({ utm_source: 'email', utm_medium: '', channel: 'email' });
  });

  it('are empty when nothing carries them', () => {
    expect(row({ context: { page: { url: 'not a url at all %%' } } })).toMatchObject({
      utm_source: '',
      utm_campaign: '',
    });
  });
});

describe('marketing ids and revenue', () => {
  it.each([
    [{ properties: { campaign_id: 'c1' }, context: { campaign: { id: 'c2' } } }, 'c1'],
    [{ context: { campaign: { id: 'c2' } } }, 'c2'],
    [{ properties: { campaign_id: 88 } }, '88'],
  ])('takes campaign_id from %j', (fields, id) => {
    expect(row(fields).campaign_id).toBe(id);
  });

  it.each([
    [{ content_id: 'v1', video_id: 'v2' }, 'v1'],
    [{ video_id: 'v2', post_id: 'p3' }, 'v2'],
    [{ post_id: 'p3' }, 'p3'],
    [{}, ''],
  ])('takes content_id from properties %j', (properties, id) => {
    expect(row({ properties }).content_id).toBe(id);
  });

  it.each([
    [
      { properties: { sharer_id: 'sh1' }, context: { page: { url: 'https://a.cn/?share_from=sh2' } } },
      'sh1',
      'share',
    ],
    [{ context: { page: { url: 'https://a.cn/?share_from=sh2' } } }, 'sh2', 'share'],
    [{ context: { page: { url: 'https://a.cn/?sharer=sh3' } } }, 'sh3', 'share'],
    [{}, '', 'direct'],
  ])('takes sharer_id from %j', (fields, sharer, channel) => {
    expect(row(fields)).toMatchObject({ sharer_id: sharer, channel });
  });

  it.each([
    ['Order Completed', { revenue: 14.99 }, 14.99],
    ['Order Completed', { revenue: '14.99' }, 14.99],
    ['Order Completed', { total: 30, value: 20 }, 30],
    ['order_paid', { value: 20 }, 20],
    ['支付成功', { total: '99.5' }, 99.5],
    ['Product Viewed', { total: 30, value: 20 }, 0],
    ['Product Viewed', { revenue: 5 }, 5],
    ['Order Completed', { revenue: '¥1,234' }, 0],
    ['Order Completed', {}, 0],
  ])('reads revenue of %s with %j as %d', (event, properties, revenue) => {
    expect(revenueOf(event, properties)).toBe(revenue);
    expect(row({ event, properties }).revenue).toBe(revenue);
  });

  it.each([
    [{ currency: 'cny' }, 'CNY'],
    [{ currency: ' usd ' }, 'USD'],
    [{ currency: 5 }, '5'],
    [{}, ''],
  ])('uppercases currency %j', (properties, currency) => {
    expect(row({ properties }).currency).toBe(currency);
  });
});

describe('platform', () => {
  const base: PlatformInput = { type: 'track', sent: '', libraryName: '', userAgent: '', hasApp: false };

  it.each([
    [{ sent: 'Douyin' }, 'douyin'],
    [{ sent: 'WECHAT_CHANNELS' }, 'wechat_channels'],
    [{ sent: 'mp-weixin' }, 'wechat_miniprogram'],
    [{ sent: 'weapp' }, 'wechat_miniprogram'],
    [{ sent: 'mp-toutiao' }, 'douyin_miniprogram'],
    [{ sent: 'xhs' }, 'xiaohongshu'],
    [{ sent: '小红书' }, 'xiaohongshu'],
    [{ sent: 'h5' }, 'web'],
    [{ sent: 'android' }, 'app'],
    [{ sent: 'myspace' }, 'other'],
    [{ libraryName: 'sensors-miniprogram-sdk' }, 'wechat_miniprogram'],
    [{ libraryName: 'douyin-miniprogram' }, 'douyin_miniprogram'],
    [{ userAgent: 'Mozilla/5.0 MicroMessenger/8.0 miniProgram' }, 'wechat_miniprogram'],
    [{ hasApp: true, userAgent: 'Mozilla/5.0' }, 'app'],
    [{ libraryName: 'analytics-android' }, 'app'],
    [{ type: 'screen' as const }, 'app'],
    [{ type: 'page' as const }, 'web'],
    [{ userAgent: 'Mozilla/5.0 (Windows NT 10.0) Chrome/120.0' }, 'web'],
    [{ libraryName: 'analytics-node-next' }, 'server'],
    [{ libraryName: 'analytics-python' }, 'server'],
    [{}, 'other'],
  ])('derives %j as %s', (input, platform) => {
    expect(platformOf({ ...base, ...input })).toBe(platform);
  });

  it('reads context.platform, then properties.platform, keeping an unknown one in context', () => {
    expect(row({ context: { platform: 'Kuaishou' }, properties: { platform: 'weibo' } }).platform).toBe(
      'kuaishou',
    );
    expect(row({ properties: { platform: 'bilibili' } }).platform).toBe('bilibili');
    const unknown = row({ context: { platform: 'myspace' } });
    expect(unknown.platform).toBe('other');
    expect(JSON.parse(unknown.context)).toEqual({ platform: 'myspace' });
  });

  it('always answers a platform from the allow-list', () => {
    fc.assert(
      fc.property(
        fc.record({
          type: fc.constantFrom(...CALL_TYPES),
          sent: fc.string(),
          libraryName: fc.string(),
          userAgent: fc.string(),
          hasApp: fc.boolean(),
        }),
        (input) => {
          expect(PLATFORMS).toContain(platformOf(input));
        },
      ),
    );
  });
});

describe('browser', () => {
  it.each([
    ['Mozilla/5.0 (iPhone) AppleWebKit Mobile MicroMessenger/8.0.40', 'wechat'],
    ['Mozilla/5.0 (Linux; Android 13) AppleWebKit aweme_27.0 BytedanceWebview/d8a21c6', 'douyin'],
    ['Mozilla/5.0 (Windows NT 10.0) AppleWebKit Chrome/120.0 Safari/537.36 Edg/120.0', 'edge'],
    ['Mozilla/5.0 (Windows NT 10.0) AppleWebKit Chrome/120.0 Safari/537.36', 'chrome'],
    ['Mozilla/5.0 (Macintosh) AppleWebKit Version/17.0 Safari/605.1.15', 'safari'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 'firefox'],
    ['curl/8.0', ''],
  ])('names %s as %j', (userAgent, browser) => {
    expect(browserOf(userAgent)).toBe(browser);
  });

  it('names a user agent the same way every time, however many others came between', () => {
    const wechat = 'Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47';
    expect(browserOf(wechat)).toBe('wechat');
    for (let n = 0; n < 2500; n++) browserOf(`Mozilla/5.0 Firefox/${n}`);
    expect(browserOf(wechat)).toBe('wechat');
    expect(browserOf('Mozilla/5.0 Firefox/7')).toBe('firefox');
  });

  it('names a user agent far longer than any real one', () => {
    const long = `Mozilla/5.0 ${'x'.repeat(10_000)} Chrome/120.0`;
    expect(browserOf(long)).toBe('chrome');
    expect(browserOf(long)).toBe('chrome');
  });
});

describe('channel', () => {
  const none: ChannelInput = { utmSource: '', utmMedium: '', referrer: '', pageUrl: '', sharerId: '' };

  it.each<[Partial<ChannelInput>, Channel]>([
    [{ utmSource: 'douyin', utmMedium: 'cpc' }, 'paid_social'],
    [{ utmSource: 'oceanengine', utmMedium: 'feed' }, 'paid_social'],
    [{ utmSource: 'gdt', utmMedium: 'cpm' }, 'paid_social'],
    [{ utmSource: 'facebook', utmMedium: 'paid' }, 'paid_social'],
    [{ utmSource: 'unknown-net', utmMedium: 'paid_social' }, 'paid_social'],
    [{ utmSource: 'baidu', utmMedium: 'cpc' }, 'paid_search'],
    [{ utmSource: 'google', utmMedium: 'ppc' }, 'paid_search'],
    [{ utmSource: 'newsletter-vendor', utmMedium: 'cpc' }, 'paid_search'],
    [{ utmSource: 'www.sogou.com', utmMedium: 'cpc' }, 'paid_search'],
    [{ utmSource: 'some-network', utmMedium: 'display' }, 'other'],
    [{ utmSource: 'xiaohongshu', utmMedium: 'social' }, 'organic_social'],
    [{ utmSource: 'weibo' }, 'organic_social'],
    [{ utmSource: 'bilibili', utmMedium: 'video' }, 'organic_social'],
    [{ utmSource: 'baidu', utmMedium: 'organic' }, 'organic_search'],
    [{ utmSource: 'so' }, 'organic_search'],
    [{ utmSource: 'newsletter', utmMedium: 'email' }, 'email'],
    [{ utmMedium: 'EDM' }, 'email'],
    [{ utmSource: 'aliyun', utmMedium: 'sms' }, 'sms'],
    [{ utmMedium: '短信' }, 'sms'],
    [{ utmSource: 'douyin', utmMedium: 'kol' }, 'kol'],
    [{ utmSource: 'xingtu', utmMedium: 'cpc' }, 'kol'],
    [{ utmSource: 'pugongying' }, 'kol'],
    [{ utmMedium: '达人' }, 'kol'],
    [{ utmSource: 'wechat', utmMedium: 'share' }, 'share'],
    [{ utmSource: 'partner-blog', utmMedium: 'referral' }, 'referral'],
    [{ utmSource: 'direct' }, 'direct'],
    [{ utmSource: 'offline-poster', utmMedium: 'qrcode' }, 'other'],
    [{ sharerId: 'u9' }, 'share'],
    [{ referrer: 'https://www.douyin.com/video/7' }, 'organic_social'],
    [{ referrer: 'https://v.kuaishou.com/abc' }, 'organic_social'],
    [{ referrer: 'https://www.xiaohongshu.com/explore/1' }, 'organic_social'],
    [{ referrer: 'https://xhslink.com/a' }, 'organic_social'],
    [{ referrer: 'https://weibo.com/u/1' }, 'organic_social'],
    [{ referrer: 'https://m.bilibili.com/video/BV1' }, 'organic_social'],
    [{ referrer: 'https://mp.weixin.qq.com/s/abc' }, 'organic_social'],
    [{ referrer: 'https://www.baidu.com/s?wd=shoes' }, 'organic_search'],
    [{ referrer: 'https://m.baidu.com/s?wd=shoes' }, 'organic_search'],
    [{ referrer: 'https://www.so.com/s?q=x' }, 'organic_search'],
    [{ referrer: 'https://www.sogou.com/web?query=x' }, 'organic_search'],
    [{ referrer: 'https://www.google.com.hk/' }, 'organic_search'],
    [{ referrer: 'https://mail.qq.com/cgi-bin/frame_html' }, 'email'],
    [{ referrer: 'https://mail.google.com/mail/u/0/' }, 'email'],
    [{ referrer: 'https://blog.example.org/post' }, 'referral'],
    [{ referrer: 'https://www.shop.cn/cart', pageUrl: 'https://shop.cn/checkout' }, 'direct'],
    [{ referrer: 'android-app://com.example.app' }, 'referral'],
    [{}, 'direct'],
    [{ utmSource: 'baidu', utmMedium: 'cpc', referrer: 'https://weibo.com/' }, 'paid_search'],
  ])('derives %j as %s', (input, channel) => {
    expect(deriveChannel({ ...none, ...input })).toBe(channel);
  });

  it('always answers a channel from the documented set', () => {
    fc.assert(
      fc.property(
        fc.record({
          utmSource: fc.string(),
          utmMedium: fc.string(),
          referrer: fc.oneof(fc.string(), fc.webUrl()),
          pageUrl: fc.oneof(fc.string(), fc.webUrl()),
          sharerId: fc.string(),
        }),
        (input) => {
          expect(CHANNELS).toContain(deriveChannel(input));
        },
      ),
    );
  });
});

describe('withoutPaths', () => {
  it.each([
    [{ a: 1, b: 2 }, [['a']], { b: 2 }],
    [{ a: { x: 1, y: 2 } }, [['a', 'x']], { a: { y: 2 } }],
    [{ a: { x: 1 } }, [['a', 'x']], {}],
    [{ a: 'text' }, [['a', 'x']], { a: 'text' }],
    [{ a: { x: { deep: 1 } }, b: 1 }, [['a', 'x', 'deep'], ['b']], {}],
    [{ a: 1 }, [], { a: 1 }],
  ])('removes from %j the paths %j', (object, paths, expected) => {
    expect(withoutPaths(object, paths)).toEqual(expected);
  });
});

describe('validate then normalise', () => {
  it('never throws on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(...CALL_TYPES), (value, type) => {
        const validated = validateMessage(value, type);
        if (validated.ok) toEventRow(validated.message, env);
      }),
    );
  });

  it('never throws and always fills every column with the right type', () => {
    const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string(), fc.webUrl());
    const context = fc.record(
      {
        ip: value,
        userAgent: value,
        platform: fc.oneof(fc.constantFrom(...PLATFORMS, 'mp-weixin', 'nope'), value),
        page: fc.record({ url: value, path: value, referrer: value }, { requiredKeys: [] }),
        campaign: fc.record({ source: value, medium: value, name: value, id: value }, { requiredKeys: [] }),
        app: value,
        location: value,
        sessionId: value,
        library: fc.record({ name: value }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    );
    const call = fc.record(
      {
        type: fc.constantFrom(...CALL_TYPES),
        userId: fc.oneof(fc.string({ minLength: 1 }), fc.integer()),
        event: fc.string({ minLength: 1 }),
        groupId: fc.string({ minLength: 1 }),
        previousId: fc.string({ minLength: 1 }),
        properties: fc.dictionary(
          fc.constantFrom('revenue', 'total', 'currency', 'url', 'session_id', 'platform', 'video_id', 'x'),
          value,
        ),
        traits: fc.dictionary(fc.string(), value),
        context,
        timestamp: fc.oneof(
          fc.integer({ min: -1e13, max: 1e13 }),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        ),
        sentAt: fc.integer({ min: 0, max: 2e12 }),
      },
      { requiredKeys: ['type', 'userId'] },
    );
    const batchContext = fc.option(
      fc.dictionary(fc.constantFrom('ip', 'locale', '__proto__', 'device'), value),
      {
        nil: undefined,
      },
    );
    fc.assert(
      fc.property(call, batchContext, (raw, batch) => {
        const validated = validateMessage(raw, raw.type);
        if (!validated.ok) return;
        const result = toEventRow(validated.message, { ...env, ...(batch ? { batchContext: batch } : {}) });
        if (!result.ok) {
          expect(['future_timestamp', 'invalid_timestamp', 'invalid_field']).toContain(result.error.code);
          // The only field normalising refuses: an amount the revenue column cannot hold.
          if (result.error.code === 'invalid_field')
            expect(result.error.message).toMatch(/^Field "properties\.(revenue|total|value)" is invalid: /);
          return;
        }
        for (const [column, cell] of Object.entries(result.row)) {
          const expected = ['timestamp', 'received_at', 'revenue'].includes(column) ? 'number' : 'string';
          expect(typeof cell, column).toBe(expected);
        }
        expect(Math.abs(result.row.revenue)).toBeLessThan(MAX_STORED_AMOUNT);
        expect(CHANNELS).toContain(result.row.channel);
        expect(PLATFORMS).toContain(result.row.platform);
        JSON.parse(result.row.properties);
        JSON.parse(result.row.context);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
    );
  });
});
