import { defineAnalysis } from '../analysis.js';
import { SqlParams } from '../query/params.js';
import { bindProject, type DateRange, parseDateRange } from '../query/scope.js';
import { type ContentFilters, objectBody, parseContentFilters, postFilterSql, postsCte } from './scope.js';

/**
 * Performance by posting time: posts grouped by the weekday and hour of `published_at` in the
 * project time zone, with the plays and interactions they collected inside the range.
 */

export interface TimingQuery {
  dateRange: DateRange;
  filters: ContentFilters;
}

export interface TimingCell {
  posts: number;
  plays: number;
  interactions: number;
  avg_plays_per_post: number | null;
  interaction_rate: number | null;
}

export interface TimingResult {
  /** Weekday 1 = Monday … 7 = Sunday; hour 0–23; only cells with posts. */
  cells: (TimingCell & { weekday: number; hour: number })[];
  byWeekday: (TimingCell & { weekday: number })[];
  byHour: (TimingCell & { hour: number })[];
  /** Posts left out because the platform did not report when they were published. */
  withoutPublishTime: number;
}

export function parseTimingQuery(body: unknown): TimingQuery {
  const input = objectBody(body, ['dateRange', 'filters']);
  return { dateRange: parseDateRange(input.dateRange), filters: parseContentFilters(input.filters) };
}

interface Sums {
  posts: number;
  plays: number;
  interactions: number;
}

// avg plays per post = plays / posts; interaction rate = interactions / plays
function cell(sums: Sums): TimingCell {
  return {
    ...sums,
    avg_plays_per_post: sums.posts === 0 ? null : sums.plays / sums.posts,
    interaction_rate: sums.plays === 0 ? null : sums.interactions / sums.plays,
  };
}

export const contentTiming = defineAnalysis<TimingQuery, TimingResult>({
  kind: 'content_timing',
  en: 'Performance by posting time',
  zh: '发布时间表现',
  parse: parseTimingQuery,
  dependsOn: (query) => query.dateRange,
  async run({ facts, project }, query) {
    const params = new SqlParams();
    bindProject(params, project);
    const rows = await facts.query<Record<string, unknown>>(
      `WITH ${postsCte(query.dateRange, params)}
      SELECT
        if(p.published_at IS NULL, 0, toDayOfWeek(assumeNotNull(p.published_at), 0, {tz:String})) AS weekday,
        if(p.published_at IS NULL, 0, toHour(assumeNotNull(p.published_at), {tz:String})) AS hour,
        count() AS posts, sum(p.plays) AS plays,
        sum(p.likes + p.comments + p.shares + p.favourites) AS interactions
      FROM posts AS p
      WHERE ${postFilterSql(query.filters, params)}
      GROUP BY weekday, hour
      ORDER BY weekday, hour`,
      params.values,
    );
    const weekdays = Array.from({ length: 7 }, () => ({ posts: 0, plays: 0, interactions: 0 }));
    const hours = Array.from({ length: 24 }, () => ({ posts: 0, plays: 0, interactions: 0 }));
    const cells: TimingResult['cells'] = [];
    let withoutPublishTime = 0;
    for (const row of rows) {
      const sums = {
        posts: Number(row.posts),
        plays: Number(row.plays),
        interactions: Number(row.interactions),
      };
      const weekday = Number(row.weekday);
      const hour = Number(row.hour);
      if (weekday === 0) {
        withoutPublishTime += sums.posts;
        continue;
      }
      cells.push({ weekday, hour, ...cell(sums) });
      for (const total of [weekdays[weekday - 1], hours[hour]]) {
        if (!total) continue;
        total.posts += sums.posts;
        total.plays += sums.plays;
        total.interactions += sums.interactions;
      }
    }
    return {
      cells,
      byWeekday: weekdays.map((sums, i) => ({ weekday: i + 1, ...cell(sums) })),
      byHour: hours.map((sums, hour) => ({ hour, ...cell(sums) })),
      withoutPublishTime,
    };
  },
});
