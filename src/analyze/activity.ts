import { type AnalysisContext, defineAnalysis } from './analysis.js';
import { FINAL_SETTINGS, personStages } from './event-selector.js';
import { needsPersonTraits } from './query/fields.js';
import { compileFilters } from './query/filters.js';
import { SqlParams } from './query/params.js';
import { bindProject, type DateRange, eventSource, parseDateRange } from './query/scope.js';
import { bodyObject, eventNames, oneOf } from './query-body.js';

/**
 * Activity heatmap: events (or unique persons) per weekday × hour in the project time zone, Monday
 * first, hours 0–23 — when the audience is awake, when to post and when to send.
 */

export const HEATMAP_MEASURES = ['events', 'persons'] as const;
export type HeatmapMeasure = (typeof HEATMAP_MEASURES)[number];

export const WEEKDAYS = [
  { en: 'Monday', zh: '星期一' },
  { en: 'Tuesday', zh: '星期二' },
  { en: 'Wednesday', zh: '星期三' },
  { en: 'Thursday', zh: '星期四' },
  { en: 'Friday', zh: '星期五' },
  { en: 'Saturday', zh: '星期六' },
  { en: 'Sunday', zh: '星期日' },
] as const;

export interface HeatmapQuery {
  dateRange: DateRange;
  /** Event names to count; all events when absent. */
  events?: string[];
  filters?: unknown;
  measure: HeatmapMeasure;
}

export interface HeatmapResult {
  measure: HeatmapMeasure;
  weekdays: typeof WEEKDAYS;
  /** values[weekday][hour], weekday 0 = Monday, hour 0–23 local time. */
  values: number[][];
  /** All events, or distinct persons over the whole range (not the sum of cells). */
  total: number;
  max: number;
  /** The busiest cell (the first one on ties); null when there is no activity. */
  peak: { weekday: number; hour: number; value: number } | null;
}

export function parseHeatmapQuery(body: unknown): HeatmapQuery {
  const b = bodyObject(body);
  const query: HeatmapQuery = {
    dateRange: parseDateRange(b.dateRange),
    measure: oneOf(b.measure, HEATMAP_MEASURES, 'measure', 'events'),
  };
  const events = eventNames(b.events, 'events');
  if (events) query.events = events;
  if (b.filters !== undefined) query.filters = b.filters;
  eventSource({ range: query.dateRange, filters: query.filters }, new SqlParams());
  return query;
}

export async function runHeatmap(context: AnalysisContext, query: HeatmapQuery): Promise<HeatmapResult> {
  const params = new SqlParams();
  bindProject(params, context.project);
  const source = eventSource(
    { range: query.dateRange, events: query.events, filters: query.filters },
    params,
  );
  const needsTraits = needsPersonTraits(compileFilters(query.filters, new SqlParams()).refs);
  const stages = personStages({ ...source, needsTraits });
  const weekday = 'toDayOfWeek(e.timestamp, 0, {tz:String})';
  const hour = 'toHour(e.timestamp, {tz:String})';
  // toDayOfWeek mode 0: Monday = 1 … Sunday = 7. The empty grouping set gives the total (weekday 0).
  // Persons: events are first grouped per cell and distinct id, then mapped to persons.
  const sql =
    query.measure === 'events'
      ? `WITH ${source.ctes}
     SELECT ${weekday} AS weekday, ${hour} AS hour, count() AS value
     FROM ${stages.idFrom}
     WHERE ${source.where}
     GROUP BY GROUPING SETS ((weekday, hour), ())
     ${FINAL_SETTINGS}`
      : `WITH ${source.ctes},
     per_id AS (
       SELECT ${weekday} AS weekday, ${hour} AS hour, ${stages.idKey} AS id, max(e.person_id) AS pid
       FROM ${stages.idFrom}
       WHERE ${source.where}
       GROUP BY weekday, hour, id
     )
     SELECT d.weekday AS weekday, d.hour AS hour, uniqExact(${stages.person}) AS value
     FROM ${stages.personFrom}
     GROUP BY GROUPING SETS ((weekday, hour), ())
     ${FINAL_SETTINGS}`;
  const rows = await context.facts.query<{ weekday: number; hour: number; value: number }>(
    sql,
    params.values,
  );
  const values = WEEKDAYS.map(() => new Array<number>(24).fill(0));
  let total = 0;
  for (const row of rows) {
    if (Number(row.weekday) === 0) total = Number(row.value);
    else (values[Number(row.weekday) - 1] as number[])[Number(row.hour)] = Number(row.value);
  }
  let peak: HeatmapResult['peak'] = null;
  values.forEach((hours, weekday) => {
    hours.forEach((v, hour) => {
      if (v > 0 && (peak === null || v > peak.value)) peak = { weekday, hour, value: v };
    });
  });
  const max = (peak as HeatmapResult['peak'])?.value ?? 0;
  return { measure: query.measure, weekdays: WEEKDAYS, values, total, max, peak };
}

export const heatmapAnalysis = defineAnalysis<HeatmapQuery, HeatmapResult>({
  kind: 'heatmap',
  en: 'Activity heatmap',
  zh: '活跃时段热力图',
  parse: parseHeatmapQuery,
  run: runHeatmap,
  dependsOn: (query) => query.dateRange,
});
