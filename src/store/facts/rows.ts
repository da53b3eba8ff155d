/**
 * The shapes of rows as they are inserted (JSONEachRow) into the facts tables. Times are UTC
 * milliseconds since the epoch (ClickHouse parses them into DateTime64(3)), or ISO strings.
 * Amounts are numbers in the row's currency.
 */

/**
 * Amounts in Decimal(18, 4) columns (revenue, order amounts, ad spend) are below this in magnitude:
 * 14 digits before the point. A larger one would make the whole insert fail, so the row carrying it is
 * refused (quarantined) before it is stored.
 */
export const MAX_STORED_AMOUNT = 1e14;

/** What is said of an amount at or beyond MAX_STORED_AMOUNT, by ingestion and by imports. */
export const AMOUNT_TOO_LARGE = {
  en: 'is beyond the largest amount kept, ±99,999,999,999,999.9999',
  zh: '超出可保存的最大金额 ±99,999,999,999,999.9999',
} as const;

export interface EventRow {
  project_id: string;
  message_id: string;
  /** Segment call type: track, page, screen, identify, group, alias. */
  type: string;
  /** Event name; page → '$pageview', screen → '$screen', identify → '$identify', group → '$group', alias → '$alias'. */
  event: string;
  timestamp: number;
  received_at: number;
  distinct_id: string;
  anonymous_id: string;
  user_id: string;
  person_id: string;
  session_id: string;
  source_id: string;
  platform: string;
  channel: string;
  utm_source: string;
  utm_medium: string;
  utm_campaign: string;
  utm_content: string;
  utm_term: string;
  campaign_id: string;
  content_id: string;
  sharer_id: string;
  revenue: number;
  currency: string;
  ip: string;
  user_agent: string;
  locale: string;
  country: string;
  region: string;
  city: string;
  device_type: string;
  os: string;
  browser: string;
  app_version: string;
  page_url: string;
  page_path: string;
  referrer: string;
  /** JSON text of the event's properties (traits for identify/group). */
  properties: string;
  /** JSON text of the context that was not promoted to columns. */
  context: string;
}

export interface IdentityRow {
  project_id: string;
  distinct_id: string;
  /** anonymous, user, openid, unionid, phone_hash, email_hash, platform */
  id_type: string;
  person_id: string;
  version: number;
  is_deleted: 0 | 1;
  updated_at: number;
}

export interface IdentityLogRow {
  project_id: string;
  at: number;
  /** merge | conflict */
  kind: string;
  person_id: string;
  other_person_id: string;
  distinct_id: string;
  other_distinct_id: string;
  reason: string;
  message_id: string;
}

export interface PersonRow {
  project_id: string;
  person_id: string;
  /** JSON text of the latest trait values. */
  traits: string;
  /** JSON text of consent per purpose. */
  consent: string;
  created_at: number;
  updated_at: number;
  version: number;
  is_deleted: 0 | 1;
}

export interface ContentStatsRow {
  project_id: string;
  platform: string;
  account_id: string;
  content_id: string;
  /** YYYY-MM-DD */
  date: string;
  title: string;
  content_type: string;
  published_at: number | null;
  duration_seconds: number;
  tags: string[];
  impressions: number;
  plays: number;
  unique_viewers: number;
  likes: number;
  comments: number;
  shares: number;
  favourites: number;
  /** 0..1 */
  completion_rate: number;
  avg_watch_seconds: number;
  followers_gained: number;
  profile_visits: number;
  source_id: string;
  updated_at: number;
}

export interface AdSpendRow {
  project_id: string;
  /** YYYY-MM-DD */
  date: string;
  platform: string;
  account_id: string;
  campaign_id: string;
  campaign_name: string;
  ad_group_id: string;
  ad_group_name: string;
  creative_id: string;
  creative_name: string;
  channel: string;
  impressions: number;
  clicks: number;
  spend: number;
  currency: string;
  conversions: number;
  conversion_revenue: number;
  source_id: string;
  updated_at: number;
}

export interface OrderRow {
  project_id: string;
  order_id: string;
  distinct_id: string;
  person_id: string;
  platform: string;
  shop_id: string;
  created_at: number;
  paid_at: number | null;
  /** created | paid | shipped | completed | refunded | cancelled */
  status: string;
  amount: number;
  currency: string;
  item_count: number;
  /** JSON text: [{sku, name, quantity, price}] */
  items: string;
  coupon: string;
  channel: string;
  utm_source: string;
  utm_medium: string;
  utm_campaign: string;
  campaign_id: string;
  content_id: string;
  source_id: string;
  updated_at: number;
}

export interface CommentRow {
  project_id: string;
  platform: string;
  content_id: string;
  comment_id: string;
  parent_id: string;
  author_id: string;
  author_name: string;
  text: string;
  created_at: number;
  like_count: number;
  language: string;
  /** positive | negative | neutral | '' (unknown) */
  sentiment: string;
  sentiment_score: number;
  source_id: string;
  updated_at: number;
}

export interface QuarantineRow {
  project_id: string;
  id: string;
  received_at: number;
  /** http | import | webhook | connector */
  origin: string;
  source_id: string;
  reason_code: string;
  /** Why, in English. */
  reason: string;
  /** Why, in Chinese. */
  reason_zh: string;
  field: string;
  row_number: number;
  raw: string;
}
