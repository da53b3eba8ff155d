import { PERSON_MAP_CTE, PERSON_SQL } from './query/scope.js';

/**
 * The SQL of the virality analysis (see virality.ts for the definitions). Every statement works from
 * the share visits of the range down to answers of a fixed size: one row of totals and the top
 * sharers, one row of share depths, one row of shares. Nothing a statement binds grows with the
 * data: the invited persons stay in the engine (CTEs and IN subqueries), never in a parameter.
 *
 * The statements are constants with named parameters, bound by `viralityParams` (virality.ts):
 * {project}, {tz}, {range_from}, {range_until} (the day after the range), {history_from},
 * {share_event}, {conversion_event} and {answer_rows} (top sharers + the totals row).
 */

/** The event `e` falls inside the range's days in the project time zone. */
const IN_RANGE = `e.timestamp >= toDateTime64({range_from:String}, 3, {tz:String})
      AND e.timestamp < toDateTime64({range_until:String}, 3, {tz:String})`;

/** The event `e` happened before the range ends (first-seen times read the whole history). */
const BEFORE_RANGE_END = `e.timestamp >= toDateTime64({history_from:String}, 3, {tz:String})
      AND e.timestamp < toDateTime64({range_until:String}, 3, {tz:String})`;

/**
 * `invited`: one row per invited person with the sharer and time of their first share visit (ties:
 * the smaller sharer id) and their share visits per sharer.
 */
const INVITED_CTES = `${PERSON_MAP_CTE},
  share_visits AS (
    -- Visits first, then persons: only the visits' senders and sharers are mapped. No FINAL: a
    -- re-delivered event falls into the same visit and cannot change its first time or sharer.
    SELECT toUnixTimestamp64Milli(min(e.timestamp)) AS started,
           argMin(e.sharer_id, e.timestamp) AS sharer_id,
           argMin(e.distinct_id, e.timestamp) AS distinct_id, argMin(e.person_id, e.timestamp) AS person_id
    FROM events AS e
    WHERE e.project_id = {project:String} AND ${IN_RANGE}
      AND e.sharer_id != '' AND e.event != {share_event:String}
    GROUP BY cityHash64(if(e.session_id != '', e.session_id, e.message_id))
  ),
  share_edges AS (
    SELECT if(pm.person_id != '', pm.person_id, if(v.person_id != '', v.person_id, v.distinct_id)) AS visitor,
           if(sm.person_id != '', sm.person_id, v.sharer_id) AS sharer,
           count() AS visits, min(v.started) AS first_at
    FROM share_visits AS v
    LEFT JOIN person_map AS pm ON pm.distinct_id = v.distinct_id
    LEFT JOIN person_map AS sm ON sm.distinct_id = v.sharer_id
    WHERE visitor != sharer
    GROUP BY visitor, sharer
  ),
  invited AS (
    SELECT visitor, argMin(sharer, (first_at, sharer)) AS first_sharer, min(first_at) AS arrived,
           groupArray((sharer, visits)) AS visits_by_sharer
    FROM share_edges
    GROUP BY visitor
  )`;

/** The event `e` may belong to an invited person (a cheap filter before persons are resolved). */
const OF_INVITED = `(e.distinct_id IN (SELECT visitor FROM invited) OR e.person_id IN (SELECT visitor FROM invited)
      OR e.distinct_id IN (SELECT distinct_id FROM person_map WHERE person_id IN (SELECT visitor FROM invited)))`;

/**
 * Totals (the row with is_total = 1) and the top sharers, ranked as the API lists them; each sharer
 * with their share events. Credits: every (visitor, sharer) pair gives its sharer the visits and one
 * person; each invited person gives the sharer of their first share visit a new person (first event
 * ever no earlier than that visit) and the conversions at or after it.
 */
export const SHARING_SQL = `WITH ${INVITED_CTES},
  first_seen AS (
    -- No FINAL: a re-delivered event cannot change a first time.
    SELECT ${PERSON_SQL} AS visitor, toUnixTimestamp64Milli(min(e.timestamp)) AS first_seen, 1 AS seen
    FROM events AS e LEFT JOIN person_map AS pm ON pm.distinct_id = e.distinct_id
    WHERE e.project_id = {project:String} AND ${BEFORE_RANGE_END} AND ${OF_INVITED}
    GROUP BY visitor
  ),
  conversion_orders AS (
    SELECT ${PERSON_SQL} AS visitor,
           groupArray((toUnixTimestamp64Milli(e.timestamp), toFloat64(e.revenue))) AS orders
    FROM events AS e FINAL LEFT JOIN person_map AS pm ON pm.distinct_id = e.distinct_id
    WHERE e.project_id = {project:String} AND ${IN_RANGE}
      AND e.event = {conversion_event:String} AND ${OF_INVITED}
    GROUP BY visitor
  ),
  outcomes AS (
    -- Orders count from the first share visit on. A person without any event in the history (which
    -- their share visit makes impossible) is credited with nothing, as before.
    SELECT i.first_sharer AS first_sharer, i.visits_by_sharer AS visits_by_sharer,
           toUInt64(s.seen AND s.first_seen >= i.arrived) AS new_person,
           if(s.seen, arrayFilter(o -> o.1 >= i.arrived, c.orders), []) AS counted_orders,
           toUInt64(length(counted_orders)) AS orders_count,
           arraySum(o -> o.2, counted_orders) AS orders_revenue
    FROM invited AS i
    LEFT JOIN first_seen AS s ON s.visitor = i.visitor
    LEFT JOIN conversion_orders AS c ON c.visitor = i.visitor
  ),
  credits AS (
    SELECT credit.1 AS sharer, credit.2 AS visits, credit.3 AS persons, credit.4 AS new_persons,
           credit.5 AS conversions, credit.6 AS revenue, credit.7 AS invited_persons, credit.8 AS converted_persons
    FROM outcomes
    ARRAY JOIN arrayPushBack(
      arrayMap(x -> (x.1, x.2, toUInt64(1), toUInt64(0), toUInt64(0), toFloat64(0), toUInt64(0), toUInt64(0)), visits_by_sharer),
      (first_sharer, toUInt64(0), toUInt64(0), new_person, orders_count, orders_revenue, toUInt64(1), toUInt64(orders_count > 0))
    ) AS credit
  ),
  shares_by_sharer AS (
    SELECT ${PERSON_SQL} AS sharer, count() AS shares
    FROM events AS e FINAL LEFT JOIN person_map AS pm ON pm.distinct_id = e.distinct_id
    WHERE e.project_id = {project:String} AND ${IN_RANGE} AND e.event = {share_event:String}
    GROUP BY sharer
  )
SELECT t.is_total AS is_total, t.sharer AS sharer, sh.shares AS shares, t.visits AS visits, t.persons AS persons,
       t.new_persons AS new_persons, t.conversions AS conversions, t.revenue AS revenue,
       t.invited_persons AS invited_persons, t.converted_persons AS converted_persons
FROM (
  SELECT grouping(sharer) AS is_total, sharer, sum(visits) AS visits, sum(persons) AS persons,
         sum(new_persons) AS new_persons, sum(conversions) AS conversions, sum(revenue) AS revenue,
         sum(invited_persons) AS invited_persons, sum(converted_persons) AS converted_persons
  FROM credits
  GROUP BY GROUPING SETS ((sharer), ())
  -- The totals row first, then the order of the API (ties as JavaScript's localeCompare: ICU collation).
  ORDER BY is_total DESC, new_persons DESC, visits DESC, conversions DESC, sharer COLLATE 'en', sharer
  LIMIT {answer_rows:UInt32}
) AS t
LEFT JOIN shares_by_sharer AS sh ON sh.sharer = t.sharer`;

/**
 * Share depth in one row. The parent of an invited person is the sharer of their first share visit
 * when that sharer arrived through a share link earlier; the degree is 1 + the number of ancestors.
 * Ancestors are counted by pointer jumping: step 0 resolves each parent, every later step adds the
 * hops of the ancestor reached and jumps to its ancestor, so a chain of length L takes about
 * log2(L) steps, each a join of the invited persons with themselves, all inside the engine. A
 * person is `done` in the one step where their chain reaches its root.
 */
export const DEPTH_SQL = `WITH RECURSIVE ${INVITED_CTES},
  chains AS (
    SELECT visitor AS node, first_sharer AS ancestor, arrived, toUInt32(0) AS hops, toUInt32(0) AS step,
           toUInt8(0) AS done
    FROM invited
    UNION ALL
    SELECT node, next_ancestor, arrived, next_hops, next_step, next_done
    FROM (
      SELECT a.node AS node, a.arrived AS arrived, a.step + 1 AS next_step, a.step = 0 AS resolving,
             b.node = a.ancestor AND b.arrived < a.arrived AS has_parent,
             multiIf(resolving, if(has_parent, a.ancestor, ''), a.ancestor = '', '', b.ancestor) AS next_ancestor,
             toUInt32(multiIf(resolving, has_parent, a.ancestor = '', a.hops, a.hops + b.hops)) AS next_hops,
             toUInt8(if(resolving, NOT has_parent, a.ancestor != '' AND b.ancestor = '')) AS next_done
      -- Steps go on while someone's chain has not reached its root.
      FROM (SELECT *, max(ancestor != '' OR step = 0) OVER () AS busy FROM chains) AS a
      LEFT JOIN chains AS b ON b.node = a.ancestor
      WHERE a.busy
    )
  )
SELECT countIf(done AND hops = 0) AS degree1, countIf(done AND hops = 1) AS degree2,
       countIf(done AND hops >= 2) AS degree3_plus, max(if(done, hops + 1, 0)) AS max_degree
FROM chains`;

/** Share events and the persons who sent them, in the range. */
export const SHARES_SQL = `WITH ${PERSON_MAP_CTE}
SELECT uniqExact(${PERSON_SQL}) AS sharers, count() AS shares
FROM events AS e FINAL LEFT JOIN person_map AS pm ON pm.distinct_id = e.distinct_id
WHERE e.project_id = {project:String} AND ${IN_RANGE} AND e.event = {share_event:String}`;
