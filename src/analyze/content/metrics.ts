/**
 * Content metric formulas over `content_stats`, defined once for every content analysis.
 *
 * Every ratio is computed from summed components, never by averaging daily ratios: a day with
 * 10 plays must not weigh as much as a day with 10,000. A ratio whose denominator is zero is NULL
 * (JSON null), never NaN or Infinity.
 *
 * Completion and watch time follow the same rule as the metrics catalogue (`watchedRowSql`), so a
 * completion rate reads the same on the overview and on the content pages.
 */

/** A summed component: `row` is its per-row expression over `content_stats`. */
interface Component {
  name: string;
  row: string;
}

/**
 * SQL condition: the `content_stats` row `alias` reports watching — a video, known by its length or
 * by a completion rate or watch time above zero (exports often leave the length out). Completion and
 * watch time are averaged over the plays of such rows only: an image post's completion rate of 0
 * would otherwise drag every average down. One rule for the catalogue and the content analyses.
 */
export function watchedRowSql(alias: string): string {
  return `(${alias}.duration_seconds > 0 OR ${alias}.completion_rate > 0 OR ${alias}.avg_watch_seconds > 0)`;
}

const COMPONENTS: readonly Component[] = [
  { name: 'impressions', row: 's.impressions' },
  { name: 'plays', row: 's.plays' },
  { name: 'likes', row: 's.likes' },
  { name: 'comments', row: 's.comments' },
  { name: 'shares', row: 's.shares' },
  { name: 'favourites', row: 's.favourites' },
  { name: 'followers_gained', row: 's.followers_gained' },
  { name: 'video_plays', row: `if(${watchedRowSql('s')}, s.plays, 0)` },
  // plays × completion rate = plays that were watched to the end
  { name: 'completed_plays', row: `if(${watchedRowSql('s')}, s.completion_rate * s.plays, 0)` },
  { name: 'watch_seconds', row: `if(${watchedRowSql('s')}, s.avg_watch_seconds * s.plays, 0)` },
];

/**
 * `sum(<row>) AS <name>` for every component, over `content_stats AS s` rows. Columns are qualified
 * so that they never resolve to a same-named alias of the query (`argMax(…) AS duration_seconds`).
 */
export function sumRowComponents(): string {
  return COMPONENTS.map((c) => `sum(${c.row}) AS ${c.name}`).join(',\n      ');
}

/**
 * `sum(p.<name>) AS <name>` for every component, re-aggregating rows `p` that already hold sums
 * (posts into tags, platforms …); qualified so that no other aggregate reads the new alias.
 */
export function resumComponents(): string {
  return COMPONENTS.map((c) => `sum(p.${c.name}) AS ${c.name}`).join(',\n      ');
}

/** The component columns as they are (selecting them through a CTE). */
export const COMPONENT_NAMES: readonly string[] = COMPONENTS.map((c) => c.name);

export interface ContentMetric {
  id: string;
  en: string;
  zh: string;
  /** SQL over the component columns of one group (a post, a tag, a platform …). */
  sql: string;
  /** ratio (0..1), count or seconds */
  unit: 'count' | 'ratio' | 'seconds' | 'index';
}

const ratio = (numerator: string, denominator: string) =>
  `if(${denominator} = 0, NULL, ${numerator} / ${denominator})`;

const INTERACTIONS = 'likes + comments + shares + favourites';

/** The metrics every content analysis reports, computed from the components of a group. */
export const CONTENT_METRICS: readonly ContentMetric[] = [
  { id: 'impressions', en: 'Impressions', zh: '曝光量', sql: 'impressions', unit: 'count' },
  { id: 'plays', en: 'Plays', zh: '播放量', sql: 'plays', unit: 'count' },
  { id: 'likes', en: 'Likes', zh: '点赞数', sql: 'likes', unit: 'count' },
  { id: 'comments', en: 'Comments', zh: '评论数', sql: 'comments', unit: 'count' },
  { id: 'shares', en: 'Shares', zh: '分享数', sql: 'shares', unit: 'count' },
  { id: 'favourites', en: 'Favourites', zh: '收藏数', sql: 'favourites', unit: 'count' },
  { id: 'interactions', en: 'Interactions', zh: '互动数', sql: `(${INTERACTIONS})`, unit: 'count' },
  // interaction rate = (likes + comments + shares + favourites) / plays
  {
    id: 'interaction_rate',
    en: 'Interaction rate',
    zh: '互动率',
    sql: ratio(`(${INTERACTIONS})`, 'plays'),
    unit: 'ratio',
  },
  // completion rate = Σ(completion_rate × plays) / Σ plays, over videos
  {
    id: 'completion_rate',
    en: 'Completion rate',
    zh: '完播率',
    sql: ratio('completed_plays', 'video_plays'),
    unit: 'ratio',
  },
  // share rate = shares / plays
  { id: 'share_rate', en: 'Share rate', zh: '分享率', sql: ratio('shares', 'plays'), unit: 'ratio' },
  // average watch time = Σ(avg_watch_seconds × plays) / Σ plays, over videos
  {
    id: 'avg_watch_seconds',
    en: 'Average watch time',
    zh: '平均观看时长',
    sql: ratio('watch_seconds', 'video_plays'),
    unit: 'seconds',
  },
  // follower growth = Σ followers_gained (net of unfollows, as the platforms report it)
  { id: 'followers_gained', en: 'Follower growth', zh: '涨粉数', sql: 'followers_gained', unit: 'count' },
];

/** Metric ids, in report order. */
export const CONTENT_METRIC_IDS: readonly string[] = CONTENT_METRICS.map((m) => m.id);

/**
 * `<sql> AS <id>` for every metric that is not a component itself, to add to `SELECT *` over rows
 * holding the components (plays, likes … are already columns there).
 */
export function metricColumns(): string {
  return CONTENT_METRICS.filter((m) => m.sql !== m.id)
    .map((m) => `${m.sql} AS ${m.id}`)
    .join(',\n      ');
}

export type MetricValues = Record<string, number | null>;

/** The metrics of a group with no statistics: counts are 0, ratios have no value. */
export function emptyMetrics(): MetricValues {
  return Object.fromEntries(CONTENT_METRICS.map((m) => [m.id, m.unit === 'count' ? 0 : null]));
}

/** Picks the metric columns of a result row as numbers (null stays null). */
export function metricValues(row: Record<string, unknown>, ids: readonly string[] = CONTENT_METRIC_IDS) {
  const values: MetricValues = {};
  for (const id of ids) {
    const value = row[id];
    values[id] = value === null || value === undefined ? null : Number(value);
  }
  return values;
}

/**
 * Content heat index (0–100) of a post, normalised per platform:
 *
 *   P = ln(1 + plays) / max ln(1 + plays)             over the platform's posts in the range
 *   E = ln(1 + interactions) / max ln(1 + interactions)
 *   S = ln(1 + shares) / max ln(1 + shares)
 *   C = completion rate (0..1)
 *   heat = 100 × (0.40 P + 0.30 E + 0.15 S + 0.15 C)
 *
 * A post without a completion rate (an image post) gets 100 × (0.40 P + 0.30 E + 0.15 S) / 0.85.
 * Logs keep one viral post from flattening everyone else to zero; the per-platform maximum makes a
 * Weibo post comparable with a Douyin video although Douyin counts many more plays.
 * `per_platform` must be a window `PARTITION BY platform` over the posts of the date range.
 */
export const HEAT_INDEX_SQL = `round(100 * if(completion_rate IS NULL,
      (0.40 * heat_p + 0.30 * heat_e + 0.15 * heat_s) / 0.85,
      0.40 * heat_p + 0.30 * heat_e + 0.15 * heat_s + 0.15 * completion_rate), 2)`;

/** The normalised parts heat_p, heat_e, heat_s of the heat index, as window expressions. */
export const HEAT_PARTS_SQL = (
  [
    ['heat_p', 'plays'],
    ['heat_e', '(likes + comments + shares + favourites)'],
    ['heat_s', 'shares'],
  ] as const
)
  .map(([name, value]) => {
    const log = `log1p(${value})`;
    const max = `max(${log}) OVER per_platform`;
    return `if(${max} = 0, 0, ${log} / ${max}) AS ${name}`;
  })
  .join(',\n      ');
