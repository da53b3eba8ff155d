import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoSummary, generateDemoWorld, writeGroundTruth } from '../../src/demo/index.js';
import { identityConflicts } from '../../src/identity/inspect.js';
import { createIdentityResolver, loadIdentityGraph } from '../../src/identity/resolver.js';
import { openChdbEngine } from '../../src/store/facts/chdb-engine.js';
import type { FactsEngine } from '../../src/store/facts/engine.js';
import { migrateFacts } from '../../src/store/facts/migrate.js';
import { DEMO_TABLES } from '../support/demo-checksums.js';

// One small world, generated once; every test reads the raw tables and checks a planted truth.
// chdb binds one data directory per process; vitest gives this file its own process.
const dataDir = mkdtempSync(join(tmpdir(), 'pulseloop-demo-world-'));
const project = 'demo_world';
let engine: FactsEngine;
let world: DemoSummary;

/** Maps every distinct id to its person at query time, as analyses do. */
const IDS = `ids AS (
  SELECT distinct_id, argMax(person_id, version) AS person
  FROM identities WHERE project_id = {p:String} GROUP BY distinct_id
)`;

async function rows<T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
  return engine.query<T>(sql, { p: project, ...params });
}

async function one<T>(sql: string, params: Record<string, unknown> = {}): Promise<T> {
  const [row] = await rows<T>(sql, params);
  if (!row) throw new Error(`no row from ${sql}`);
  return row;
}

beforeAll(async () => {
  engine = await openChdbEngine(dataDir, 'pulseloop_demo_world');
  await migrateFacts(engine);
  world = await generateDemoWorld(engine, { projectId: project, seed: 11, scale: 0.05 });
}, 120_000);

afterAll(async () => {
  await engine?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the demo world', () => {
  it('reports the row counts that the tables hold', async () => {
    for (const table of DEMO_TABLES) {
      const { n } = await one<{ n: number }>(
        `SELECT count() AS n FROM ${table} WHERE project_id = {p:String}`,
      );
      expect(Number(n), table).toBe(world.counts[table]);
    }
    expect(world.counts.persons).toBeGreaterThan(2500);
    expect(world.counts.events).toBeGreaterThan(200_000);
  });

  it("plants shared-device sign-ins as ingestion records them: the conflict the resolver makes of the newcomer's identify", async () => {
    const planted = world.truth.identity.sharedDeviceConflicts;
    expect(planted).toBeGreaterThan(0);
    const page = await identityConflicts(engine, project, { limit: 500, before: Date.now() + 86_400_000 });
    expect(page.total).toBe(planted);
    const resolver = createIdentityResolver();
    await loadIdentityGraph(resolver, engine);
    for (const conflict of page.conflicts) {
      // The newcomer's `$identify`, sent from the owner's device, is stored as an event…
      const event = await one<{ distinct_id: string; anonymous_id: string; person_id: string; at: number }>(
        `SELECT distinct_id, anonymous_id, person_id, toUnixTimestamp64Milli(timestamp) AS at FROM events
         WHERE project_id = {p:String} AND message_id = {m:String}`,
        { m: conflict.messageId },
      );
      expect(event).toMatchObject({
        distinct_id: conflict.distinctId,
        anonymous_id: conflict.otherDistinctId,
        person_id: conflict.personId,
      });
      expect(Number(event.at)).toBe(conflict.at);
      // …and the real resolver, given that message, refuses the merge with exactly the stored row.
      const changes = resolver.resolve({
        projectId: project,
        messageId: conflict.messageId,
        at: conflict.at,
        userId: event.distinct_id,
        anonymousId: event.anonymous_id,
      });
      expect(changes.personId).toBe(conflict.personId);
      expect(changes.identities).toEqual([]);
      expect(changes.log).toEqual([
        {
          project_id: project,
          at: conflict.at,
          kind: 'conflict',
          person_id: conflict.personId,
          other_person_id: conflict.otherPersonId,
          distinct_id: conflict.distinctId,
          other_distinct_id: conflict.otherDistinctId,
          reason: 'two different known users',
          message_id: conflict.messageId,
        },
      ]);
    }
  });

  it('writes the ground truth as JSON that reads back the same', async () => {
    const path = join(dataDir, 'truth', 'ground-truth.json');
    await writeGroundTruth(path, world.truth);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(world.truth);
    expect(world.truth.dateRange).toEqual({ startDate: world.startDate, endDate: world.endDate, days: 90 });
  });

  it('keeps every event inside the 90 local days and leaves no staging table behind', async () => {
    const range = await one<{ first: string; last: string }>(
      `SELECT toString(min(toDate(timestamp, 'Asia/Shanghai'))) AS first, toString(max(toDate(timestamp, 'Asia/Shanghai'))) AS last
       FROM events WHERE project_id = {p:String}`,
    );
    expect(range).toEqual({ first: world.startDate, last: world.endDate });
    expect(world.days).toBe(90);
    const staging = await rows(
      `SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'demo_visit_staging%'`,
    );
    expect(staging).toEqual([]);
  });

  it('makes the anomalous day stand out in its metric', async () => {
    const { date, metric } = world.truth.anomaly;
    const days = await rows<{ day: string; views: number }>(
      `SELECT toString(toDate(timestamp, 'Asia/Shanghai')) AS day, count() AS views
       FROM events
       WHERE project_id = {p:String} AND event = {event:String} AND platform = {platform:String}
         AND utm_source = {source:String} AND utm_medium = {medium:String}
       GROUP BY day ORDER BY day`,
      {
        event: metric.event,
        platform: metric.filter.platform,
        source: metric.filter.utm_source,
        medium: metric.filter.utm_medium,
      },
    );
    const spike = Number(days.find((d) => d.day === date)?.views ?? 0);
    const others = days
      .filter((d) => d.day !== date)
      .map((d) => Number(d.views))
      .sort((a, b) => a - b);
    const median = others[Math.floor(others.length / 2)] ?? 0;
    expect(spike).toBeGreaterThan(5 * median);
    expect(spike).toBeGreaterThan(2 * Math.max(...others));
  });

  it('lets video completion fall with video length in content_stats', async () => {
    const buckets = await rows<{ bucket: number; completion: number }>(
      `SELECT multiIf(duration_seconds < 30, 0, duration_seconds < 90, 1, duration_seconds < 300, 2, 3) AS bucket,
              avg(completion_rate) AS completion
       FROM content_stats FINAL
       WHERE project_id = {p:String} AND content_type = 'video'
       GROUP BY bucket ORDER BY bucket`,
    );
    expect(buckets.map((b) => Number(b.bucket))).toEqual([0, 1, 2, 3]);
    for (let i = 1; i < buckets.length; i++) {
      expect(Number(buckets[i]!.completion)).toBeLessThan(Number(buckets[i - 1]!.completion));
    }
    const { correlation } = await one<{ correlation: number }>(
      `SELECT corr(log(duration_seconds), completion_rate) AS correlation
       FROM content_stats FINAL WHERE project_id = {p:String} AND content_type = 'video'`,
    );
    expect(correlation).toBeLessThan(-0.8);
  });

  it('gives plays a heavy tail: the top tenth of posts take most plays', async () => {
    const { share } = await one<{ share: number }>(
      `SELECT sumIf(post_plays, rank <= posts / 10) / sum(post_plays) AS share FROM (
         SELECT content_id, sum(plays) AS post_plays, row_number() OVER (ORDER BY post_plays DESC) AS rank, count() OVER () AS posts
         FROM content_stats FINAL WHERE project_id = {p:String} GROUP BY content_id)`,
    );
    expect(share).toBeGreaterThan(0.5);
  });

  it('has an order_completed event with the same revenue for every order', async () => {
    const check = await one<{ orders: number; matched: number; same_revenue: number }>(
      `SELECT count() AS orders, countIf(e.order_id != '') AS matched, countIf(e.revenue = o.amount) AS same_revenue
       FROM (SELECT order_id, amount FROM orders FINAL WHERE project_id = {p:String}) AS o
       LEFT JOIN (
         SELECT JSONExtractString(properties, 'order_id') AS order_id, revenue
         FROM events WHERE project_id = {p:String} AND event = 'order_completed'
       ) AS e ON o.order_id = e.order_id`,
    );
    expect(Number(check.orders)).toBeGreaterThan(500);
    expect(Number(check.matched)).toBe(Number(check.orders));
    expect(Number(check.same_revenue)).toBe(Number(check.orders));
    const statuses = await rows<{ status: string }>(
      `SELECT DISTINCT status FROM orders WHERE project_id = {p:String} ORDER BY status`,
    );
    expect(statuses.map((s) => s.status)).toEqual(['completed', 'paid', 'refunded', 'shipped']);
  });

  it('maps every distinct id in events, and every sharer, to the person the events name', async () => {
    const unmapped = await one<{ n: number }>(
      `WITH ${IDS}
       SELECT count() AS n FROM (SELECT DISTINCT distinct_id FROM events WHERE project_id = {p:String})
       WHERE distinct_id NOT IN (SELECT distinct_id FROM ids)`,
    );
    expect(Number(unmapped.n)).toBe(0);
    const mismatched = await one<{ n: number }>(
      `WITH ${IDS}
       SELECT countIf(ids.person != e.person_id) AS n
       FROM (SELECT DISTINCT distinct_id, person_id FROM events WHERE project_id = {p:String}) AS e
       INNER JOIN ids USING distinct_id`,
    );
    expect(Number(mismatched.n)).toBe(0);
    const sharers = await one<{ n: number }>(
      `WITH ${IDS}
       SELECT count() AS n FROM (SELECT DISTINCT sharer_id FROM events WHERE project_id = {p:String} AND sharer_id != '')
       WHERE sharer_id NOT IN (SELECT distinct_id FROM ids)`,
    );
    expect(Number(sharers.n)).toBe(0);
  });

  it('sends a device’s anonymous events before its identify, and user-id events after', async () => {
    const check = await one<{ devices: number; late: number }>(
      `WITH identified AS (
         SELECT anonymous_id, min(timestamp) AS identified_at FROM events
         WHERE project_id = {p:String} AND event = '$identify' GROUP BY anonymous_id
       ), anonymous AS (
         SELECT distinct_id AS anonymous_id, max(timestamp) AS last_anonymous FROM events
         WHERE project_id = {p:String} AND distinct_id = anonymous_id GROUP BY distinct_id
       )
       SELECT count() AS devices, countIf(last_anonymous > identified_at) AS late
       FROM identified INNER JOIN anonymous USING anonymous_id`,
    );
    expect(Number(check.devices)).toBeGreaterThan(300);
    expect(Number(check.late)).toBe(0);
    const identifies = await one<{ n: number; with_user: number }>(
      `SELECT count() AS n, countIf(user_id != '' AND distinct_id = user_id) AS with_user
       FROM events WHERE project_id = {p:String} AND event = '$identify'`,
    );
    expect(Number(identifies.with_user)).toBe(Number(identifies.n));
  });

  it('knows a share of persons on several social platforms under different platform ids', async () => {
    const { persons } = await one<{ persons: number }>(
      `WITH ${IDS}
       SELECT count() AS persons FROM (
         SELECT ids.person, uniqExact(platform) AS platforms, uniqExact(distinct_id) AS senders
         FROM events INNER JOIN ids USING distinct_id
         WHERE project_id = {p:String} AND platform NOT IN ('web', 'app')
         GROUP BY ids.person HAVING platforms >= 2 AND senders >= 2)`,
    );
    expect(Number(persons)).toBe(world.truth.identity.multiPlatformPersons);
    expect(Number(persons)).toBeGreaterThan(world.counts.persons * 0.05);
  });

  it('shows the planted experiment lift in the raw events, within sampling error', async () => {
    const variants = await rows<{ variant: string; exposed: number; converted: number }>(
      `WITH ${IDS},
       exposures AS (
         SELECT ids.person AS person, min(timestamp) AS exposed_at,
                argMin(JSONExtractString(properties, 'variant'), timestamp) AS variant
         FROM events INNER JOIN ids USING distinct_id
         WHERE project_id = {p:String} AND event = '$experiment_exposure' GROUP BY person
       ),
       claims AS (
         SELECT ids.person AS person, max(timestamp) AS claimed_at
         FROM events INNER JOIN ids USING distinct_id
         WHERE project_id = {p:String} AND event = 'coupon_claimed' GROUP BY person
       )
       SELECT variant, count() AS exposed, countIf(claims.claimed_at >= exposures.exposed_at) AS converted
       FROM exposures LEFT JOIN claims USING person
       GROUP BY variant ORDER BY variant`,
    );
    const [control, treatment] = variants.map((v) => ({
      n: Number(v.exposed),
      rate: Number(v.converted) / Number(v.exposed),
    }));
    const truth = world.truth.experiment;
    expect(variants.map((v) => v.variant)).toEqual(['control', 'treatment']);
    expect(control!.n).toBe(truth.exposed.control);
    expect(treatment!.n).toBe(truth.exposed.treatment);
    const lift = treatment!.rate / control!.rate - 1;
    expect(lift).toBeCloseTo(truth.observedRelativeLift, 3);
    // Standard error of a ratio of two proportions (delta method).
    const se =
      (1 + lift) *
      Math.sqrt(
        (1 - control!.rate) / (control!.n * control!.rate) +
          (1 - treatment!.rate) / (treatment!.n * treatment!.rate),
      );
    expect(Math.abs(lift - truth.trueRelativeLift)).toBeLessThan(3 * se);
    expect(Math.abs(control!.rate - truth.controlRate)).toBeLessThan(0.04);
  });

  it('lets the churn features measured in the raw data drive churn as planted', async () => {
    const churn = world.truth.churn;
    const features = await rows<{ name: string; persons: number; rate_with: number; rate_without: number }>(
      `WITH ${IDS},
       observed AS (
         SELECT ids.person AS person,
                min(toDate(timestamp, 'Asia/Shanghai')) AS first_day,
                max(toDate(timestamp, 'Asia/Shanghai')) AS last_day,
                avgIf(JSONExtractFloat(properties, 'completion'), event = 'video_played' AND toDate(timestamp, 'Asia/Shanghai') <= toDate({obsEnd:String})) AS completion,
                countIf(event = 'video_played' AND toDate(timestamp, 'Asia/Shanghai') <= toDate({obsEnd:String})) AS plays,
                countIf(platform = 'app' AND toDate(timestamp, 'Asia/Shanghai') <= toDate({obsEnd:String})) AS app_events,
                countIf(event = 'order_completed' AND toDate(timestamp, 'Asia/Shanghai') <= toDate({obsEnd:String})) AS orders
         FROM events INNER JOIN ids USING distinct_id
         WHERE project_id = {p:String}
         GROUP BY person
       ),
       negative AS (
         SELECT DISTINCT ids.person AS person FROM comments INNER JOIN ids ON comments.author_id = ids.distinct_id
         WHERE project_id = {p:String} AND sentiment = 'negative' AND toDate(created_at, 'Asia/Shanghai') <= toDate({obsEnd:String})
       ),
       cohort AS (
         SELECT person, last_day >= toDate({churnStart:String}) ? 0 : 1 AS churned,
                [plays > 0 AND completion < 0.35, person IN (SELECT person FROM negative), app_events = 0, orders = 0] AS flags
         FROM observed WHERE first_day <= toDate({cohortBy:String})
       )
       SELECT name, countIf(flag) AS persons,
              round(sumIf(churned, flag) / countIf(flag), 4) AS rate_with,
              round(sumIf(churned, NOT flag) / countIf(NOT flag), 4) AS rate_without
       FROM cohort ARRAY JOIN flags AS flag, ['low_completion', 'negative_comment', 'no_app_usage', 'no_purchase'] AS name
       GROUP BY name`,
      {
        obsEnd: churn.observationWindow.endDate,
        churnStart: churn.churnWindow.startDate,
        cohortBy: churn.cohortFirstSeenBy,
      },
    );
    for (const planted of churn.features) {
      const measured = features.find((f) => f.name === planted.name);
      expect(measured, planted.name).toBeDefined();
      expect(Number(measured!.persons), planted.name).toBe(planted.cohortPersons);
      expect(Number(measured!.rate_with), planted.name).toBeCloseTo(planted.churnRateWith, 4);
      expect(Number(measured!.rate_without), planted.name).toBeCloseTo(planted.churnRateWithout, 4);
      expect(planted.churnRateWith, planted.name).toBeGreaterThan(planted.churnRateWithout);
    }
  });

  it('holds the touchpoint paths that the attribution truth was computed from', async () => {
    const measured = await rows<{ channel: string; paths: number; converted_paths: number }>(
      `WITH ${IDS},
       visits AS (
         SELECT ids.person AS person, session_id, min(timestamp) AS started, any(channel) AS channel,
                countIf(event = 'order_completed') > 0 AS bought
         FROM events INNER JOIN ids USING distinct_id
         WHERE project_id = {p:String} GROUP BY person, session_id
       ),
       outcome AS (
         SELECT person, countIf(bought) > 0 AS converted, minIf(started, bought) AS first_purchase
         FROM visits GROUP BY person
       )
       SELECT channel, uniqExact(person) AS paths, uniqExactIf(person, converted) AS converted_paths
       FROM visits INNER JOIN outcome USING person
       WHERE NOT converted OR started <= first_purchase
       GROUP BY channel`,
    );
    const truth = world.truth.attribution;
    for (const channel of truth.channels) {
      const row = measured.find((m) => m.channel === channel.channel);
      expect(Number(row?.paths), channel.channel).toBe(channel.paths);
      expect(Number(row?.converted_paths), channel.channel).toBe(channel.convertedPaths);
    }
    expect(truth.plantedOrder[0]).toBe('kol');
    expect(truth.contributionOrder.slice(0, 3)).toEqual(truth.plantedOrder.slice(0, 3));
  });

  it('brings share visits through a link someone else sent earlier', async () => {
    const check = await one<{ visits: number; own: number; unsent: number }>(
      `WITH ${IDS},
       visits AS (
         SELECT session_id, any(sharer_id) AS sharer, any(ids.person) AS visitor, min(timestamp) AS started
         FROM events INNER JOIN ids USING distinct_id
         WHERE project_id = {p:String} AND channel = 'share' AND sharer_id != '' AND event != 'content_shared'
         GROUP BY session_id
       ),
       sent AS (
         SELECT distinct_id AS sent_by, min(timestamp) AS first_sent FROM events
         WHERE project_id = {p:String} AND event = 'content_shared' GROUP BY distinct_id
       )
       SELECT count() AS visits,
              countIf(sharers.person = visits.visitor) AS own,
              countIf(sent.sent_by = '' OR sent.first_sent >= visits.started) AS unsent
       FROM visits
       LEFT JOIN ids AS sharers ON visits.sharer = sharers.distinct_id
       LEFT JOIN sent ON visits.sharer = sent.sent_by`,
    );
    expect(Number(check.visits)).toBeGreaterThan(100);
    expect(Number(check.own)).toBe(0);
    expect(Number(check.unsent)).toBe(0);
  });

  it('follows the evening peak and the weekend lift', async () => {
    const { evening, night } = await one<{ evening: number; night: number }>(
      `SELECT countIf(toHour(timestamp, 'Asia/Shanghai') IN (20, 21)) AS evening,
              countIf(toHour(timestamp, 'Asia/Shanghai') IN (3, 4)) AS night
       FROM events WHERE project_id = {p:String}`,
    );
    expect(Number(evening)).toBeGreaterThan(8 * Number(night));
    const { weekend, weekday } = await one<{ weekend: number; weekday: number }>(
      `SELECT avgIf(n, dow >= 6) AS weekend, avgIf(n, dow < 6) AS weekday FROM (
         SELECT toDate(timestamp, 'Asia/Shanghai') AS day, toDayOfWeek(day) AS dow, count() AS n
         FROM events WHERE project_id = {p:String} GROUP BY day)`,
    );
    expect(weekend).toBeGreaterThan(weekday);
  });

  it('labels comments in Chinese and English with all three sentiments', async () => {
    const labels = await rows<{ language: string; sentiment: string; low: number; high: number }>(
      `SELECT language, sentiment, min(sentiment_score) AS low, max(sentiment_score) AS high
       FROM comments WHERE project_id = {p:String} GROUP BY language, sentiment ORDER BY language, sentiment`,
    );
    expect(labels.map((l) => `${l.language}:${l.sentiment}`)).toEqual([
      'en:negative',
      'en:neutral',
      'en:positive',
      'zh:negative',
      'zh:neutral',
      'zh:positive',
    ]);
    for (const label of labels) {
      if (label.sentiment === 'positive') expect(Number(label.low)).toBeGreaterThan(0);
      if (label.sentiment === 'negative') expect(Number(label.high)).toBeLessThan(0);
    }
  });

  it('spends on ads at realistic rates with diminishing returns', async () => {
    const rates = await one<{ ctr_low: number; ctr_high: number; cpm_low: number; cpm_high: number }>(
      `SELECT min(ctr) AS ctr_low, max(ctr) AS ctr_high, min(cpm) AS cpm_low, max(cpm) AS cpm_high FROM (
         SELECT sum(clicks) / sum(impressions) AS ctr, toFloat64(sum(spend)) / sum(impressions) * 1000 AS cpm
         FROM ad_spend WHERE project_id = {p:String} GROUP BY platform)`,
    );
    expect(rates.ctr_low).toBeGreaterThan(0.003);
    expect(rates.ctr_high).toBeLessThan(0.08);
    expect(rates.cpm_low).toBeGreaterThan(8);
    expect(rates.cpm_high).toBeLessThan(130);
    // With conversions ∝ spend^α (α < 1), a yuan buys more where less is spent.
    const halves = await rows<{ platform: string; cheap: number; dear: number }>(
      `SELECT platform,
              sumIf(conversions, spend < median) / toFloat64(sumIf(spend, spend < median)) AS cheap,
              sumIf(conversions, spend >= median) / toFloat64(sumIf(spend, spend >= median)) AS dear
       FROM ad_spend
       INNER JOIN (SELECT platform, median(spend) AS median FROM ad_spend WHERE project_id = {p:String} GROUP BY platform) AS m USING platform
       WHERE project_id = {p:String} GROUP BY platform`,
    );
    expect(halves.length).toBe(7);
    for (const half of halves) expect(half.cheap, half.platform).toBeGreaterThan(half.dear);
  });
});
