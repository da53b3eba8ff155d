import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { FactsEngine } from '../src/store/facts/engine.js';

/**
 * The row-store comparison: the same events in PostgreSQL, indexed the way a product-analytics tool
 * on PostgreSQL indexes them, and the same analyses as hand-written SQL.
 */

export const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'pulseloop_bench';

export async function openPg(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
  await client.query(`SET search_path TO ${SCHEMA}`);
  // Parallel workers would use the second core just as ClickHouse does; keep PostgreSQL's defaults.
  return client;
}

/** Copies the project's events from the facts store into PostgreSQL, a day at a time. */
export async function loadEventsIntoPg(
  client: pg.Client,
  facts: FactsEngine,
  projectId: string,
  log: (line: string) => void,
): Promise<number> {
  await client.query('DROP TABLE IF EXISTS events');
  await client.query(`CREATE TABLE events (
    project_id text NOT NULL,
    event text NOT NULL,
    ts timestamptz NOT NULL,
    distinct_id text NOT NULL,
    person_id text NOT NULL,
    platform text NOT NULL,
    channel text NOT NULL,
    revenue numeric NOT NULL
  )`);
  const days = await facts.query<{ day: string }>(
    `SELECT DISTINCT toString(toDate(timestamp)) AS day FROM events WHERE project_id = {project:String} ORDER BY day`,
    { project: projectId },
  );
  let rows = 0;
  for (const [i, { day }] of days.entries()) {
    const lines = await facts.query<{ line: string }>(
      `SELECT concat(event, '\t', formatDateTime(timestamp, '%Y-%m-%d %H:%i:%S.%f', 'UTC'), '+00\t', distinct_id, '\t',
              if(person_id = '', distinct_id, person_id), '\t', platform, '\t', channel, '\t', toString(revenue)) AS line
       FROM events FINAL WHERE project_id = {project:String} AND toDate(timestamp) = {day:Date}`,
      { project: projectId, day },
    );
    const text = lines.map((l) => `${projectId}\t${l.line}\n`).join('');
    const copy = client.query(
      copyFrom(
        'COPY events (project_id, event, ts, distinct_id, person_id, platform, channel, revenue) FROM STDIN',
      ),
    );
    await pipeline(Readable.from([text]), copy);
    rows += lines.length;
    if (i % 10 === 0)
      log(`PostgreSQL load: day ${i + 1}/${days.length}, ${rows.toLocaleString('en-US')} rows`);
  }
  log('PostgreSQL: building indexes and statistics');
  await client.query('CREATE INDEX events_event_ts ON events (project_id, event, ts)');
  await client.query('CREATE INDEX events_person_ts ON events (project_id, person_id, ts)');
  await client.query('VACUUM ANALYZE events');
  return rows;
}

export interface PgRange {
  projectId: string;
  timeZone: string;
  /** Inclusive local dates. */
  from: string;
  to: string;
}

const bounds = `ts >= ($2::date)::timestamp AT TIME ZONE $4 AND ts < ($3::date + 1)::timestamp AT TIME ZONE $4`;

/** The analyses as a PostgreSQL user would write them. Each returns rows; only the time matters here. */
export const PG_ANALYSES: Record<string, (client: pg.Client, r: PgRange) => Promise<unknown[]>> = {
  async trends(client, r) {
    const { rows } = await client.query(
      `SELECT date_trunc('day', ts AT TIME ZONE $4) AS day, platform, count(*) AS events
       FROM events WHERE project_id = $1 AND event = '$pageview' AND ${bounds}
       GROUP BY 1, 2 ORDER BY 1, 2`,
      [r.projectId, r.from, r.to, r.timeZone],
    );
    return rows;
  },

  async funnel(client, r) {
    // First step in range, each next step the first occurrence after the previous within 7 days.
    const { rows } = await client.query(
      `WITH s1 AS (
         SELECT person_id, min(ts) AS t FROM events
         WHERE project_id = $1 AND event = 'product_viewed' AND ${bounds} GROUP BY person_id),
       s2 AS (
         SELECT s1.person_id, s1.t AS t1, min(e.ts) AS t FROM s1 JOIN events e
           ON e.project_id = $1 AND e.person_id = s1.person_id AND e.event = 'add_to_cart'
          AND e.ts > s1.t AND e.ts <= s1.t + interval '7 days'
         GROUP BY s1.person_id, s1.t),
       s3 AS (
         SELECT s2.person_id, s2.t1, min(e.ts) AS t FROM s2 JOIN events e
           ON e.project_id = $1 AND e.person_id = s2.person_id AND e.event = 'checkout_started'
          AND e.ts > s2.t AND e.ts <= s2.t1 + interval '7 days'
         GROUP BY s2.person_id, s2.t1),
       s4 AS (
         SELECT s3.person_id FROM s3 JOIN events e
           ON e.project_id = $1 AND e.person_id = s3.person_id AND e.event = 'order_completed'
          AND e.ts > s3.t AND e.ts <= s3.t1 + interval '7 days'
         GROUP BY s3.person_id)
       SELECT (SELECT count(*) FROM s1) AS step1, (SELECT count(*) FROM s2) AS step2,
              (SELECT count(*) FROM s3) AS step3, (SELECT count(*) FROM s4) AS step4`,
      [r.projectId, r.from, r.to, r.timeZone],
    );
    return rows;
  },

  async retention(client, r) {
    const { rows } = await client.query(
      `WITH active AS (
         SELECT DISTINCT person_id, (ts AT TIME ZONE $4)::date AS day FROM events
         WHERE project_id = $1 AND ${bounds}),
       cohort AS (SELECT person_id, min(day) AS first_day FROM active GROUP BY person_id)
       SELECT c.first_day, a.day - c.first_day AS period, count(*) AS persons
       FROM cohort c JOIN active a USING (person_id)
       WHERE a.day - c.first_day BETWEEN 0 AND 30
       GROUP BY 1, 2 ORDER BY 1, 2`,
      [r.projectId, r.from, r.to, r.timeZone],
    );
    return rows;
  },

  async paths(client, r) {
    const { rows } = await client.query(
      `WITH ordered AS (
         SELECT person_id, event,
                lead(event, 1) OVER w AS e1, lead(event, 2) OVER w AS e2, lead(event, 3) OVER w AS e3
         FROM events WHERE project_id = $1 AND ${bounds}
         WINDOW w AS (PARTITION BY person_id ORDER BY ts))
       SELECT event, e1, e2, e3, count(*) AS n FROM ordered
       WHERE event = '$pageview' GROUP BY 1, 2, 3, 4 ORDER BY n DESC LIMIT 50`,
      [r.projectId, r.from, r.to, r.timeZone],
    );
    return rows;
  },

  async attribution(client, r) {
    // First, last and linear touch over the 30 days before each order; the Markov and Shapley models
    // need the paths in application code, which would only add to PostgreSQL's time.
    const { rows } = await client.query(
      `WITH conversions AS (
         SELECT person_id, ts, revenue FROM events
         WHERE project_id = $1 AND event = 'order_completed' AND ${bounds}),
       touches AS (
         SELECT c.person_id, c.ts AS conversion_ts, c.revenue, e.channel, e.ts,
                row_number() OVER (PARTITION BY c.person_id, c.ts ORDER BY e.ts) AS first_rank,
                row_number() OVER (PARTITION BY c.person_id, c.ts ORDER BY e.ts DESC) AS last_rank,
                count(*) OVER (PARTITION BY c.person_id, c.ts) AS touches
         FROM conversions c JOIN events e
           ON e.project_id = $1 AND e.person_id = c.person_id AND e.ts <= c.ts
          AND e.ts > c.ts - interval '30 days' AND e.channel <> '')
       SELECT channel,
              sum(CASE WHEN first_rank = 1 THEN 1 ELSE 0 END) AS first_touch,
              sum(CASE WHEN last_rank = 1 THEN 1 ELSE 0 END) AS last_touch,
              sum(1.0 / touches) AS linear
       FROM touches GROUP BY channel ORDER BY channel`,
      [r.projectId, r.from, r.to, r.timeZone],
    );
    return rows;
  },
};
