import type { Rng } from './prng.js';

/**
 * The world's days and the rhythms of activity within them. The project lives in Asia/Shanghai
 * (UTC+8 all year, no daylight saving), so a local day starts at 16:00 UTC the day before.
 */

export const TIME_ZONE = 'Asia/Shanghai';
const SHANGHAI_OFFSET_MS = 8 * 3600_000;
export const DAY_MS = 86_400_000;

export interface WorldDay {
  index: number;
  /** YYYY-MM-DD in the project time zone. */
  date: string;
  /** UTC milliseconds of local midnight. */
  startMs: number;
  /** 0 = Monday … 6 = Sunday. */
  weekday: number;
}

export interface WorldCalendar {
  days: WorldDay[];
  startDate: string;
  endDate: string;
  /** UTC ms of the first local midnight. */
  startMs: number;
  /** UTC ms of the local midnight after the last day: nothing happens at or after it. */
  endMs: number;
}

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses YYYY-MM-DD strictly; returns undefined for anything else, including 2025-02-30. */
export function parseDate(date: string): { year: number; month: number; day: number } | undefined {
  const match = DATE_PATTERN.exec(date);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    return undefined;
  }
  return { year, month, day };
}

/** The `days` local days ending with `endDate` (inclusive). */
export function buildCalendar(endDate: string, days: number): WorldCalendar {
  const parsed = parseDate(endDate);
  if (!parsed) throw new RangeError(`endDate must be a real date written YYYY-MM-DD, got "${endDate}"`);
  const lastMidnightUtc = Date.UTC(parsed.year, parsed.month - 1, parsed.day);
  const list: WorldDay[] = [];
  for (let i = 0; i < days; i++) {
    const utcMidnight = lastMidnightUtc - (days - 1 - i) * DAY_MS;
    const jsWeekday = new Date(utcMidnight).getUTCDay();
    list.push({
      index: i,
      date: new Date(utcMidnight).toISOString().slice(0, 10),
      startMs: utcMidnight - SHANGHAI_OFFSET_MS,
      weekday: (jsWeekday + 6) % 7,
    });
  }
  const first = list[0]!;
  const last = list[list.length - 1]!;
  return {
    days: list,
    startDate: first.date,
    endDate: last.date,
    startMs: first.startMs,
    endMs: last.startMs + DAY_MS,
  };
}

/** Relative activity per weekday, Monday first: a consumer brand is busiest at the weekend. */
export const WEEKDAY_WEIGHTS = [0.9, 0.88, 0.92, 0.96, 1.06, 1.2, 1.14] as const;

// Relative activity per local hour: a lunch bump, a strong evening peak at 20–22h, quiet nights.
const WORKDAY_HOURS = [
  0.35, 0.18, 0.1, 0.06, 0.05, 0.08, 0.2, 0.45, 0.7, 0.75, 0.8, 0.9, 1.15, 1.1, 0.85, 0.8, 0.85, 0.95, 1.1,
  1.35, 1.7, 1.85, 1.55, 0.85,
];
// Weekends start later and stay busy through the afternoon.
const WEEKEND_HOURS = [
  0.5, 0.3, 0.16, 0.08, 0.06, 0.06, 0.12, 0.25, 0.45, 0.75, 1.0, 1.1, 1.2, 1.15, 1.1, 1.05, 1.05, 1.1, 1.2,
  1.4, 1.65, 1.75, 1.45, 0.95,
];

function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i]!;
    out[i] = sum;
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / sum;
  return out;
}

const WORKDAY_CUMULATIVE = cumulative(WORKDAY_HOURS);
const WEEKEND_CUMULATIVE = cumulative(WEEKEND_HOURS);

/** Relative weight of one local hour on a given weekday (used by tests and the ground truth). */
export function hourWeight(weekday: number, hour: number): number {
  return (weekday >= 5 ? WEEKEND_HOURS : WORKDAY_HOURS)[hour]!;
}

/** A time within a local day, in ms after local midnight, following the hour rhythm. */
export function sampleTimeOfDayMs(rng: Rng, weekday: number): number {
  const table = weekday >= 5 ? WEEKEND_CUMULATIVE : WORKDAY_CUMULATIVE;
  const r = rng.next();
  let hour = 0;
  while (hour < 23 && table[hour]! <= r) hour++;
  return hour * 3600_000 + Math.floor(rng.next() * 3600_000);
}

/** The local date (YYYY-MM-DD) of a UTC instant. */
export function localDate(utcMs: number): string {
  return new Date(utcMs + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}
