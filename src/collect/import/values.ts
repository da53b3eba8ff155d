/**
 * Parsers for the values found in platform exports: Chinese magnitudes (`1.2万`, `3.5w`, `1.2亿`),
 * percentages, money with currency symbols, durations (`00:35`, `2分30秒`) and dates in the shapes
 * Chinese back-ends write them. Each parser answers `null` for a missing value (`-`, `--`, empty) and
 * throws a ValueProblem saying why a present value cannot be read.
 */

import { AMOUNT_TOO_LARGE } from '../../store/facts/rows.js';

/** Why a cell can be unreadable, in both languages (the importer adds row, column and value). */
export const VALUE_REASONS = {
  not_number: { en: 'is not a number', zh: '不是数字' },
  not_finite: { en: 'is not a finite number', zh: '不是有限数字' },
  negative_count: { en: 'is negative, but a count cannot be', zh: '为负数，计数不能为负' },
  not_amount: { en: 'is not an amount of money', zh: '不是金额' },
  amount_too_large: AMOUNT_TOO_LARGE,
  not_duration: {
    en: 'is not a duration (such as 35, 00:35, 1:02:03 or 2分30秒)',
    zh: '不是时长（例如 35、00:35、1:02:03 或 2分30秒）',
  },
  not_date: {
    en: 'is not a date (such as 2025-03-01, 2025/3/1 14:05 or 2025年3月1日)',
    zh: '不是日期（例如 2025-03-01、2025/3/1 14:05 或 2025年3月1日）',
  },
  date_out_of_range: { en: 'is not a real calendar date or time', zh: '不是有效的日期或时间' },
  required: { en: 'is empty, but the field is required', zh: '为空，但该字段必填' },
} as const;
export type ValueReason = keyof typeof VALUE_REASONS;

/** Why a cell could not be read; the importer turns it into a row error with row and column. */
export class ValueProblem extends Error {
  override name = 'ValueProblem';
  constructor(readonly reason: ValueReason) {
    super(VALUE_REASONS[reason].en);
  }
}

/** A cell as readers deliver it: text (CSV, TSV), or typed values (XLSX numbers and dates, NDJSON). */
export type Cell = string | number | boolean | Date | null | undefined;

const MISSING = new Set(['', '-', '--', '—', '——', '/', 'N/A', 'n/a', 'NA', 'null', 'NULL', '无', '暂无']);

/** True for the spellings exports use for "no value". */
export function isMissing(cell: Cell): boolean {
  if (cell === null || cell === undefined) return true;
  if (typeof cell !== 'string') return false;
  // Fast path: no spelling of "no value" starts with a digit, and trimming cannot change that.
  const first = cell.charCodeAt(0);
  if (first >= 48 && first <= 57) return false;
  return MISSING.has(cell) || MISSING.has(cell.trim());
}

const PLAIN_INTEGER = /^-?\d{1,15}$/;
const MAGNITUDES: Record<string, number> = {
  万: 1e4,
  w: 1e4,
  W: 1e4,
  亿: 1e8,
  k: 1e3,
  K: 1e3,
  千: 1e3,
  m: 1e6,
  M: 1e6,
  百万: 1e6,
  千万: 1e7,
};
const NUMBER_WITH_MAGNITUDE = /^([+-]?)(\d+(?:\.\d+)?|\.\d+)(百万|千万|万|亿|千|[wWkKmM])?\+?$/;

/** Strips thousands separators and spaces (ASCII and full-width) and folds full-width characters. */
function compact(text: string): string {
  // NFKC folds full-width digits and signs (１２３，％) that Chinese spreadsheets sometimes hold.
  return text.normalize('NFKC').replace(/[,，\s\u00a0]/g, '');
}

/** A number, with Chinese or Latin magnitude suffixes (`1.2万` → 12000, `3.5w` → 35000, `1,234` → 1234). */
export function parseNumber(cell: Cell): number | null {
  if (typeof cell === 'number') {
    if (!Number.isFinite(cell)) throw new ValueProblem('not_finite');
    return cell;
  }
  if (isMissing(cell)) return null;
  if (typeof cell !== 'string') throw new ValueProblem('not_number');
  // Fast path: most cells of a large export are plain integers.
  if (PLAIN_INTEGER.test(cell)) return Number(cell);
  // A cell that already reads as a number needs no compacting (NFKC leaves these characters alone).
  const match = NUMBER_WITH_MAGNITUDE.exec(cell) ?? NUMBER_WITH_MAGNITUDE.exec(compact(cell));
  if (!match) throw new ValueProblem('not_number');
  const value = Number(match[2]) * (match[3] ? MAGNITUDES[match[3]]! : 1);
  return match[1] === '-' ? -value : value;
}

/** A whole count (plays, likes): magnitudes allowed, rounded to an integer, never negative. */
export function parseCount(cell: Cell): number | null {
  const value = parseNumber(cell);
  if (value === null) return null;
  if (value < 0) throw new ValueProblem('negative_count');
  return Math.round(value);
}

/** A whole number that may be negative (followers gained on a day with unfollows). */
export function parseInteger(cell: Cell): number | null {
  const value = parseNumber(cell);
  return value === null ? null : Math.round(value);
}

/**
 * A rate as a fraction 0..1. `12.3%` → 0.123; a bare number is a fraction when ≤ 1 and a percentage
 * otherwise, unless the column's unit says which (`percent` or `fraction`).
 */
export function parseRate(cell: Cell, unit?: 'percent' | 'fraction'): number | null {
  if (typeof cell === 'string') {
    // Fast path for the usual `12.3%`: the same value as compacting and parsing it.
    // With at most 12 digits, moving the decimal point gives what percentToFraction rounds to.
    const plain = PLAIN_PERCENT.exec(cell);
    if (plain) return Number(`${plain[1]}e-2`);
  }
  if (typeof cell === 'string' && !isMissing(cell)) {
    const text = compact(cell);
    if (text.endsWith('%') || text.endsWith('％')) {
      const value = parseNumber(text.slice(0, -1));
      return value === null ? null : percentToFraction(value);
    }
  }
  const value = parseNumber(cell);
  if (value === null) return null;
  if (unit === 'percent') return percentToFraction(value);
  if (unit === 'fraction') return value;
  return value > 1 ? percentToFraction(value) : value;
}

const PLAIN_PERCENT = /^(-?\d{1,6}(?:\.\d{1,6})?)%$/;

/** 41.2 → 0.412 exactly as written (plain division would give 0.41200000000000003). */
export function percentToFraction(percent: number): number {
  return Number((percent / 100).toPrecision(12));
}

/** Currency symbols and codes exports put next to amounts. */
const CURRENCY_MARKS: Array<[RegExp, string]> = [
  [/^(?:CN¥|RMB|CNY|￥|¥)|(?:元|CNY|RMB)$/i, 'CNY'],
  [/^(?:US\$|USD|\$)|USD$/i, 'USD'],
  [/^(?:HK\$|HKD)|HKD$/i, 'HKD'],
  [/^(?:€|EUR)|EUR$/i, 'EUR'],
  [/^(?:£|GBP)|GBP$/i, 'GBP'],
  [/^(?:JPY|円)|(?:JPY|円)$/i, 'JPY'],
];

export interface Money {
  amount: number;
  /** ISO 4217 code read from the cell, or '' when the cell named none. */
  currency: string;
}

/** An amount with its currency when the cell names one: `¥1,234.50`, `$12`, `12.5元`, `1.2万`. */
export function parseMoney(cell: Cell): Money | null {
  if (typeof cell === 'number') return { amount: cell, currency: '' };
  if (isMissing(cell)) return null;
  if (typeof cell !== 'string') throw new ValueProblem('not_amount');
  let text = compact(cell);
  const negative = text.startsWith('-');
  if (negative) text = text.slice(1);
  let currency = '';
  // Order matters: HK$ and US$ before $.
  for (const [pattern, code] of [CURRENCY_MARKS[2]!, ...CURRENCY_MARKS]) {
    const match = pattern.exec(text);
    if (match) {
      currency = code;
      text = text.replace(pattern, '');
      break;
    }
  }
  const amount = parseNumber(text);
  if (amount === null) throw new ValueProblem('not_amount');
  return { amount: negative ? -amount : amount, currency };
}

const DURATION_SCALE = { seconds: 1, minutes: 60, hours: 3600, milliseconds: 0.001 } as const;
const CLOCK = /^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/;

function clockSeconds(clock: RegExpExecArray): number {
  return Number(clock[1] ?? 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3]);
}

/**
 * A duration in seconds: `35`, `00:35`, `1:02:03`, `35秒`, `2分30秒`, `1小时2分`, `35s`, `2m30s`.
 * A bare number counts in `unit` (seconds unless the column says minutes, hours or milliseconds).
 */
export function parseDuration(
  cell: Cell,
  unit: 'seconds' | 'minutes' | 'hours' | 'milliseconds' = 'seconds',
): number | null {
  const scale = DURATION_SCALE[unit];
  if (typeof cell === 'number') return cell * scale;
  if (isMissing(cell)) return null;
  if (typeof cell !== 'string') throw new ValueProblem('not_duration');
  // Fast path: `00:35` as written needs no compacting.
  const plainClock = CLOCK.exec(cell);
  if (plainClock) return clockSeconds(plainClock);
  const text = compact(cell);
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * scale;
  const clock = CLOCK.exec(text);
  if (clock) return clockSeconds(clock);
  const worded =
    /^(?:(\d+(?:\.\d+)?)(?:小时|时|h))?(?:(\d+(?:\.\d+)?)(?:分钟|分|min|m))?(?:(\d+(?:\.\d+)?)(?:秒钟|秒|s))?$/i.exec(
      text,
    );
  if (worded && (worded[1] || worded[2] || worded[3])) {
    return Number(worded[1] ?? 0) * 3600 + Number(worded[2] ?? 0) * 60 + Number(worded[3] ?? 0);
  }
  throw new ValueProblem('not_duration');
}

/** Wall-clock date and time as written in the file, before any time zone is applied. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  /** Offset from UTC in minutes when the value carried one (ISO `Z`, `+08:00`), else undefined. */
  offsetMinutes?: number;
}

const ISO_LIKE =
  /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[T\s]+(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.(\d{1,3})\d*)?秒?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/;
const COMPACT_DATE = /^(\d{4})(\d{2})(\d{2})(?:\s*(\d{2}):?(\d{2}):?(\d{2})?)?$/;
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1899-12-30: how Excel stores dates (its 1900 leap-year bug is already folded in). */
const EXCEL_EPOCH_MS = Date.UTC(1899, 11, 30);

function wallFromUtcFields(date: Date): WallTime {
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    millisecond: date.getUTCMilliseconds(),
  };
}

/**
 * Whether year-month-day is a real calendar day the store can hold: 1970-01-01 to 2149-06-06, the
 * range of ClickHouse's Date (a later day would be stored as another one).
 */
function isCalendarDay(year: number, month: number, day: number): boolean {
  if (year < 1970 || year > 2149) return false;
  if (year === 2149 && (month > 6 || (month === 6 && day > 6))) return false;
  if (month < 1 || month > 12) return false;
  if (day < 1 || day > MONTH_DAYS[month - 1]!) return false;
  return !(month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)));
}

function checked(wall: WallTime): WallTime {
  const { year, month, day, hour, minute, second } = wall;
  if (!isCalendarDay(year, month, day)) throw new ValueProblem('date_out_of_range');
  if (hour > 23 || minute > 59 || second > 59) throw new ValueProblem('date_out_of_range');
  return wall;
}

/**
 * A date or date-time as written: `2025年3月1日`, `2025/3/1 14:05`, `2025-03-01`, `20250301`,
 * ISO 8601 with an offset, an Excel serial number (45717 → 2025-03-01) or a spreadsheet Date cell
 * (whose UTC fields are the wall time, as spreadsheet readers build them).
 */
export function parseWallTime(cell: Cell): WallTime | null {
  if (cell instanceof Date) {
    if (Number.isNaN(cell.getTime())) throw new ValueProblem('not_date');
    return wallFromUtcFields(cell);
  }
  if (typeof cell === 'number') {
    // Excel serials of plausible dates (1982…2173); anything else is not a date.
    if (cell < 30000 || cell > 100000) throw new ValueProblem('not_date');
    return wallFromUtcFields(new Date(EXCEL_EPOCH_MS + Math.round(cell * 86_400_000)));
  }
  if (isMissing(cell)) return null;
  if (typeof cell !== 'string') throw new ValueProblem('not_date');
  const text = cell.trim();
  const iso = ISO_LIKE.exec(text);
  if (iso) {
    const wall: WallTime = {
      year: Number(iso[1]),
      month: Number(iso[2]),
      day: Number(iso[3]),
      hour: Number(iso[4] ?? 0),
      minute: Number(iso[5] ?? 0),
      second: Number(iso[6] ?? 0),
      millisecond: Number((iso[7] ?? '0').padEnd(3, '0')),
    };
    if (iso[8]) wall.offsetMinutes = offsetMinutes(iso[8]);
    return checked(wall);
  }
  const compactDate = COMPACT_DATE.exec(text);
  if (compactDate) {
    return checked({
      year: Number(compactDate[1]),
      month: Number(compactDate[2]),
      day: Number(compactDate[3]),
      hour: Number(compactDate[4] ?? 0),
      minute: Number(compactDate[5] ?? 0),
      second: Number(compactDate[6] ?? 0),
      millisecond: 0,
    });
  }
  if (/^\d+(?:\.\d+)?$/.test(text)) return parseWallTime(Number(text));
  throw new ValueProblem('not_date');
}

function offsetMinutes(text: string): number {
  if (text === 'Z') return 0;
  const sign = text[0] === '-' ? -1 : 1;
  const digits = text.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
}

/** `YYYY-MM-DD` of a wall time. */
export function isoDate(wall: WallTime): string {
  return `${wall.year}-${wall.month < 10 ? '0' : ''}${wall.month}-${wall.day < 10 ? '0' : ''}${wall.day}`;
}

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar day as `YYYY-MM-DD` (the day as the platform wrote it; no time zone applies). */
export function parseDate(cell: Cell): string | null {
  // Fast path for files that already write ISO days.
  if (typeof cell === 'string' && ISO_DAY.test(cell)) {
    // The digits read without building a WallTime: this runs once per row of most exports.
    const year =
      (cell.charCodeAt(0) - 48) * 1000 +
      (cell.charCodeAt(1) - 48) * 100 +
      (cell.charCodeAt(2) - 48) * 10 +
      cell.charCodeAt(3) -
      48;
    const month = (cell.charCodeAt(5) - 48) * 10 + cell.charCodeAt(6) - 48;
    const day = (cell.charCodeAt(8) - 48) * 10 + cell.charCodeAt(9) - 48;
    if (!isCalendarDay(year, month, day)) throw new ValueProblem('date_out_of_range');
    return cell;
  }
  const wall = parseWallTime(cell);
  return wall === null ? null : isoDate(wall);
}

/** Splits a list cell (`美食,探店`, `#美食 #探店`, `美食、探店`) into its items. */
export function parseList(cell: Cell): string[] | null {
  if (isMissing(cell)) return null;
  return String(cell)
    .split(/[,，、;；|#\s]+/)
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** Text of a cell as the user sees it. */
export function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return '';
  if (cell instanceof Date) return cell.toISOString();
  return typeof cell === 'string' ? cell.trim() : String(cell);
}
