import { watchedRowSql } from '../content/metrics.js';
import type { SqlParams } from '../query/params.js';
import type { SourceId } from './sources.js';

/**
 * The metrics catalogue: every metric declared once, with its names, formula, unit and format.
 * Aggregate metrics are SQL aggregates over one source (summed components); formula metrics are
 * arithmetic over other metrics, evaluated on the summed components of each point, so a ratio is
 * always sum(numerator) / sum(denominator), never an average of ratios.
 */

export type MetricUnit = 'count' | 'persons' | 'ratio' | 'currency' | 'seconds' | 'score' | 'index';
export type MetricFormat = 'integer' | 'decimal' | 'percent' | 'currency' | 'duration';

export interface MetricInfo {
  id: string;
  en: string;
  zh: string;
  /** The definition in words and arithmetic, as the documentation shows it. */
  formula: string;
  unit: MetricUnit;
  format: MetricFormat;
  /** null: neither direction is good or bad in itself (e.g. spend). */
  higherIsBetter: boolean | null;
  /** Building blocks that the catalogue lists but that charts rarely show alone. */
  component?: boolean;
}

/** What an aggregate's SQL may use: bound values, the row's person, and the bucket of a time. */
export interface AggregateSqlContext {
  bind(type: string, value: unknown): string;
  /** The query's parameters (for compilers that bind through SqlParams, such as filters). */
  params: SqlParams;
  /** SQL of the row's resolved person (events and orders). */
  person: string;
  /** SQL condition: the time `column` falls in the same bucket as the row (or inside the range for totals). */
  sameBucket(column: string): string;
}

export interface RollupRead {
  measure: 'count' | 'revenue';
  filters?: readonly { field: string; op: string; value?: unknown }[];
}

export interface AggregateMetric extends MetricInfo {
  kind: 'aggregate';
  source: SourceId;
  /** Event names the aggregate reads (events source); absent: every event. */
  events?: readonly string[];
  /** SQL aggregate over row alias `e`. */
  sql(context: AggregateSqlContext): string;
  /** A running total from the beginning of the data (e.g. follower count from daily gains). */
  cumulative?: boolean;
  /** Orders only: join every person's first valid order time as `fo.first_at`. */
  needsFirstOrders?: boolean;
  /** Events only: the SQL reads person traits (alias `pt`). */
  needsPersonTraits?: boolean;
  /**
   * A count or a sum of row values: the value over a union of rows is the sum of the values over its
   * parts. Totals, a breakdown's top N and "$other" are then added up from one (bucket, value) grouping
   * instead of being computed by SQL again. Never set it on distinct counts or averages.
   */
  additive?: boolean;
  /**
   * Events only: the aggregate is exactly the count of its `events` (every event when absent) or the
   * Σ of their `revenue` column, of the rows matching `filters` (rollup columns only), so it can be
   * read from the hourly event rollup (src/store/facts/rollups.ts) when the query's dimensions and
   * filters are rollup columns too.
   */
  rollup?: RollupRead;
}

export interface FormulaMetric extends MetricInfo {
  kind: 'formula';
  /** Arithmetic over metric ids and $days, $weeks, $months (bucket length within the date range). */
  expression: string;
}

export type MetricDef = AggregateMetric | FormulaMetric;

type Info = Omit<MetricInfo, 'id'>;

const sum = (
  id: string,
  source: SourceId,
  column: string,
  info: Omit<Info, 'unit' | 'format' | 'higherIsBetter'> & Partial<Info>,
): AggregateMetric => ({
  id,
  kind: 'aggregate',
  source,
  unit: 'count',
  format: 'integer',
  higherIsBetter: true,
  ...info,
  additive: true,
  sql: () => `sum(${column})`,
});

const formula = (id: string, expression: string, info: Info): FormulaMetric => ({
  id,
  kind: 'formula',
  expression,
  ...info,
});

const countEvent = (id: string, event: string, info: Omit<Info, 'unit' | 'format'>): AggregateMetric => ({
  id,
  kind: 'aggregate',
  source: 'events',
  events: [event],
  unit: 'count',
  format: 'integer',
  ...info,
  additive: true,
  rollup: { measure: 'count' },
  sql: ({ bind }) => `countIf(e.event = ${bind('String', event)})`,
});

/** Orders that count for sales: every order placed except cancelled ones. */
const validOrder = (bind: AggregateSqlContext['bind']) =>
  `e.status NOT IN ${bind('Array(String)', ['cancelled'])}`;
const paidOrder = (bind: AggregateSqlContext['bind']) =>
  `e.status NOT IN ${bind('Array(String)', ['cancelled', 'refunded'])}`;

const NPS_SURVEY = `JSONExtractString(e.properties, 'survey_id') = 'nps'`;
const NPS_SCORE = `toFloat64OrNull(JSONExtractRaw(e.properties, 'score'))`;
const npsCount = (id: string, low: number, high: number, info: Info): AggregateMetric => ({
  id,
  kind: 'aggregate',
  source: 'events',
  events: ['survey_answered'],
  ...info,
  additive: true,
  sql: ({ bind }) =>
    `countIf(e.event = ${bind('String', 'survey_answered')} AND ${NPS_SURVEY} AND ${NPS_SCORE} BETWEEN ${bind('Float64', low)} AND ${bind('Float64', high)})`,
});

/** Persons first seen in the bucket who are active again exactly `days` later (eligible once that day has passed). */
const retention = (days: number): MetricDef[] => [
  {
    id: `d${days}_cohort`,
    kind: 'aggregate',
    source: 'cohorts',
    en: `Day-${days} cohort size`,
    zh: `第${days}日留存基数`,
    formula: `new persons whose day ${days} has passed`,
    unit: 'persons',
    format: 'integer',
    higherIsBetter: true,
    component: true,
    additive: true,
    sql: ({ bind }) => `countIf(e.first_day + ${bind('UInt16', days)} < today_local)`,
  },
  {
    id: `d${days}_returned`,
    kind: 'aggregate',
    source: 'cohorts',
    en: `Returned on day ${days}`,
    zh: `第${days}日回访人数`,
    formula: `new persons active again exactly ${days} day(s) after their first day`,
    unit: 'persons',
    format: 'integer',
    higherIsBetter: true,
    component: true,
    additive: true,
    sql: ({ bind }) =>
      `countIf(e.first_day + ${bind('UInt16', days)} < today_local AND has(e.days, e.first_day + ${bind('UInt16', days)}))`,
  },
  formula(`d${days}_retention`, `d${days}_returned / d${days}_cohort`, {
    en: `D${days} retention`,
    zh: days === 1 ? '次日留存率' : `${days}日留存率`,
    formula: `returned on day ${days} ÷ new persons whose day ${days} has passed`,
    unit: 'ratio',
    format: 'percent',
    higherIsBetter: true,
  }),
];

export const BUILT_IN_METRICS: MetricDef[] = [
  // ── events ───────────────────────────────────────────────────────────────────────────────
  {
    id: 'events',
    kind: 'aggregate',
    source: 'events',
    en: 'Events',
    zh: '事件数',
    formula: 'count of events',
    unit: 'count',
    format: 'integer',
    higherIsBetter: true,
    additive: true,
    rollup: { measure: 'count' },
    sql: () => 'count()',
  },
  {
    id: 'event_revenue',
    kind: 'aggregate',
    source: 'events',
    en: 'Tracked revenue',
    zh: '埋点收入',
    formula: 'Σ revenue of tracked events (e.g. order_completed)',
    unit: 'currency',
    format: 'currency',
    higherIsBetter: true,
    additive: true,
    rollup: { measure: 'revenue' },
    // The Decimal sum is exact, so the rollup's partial sums add up to the same value.
    sql: () => 'toFloat64(sum(e.revenue))',
  },
  countEvent('pageviews', '$pageview', {
    en: 'Page views',
    zh: '页面浏览量',
    formula: 'count of $pageview events',
    higherIsBetter: true,
  }),
  countEvent('video_views', 'video_played', {
    en: 'Video views (tracked)',
    zh: '视频播放次数（埋点）',
    formula: 'count of video_played events',
    higherIsBetter: true,
  }),
  countEvent('signups', 'signed_up', {
    en: 'Sign-ups',
    zh: '注册数',
    formula: 'count of signed_up events',
    higherIsBetter: true,
  }),
  {
    id: 'active_persons',
    kind: 'aggregate',
    source: 'events',
    en: 'Active persons',
    zh: '活跃人数',
    formula: 'distinct resolved persons with any event',
    unit: 'persons',
    format: 'integer',
    higherIsBetter: true,
    sql: ({ person }) => `uniqExact(${person})`,
  },
  {
    id: 'person_days',
    kind: 'aggregate',
    source: 'events',
    en: 'Active person-days',
    zh: '活跃人天',
    formula: 'Σ over days of distinct active persons',
    unit: 'persons',
    format: 'integer',
    higherIsBetter: true,
    component: true,
    sql: ({ person }) => `uniqExact(tuple(${person}, toDate(e.timestamp, {tz:String})))`,
  },
  {
    id: 'person_weeks',
    kind: 'aggregate',
    source: 'events',
    en: 'Active person-weeks',
    zh: '活跃人周',
    formula: 'Σ over calendar weeks (Monday) of distinct active persons',
    unit: 'persons',
    format: 'integer',
    higherIsBetter: true,
    component: true,
    sql: ({ person }) => `uniqExact(tuple(${person}, toMonday(e.timestamp, {tz:String})))`,
  },
  {
    id: 'person_months',
    kind: 'aggregate',
    source: 'events',
    en: 'Active person-months',
    zh: '活跃人月',
    formula: 'Σ over calendar months of distinct active persons',
    unit: 'persons',
    format: 'integer',
    higherIsBetter: true,
    component: true,
    sql: ({ person }) => `uniqExact(tuple(${person}, toStartOfMonth(e.timestamp, {tz:String})))`,
  },
  formula('dau', 'person_days / $days', {
    en: 'DAU (daily active persons)',
    zh: '日活跃用户数（DAU）',
    formula: 'average over the days of the bucket of distinct active persons per day',
    unit: 'persons',
    format: 'decimal',
    higherIsBetter: true,
  }),
  formula('wau', 'person_weeks / $weeks', {
    en: 'WAU (weekly active persons)',
    zh: '周活跃用户数（WAU）',
    formula: 'average over the calendar weeks touching the bucket of distinct active persons per week',
    unit: 'persons',
    format: 'decimal',
    higherIsBetter: true,
  }),
  formula('mau', 'person_months / $months', {
    en: 'MAU (monthly active persons)',
    zh: '月活跃用户数（MAU）',
    formula: 'average over the calendar months touching the bucket of distinct active persons per month',
    unit: 'persons',
    format: 'decimal',
    higherIsBetter: true,
  }),
  formula('stickiness', 'dau / mau', {
    en: 'Stickiness (DAU/MAU)',
    zh: '用户黏性（DAU/MAU）',
    formula: 'DAU ÷ MAU',
    unit: 'ratio',
    format: 'percent',
    higherIsBetter: true,
  }),
  npsCount('nps_promoters', 9, 10, {
    en: 'NPS promoters',
    zh: 'NPS 推荐者',
    formula: "survey_answered with survey_id 'nps' and score 9–10",
    unit: 'count',
    format: 'integer',
    higherIsBetter: true,
    component: true,
  }),
  npsCount('nps_detractors', 0, 6, {
    en: 'NPS detractors',
    zh: 'NPS 贬损者',
    formula: "survey_answered with survey_id 'nps' and score 0–6",
    unit: 'count',
    format: 'integer',
    higherIsBetter: false,
    component: true,
  }),
  npsCount('nps_responses', 0, 10, {
    en: 'NPS responses',
    zh: 'NPS 答卷数',
    formula: "survey_answered with survey_id 'nps' and score 0–10",
    unit: 'count',
    format: 'integer',
    higherIsBetter: true,
    component: true,
  }),
  formula('nps', '(nps_promoters - nps_detractors) / nps_responses * 100', {
    en: 'NPS (net promoter score)',
    zh: '净推荐值（NPS）',
    formula: '% promoters (9–10) − % detractors (0–6), from −100 to 100',
    unit: 'score',
    format: 'decimal',
    higherIsBetter: true,
  }),

  // ── content (content_stats) ───────────────────────────────────────────────────────────────
  sum('impressions', 'content', 'e.impressions', {
    en: 'Impressions',
    zh: '曝光量',
    formula: 'Σ impressions',
  }),
  sum('plays', 'content', 'e.plays', { en: 'Plays / views', zh: '播放量', formula: 'Σ plays' }),
  sum('unique_viewers', 'content', 'e.unique_viewers', {
    en: 'Unique viewers',
    zh: '观看人数',
    formula: 'Σ unique viewers as the platforms report them per post per day',
    unit: 'persons',
  }),
  sum('likes', 'content', 'e.likes', { en: 'Likes', zh: '点赞数', formula: 'Σ likes' }),
  sum('comments', 'content', 'e.comments', { en: 'Comments', zh: '评论数', formula: 'Σ comments' }),
  sum('shares', 'content', 'e.shares', { en: 'Shares', zh: '分享数', formula: 'Σ shares' }),
  sum('favourites', 'content', 'e.favourites', { en: 'Favourites', zh: '收藏数', formula: 'Σ favourites' }),
  // Watching is measured on the rows that report it (videos), as the content analyses do.
  sum('watch_seconds', 'content', `if(${watchedRowSql('e')}, e.avg_watch_seconds * e.plays, 0)`, {
    en: 'Watch time',
    zh: '总观看时长',
    formula: 'Σ (average watch seconds × plays), over videos',
    unit: 'seconds',
    format: 'duration',
    component: true,
  }),
  sum('completed_plays', 'content', `if(${watchedRowSql('e')}, e.completion_rate * e.plays, 0)`, {
    en: 'Completed plays',
    zh: '完播次数',
    formula: 'Σ (completion rate × plays), over videos',
    format: 'decimal',
    component: true,
  }),
  sum('video_plays', 'content', `if(${watchedRowSql('e')}, e.plays, 0)`, {
    en: 'Video plays',
    zh: '视频播放量',
    formula: 'Σ plays of videos (rows with a length, completion rate or watch time)',
    component: true,
  }),
  sum('follower_growth', 'content', 'e.followers_gained', {
    en: 'Follower growth',
    zh: '涨粉数',
    formula: 'Σ followers gained (net of unfollows)',
    unit: 'persons',
  }),
  {
    ...sum('followers', 'content', 'e.followers_gained', {
      en: 'Followers',
      zh: '粉丝数',
      formula: 'running Σ followers gained from the first day of data to the end of the bucket',
      unit: 'persons',
      component: true,
    }),
    cumulative: true,
  },
  formula('interactions', 'likes + comments + shares + favourites', {
    en: 'Interactions',
    zh: '互动量',
    formula: 'likes + comments + shares + favourites',
    unit: 'count',
    format: 'integer',
    higherIsBetter: true,
  }),
  formula('avg_watch_time', 'watch_seconds / video_plays', {
    en: 'Average watch time',
    zh: '平均观看时长',
    formula: 'Σ watch seconds ÷ Σ video plays',
    unit: 'seconds',
    format: 'duration',
    higherIsBetter: true,
  }),
  formula('completion_rate', 'completed_plays / video_plays', {
    en: 'Completion rate',
    zh: '完播率',
    formula: 'Σ completed plays ÷ Σ video plays',
    unit: 'ratio',
    format: 'percent',
    higherIsBetter: true,
  }),
  formula('interaction_rate', '(likes + comments + shares + favourites) / plays', {
    en: 'Interaction rate',
    zh: '互动率',
    formula: 'Σ (likes + comments + shares + favourites) ÷ Σ plays',
    unit: 'ratio',
    format: 'percent',
    higherIsBetter: true,
  }),
  formula('share_rate', 'shares / plays', {
    en: 'Share rate',
    zh: '分享率',
    formula: 'Σ shares ÷ Σ plays',
    unit: 'ratio',
    format: 'percent',
    higherIsBetter: true,
  }),
  formula('engagement_per_follower', '(likes + comments + shares + favourites) / followers', {
    en: 'Engagement per follower',
    zh: '粉丝互动率',
    formula: 'Σ interactions ÷ followers at the end of the bucket',
    unit: 'ratio',
    format: 'percent',
    higherIsBetter: true,
  }),
  formula(
    'content_heat_index',
    '(plays * 0.1 + completed_plays * 0.5 + likes + favourites * 2 + comments * 3 + shares * 5 + follower_growth * 10) / 100',
    {
      // Not the leaderboard's 0–100 heat index (relative to a platform's best post, so it does not
      // add up over days or posts): this one sums, so it can be charted and broken down.
      en: 'Content heat (weighted actions)',
      zh: '内容热度值（加权行为）',
      formula:
        '(0.1·plays + 0.5·completed plays + likes + 2·favourites + 3·comments + 5·shares + 10·follower growth) ÷ 100',
      unit: 'index',
      format: 'decimal',
      higherIsBetter: true,
    },
  ),

  // ── ads (ad_spend) ───────────────────────────────────────────────────────────────────────
  sum('ad_impressions', 'ads', 'e.impressions', {
    en: 'Ad impressions',
    zh: '广告曝光量',
    formula: 'Σ ad impressions',
  }),
  sum('clicks', 'ads', 'e.clicks', { en: 'Ad clicks', zh: '广告点击量', formula: 'Σ clicks' }),
  sum('ad_spend', 'ads', 'toFloat64(e.spend)', {
    en: 'Ad spend',
    zh: '广告消耗',
    formula: 'Σ spend',
    unit: 'currency',
    format: 'currency',
    higherIsBetter: null,
  }),
  sum('ad_conversions', 'ads', 'e.conversions', {
    en: 'Ad conversions',
    zh: '广告转化数',
    formula: 'Σ conversions reported by the ad platform',
  }),
  sum('ad_revenue', 'ads', 'toFloat64(e.conversion_revenue)', {
    en: 'Ad-attributed revenue',
    zh: '广告转化收入',
    formula: 'Σ conversion revenue reported by the ad platform',
    unit: 'currency',
    format: 'currency',
  }),
  formula('ctr', 'clicks / ad_impressions', {
    en: 'CTR (click-through rate)',
    zh: '点击率（CTR）',
    formula: 'Σ clicks ÷ Σ impressions',
    unit: 'ratio',
    format: 'percent',
    higherIsBetter: true,
  }),
  formula('cvr', 'ad_conversions / clicks', {
    en: 'CVR (conversion rate)',
    zh: '转化率（CVR）',
    formula: 'Σ conversions ÷ Σ clicks',
    unit: 'ratio',
    format: 'percent',
    higherIsBetter: true,
  }),
  formula('cpm', 'ad_spend / ad_impressions * 1000', {
    en: 'CPM (cost per mille)',
    zh: '千次曝光成本（CPM）',
    formula: 'Σ spend ÷ Σ impressions × 1000',
    unit: 'currency',
    format: 'currency',
    higherIsBetter: false,
  }),
  formula('cpc', 'ad_spend / clicks', {
    en: 'CPC (cost per click)',
    zh: '单次点击成本（CPC）',
    formula: 'Σ spend ÷ Σ clicks',
    unit: 'currency',
    format: 'currency',
    higherIsBetter: false,
  }),
  formula('cpa', 'ad_spend / ad_conversions', {
    en: 'CPA (cost per acquisition)',
    zh: '单次转化成本（CPA）',
    formula: 'Σ spend ÷ Σ conversions',
    unit: 'currency',
    format: 'currency',
    higherIsBetter: false,
  }),
  formula('roas', 'ad_revenue / ad_spend', {
    en: 'ROAS (return on ad spend)',
    zh: '广告支出回报率（ROAS）',
    formula: 'Σ conversion revenue ÷ Σ spend',
    unit: 'ratio',
    format: 'decimal',
    higherIsBetter: true,
  }),
  formula('roi', '(ad_revenue - ad_spend) / ad_spend', {
    en: 'ROI (return on investment)',
    zh: '投资回报率（ROI）',
    formula: '(Σ conversion revenue − Σ spend) ÷ Σ spend',
    unit: 'ratio',
    format: 'percent',
    higherIsBetter: true,
  }),

  // ── orders ───────────────────────────────────────────────────────────────────────────────
  {
    id: 'orders',
    kind: 'aggregate',
    source: 'orders',
    en: 'Orders',
    zh: '订单数',
    formula: 'count of orders placed, cancelled ones excluded',
    unit: 'count',
    format: 'integer',
    higherIsBetter: true,
    additive: true,
    sql: ({ bind }) => `countIf(${validOrder(bind)})`,
  },
  {
    id: 'gmv',
    kind: 'aggregate',
    source: 'orders',
    en: 'GMV (gross merchandise value)',
    zh: '成交总额（GMV）',
    formula: 'Σ amount of orders placed, cancelled ones excluded',
    unit: 'currency',
    format: 'currency',
    higherIsBetter: true,
    additive: true,
    sql: ({ bind }) => `sumIf(toFloat64(e.amount), ${validOrder(bind)})`,
  },
  {
    id: 'net_revenue',
    kind: 'aggregate',
    source: 'orders',
    en: 'Net revenue',
    zh: '净收入',
    formula: 'Σ amount of orders neither cancelled nor refunded',
    unit: 'currency',
    format: 'currency',
    higherIsBetter: true,
    additive: true,
    sql: ({ bind }) => `sumIf(toFloat64(e.amount), ${paidOrder(bind)})`,
  },
  {
    id: 'buyers',
    kind: 'aggregate',
    source: 'orders',
    en: 'Buyers',
    zh: '购买人数',
    formula: 'distinct resolved persons with an order (cancelled excluded)',
    unit: 'persons',
    format: 'integer',
    higherIsBetter: true,
    sql: ({ bind, person }) => `uniqExactIf(${person}, ${validOrder(bind)})`,
  },
  {
    id: 'repeat_buyers',
    kind: 'aggregate',
    source: 'orders',
    en: 'Repeat buyers',
    zh: '复购人数',
    formula: 'buyers with two or more orders in the bucket',
    unit: 'persons',
    format: 'integer',
    higherIsBetter: true,
    // Orders per person in the group, then the persons with at least two.
    sql: ({ bind, person }) =>
      `arrayCount(n -> n >= 2, mapValues(sumMapIf(map(${person}, toUInt64(1)), ${validOrder(bind)})))`,
  },
  {
    id: 'new_buyers',
    kind: 'aggregate',
    source: 'orders',
    en: 'New buyers',
    zh: '新买家数',
    formula: 'buyers whose first order ever falls in the bucket',
    unit: 'persons',
    format: 'integer',
    higherIsBetter: true,
    needsFirstOrders: true,
    sql: ({ bind, person, sameBucket }) =>
      `uniqExactIf(${person}, ${validOrder(bind)} AND ${sameBucket('fo.first_at')})`,
  },
  formula('returning_buyers', 'buyers - new_buyers', {
    en: 'Returning buyers',
    zh: '老买家数',
    formula: 'buyers − new buyers (first order before the bucket)',
    unit: 'persons',
    format: 'integer',
    higherIsBetter: true,
  }),
  formula('aov', 'gmv / orders', {
    en: 'AOV (average order value)',
    zh: '客单价（AOV）',
    formula: 'GMV ÷ orders',
    unit: 'currency',
    format: 'currency',
    higherIsBetter: true,
  }),
  formula('repurchase_rate', 'repeat_buyers / buyers', {
    en: 'Repurchase rate',
    zh: '复购率',
    formula: 'buyers with ≥ 2 orders in the bucket ÷ buyers',
    unit: 'ratio',
    format: 'percent',
    higherIsBetter: true,
  }),

  // ── cohorts (new persons by first event day) ──────────────────────────────────────────────
  {
    id: 'new_persons',
    kind: 'aggregate',
    source: 'cohorts',
    en: 'New persons',
    zh: '新增用户数',
    formula: 'persons whose first event ever falls in the bucket',
    unit: 'persons',
    format: 'integer',
    higherIsBetter: true,
    additive: true,
    sql: () => 'count()',
  },
  ...retention(1),
  ...retention(7),
  ...retention(30),
  {
    id: 'cohort_revenue',
    kind: 'aggregate',
    source: 'cohorts',
    en: 'Cohort revenue',
    zh: '同期群收入',
    formula: 'Σ net order amount to date of the persons first seen in the bucket',
    unit: 'currency',
    format: 'currency',
    higherIsBetter: true,
    component: true,
    additive: true,
    sql: () => 'sum(e.revenue)',
  },
  formula('cohort_ltv', 'cohort_revenue / new_persons', {
    en: 'Cohort LTV',
    zh: '同期群生命周期价值（LTV）',
    formula: 'net revenue to date of the persons first seen in the bucket ÷ those persons',
    unit: 'currency',
    format: 'currency',
    higherIsBetter: true,
  }),
];

/** Variables a formula may read besides metric ids: the bucket's length inside the date range. */
export const FORMULA_VARIABLES = ['$days', '$weeks', '$months'] as const;
