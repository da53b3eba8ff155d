import { describe, expect, it } from 'vitest';
import {
  buildCalendar,
  hourWeight,
  localDate,
  parseDate,
  sampleTimeOfDayMs,
} from '../../src/demo/calendar.js';
import { Rng } from '../../src/demo/prng.js';

describe('the demo calendar', () => {
  it('ends on the given local day and starts each day at midnight in Shanghai', () => {
    const calendar = buildCalendar('2025-06-30', 90);
    expect(calendar.days).toHaveLength(90);
    expect(calendar.startDate).toBe('2025-04-02');
    expect(calendar.endDate).toBe('2025-06-30');
    // Midnight in Shanghai is 16:00 UTC the day before.
    expect(new Date(calendar.startMs).toISOString()).toBe('2025-04-01T16:00:00.000Z');
    expect(localDate(calendar.endMs - 1)).toBe('2025-06-30');
    expect(localDate(calendar.endMs)).toBe('2025-07-01');
    // 2025-06-30 is a Monday.
    expect(calendar.days[89]!.weekday).toBe(0);
  });

  it('refuses dates that do not exist', () => {
    expect(parseDate('2025-02-29')).toBeUndefined();
    expect(parseDate('2024-02-29')).toEqual({ year: 2024, month: 2, day: 29 });
    expect(() => buildCalendar('30/06/2025', 90)).toThrow(/YYYY-MM-DD/);
  });

  it('puts most activity in the evening and little before dawn', () => {
    const rng = new Rng(1);
    const hours = new Array(24).fill(0);
    for (let i = 0; i < 50_000; i++) hours[Math.floor(sampleTimeOfDayMs(rng, 2) / 3600_000)]++;
    expect(hours[21]).toBeGreaterThan(10 * hours[4]);
    expect(hourWeight(2, 21)).toBeGreaterThan(hourWeight(2, 12));
    expect(hourWeight(6, 10)).toBeGreaterThan(hourWeight(2, 10));
  });
});
