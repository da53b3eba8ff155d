import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectEncoding, textDecoder } from '../../src/collect/import/decode.js';
import { DelimitedParser } from '../../src/collect/import/delimited.js';
import { isSummaryRow } from '../../src/collect/import/header.js';
import type { RawRecord } from '../../src/collect/import/records.js';
import { zonedClock } from '../../src/collect/import/time.js';
import {
  parseCount,
  parseDate,
  parseDuration,
  parseMoney,
  parseRate,
  parseWallTime,
  ValueProblem,
} from '../../src/collect/import/values.js';
import { csvText, gbk } from './fixtures.js';

describe('value parsers', () => {
  it.each([
    ['1.2万', 12000],
    ['3.5w', 35000],
    ['1.2亿', 120000000],
    ['1,234', 1234],
    ['1,234.5万', 12345000],
    [' 1.2万 ', 12000],
    ['１２３', 123],
    ['１.２万', 12000],
    ['2k', 2000],
    ['-', null],
    ['--', null],
    ['', null],
  ])('reads the count %s as %s', (text, expected) => {
    expect(parseCount(text)).toBe(expected);
  });

  it.each([
    ['12.3%', 0.123],
    ['-3.5%', -0.035],
    [' 12.3 %', 0.123],
    ['１２.３％', 0.123],
    ['1,050%', 10.5],
    ['35', 0.35],
    ['0.5', 0.5],
  ])('reads the rate %s as %s', (text, expected) => {
    expect(parseRate(text)).toBe(expected);
  });

  it.each([
    ['¥1,234.50', { amount: 1234.5, currency: 'CNY' }],
    ['￥88', { amount: 88, currency: 'CNY' }],
    ['12.5元', { amount: 12.5, currency: 'CNY' }],
    ['$12', { amount: 12, currency: 'USD' }],
    ['HK$5', { amount: 5, currency: 'HKD' }],
    ['-¥3', { amount: -3, currency: 'CNY' }],
    ['1.5万', { amount: 15000, currency: '' }],
  ])('reads the amount %s', (text, expected) => {
    expect(parseMoney(text)).toEqual(expected);
  });

  it.each([
    ['00:35', 35],
    [' 00:35', 35],
    ['００:３５', 35],
    ['1:02:03', 3723],
    ['35秒', 35],
    ['2分30秒', 150],
    ['1小时2分', 3720],
    ['2m30s', 150],
    ['35', 35],
  ])('reads the duration %s as %s seconds', (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });

  it.each([
    ['2025年3月1日', '2025-03-01'],
    ['2025/3/1 14:05', '2025-03-01'],
    ['2025-03-01', '2025-03-01'],
    ['20250301', '2025-03-01'],
    [45717, '2025-03-01'],
    [new Date(Date.UTC(2025, 2, 1)), '2025-03-01'],
  ])('reads the date %s', (cell, expected) => {
    expect(parseDate(cell)).toBe(expected);
  });

  it('refuses what is not a value, saying why', () => {
    expect(() => parseCount('lots')).toThrow(ValueProblem);
    expect(() => parseCount('-3')).toThrow(/negative/);
    expect(() => parseDate('2025-02-30')).toThrow(/not a real calendar date/);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
  });

  it('checks ISO days against the calendar', () => {
    expect(parseDate('2024-02-29')).toBe('2024-02-29');
    expect(() => parseDate('2023-02-29')).toThrow(/not a real calendar date/);
    expect(() => parseDate('2025-13-01')).toThrow(/not a real calendar date/);
    expect(() => parseDate('1969-12-31')).toThrow(/not a real calendar date/);
  });

  it('tells summary rows from data rows', () => {
    expect(isSummaryRow([' 合计 ', '', '12'])).toBe(true);
    expect(isSummaryRow(['', 'v1', 'Subtotal：'])).toBe(true);
    expect(isSummaryRow(['\tTOTAL'])).toBe(true);
    expect(isSummaryRow(['小米', 'sum of views', 'v1'])).toBe(false);
    expect(isSummaryRow(['v1', 'v2', 'v3', '合计'])).toBe(false); // only the first three cells
  });

  it('reads any percentage as the fraction it stands for, rounded as written', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -999_999, max: 999_999 }),
        fc.integer({ min: 0, max: 999_999 }),
        fc.integer({ min: 0, max: 6 }),
        (whole, fraction, digits) => {
          const text =
            digits === 0 ? String(whole) : `${whole}.${String(fraction).padStart(6, '0').slice(0, digits)}`;
          // The written digits, a hundred times smaller, as the nearest double: 12.3% → 0.123.
          const expected = Number(`${text}e-2`);
          expect(parseRate(`${text}%`)).toBe(expected);
          expect(parseRate(` ${text} %`)).toBe(expected);
        },
      ),
    );
  });

  it('reads any count written with 万 or w as the number it stands for', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999 }), fc.constantFrom('万', 'w', 'W'), (tenths, unit) => {
        const written = `${(tenths / 10).toFixed(1)}${unit}`;
        expect(parseCount(written)).toBe(tenths * 1000);
      }),
    );
  });

  it('reads any amount formatted with thousands separators and a currency sign back exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 11 }), (fen) => {
        const written = `¥${(fen / 100).toLocaleString('en-US', { minimumFractionDigits: 2 })}`;
        expect(parseMoney(written)).toEqual({ amount: fen / 100, currency: 'CNY' });
      }),
    );
  });

  it('reads any h:mm:ss duration back as its seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99 * 3600 }), (seconds) => {
        const h = Math.floor(seconds / 3600);
        const m = Math.floor((seconds % 3600) / 60);
        const s = seconds % 60;
        expect(parseDuration(`${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`)).toBe(
          seconds,
        );
      }),
    );
  });

  it('turns any Shanghai wall time into the instant eight hours earlier in UTC', () => {
    const clock = zonedClock('Asia/Shanghai');
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1995-01-01'), max: new Date('2090-01-01'), noInvalidDate: true }),
        (date) => {
          const wall = date.toISOString().slice(0, 19).replace('T', ' ');
          const utc = clock(parseWallTime(wall)!);
          expect(utc).toBe(Date.parse(`${wall.replace(' ', 'T')}+08:00`));
        },
      ),
    );
  });

  it('honours daylight saving in zones that have it', () => {
    const clock = zonedClock('America/New_York');
    expect(clock(parseWallTime('2025-01-15 12:00')!)).toBe(Date.UTC(2025, 0, 15, 17));
    expect(clock(parseWallTime('2025-07-15 12:00')!)).toBe(Date.UTC(2025, 6, 15, 16));
  });
});

describe('delimited parser and encodings', () => {
  const cell = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('a,b', 'say "hi"', 'two\nlines', '\r\n', '"', '""', '播放量', '1.2万'),
  );

  it('reads back any table written as CSV, however the bytes are chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 2, maxLength: 5 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 40 }),
        (table, chunkSize) => {
          const text = csvText(table);
          const parser = new DelimitedParser(',');
          const out: RawRecord[] = [];
          for (let i = 0; i < text.length; i += chunkSize) parser.push(text.slice(i, i + chunkSize), out);
          parser.end(out);
          expect(out.map((r) => r.cells)).toEqual(table);
          expect(out.map((r) => r.rowNumber)).toEqual(table.map((_, i) => i + 1));
        },
      ),
    );
  });

  it('tells GBK from UTF-8 and decodes characters split across chunks', () => {
    const text = '作品名称,播放量\n春日新茶,1.2万\n';
    expect(detectEncoding(gbk(text))).toBe('gb18030');
    expect(detectEncoding(Buffer.from(text))).toBe('utf-8');
    for (const [bytes, encoding] of [
      [gbk(text), 'gb18030'],
      [Buffer.from(text), 'utf-8'],
    ] as const) {
      const decoder = textDecoder(encoding);
      let decoded = '';
      for (let i = 0; i < bytes.length; i += 3) decoded += decoder.write(bytes.subarray(i, i + 3));
      expect(decoded + decoder.end()).toBe(text);
    }
  });
});
