import { type AnalysisContext, defineAnalysis } from './analysis.js';
import { SqlParams } from './query/params.js';
import { bindProject, type DateRange, parseDateRange, rangeCondition } from './query/scope.js';
import { bodyObject } from './query-body.js';

/**
 * The platforms that have data in a date range, and which kinds of facts each one has: what the
 * dashboard's global platform filter offers, so a marketer never picks a platform that would show
 * nothing.
 */

export const PLATFORM_FACTS = ['events', 'content', 'ads', 'orders'] as const;
export type PlatformFact = (typeof PLATFORM_FACTS)[number];

export interface PlatformsQuery {
  dateRange: DateRange;
}

export interface PlatformsResult {
  platforms: { platform: string; facts: PlatformFact[] }[];
}

export function parsePlatformsQuery(body: unknown): PlatformsQuery {
  const b = bodyObject(body);
  return { dateRange: parseDateRange(b.dateRange) };
}

export async function runPlatforms(
  context: AnalysisContext,
  query: PlatformsQuery,
): Promise<PlatformsResult> {
  const params = new SqlParams();
  bindProject(params, context.project);
  const from = params.add('Date', query.dateRange.from);
  const to = params.add('Date', query.dateRange.to);
  // Only which platform has which facts matters here, so no FINAL: a re-delivered row names the
  // same platform again and DISTINCT folds it.
  const sql = `SELECT platform, groupUniqArray(fact) AS facts FROM (
      SELECT DISTINCT platform, 'events' AS fact FROM events
       WHERE project_id = {project:String} AND ${rangeCondition('timestamp', query.dateRange, params)}
      UNION ALL
      SELECT DISTINCT platform, 'content' AS fact FROM content_stats
       WHERE project_id = {project:String} AND date BETWEEN ${from} AND ${to}
      UNION ALL
      SELECT DISTINCT platform, 'ads' AS fact FROM ad_spend
       WHERE project_id = {project:String} AND date BETWEEN ${from} AND ${to}
      UNION ALL
      SELECT DISTINCT platform, 'orders' AS fact FROM orders
       WHERE project_id = {project:String} AND ${rangeCondition('created_at', query.dateRange, params)}
    )
    WHERE platform != ''
    GROUP BY platform
    ORDER BY platform`;
  const rows = await context.facts.query<{ platform: string; facts: string[] }>(sql, params.values);
  return {
    platforms: rows.map((r) => ({
      platform: r.platform,
      facts: PLATFORM_FACTS.filter((f) => r.facts.includes(f)),
    })),
  };
}

export const platformsAnalysis = defineAnalysis<PlatformsQuery, PlatformsResult>({
  kind: 'platforms',
  en: 'Platforms with data',
  zh: '有数据的平台',
  parse: parsePlatformsQuery,
  run: runPlatforms,
  dependsOn: (query) => query.dateRange,
});
