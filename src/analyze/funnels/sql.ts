import { FINAL_SETTINGS } from '../event-selector.js';
import { type FieldRef, fieldSql, needsPersonTraits, parseField } from '../query/fields.js';
import { compileFilters } from '../query/filters.js';
import type { SqlParams } from '../query/params.js';
import { eventSource, nextDay, PERSON_SQL, PERSON_TRAITS_CTE } from '../query/scope.js';
import type { FunnelQuery } from './query.js';

/**
 * The funnel as ClickHouse SQL. All heavy work happens in the engine:
 *
 * 1. `marked`: every event of a step or exclusion with its resolved person, a bitmask of the steps
 *    it matches (bit i = step i + 1), a bitmask of the exclusions it matches and the breakdown value.
 * 2. `journeys`: per person, those events as one array sorted by time; events with the same
 *    timestamp sort by the lowest step they match, exclusion-only events after step events, so ties
 *    count in step order.
 * 3. `attempts`: every step-1 event inside the date range starts an attempt, followed forward with
 *    `arrayFold` over the events inside the funnel window (a small state machine: steps reached,
 *    step times, stopped flag, steps done).
 * 4. `best`: each person's attempt that got furthest (the earliest among equals) — a person counts
 *    once, with the entry time and breakdown value of that attempt.
 * 5. `people`: breakdown values ranked (the top N keep their name, the rest become `$other`), the
 *    entry period and the time to convert with its histogram bucket.
 */

export const OTHER_BREAKDOWN = '$other';

/** The per-person pipeline, ending in a CTE `people` (person, reached, times, breakdown_key, …). */
export function funnelPeopleSql(query: FunnelQuery, params: SqlParams): string {
  const steps = query.steps;
  const names = [...new Set([...steps.map((s) => s.event), ...query.exclusions.map((e) => e.event)])];
  const source = eventSource(
    {
      range: query.dateRange,
      events: names,
      filters: query.filters,
      filtersAt: 'filters',
      // Entry into step 1 is bounded by the range; later steps may follow within the window.
      padAfterSeconds: query.windowSeconds,
    },
    params,
  );
  const refs: FieldRef[] = [];
  const stepConditions = steps.map((step, i) => {
    const filters = compileFilters(step.filters, params, `steps[${i}].filters`);
    refs.push(...filters.refs);
    return `(e.event = ${params.add('String', step.event)} AND ${filters.sql})`;
  });
  const exclusionConditions = query.exclusions.map((exclusion, i) => {
    const filters = compileFilters(exclusion.filters, params, `exclusions[${i}].filters`);
    refs.push(...filters.refs);
    return `(e.event = ${params.add('String', exclusion.event)} AND ${filters.sql})`;
  });
  const breakdownRef = query.breakdown ? parseField(query.breakdown.field, 'breakdown.field') : undefined;
  if (breakdownRef) refs.push(breakdownRef);
  const breakdown = breakdownRef ? fieldSql(breakdownRef, 'string', params.add.bind(params)) : `''`;

  let { ctes, from } = source;
  // eventSource joins person traits only for its own filters; steps and breakdown may need them too.
  if (needsPersonTraits(refs) && !ctes.includes('person_traits AS')) {
    ctes += `, ${PERSON_TRAITS_CTE}`;
    from += ` LEFT JOIN person_traits AS pt ON pt.person_id = ${PERSON_SQL}`;
  }

  const bits = (conditions: string[]) =>
    conditions.length === 0
      ? 'toUInt64(0)'
      : // if(): a condition on a missing property is NULL, which must count as no match.
        conditions.map((c, i) => `bitShiftLeft(toUInt64(if(${c}, 1, 0)), ${i})`).join('\n      + ');

  const rangeStart = `toInt64(toUnixTimestamp64Milli(toDateTime64(${params.add('String', query.dateRange.from)}, 3, {tz:String})))`;
  const rangeEnd = `toInt64(toUnixTimestamp64Milli(toDateTime64(${params.add('String', nextDay(query.dateRange.to))}, 3, {tz:String})))`;
  const windowMs = params.add('Int64', query.windowSeconds * 1000);
  const inRange = (t: string) => `${t} >= ${rangeStart} AND ${t} < ${rangeEnd}`;
  // Lambdas read only their own arguments: a captured array would be copied for every element.
  const entryOf = (x: string) =>
    query.order === 'any'
      ? `${x}.2 != 0 AND ${inRange(`${x}.1`)}`
      : `bitTest(${x}.2, 0) AND ${inRange(`${x}.1`)}`;
  // Of consecutive entry events alike (same steps, nothing between), only the last starts an
  // attempt: it gets at least as far. Not with a minimum time to step 2, where an earlier one may.
  const stepTwoMinimum = query.steps[1]?.minSecondsFromPrevious ?? query.minSecondsBetweenSteps;
  const dedupe = query.order === 'any' || stepTwoMinimum === 0 ? '1' : '0';
  const { fromStep, toStep, bucketsSeconds } = query.timeToConvert;
  const period =
    query.conversionOverTime.granularity === 'week'
      ? 'toMonday(toDate(fromUnixTimestamp64Milli(entered_at), {tz:String}))'
      : 'toDate(fromUnixTimestamp64Milli(entered_at), {tz:String})';
  const breakdownLimit = params.add('UInt32', query.breakdown?.limit ?? 1);

  return `WITH ${ctes},
  marked AS (
    SELECT ${PERSON_SQL} AS person,
      toInt64(toUnixTimestamp64Milli(e.timestamp)) AS t,
      ${bits(stepConditions)} AS step_mask,
      ${bits(exclusionConditions)} AS exclusion_mask,
      ${breakdown} AS breakdown_value
    FROM ${from}
    WHERE ${source.where}
  ),
  journeys AS (
    SELECT person,
      arraySort(x -> (x.1, if(x.2 = 0, 255, toUInt8(log2(bitAnd(x.2, bitNot(x.2) + 1))))),
        groupArray((t, step_mask, exclusion_mask, breakdown_value))) AS ev,
      arrayMap((x, next) -> ${entryOf('x')} AND NOT (${dedupe} AND next.1 = x.2 AND next.2 = x.3 AND ${inRange('next.3')}),
        ev, arrayPushBack(arrayPopFront(arrayMap(x -> (x.2, x.3, x.1), ev)), (toUInt64(0), toUInt64(0), toInt64(0)))) AS entry_flags,
      arrayFilter((i, entry) -> entry, arrayEnumerate(ev), entry_flags) AS starts
    FROM marked
    WHERE step_mask != 0 OR exclusion_mask != 0
    GROUP BY person
    HAVING notEmpty(starts)
  ),
  attempts AS (
    SELECT person, ev[i] AS entry,
      arrayFold(${foldLambda(query, params, windowMs)},
        arraySlice(ev, i + 1, arrayCount(x -> x.1 <= entry.1 + ${windowMs}, ev) - i),
        (toUInt16(1), [entry.1], toUInt8(0), ${query.order === 'any' ? 'bitAnd(entry.2, bitNot(entry.2) + 1)' : 'toUInt64(1)'})) AS state
    FROM journeys ARRAY JOIN starts AS i
  ),
  best AS (
    SELECT person,
      argMax((entry.1, entry.4, state.1, state.2), (state.1, -entry.1)) AS b,
      b.1 AS entered_at, b.2 AS breakdown_value, b.3 AS reached, b.4 AS times
    FROM attempts
    GROUP BY person
  ),
  ranked AS (
    SELECT *, dense_rank() OVER (ORDER BY breakdown_persons DESC, breakdown_value) AS breakdown_rank
    FROM (SELECT *, count() OVER (PARTITION BY breakdown_value) AS breakdown_persons FROM best)
  ),
  people AS (
    SELECT person, reached, times,
      if(breakdown_rank <= ${breakdownLimit}, breakdown_value, '${OTHER_BREAKDOWN}') AS breakdown_key,
      toString(${period}) AS period,
      if(reached >= ${toStep}, (times[${toStep}] - times[${fromStep}]) / 1000, NULL) AS seconds_to_convert,
      if(reached >= ${toStep}, 1 + arrayCount(b -> b <= seconds_to_convert, ${params.add('Array(Float64)', bucketsSeconds)}), 0) AS ttc_bucket
    FROM ranked
  )`;
}

/**
 * The per-attempt state machine. State: (steps reached, their times, stopped, steps done bitmask).
 * Ordered funnels match the next step with the first event that fits its time limits; strict order
 * stops at any other step event in between; an active exclusion event stops the attempt.
 */
function foldLambda(query: FunnelQuery, params: SqlParams, windowMs: string): string {
  const n = query.steps.length;
  // Exclusions active once `reached` steps are done: those spanning step `reached` to a later one.
  const activeExclusions = query.steps.map((_, index) => {
    const reached = index + 1;
    return query.exclusions.reduce(
      (mask, e, bit) => (e.fromStep <= reached && reached < e.toStep ? mask + 2 ** bit : mask),
      0,
    );
  });
  const active = params.add('Array(UInt64)', activeExclusions);
  const excluded = `bitAnd(x.3, ${active}[acc.1]) != 0`;
  const stop = '(acc.1, acc.2, toUInt8(1), acc.4)';
  if (query.order === 'any') {
    const fresh = 'bitAnd(x.2, bitNot(acc.4))';
    return `(acc, x) -> if(acc.3 = 1 OR acc.1 >= ${n} OR x.1 - acc.2[1] > ${windowMs}, acc,
          if(${fresh} != 0,
            (toUInt16(acc.1 + 1), arrayPushBack(acc.2, x.1), acc.3, bitOr(acc.4, bitAnd(${fresh}, bitNot(${fresh}) + 1))),
            if(${excluded}, ${stop}, acc)))`;
  }
  const minGapMs = params.add(
    'Array(Int64)',
    query.steps.map((s) => (s.minSecondsFromPrevious ?? query.minSecondsBetweenSteps) * 1000),
  );
  const stepWindowMs = params.add(
    'Array(Int64)',
    query.steps.map((s) => (s.withinSeconds ?? query.windowSeconds) * 1000),
  );
  const since = 'x.1 - acc.2[acc.1]';
  const fits = `bitTest(x.2, acc.1) AND ${since} >= ${minGapMs}[acc.1 + 1] AND ${since} <= ${stepWindowMs}[acc.1 + 1] AND x.1 - acc.2[1] <= ${windowMs}`;
  // Strict: the next step event after a matched step must be the next step itself.
  const interrupted = query.order === 'strict' ? `${excluded} OR x.2 != 0` : excluded;
  return `(acc, x) -> if(acc.3 = 1 OR acc.1 >= ${n}, acc,
          if(${fits},
            (toUInt16(acc.1 + 1), arrayPushBack(acc.2, x.1), acc.3, acc.4),
            if(${interrupted}, ${stop}, acc)))`;
}

/** Step counts, times between steps and time to convert, per breakdown value, period and bucket. */
export function funnelAggregateSql(people: string): string {
  return `${people}
  SELECT
    grouping(breakdown_key) = 0 AS by_breakdown,
    grouping(period) = 0 AS by_period,
    grouping(ttc_bucket) = 0 AS by_bucket,
    breakdown_key, period, ttc_bucket,
    count() AS persons,
    sumForEach(arrayWithConstant(reached, toUInt64(1))) AS step_counts,
    avgForEach(arrayMap(d -> d / 1000, arrayPopFront(arrayDifference(times)))) AS avg_seconds,
    quantileForEach(0.5)(arrayMap(d -> d / 1000, arrayPopFront(arrayDifference(times)))) AS median_seconds,
    avg(seconds_to_convert) AS avg_seconds_to_convert,
    quantile(0.5)(seconds_to_convert) AS median_seconds_to_convert
  FROM people
  GROUP BY GROUPING SETS ((), (breakdown_key), (period), (ttc_bucket))
  ${FINAL_SETTINGS}`;
}

/** One page of the persons who completed step `step - 1` but not step `step`. */
export function droppedPersonsSql(people: string, query: FunnelQuery, params: SqlParams): string {
  const dropped = query.dropped;
  if (!dropped) throw new Error('droppedPersonsSql needs query.dropped');
  const conditions = [`reached = ${params.add('UInt16', dropped.step - 1)}`];
  if (dropped.breakdownValue !== undefined) {
    conditions.push(`breakdown_key = ${params.add('String', dropped.breakdownValue)}`);
  }
  return `${people}
  SELECT person FROM people
  WHERE ${conditions.join(' AND ')}
  ORDER BY person
  LIMIT ${params.add('UInt32', dropped.limit)} OFFSET ${params.add('UInt64', dropped.offset)}
  ${FINAL_SETTINGS}`;
}
