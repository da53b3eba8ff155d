import { EVENT_COLUMNS } from '../query/fields.js';

/**
 * The facts a metric reads. Each source names its table, its time column and the dimensions it can
 * be broken down or filtered by, as SQL over the row alias `e`. Only these expressions ever become
 * SQL identifiers; values are always bound.
 */

export type SourceId = 'events' | 'content' | 'ads' | 'orders' | 'cohorts';

export interface SourceDef {
  id: SourceId;
  /** The facts table the source reads. */
  table: 'events' | 'content_stats' | 'ad_spend' | 'orders';
  en: string;
  zh: string;
  /** 'datetime': a UTC DateTime64 cut into buckets in the project time zone; 'date': a local date. */
  timeKind: 'datetime' | 'date';
  /** Dimension id → SQL (text) over alias `e`. Events also take `properties.<key>` and `person.<trait>`. */
  dimensions: Record<string, string>;
}

/** Short names people use for dimensions, mapped to their ids. */
export const DIMENSION_ALIASES: Record<string, string> = {
  account: 'account_id',
  campaign: 'campaign_id',
  content: 'content_id',
  creative: 'creative_id',
  ad_group: 'ad_group_id',
  device: 'device_type',
  shop: 'shop_id',
};

const eventDimensions = Object.fromEntries(
  Object.entries(EVENT_COLUMNS)
    .filter(([, c]) => c.kind === 'string')
    .map(([name, c]) => [name, `e.${c.column}`]),
);

export const SOURCES: Record<SourceId, SourceDef> = {
  events: {
    id: 'events',
    table: 'events',
    en: 'Tracked events',
    zh: '埋点事件',
    timeKind: 'datetime',
    dimensions: eventDimensions,
  },
  content: {
    id: 'content',
    table: 'content_stats',
    en: 'Content statistics (per post per day)',
    zh: '内容数据（每条内容每天）',
    timeKind: 'date',
    dimensions: {
      platform: 'e.platform',
      account_id: 'e.account_id',
      content_id: 'e.content_id',
      content_type: 'e.content_type',
    },
  },
  ads: {
    id: 'ads',
    table: 'ad_spend',
    en: 'Ad spend (per day per creative)',
    zh: '广告投放（每天每个创意）',
    timeKind: 'date',
    dimensions: {
      platform: 'e.platform',
      account_id: 'e.account_id',
      campaign_id: 'e.campaign_id',
      ad_group_id: 'e.ad_group_id',
      creative_id: 'e.creative_id',
      channel: 'e.channel',
    },
  },
  orders: {
    id: 'orders',
    table: 'orders',
    en: 'Orders',
    zh: '订单',
    timeKind: 'datetime',
    dimensions: {
      platform: 'e.platform',
      shop_id: 'e.shop_id',
      channel: 'e.channel',
      utm_source: 'e.utm_source',
      utm_medium: 'e.utm_medium',
      utm_campaign: 'e.utm_campaign',
      campaign_id: 'e.campaign_id',
      content_id: 'e.content_id',
      currency: 'e.currency',
    },
  },
  cohorts: {
    id: 'cohorts',
    table: 'events',
    en: 'New-person cohorts (by first event day)',
    zh: '新用户同期群（按首次事件日期）',
    timeKind: 'date',
    dimensions: {},
  },
};

/** Whether a source takes a dimension (events also take property and person-trait fields). */
export function sourceHasDimension(source: SourceId, dimension: string): boolean {
  if (Object.hasOwn(SOURCES[source].dimensions, dimension)) return true;
  return source === 'events' && (dimension.startsWith('properties.') || dimension.startsWith('person.'));
}

/** Dimension ids a source lists (without the open-ended property and trait fields). */
export function sourceDimensions(source: SourceId): string[] {
  const ids = Object.keys(SOURCES[source].dimensions);
  return source === 'events' ? [...ids, 'properties.<key>', 'person.<trait>'] : ids;
}
