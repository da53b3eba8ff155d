import { defineAnalysis } from '../analysis.js';
import { SqlParams } from '../query/params.js';
import { bindProject, type DateRange, parseDateRange, rangeCondition } from '../query/scope.js';
import { type MetricValues, metricColumns, metricValues, resumComponents } from './metrics.js';
import {
  type ContentFilters,
  objectBody,
  oneOf,
  parseContentFilters,
  postFilterSql,
  postsCte,
} from './scope.js';

/** Platform and account comparison: the content metrics per platform or per account, side by side. */

export interface CompareQuery {
  dateRange: DateRange;
  by: 'platform' | 'account';
  filters: ContentFilters;
}

export interface CompareRow {
  platform: string;
  /** Empty when comparing platforms. */
  accountId: string;
  /** Posts with statistics inside the range. */
  posts: number;
  /** Of those, the posts published inside the range (project time zone). */
  published: number;
  /** This group's share of all plays in the comparison (0..1), null when nothing was played. */
  share_of_plays: number | null;
  metrics: MetricValues;
}

export interface CompareResult {
  rows: CompareRow[];
}

export function parseCompareQuery(body: unknown): CompareQuery {
  const input = objectBody(body, ['dateRange', 'by', 'filters']);
  return {
    dateRange: parseDateRange(input.dateRange),
    by: oneOf(input.by, 'by', ['platform', 'account'] as const, 'platform'),
    filters: parseContentFilters(input.filters),
  };
}

export const contentCompare = defineAnalysis<CompareQuery, CompareResult>({
  kind: 'content_compare',
  en: 'Platform and account comparison',
  zh: '平台与账号对比',
  parse: parseCompareQuery,
  dependsOn: (query) => query.dateRange,
  async run({ facts, project }, query) {
    const params = new SqlParams();
    bindProject(params, project);
    const account = query.by === 'account' ? 'p.account_id' : "''";
    const rows = await facts.query<Record<string, unknown>>(
      `WITH ${postsCte(query.dateRange, params)},
      per_group AS (
        SELECT p.platform AS platform, ${account} AS account, count() AS posts,
          countIf(p.published_at IS NOT NULL AND ${rangeCondition('p.published_at', query.dateRange, params)}) AS published,
          ${resumComponents()}
        FROM posts AS p
        WHERE ${postFilterSql(query.filters, params)}
        GROUP BY platform, account
      )
      SELECT *, ${metricColumns()},
        if(sum(plays) OVER () = 0, NULL, plays / sum(plays) OVER ()) AS share_of_plays
      FROM per_group
      ORDER BY plays DESC, platform, account`,
      params.values,
    );
    return {
      rows: rows.map((row) => ({
        platform: String(row.platform),
        accountId: String(row.account),
        posts: Number(row.posts),
        published: Number(row.published),
        share_of_plays: row.share_of_plays === null ? null : Number(row.share_of_plays),
        metrics: metricValues(row),
      })),
    };
  },
});
