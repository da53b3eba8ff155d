import type { FactsEngine } from '../../store/facts/engine.js';
import { SqlParams } from '../query/params.js';
import { bindProject, type DateRange, type ProjectContext } from '../query/scope.js';
import type { TouchDimension } from './query.js';

/**
 * Ad spend per value of the touch dimension, over the days of the range. ad_spend rows carry a
 * channel, a platform and a campaign id: the channel maps to `channel`, the ad platform to
 * `platform` and to `utm_source` (an ad's traffic arrives with the platform as its source), the
 * campaign id to `campaign_id`. `utm_campaign` has no spend column (campaign names in ad exports
 * differ from UTM slugs), so its spend is unknown (null), never zero.
 */
const SPEND_COLUMN: Record<TouchDimension, string | undefined> = {
  channel: 'channel',
  platform: 'platform',
  utm_source: 'platform',
  campaign_id: 'campaign_id',
  utm_campaign: undefined,
};

/** Spend by value; `undefined` when the dimension cannot be joined with spend at all. */
export async function spendByValue(
  facts: FactsEngine,
  project: ProjectContext,
  dimension: TouchDimension,
  range: DateRange,
): Promise<Map<string, number> | undefined> {
  const column = SPEND_COLUMN[dimension];
  if (column === undefined) return undefined;
  const params = new SqlParams();
  bindProject(params, project);
  // `column` comes from SPEND_COLUMN, an allow-list.
  const rows = await facts.query<{ value: string; spend: number }>(
    `SELECT ${column} AS value, toFloat64(sum(spend)) AS spend
     FROM ad_spend FINAL
     WHERE project_id = {project:String}
       AND date >= toDate(${params.add('String', range.from)}) AND date <= toDate(${params.add('String', range.to)})
       AND ${column} != ''
     GROUP BY value`,
    params.values,
  );
  return new Map(rows.map((r) => [r.value, Number(r.spend)]));
}

/** ROI = (revenue − spend) / spend; null without spend (never Infinity). */
export function roi(revenue: number, spend: number | null): number | null {
  return spend === null || spend <= 0 ? null : (revenue - spend) / spend;
}

/** ROAS = revenue / spend; null without spend. */
export function roas(revenue: number, spend: number | null): number | null {
  return spend === null || spend <= 0 ? null : revenue / spend;
}
