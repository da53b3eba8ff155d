/**
 * The facts schema, as numbered migrations. Each statement is idempotent (IF NOT EXISTS), and the
 * runner records applied versions in `schema_migrations`, so `pulseloop migrate` can run any number
 * of times. Never edit a released migration: add a new one.
 *
 * Choices that hold for every table:
 * - `project_id` leads every sort key: each query is scoped to one project, and the primary index
 *   then skips every other tenant's granules.
 * - Time is stored in UTC (`DateTime64(3, 'UTC')`); the project time zone is applied at query time.
 * - Monthly partitions keep parts few and let retention drop whole partitions.
 * - Re-importable facts use ReplacingMergeTree with the natural key as sort key and `updated_at` as
 *   version, so an updated export replaces the old row and a repeated one changes nothing. Readers
 *   use FINAL (or argMax) so unmerged duplicates are never counted.
 */

export interface Migration {
  version: number;
  name: string;
  /** The name in Chinese, as `pulseloop migrate` shows it (the stored name stays `name`). */
  name_zh: string;
  statements: string[];
}

export const FACTS_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'core facts tables',
    name_zh: '核心事实表',
    statements: [
      `CREATE TABLE IF NOT EXISTS schema_migrations (
        version UInt32,
        name String,
        applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ReplacingMergeTree ORDER BY version`,

      // events: one row per tracked event.
      // Sort key (project, event, day, distinct id, message id):
      //  - trends and funnels read a few event names over a date range: the first three columns prune
      //    to exactly those granules;
      //  - within a day and event, rows of one person sit together, which windowFunnel, retention and
      //    paths read per person;
      //  - message_id ends the key, so ReplacingMergeTree folds a re-delivered event (same project,
      //    name, day, sender and messageId) into one row. Ingestion already drops re-deliveries inside
      //    its dedupe window and WAL replays carry insert-deduplication tokens; this is the last guard.
      // distinct_id is the sender's id (userId, else anonymousId); the person is resolved at query
      // time through `identities`, so events sent before an identify count for the merged person.
      `CREATE TABLE IF NOT EXISTS events (
        project_id LowCardinality(String),
        message_id String,
        type LowCardinality(String),
        event LowCardinality(String),
        timestamp DateTime64(3, 'UTC'),
        received_at DateTime64(3, 'UTC'),
        distinct_id String,
        anonymous_id String,
        user_id String,
        person_id String,
        session_id String,
        source_id LowCardinality(String),
        platform LowCardinality(String),
        channel LowCardinality(String),
        utm_source LowCardinality(String),
        utm_medium LowCardinality(String),
        utm_campaign String,
        utm_content String,
        utm_term String,
        campaign_id String,
        content_id String,
        sharer_id String,
        revenue Decimal(18, 4),
        currency LowCardinality(String),
        ip String,
        user_agent String,
        locale LowCardinality(String),
        country LowCardinality(String),
        region LowCardinality(String),
        city LowCardinality(String),
        device_type LowCardinality(String),
        os LowCardinality(String),
        browser LowCardinality(String),
        app_version LowCardinality(String),
        page_url String,
        page_path String,
        referrer String,
        properties String CODEC(ZSTD(3)),
        context String CODEC(ZSTD(3))
      ) ENGINE = ReplacingMergeTree(received_at)
      PARTITION BY toYYYYMM(timestamp)
      ORDER BY (project_id, event, toDate(timestamp), distinct_id, message_id)
      SETTINGS non_replicated_deduplication_window = 10000`,

      // identities: distinct id → person. A merge writes new rows with a higher version; the latest
      // version wins (argMax at query time, FINAL or background merges on disk).
      `CREATE TABLE IF NOT EXISTS identities (
        project_id LowCardinality(String),
        distinct_id String,
        id_type LowCardinality(String),
        person_id String,
        version UInt64,
        is_deleted UInt8 DEFAULT 0,
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(version)
      ORDER BY (project_id, distinct_id)
      SETTINGS non_replicated_deduplication_window = 10000`,

      // identity_log: every merge and every refused merge (two different known users), so conflicts
      // are visible instead of silently joining two people.
      `CREATE TABLE IF NOT EXISTS identity_log (
        project_id LowCardinality(String),
        at DateTime64(3, 'UTC'),
        kind LowCardinality(String),
        person_id String,
        other_person_id String,
        distinct_id String,
        other_distinct_id String,
        reason String,
        message_id String
      ) ENGINE = ReplacingMergeTree
      ORDER BY (project_id, at, kind, distinct_id, other_distinct_id)
      SETTINGS non_replicated_deduplication_window = 10000`,

      // persons: latest traits and consent per person.
      `CREATE TABLE IF NOT EXISTS persons (
        project_id LowCardinality(String),
        person_id String,
        traits String CODEC(ZSTD(3)),
        consent String,
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC'),
        version UInt64,
        is_deleted UInt8 DEFAULT 0
      ) ENGINE = ReplacingMergeTree(version)
      ORDER BY (project_id, person_id)
      SETTINGS non_replicated_deduplication_window = 10000`,

      // content_stats: natural key (project, platform, account, content, date); a newer export of the
      // same post and day replaces the old numbers.
      `CREATE TABLE IF NOT EXISTS content_stats (
        project_id LowCardinality(String),
        platform LowCardinality(String),
        account_id String,
        content_id String,
        date Date,
        title String,
        content_type LowCardinality(String),
        published_at Nullable(DateTime64(3, 'UTC')),
        duration_seconds Float64,
        tags Array(String),
        impressions UInt64,
        plays UInt64,
        unique_viewers UInt64,
        likes UInt64,
        comments UInt64,
        shares UInt64,
        favourites UInt64,
        completion_rate Float64,
        avg_watch_seconds Float64,
        followers_gained Int64,
        profile_visits UInt64,
        source_id LowCardinality(String),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at)
      PARTITION BY toYYYYMM(date)
      ORDER BY (project_id, platform, account_id, content_id, date)`,

      // ad_spend: natural key (project, date, platform, campaign, ad group, creative).
      `CREATE TABLE IF NOT EXISTS ad_spend (
        project_id LowCardinality(String),
        date Date,
        platform LowCardinality(String),
        account_id String,
        campaign_id String,
        campaign_name String,
        ad_group_id String,
        ad_group_name String,
        creative_id String,
        creative_name String,
        channel LowCardinality(String),
        impressions UInt64,
        clicks UInt64,
        spend Decimal(18, 4),
        currency LowCardinality(String),
        conversions UInt64,
        conversion_revenue Decimal(18, 4),
        source_id LowCardinality(String),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at)
      PARTITION BY toYYYYMM(date)
      ORDER BY (project_id, date, platform, campaign_id, ad_group_id, creative_id)`,

      // orders: natural key (project, order id); a status change arrives as a newer row.
      // The minmax index on created_at lets time-range scans skip parts.
      `CREATE TABLE IF NOT EXISTS orders (
        project_id LowCardinality(String),
        order_id String,
        distinct_id String,
        person_id String,
        platform LowCardinality(String),
        shop_id String,
        created_at DateTime64(3, 'UTC'),
        paid_at Nullable(DateTime64(3, 'UTC')),
        status LowCardinality(String),
        amount Decimal(18, 4),
        currency LowCardinality(String),
        item_count UInt32,
        items String,
        coupon String,
        channel LowCardinality(String),
        utm_source LowCardinality(String),
        utm_medium LowCardinality(String),
        utm_campaign String,
        campaign_id String,
        content_id String,
        source_id LowCardinality(String),
        updated_at DateTime64(3, 'UTC'),
        INDEX created_at_minmax created_at TYPE minmax GRANULARITY 1
      ) ENGINE = ReplacingMergeTree(updated_at)
      PARTITION BY toYYYYMM(created_at)
      ORDER BY (project_id, order_id)`,

      // comments: natural key (project, platform, content, comment id).
      `CREATE TABLE IF NOT EXISTS comments (
        project_id LowCardinality(String),
        platform LowCardinality(String),
        content_id String,
        comment_id String,
        parent_id String,
        author_id String,
        author_name String,
        text String,
        created_at DateTime64(3, 'UTC'),
        like_count UInt32,
        language LowCardinality(String),
        sentiment LowCardinality(String),
        sentiment_score Float32,
        source_id LowCardinality(String),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at)
      PARTITION BY toYYYYMM(created_at)
      ORDER BY (project_id, platform, content_id, comment_id)`,

      // quarantine: every rejected input with its reason and raw payload. Nothing is dropped silently.
      `CREATE TABLE IF NOT EXISTS quarantine (
        project_id LowCardinality(String),
        id String,
        received_at DateTime64(3, 'UTC'),
        origin LowCardinality(String),
        source_id LowCardinality(String),
        reason_code LowCardinality(String),
        reason String,
        field String,
        row_number UInt64,
        raw String CODEC(ZSTD(3))
      ) ENGINE = ReplacingMergeTree
      PARTITION BY toYYYYMM(received_at)
      ORDER BY (project_id, received_at, id)
      SETTINGS non_replicated_deduplication_window = 10000`,
    ],
  },
  {
    // Hourly event rollup for the dashboards' trends (src/store/facts/rollups.ts): count and Σ revenue
    // per project, event, UTC hour and six low-cardinality columns, fed by a materialised view.
    // Summing: partial rows of one key add up in merges, and readers sum() anyway, so no FINAL.
    //
    // Exactness. `events` folds a re-delivered event (same key) with FINAL; the view sees every
    // inserted copy and never sees deletions. What keeps the rollup equal to `events FINAL`:
    //  - ingestion drops re-deliveries of a messageId inside its 48 h window, and a WAL replay carries
    //    insert-deduplication tokens. The view still receives a block that `events` skips as a
    //    duplicate (ClickHouse 26.7), but derives the rollup insert's token from the source block's, so
    //    the rollup's own deduplication window drops it too (test/analyze/rollup.test.ts checks this);
    //  - the metrics compiler routes only counts and Σ revenue (additive, no person) to the rollup, and
    //    checks every rollup answer: the rows of `events` (without FINAL) must equal the rollup's count,
    //    over the whole UTC months around the range (from system.parts, nearly free) or else over the
    //    query's project, events and range; when neither holds it reads raw events. Deletions (erasure,
    //    retention, TTL) and re-deliveries that merges have already folded make them differ.
    // Remaining risk: a copy re-delivered after the dedupe window or a re-import of the same events,
    // before a background merge folds it, is counted twice by the rollup while FINAL counts it once.
    // rebuildEventRollup() recomputes a project's rollup from `events FINAL`.
    //
    // Order: table, then the backfill of existing events (only while the rollup is empty, so a re-run
    // after a crash does not count twice), then the view. Events inserted between the backfill and the
    // view would be missed (migrations run before ingestion starts; the guard would notice).
    version: 2,
    name: 'hourly event rollup',
    name_zh: '按小时的事件汇总',
    statements: [
      `CREATE TABLE IF NOT EXISTS event_rollup_hourly (
        project_id LowCardinality(String),
        event LowCardinality(String),
        hour DateTime('UTC'),
        platform LowCardinality(String),
        channel LowCardinality(String),
        utm_source LowCardinality(String),
        utm_medium LowCardinality(String),
        device_type LowCardinality(String),
        country LowCardinality(String),
        events UInt64,
        revenue Decimal(38, 4)
      ) ENGINE = SummingMergeTree((events, revenue))
      PARTITION BY toYYYYMM(hour)
      ORDER BY (project_id, event, hour, platform, channel, utm_source, utm_medium, device_type, country)
      SETTINGS non_replicated_deduplication_window = 10000`,
      `INSERT INTO event_rollup_hourly
      SELECT project_id, event, toStartOfHour(timestamp) AS hour, platform, channel, utm_source, utm_medium,
        device_type, country, count() AS events, sum(revenue) AS revenue
      FROM events FINAL
      WHERE (SELECT count() FROM event_rollup_hourly) = 0
      GROUP BY project_id, event, hour, platform, channel, utm_source, utm_medium, device_type, country
      SETTINGS do_not_merge_across_partitions_select_final = 1`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS event_rollup_hourly_mv TO event_rollup_hourly AS
      SELECT project_id, event, toStartOfHour(timestamp) AS hour, platform, channel, utm_source, utm_medium,
        device_type, country, count() AS events, sum(revenue) AS revenue
      FROM events
      GROUP BY project_id, event, hour, platform, channel, utm_source, utm_medium, device_type, country`,
    ],
  },
  {
    // Why a row was refused, in Chinese next to the English `reason`, for the dashboard's quarantine.
    // Rows written before keep '' here and show `reason` in both languages (English, or for imports
    // "English / Chinese" as it was then written).
    version: 3,
    name: 'quarantine reason in Chinese',
    name_zh: '隔离原因的中文说明',
    statements: [`ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS reason_zh String DEFAULT '' AFTER reason`],
  },
  {
    // Parts of events up to 128 MiB (uncompressed) are written in ClickHouse's compact format, one
    // file for all columns, instead of the wide one (two files a column, 39 columns): the batch
    // writer's parts of a second of ingestion and the first merges of them cost a third less CPU a
    // row (inserts and merges measured together). Larger parts, which hold nearly all rows of any
    // sizeable data set and are what analyses read, are still wide. Changes only how new parts are
    // written.
    version: 4,
    name: 'compact parts for small events parts',
    name_zh: '小事件数据分片使用紧凑格式',
    statements: [`ALTER TABLE events MODIFY SETTING min_bytes_for_wide_part = 134217728`],
  },
];

/** The tables the facts store owns; identifiers in SQL come only from this list. */
export const FACTS_TABLES = [
  'events',
  'identities',
  'identity_log',
  'persons',
  'content_stats',
  'ad_spend',
  'orders',
  'comments',
  'quarantine',
] as const;
export type FactsTable = (typeof FACTS_TABLES)[number];
