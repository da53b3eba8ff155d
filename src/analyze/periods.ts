import { detailText, PulseloopError } from '../errors/registry.js';

/**
 * Calendar periods (day, week, month) in the project time zone, numbered as integers so that SQL
 * can compare "the period after" with `+ 1`. Weeks start on Monday. The same numbering is computed
 * in SQL (for events) and here (for the dates of a range and for labels), and tests pin the two.
 */

export const PERIODS = ['day', 'week', 'month'] as const;
export type Period = (typeof PERIODS)[number];

const DAY_MS = 86_400_000;
/** 1970-01-05 was a Monday: week numbers count Mondays from there. */
const FIRST_MONDAY_DAY = 4;

export function parsePeriod(value: unknown, at: string, fallback: Period = 'day'): Period {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(PERIODS as readonly string[]).includes(value)) {
    throw new PulseloopError('invalid_query', {
      field: at,
      ...detailText(`expected one of ${PERIODS.join(', ')}`, `必须是 ${PERIODS.join('、')} 之一`),
    });
  }
  return value as Period;
}

/** SQL: the integer number of the period holding UTC timestamp `ts` in the project time zone `{tz}`. */
export function periodIndexSql(period: Period, ts: string): string {
  const date = `toDate(${ts}, {tz:String})`;
  switch (period) {
    case 'day':
      return `toInt64(toRelativeDayNum(${date}))`;
    case 'week':
      return `intDiv(toInt64(toRelativeDayNum(toMonday(${date}))) - ${FIRST_MONDAY_DAY}, 7)`;
    case 'month':
      return `(toInt64(toYear(${date})) * 12 + toMonth(${date}) - 1)`;
  }
}

function dayNumber(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / DAY_MS;
}

function dateOfDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The number of the period holding a calendar date (YYYY-MM-DD). */
export function periodIndexOfDate(period: Period, date: string): number {
  switch (period) {
    case 'day':
      return dayNumber(date);
    case 'week': {
      const day = dayNumber(date);
      const mondayOffset = (new Date(day * DAY_MS).getUTCDay() + 6) % 7;
      return Math.floor((day - mondayOffset - FIRST_MONDAY_DAY) / 7);
    }
    case 'month':
      return Number(date.slice(0, 4)) * 12 + Number(date.slice(5, 7)) - 1;
  }
}

/** The first day (YYYY-MM-DD) of period number `index`. */
export function periodStart(period: Period, index: number): string {
  switch (period) {
    case 'day':
      return dateOfDay(index);
    case 'week':
      return dateOfDay(index * 7 + FIRST_MONDAY_DAY);
    case 'month': {
      const year = Math.floor(index / 12);
      const month = (index % 12) + 1;
      return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-01`;
    }
  }
}

/** The last day (YYYY-MM-DD) of period number `index`. */
export function periodEnd(period: Period, index: number): string {
  return dateOfDay(dayNumber(periodStart(period, index + 1)) - 1);
}

/** Today's date in a time zone (YYYY-MM-DD). */
export function todayIn(timeZone: string, now: Date = new Date()): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone }).format(now);
}
