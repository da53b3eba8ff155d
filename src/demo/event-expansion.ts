import {
  APP_SCREENS,
  APP_VERSIONS,
  BRAND,
  CITIES,
  COUPONS,
  DEVICES,
  PLATFORMS,
  PRODUCTS,
  SEARCH_QUERIES,
  SOURCE_BY_PLATFORM,
  WEB_PAGES,
} from './catalogue.js';
import type { ContentWorld } from './content.js';
import { EVENT, EVENT_NAMES, PRODUCT_PAGE_BASE } from './event-plan.js';
import { EXPERIMENT_MODEL } from './models.js';
import type { TouchCatalogue } from './touches.js';

/**
 * ClickHouse side of the event plan: a staging table that holds visits (one row per visit, its
 * events as arrays), and the INSERT … SELECT whose ARRAY JOIN spreads them into `events` rows. Catalogue
 * values (event names, UTM parameters, post ids, product JSON) are bound as array parameters and
 * looked up by index.
 */

export const LOCALES = ['zh-CN', 'en-US'] as const;

/** UTC month boundaries (ms) from `startMs` to `endMs`, open at both ends: the writer expands one month at a time. */
export function monthBoundaries(startMs: number, endMs: number): number[] {
  const first = new Date(startMs);
  const bounds = [0];
  let year = first.getUTCFullYear();
  let month = first.getUTCMonth();
  for (;;) {
    month++;
    if (month === 12) [year, month] = [year + 1, 0];
    const next = Date.UTC(year, month, 1);
    if (next >= endMs) break;
    bounds.push(next);
  }
  // The last range stays open: a visit that starts before the end may run past midnight.
  bounds.push(Number.MAX_SAFE_INTEGER);
  return bounds;
}

/** A name for one generation run's work table (`prefix` and a hash of the project and seed). */
function runTableName(prefix: string, projectId: string, seed: number): string {
  let h = 2166136261;
  for (const ch of `${projectId}:${seed}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return `${prefix}_${h.toString(16)}`;
}

/** The staging table for one generation run; a Memory table, dropped when the run ends. */
export function stagingTableName(projectId: string, seed: number): string {
  return runTableName('demo_visit_staging', projectId, seed);
}

/**
 * The table the run's events are expanded into before their parts are attached to `events`: a copy
 * of `events` without its materialised view (see `attachLoadedEventsSql`). Dropped when the run ends.
 */
export function eventLoadTableName(projectId: string, seed: number): string {
  return runTableName('demo_event_load', projectId, seed);
}

/** A copy of `events`: same columns, engine, partitions and sort key, so its parts can be attached. */
export function createEventLoadSql(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} AS events`;
}

/**
 * Moves the loaded events into `events`: ATTACH PARTITION … FROM links the load table's parts into
 * `events` (no copy, no sort), and bypasses the hourly rollup's materialised view, which is filled
 * from the staged visits instead (`rollupStagedSql`). The view's GROUP BY over every inserted block
 * of strings cost ~1.6 s of a scale-1 world's ~10.5 s; the rollup from the visits' small numbers costs
 * ~0.75 s.
 */
export function attachLoadedEventsSql(table: string): string[] {
  return [`ALTER TABLE events ATTACH PARTITION ALL FROM ${table}`, `TRUNCATE TABLE ${table}`];
}

export function createStagingSql(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
    i UInt64,
    p String,
    a String,
    u String DEFAULT '',
    ix UInt16 DEFAULT 65535,
    w UInt8 DEFAULT 0,
    ts Int64,
    pl UInt8,
    tc UInt16 DEFAULT 0,
    sh String DEFAULT '',
    dv UInt8 DEFAULT 0,
    g UInt8 DEFAULT 0,
    lc UInt8 DEFAULT 0,
    v UInt8 DEFAULT 0,
    codes Array(UInt8),
    vals Array(UInt8),
    objs Array(UInt16),
    offs Array(UInt32),
    slots Array(UInt8),
    payloads Array(String)
  ) ENGINE = Memory`;
}

/**
 * Expressions the expansion and the rollup share, over a visit's columns and one event of it (`code`,
 * `event_ms`, `payload`): the rollup must hold exactly what the expanded events say.
 */
const COLUMN = {
  event: '{eventNames:Array(String)}[code + 1]',
  platform: '{platforms:Array(String)}[pl + 1]',
  channel: '{touchChannel:Array(String)}[tc + 1]',
  utmSource: '{touchSource:Array(String)}[tc + 1]',
  utmMedium: '{touchMedium:Array(String)}[tc + 1]',
  deviceType: '{deviceTypes:Array(String)}[dv + 1]',
  country: '{countries:Array(String)}[g + 1]',
  revenue: `if(code = ${EVENT.orderCompleted}, toDecimal64(JSONExtractFloat(payload, 'revenue'), 4), toDecimal64(0, 4))`,
  eventMs: 'toInt64(ts + offset_ds * 100)',
  payload: "if(px > 0, payloads[px], '')",
} as const;

/**
 * Unpacks the staged visits that start in [{fromMs}, {toMs}) into events, in the load table `into`
 * (a copy of `events` without the rollup's view). The writer calls it once per calendar month (UTC):
 * `events` is partitioned by month, and an insert whose rows all fall in one partition is about
 * three times cheaper than one ClickHouse must split.
 *
 * Settings: deduplication and merge-on-insert are off because every row is new and unique (message
 * ids are distinct by construction), and blocks are squashed to 300k rows: with no view to run on
 * each block, the fastest of 150k, 300k, 450k and 600k (scale 1: 4.45 s against 4.5–5.2 s; 1M and
 * more copy more than they save).
 */
export function expandVisitsSql(table: string, into: string): string {
  const e = EVENT;
  const c = COLUMN;
  return `INSERT INTO ${into} (
    project_id, message_id, type, event, timestamp, received_at, distinct_id, anonymous_id, user_id,
    person_id, session_id, source_id, platform, channel, utm_source, utm_medium, utm_campaign,
    utm_content, utm_term, campaign_id, content_id, sharer_id, revenue, currency, locale, country,
    region, city, device_type, os, browser, app_version, page_url, page_path, referrer, properties
  )
  SETTINGS insert_deduplicate = 0, optimize_on_insert = 0, max_insert_threads = 2,
    min_insert_block_size_rows = 300000, min_insert_block_size_bytes = 0
  SELECT
    {projectId:String},
    concat(session_id, '-', toString(n)),
    multiIf(code = ${e.pageview}, 'page', code = ${e.screen}, 'screen', code = ${e.identify}, 'identify', 'track'),
    ${c.event},
    fromUnixTimestamp64Milli(event_ms, 'UTC'),
    -- SDK events arrive within seconds; platform connectors deliver hours later.
    fromUnixTimestamp64Milli(event_ms + if(w = 1, 40 + cityHash64(i, n) % 2500, 3600000 + cityHash64(i, n) % 14400000), 'UTC'),
    sender,
    if(w = 1, a, ''),
    if(n >= ix, u, ''),
    p,
    session_id,
    {sources:Array(String)}[pl + 1],
    ${c.platform},
    ${c.channel},
    ${c.utmSource},
    ${c.utmMedium},
    {touchCampaign:Array(String)}[tc + 1],
    {touchContent:Array(String)}[tc + 1],
    {touchTerm:Array(String)}[tc + 1],
    {touchCampaignId:Array(String)}[tc + 1],
    if(w = 0 AND code IN (${e.videoPlayed}, ${e.postViewed}, ${e.contentLiked}, ${e.commentPosted}, ${e.accountFollowed}, ${e.contentShared}),
      {contentIds:Array(String)}[obj + 1], ''),
    if(code = ${e.contentShared}, sender, sh),
    ${c.revenue},
    if(code IN (${e.productViewed}, ${e.addToCart}, ${e.checkoutStarted}, ${e.orderCompleted}), {currency:String}, ''),
    {locales:Array(String)}[lc + 1],
    ${c.country},
    {regions:Array(String)}[g + 1],
    {cities:Array(String)}[g + 1],
    ${c.deviceType},
    {oses:Array(String)}[dv + 1],
    if(pl = 0, {browsers:Array(String)}[dv + 1], ''),
    if(v > 0, {appVersions:Array(String)}[v], ''),
    if(code = ${e.pageview}, concat('https://', {domain:String}, page_path, if(n = 0, {touchQuery:Array(String)}[tc + 1], '')), ''),
    if(code = ${e.pageview}, page_path, ''),
    if(n = 0 AND pl = 0, {touchReferrer:Array(String)}[tc + 1], ''),
    -- Properties: the payload if the visit carried one; built from the value for plays, carts and
    -- surveys; otherwise looked up whole by event and object (no string building per row).
    multiIf(
      px > 0, payload,
      code = ${e.videoPlayed}, concat('{"duration_seconds":', toString(duration), ',"watch_seconds":', toString(round(duration * val / 100)), ',"completion":', toString(val / 100), '}'),
      code = ${e.addToCart}, {cartJson:Array(String)}[obj * 2 + val],
      code = ${e.surveyAnswered}, concat('{"survey_id":"nps","score":', toString(val), '}'),
      {staticProps:Array(Array(String))}[code + 1][obj + 1])
  FROM (
    SELECT
      i, p, a, u, ix, w, pl, tc, sh, dv, g, lc, v, session_id, code, val, obj, px, n,
      if(n >= ix, u, a) AS sender,
      ${c.eventMs} AS event_ms,
      ${c.payload} AS payload,
      if(code = ${e.videoPlayed}, {contentDurations:Array(Float64)}[obj + 1], 0) AS duration,
      {pagePaths:Array(String)}[obj + 1] AS page_path
    FROM (
      SELECT
        i, p, a, u, ix, w, ts, pl, tc, sh, dv, g, lc, v, payloads, codes, vals, objs, offs, slots,
        concat('s_', lower(hex(cityHash64({seed:UInt32}, i)))) AS session_id,
        range(length(codes)) AS positions
      FROM ${table}
      WHERE ts >= {fromMs:Int64} AND ts < {toMs:Int64}
    )
    ARRAY JOIN codes AS code, vals AS val, objs AS obj, offs AS offset_ds, slots AS px, positions AS n
  )`;
}

/**
 * Adds the staged visits' events to the hourly rollup (rollups.ts), as its materialised view would
 * have, had they been inserted into `events`: counts and revenue per event, hour, platform, touch,
 * device and city, grouped first by those small numbers and only then, a few hundred thousand
 * groups instead of millions of events, by the strings the rollup keeps (touches, devices and cities
 * that share a channel, device type or country fold together there).
 */
export function rollupStagedSql(table: string): string {
  const c = COLUMN;
  return `INSERT INTO event_rollup_hourly (
    project_id, event, hour, platform, channel, utm_source, utm_medium, device_type, country, events, revenue
  )
  SETTINGS insert_deduplicate = 0, optimize_on_insert = 0
  SELECT {projectId:String}, event, hour, platform, channel, utm_source, utm_medium, device_type, country,
    sum(n), sum(rev)
  FROM (
    SELECT
      ${c.event} AS event,
      toStartOfHour(fromUnixTimestamp64Milli(hour_ms, 'UTC')) AS hour,
      ${c.platform} AS platform,
      ${c.channel} AS channel,
      ${c.utmSource} AS utm_source,
      ${c.utmMedium} AS utm_medium,
      ${c.deviceType} AS device_type,
      ${c.country} AS country,
      n, rev
    FROM (
      SELECT code, intDiv(event_ms, 3600000) * 3600000 AS hour_ms, pl, tc, dv, g, count() AS n, sum(${c.revenue}) AS rev
      FROM (
        SELECT code, pl, tc, dv, g, ${c.eventMs} AS event_ms, ${c.payload} AS payload
        FROM ${table}
        ARRAY JOIN codes AS code, offs AS offset_ds, slots AS px
      )
      GROUP BY code, hour_ms, pl, tc, dv, g
    )
  )
  GROUP BY event, hour, platform, channel, utm_source, utm_medium, device_type, country`;
}

/** The bound parameters of `expandVisitsSql`: every catalogue value the events refer to by index. */
export function expansionParams(
  projectId: string,
  seed: number,
  touches: TouchCatalogue,
  content: ContentWorld,
): Record<string, unknown> {
  const t = touches.touches;
  return {
    projectId,
    seed,
    eventNames: EVENT_NAMES,
    platforms: PLATFORMS,
    sources: PLATFORMS.map((p) => SOURCE_BY_PLATFORM[p]),
    touchChannel: t.map((x) => x.channel),
    touchSource: t.map((x) => x.utmSource),
    touchMedium: t.map((x) => x.utmMedium),
    touchCampaign: t.map((x) => x.utmCampaign),
    touchContent: t.map((x) => x.utmContent),
    touchTerm: t.map((x) => x.utmTerm),
    touchCampaignId: t.map((x) => x.campaignId),
    touchReferrer: t.map((x) => x.referrer),
    touchQuery: t.map(utmQuery),
    contentIds: content.posts.map((p) => p.contentId),
    contentDurations: content.posts.map((p) => p.durationSeconds),
    currency: BRAND.currency,
    domain: BRAND.domain,
    locales: LOCALES,
    countries: CITIES.map((c) => c.country),
    regions: CITIES.map((c) => c.region),
    cities: CITIES.map((c) => c.city),
    deviceTypes: DEVICES.map((d) => d.deviceType),
    oses: DEVICES.map((d) => d.os),
    browsers: DEVICES.map((d) => d.browser),
    appVersions: APP_VERSIONS.map((v) => v.version),
    pagePaths: pagePaths(),
    cartJson: PRODUCTS.flatMap((p) =>
      [1, 2].map((quantity) => JSON.stringify({ ...productFields(p), quantity })),
    ),
    staticProps: staticProperties(),
  };
}

/** Web paths by page object: the pages, then product pages from PRODUCT_PAGE_BASE on. */
function pagePaths(): string[] {
  const paths = WEB_PAGES.map((p) => p.path);
  while (paths.length < PRODUCT_PAGE_BASE) paths.push('');
  for (const p of PRODUCTS) paths.push(`/products/${p.sku.toLowerCase()}`);
  return paths;
}

function productFields(p: (typeof PRODUCTS)[number]): Record<string, string | number> {
  return { sku: p.sku, name: p.name, category: p.category, price: p.price };
}

/** Properties that depend only on the event and its object: staticProps[code][object]. */
function staticProperties(): string[][] {
  const byCode: string[][] = EVENT_NAMES.map(() => []);
  const screens = APP_SCREENS.map((name) => JSON.stringify({ name }));
  // Objects from PRODUCT_PAGE_BASE on are product pages.
  while (screens.length < PRODUCT_PAGE_BASE) screens.push('');
  for (const _ of PRODUCTS) screens.push(JSON.stringify({ name: 'Product' }));
  byCode[EVENT.screen] = screens;
  byCode[EVENT.productViewed] = PRODUCTS.map((p) => JSON.stringify(productFields(p)));
  byCode[EVENT.productsSearched] = SEARCH_QUERIES.map((query) => JSON.stringify({ query }));
  byCode[EVENT.couponClaimed] = COUPONS.map((c) => JSON.stringify({ coupon_code: c.code }));
  byCode[EVENT.experimentExposure] = EXPERIMENT_MODEL.variants.map((variant) =>
    JSON.stringify({ experiment: EXPERIMENT_MODEL.key, variant }),
  );
  byCode[EVENT.signedUp] = [JSON.stringify({ method: 'phone' })];
  return byCode;
}

function utmQuery(touch: TouchCatalogue['touches'][number]): string {
  if (touch.utmSource === '') return '';
  const parts: [string, string][] = [
    ['utm_source', touch.utmSource],
    ['utm_medium', touch.utmMedium],
    ['utm_campaign', touch.utmCampaign],
    ['utm_content', touch.utmContent],
    ['utm_term', touch.utmTerm],
  ];
  return `?${parts
    .filter(([, value]) => value !== '')
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`)
    .join('&')}`;
}
