import type { FactsEngine } from './engine.js';

/**
 * The hourly event rollup (facts migration 2): event counts and revenue per project, event, UTC hour
 * and a few low-cardinality columns, kept by a materialised view on `events`. Trends of counts and
 * revenue read a few thousand rollup rows instead of millions of events.
 *
 * Exactness: the view counts every row inserted into `events`, while readers of `events` fold
 * re-delivered copies with FINAL and never see deleted rows. See the migration in schema.ts for the
 * reasoning; the metrics compiler checks each rollup answer against the events table (a guard query) and falls back to raw events
 * when the rollup and the events table disagree.
 */

export const EVENT_ROLLUP_TABLE = 'event_rollup_hourly';

/** Event columns kept in the rollup besides `event`; a query whose dimensions and filters are all among these may read it. */
export const EVENT_ROLLUP_DIMENSIONS = [
  'platform',
  'channel',
  'utm_source',
  'utm_medium',
  'device_type',
  'country',
] as const;

/** Whether a query field (dimension or filter) is a column of the rollup. */
export function isRollupColumn(field: string): boolean {
  return field === 'event' || (EVENT_ROLLUP_DIMENSIONS as readonly string[]).includes(field);
}

const ROLLUP_KEY = ['project_id', 'event', 'hour', ...EVENT_ROLLUP_DIMENSIONS].join(', ');

/** The rollup rows of the events matching `where` (over `events`), folded exactly with FINAL. */
function rollupSelect(where: string): string {
  return `SELECT project_id, event, toStartOfHour(timestamp) AS hour, ${EVENT_ROLLUP_DIMENSIONS.join(', ')},
    count() AS events, sum(revenue) AS revenue
  FROM events FINAL
  WHERE ${where}
  GROUP BY ${ROLLUP_KEY}
  SETTINGS do_not_merge_across_partitions_select_final = 1`;
}

/**
 * Recomputes a project's rollup from `events FINAL` (after a re-import of events, an erasure or a
 * retention purge, which the view cannot see). Inserts into `events` for the project while this runs
 * may be counted twice or not at all, so run it when the project is quiet.
 */
export async function rebuildEventRollup(facts: FactsEngine, projectId: string): Promise<void> {
  await facts.command(
    `ALTER TABLE ${EVENT_ROLLUP_TABLE} DELETE WHERE project_id = {project:String} SETTINGS mutations_sync = 2`,
    { project: projectId },
  );
  await facts.command(
    `INSERT INTO ${EVENT_ROLLUP_TABLE} (${ROLLUP_KEY}, events, revenue) ${rollupSelect('project_id = {project:String}')}`,
    { project: projectId },
  );
}

// ── Time zones ────────────────────────────────────────────────────────────────────────────────

const offsetFormats = new Map<string, Intl.DateTimeFormat>();
const wholeHourYears = new Map<string, boolean>();

/** UTC offset of a time zone at an instant, in minutes (e.g. 330 for Asia/Kolkata). */
function offsetMinutes(timeZone: string, ms: number): number {
  let format = offsetFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    offsetFormats.set(timeZone, format);
  }
  const name = format.formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
  if (!match) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3] ?? 0);
  return match[1] === '-' ? -minutes : minutes;
}

/**
 * Whether the zone's offset is whole hours throughout a UTC year, sampled four times a month (offsets
 * change at most a few times a year, and every zone with a part-hour offset keeps it for months).
 */
function wholeHourYear(timeZone: string, year: number): boolean {
  const key = `${timeZone}\u0000${year}`;
  let whole = wholeHourYears.get(key);
  if (whole === undefined) {
    whole = true;
    try {
      for (let month = 0; month < 12 && whole; month += 1) {
        for (const [day, hour] of [
          [1, 0],
          [8, 12],
          [15, 0],
          [22, 12],
        ] as const) {
          if (offsetMinutes(timeZone, Date.UTC(year, month, day, hour)) % 60 !== 0) whole = false;
        }
      }
    } catch {
      // A zone this runtime does not know: read raw events, where ClickHouse applies it.
      whole = false;
    }
    wholeHourYears.set(key, whole);
  }
  return whole;
}

/**
 * Whether every UTC hour between the dates (YYYY-MM-DD, a day of margin each side) falls into a
 * single local hour, day, week and month of the time zone: true for zones whose offset is whole
 * hours (Asia/Shanghai, Europe/Berlin with its DST), false for Asia/Kolkata (+5:30) or Australia/Adelaide.
 */
export function hourAlignedZone(timeZone: string, from: string, to: string): boolean {
  const first = Number(from.slice(0, 4));
  const last = Number(to.slice(0, 4));
  for (let year = first - 1; year <= last + 1; year += 1) {
    if (!wholeHourYear(timeZone, year)) return false;
  }
  return true;
}
