import { type AnalysisContext, defineAnalysis } from './analysis.js';
import {
  compileSelector,
  type EventSelector,
  FINAL_SETTINGS,
  parseSelector,
  personStages,
  selectorSource,
} from './event-selector.js';
import { SqlParams } from './query/params.js';
import { bindProject, type DateRange, parseDateRange, rangeDays } from './query/scope.js';
import { bodyObject, invalid } from './query-body.js';

/**
 * Stickiness: how many persons did the event on exactly k days of the range (k = 1 … days in the
 * range), days counted in the project time zone. A sticky product has a long tail to the right.
 */

export const MAX_STICKINESS_DAYS = 366;

export interface StickinessQuery {
  dateRange: DateRange;
  event: EventSelector;
}

export interface StickinessResult {
  days: number;
  /** values[k - 1]: persons active on exactly k days. */
  values: { days: number; persons: number; share: number }[];
  persons: number;
  /** Average number of active days per active person. */
  averageDays: number;
}

export function parseStickinessQuery(body: unknown): StickinessQuery {
  const b = bodyObject(body);
  const query: StickinessQuery = {
    dateRange: parseDateRange(b.dateRange),
    event: parseSelector(b.event, 'event'),
  };
  if (rangeDays(query.dateRange) > MAX_STICKINESS_DAYS)
    invalid('dateRange', `at most ${MAX_STICKINESS_DAYS} days`, `最多 ${MAX_STICKINESS_DAYS} 天`);
  compileSelector(query.event, new SqlParams(), 'event');
  return query;
}

export async function runStickiness(
  context: AnalysisContext,
  query: StickinessQuery,
): Promise<StickinessResult> {
  const params = new SqlParams();
  bindProject(params, context.project);
  const selector = compileSelector(query.event, params, 'event');
  const source = selectorSource([selector], { range: query.dateRange }, params);
  const stages = personStages(source);
  const rows = await context.facts.query<{ active_days: number; persons: number }>(
    `WITH ${source.ctes}
     , per_id AS (
       SELECT ${stages.idKey} AS id, max(e.person_id) AS pid, groupUniqArray(toDate(e.timestamp, {tz:String})) AS days
       FROM ${stages.idFrom}
       WHERE ${source.where}
       GROUP BY id
     )
     SELECT active_days, count() AS persons
     FROM (
       SELECT ${stages.person} AS person, length(groupUniqArrayArray(d.days)) AS active_days
       FROM ${stages.personFrom}
       GROUP BY person
     )
     GROUP BY active_days
     ${FINAL_SETTINGS}`,
    params.values,
  );
  const days = rangeDays(query.dateRange);
  const counts = new Array<number>(days).fill(0);
  for (const row of rows) counts[Number(row.active_days) - 1] = Number(row.persons);
  const persons = counts.reduce((sum, n) => sum + n, 0);
  const activeDays = counts.reduce((sum, n, i) => sum + n * (i + 1), 0);
  return {
    days,
    values: counts.map((n, i) => ({ days: i + 1, persons: n, share: persons > 0 ? n / persons : 0 })),
    persons,
    averageDays: persons > 0 ? activeDays / persons : 0,
  };
}

export const stickinessAnalysis = defineAnalysis<StickinessQuery, StickinessResult>({
  kind: 'stickiness',
  en: 'Stickiness',
  zh: '粘性分析',
  parse: parseStickinessQuery,
  run: runStickiness,
  dependsOn: (query) => query.dateRange,
});
