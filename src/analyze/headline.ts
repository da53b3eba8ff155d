import type { FactsEngine } from '../store/facts/engine.js';

export interface HeadlineKpis {
  events: number;
  persons: number;
  plays: number;
  orders: number;
  /** Gross merchandise value of paid orders, refunds excluded, in the project currency. */
  gmv: number;
  adSpend: number;
  /** ROAS = revenue attributed to ads / ad spend; here paid GMV / spend. */
  roas: number;
}

/** The few numbers the demo prints and the overview opens with, over the last `days` days. */
export async function headlineKpis(facts: FactsEngine, projectId: string, days = 30): Promise<HeadlineKpis> {
  const params = { project: projectId, days };
  const [events] = await facts.query<{ events: number; persons: number }>(
    `SELECT count() AS events, uniqExact(distinct_id) AS persons
     FROM events FINAL
     WHERE project_id = {project:String}`,
    params,
  );
  const [content] = await facts.query<{ plays: number }>(
    `SELECT sum(plays) AS plays FROM content_stats FINAL
     WHERE project_id = {project:String}
       AND date > (SELECT max(date) FROM content_stats WHERE project_id = {project:String}) - {days:UInt32}`,
    params,
  );
  const [orders] = await facts.query<{ orders: number; gmv: number }>(
    `SELECT countIf(status NOT IN ('refunded', 'cancelled')) AS orders,
            toFloat64(sumIf(amount, status NOT IN ('refunded', 'cancelled'))) AS gmv
     FROM orders FINAL
     WHERE project_id = {project:String}
       AND created_at > (SELECT max(created_at) FROM orders WHERE project_id = {project:String}) - toIntervalDay({days:UInt32})`,
    params,
  );
  const [spend] = await facts.query<{ spend: number }>(
    `SELECT toFloat64(sum(spend)) AS spend FROM ad_spend FINAL
     WHERE project_id = {project:String}
       AND date > (SELECT max(date) FROM ad_spend WHERE project_id = {project:String}) - {days:UInt32}`,
    params,
  );
  const adSpend = Number(spend?.spend ?? 0);
  const gmv = Number(orders?.gmv ?? 0);
  return {
    events: Number(events?.events ?? 0),
    persons: Number(events?.persons ?? 0),
    plays: Number(content?.plays ?? 0),
    orders: Number(orders?.orders ?? 0),
    gmv,
    adSpend,
    roas: adSpend > 0 ? gmv / adSpend : 0,
  };
}
