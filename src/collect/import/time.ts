import type { WallTime } from './values.js';

/**
 * Wall-clock times in a project's time zone → UTC milliseconds. Exports write local times without an
 * offset; the project's IANA zone says which instant they mean. Offsets are cached per zone and hour,
 * so a million timestamps cost a million Map look-ups, not a million Intl calls.
 */

const HOUR_MS = 3_600_000;

/** Converts wall times of one IANA zone to UTC instants. */
export function zonedClock(timeZone: string): (wall: WallTime) => number {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const offsets = new Map<number, number>();

  /** Offset (ms, local − UTC) of the zone at a UTC instant. */
  function offsetAt(utcMs: number): number {
    const hour = Math.floor(utcMs / HOUR_MS);
    let offset = offsets.get(hour);
    if (offset === undefined) {
      const parts: Record<string, number> = {};
      for (const part of format.formatToParts(new Date(hour * HOUR_MS)))
        parts[part.type] = Number(part.value);
      const local = Date.UTC(
        parts.year!,
        parts.month! - 1,
        parts.day!,
        parts.hour!,
        parts.minute!,
        parts.second!,
      );
      offset = local - hour * HOUR_MS;
      offsets.set(hour, offset);
    }
    return offset;
  }

  return (wall) => {
    const asUtc = Date.UTC(
      wall.year,
      wall.month - 1,
      wall.day,
      wall.hour,
      wall.minute,
      wall.second,
      wall.millisecond,
    );
    if (wall.offsetMinutes !== undefined) return asUtc - wall.offsetMinutes * 60_000;
    // Guess with the offset at the wall time read as UTC, then correct once: exact except inside a
    // daylight-saving gap, where the later offset is taken (as most libraries do).
    const first = asUtc - offsetAt(asUtc);
    const second = asUtc - offsetAt(first);
    return second;
  };
}
