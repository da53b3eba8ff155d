import { type AnalysisContext, defineAnalysis } from './analysis.js';
import {
  compileSelector,
  type EventSelector,
  FINAL_SETTINGS,
  parseSelector,
  personStages,
  selectorSource,
} from './event-selector.js';
import { type FieldRef, fieldSql, parseField } from './query/fields.js';
import { SqlParams } from './query/params.js';
import { bindProject, type DateRange, parseDateRange } from './query/scope.js';
import {
  type Bucket,
  bodyObject,
  bucketEdges,
  bucketsOf,
  bucketVectorSql,
  invalid,
  wholeNumber,
} from './query-body.js';

/**
 * Distribution: how many times each person did an event in the range (1, 2, 3, … N+ or custom
 * bucket edges), and optionally how much of a numeric property each person summed up (how much
 * each buyer spent, how long each viewer watched). Only persons who did the event are counted.
 */

export const MAX_COUNT_BUCKETS = 50;
/** Default edges of a property sum: decades, since spend and watch time spread over orders of magnitude. */
export const DEFAULT_PROPERTY_EDGES = [0, 1, 10, 100, 1000, 10_000] as const;

export interface DistributionQuery {
  dateRange: DateRange;
  event: EventSelector;
  /** Count buckets 1 … maxCount (the last one open: "N+"), unless `buckets` gives edges. */
  maxCount: number;
  buckets?: number[];
  property?: { field: string; buckets: number[] };
}

export interface DistributionStats {
  persons: number;
  mean: number;
  median: number;
  p90: number;
}

export interface DistributionResult {
  buckets: Bucket[];
  stats: DistributionStats;
  property?: {
    field: string;
    buckets: Bucket[];
    /** Over the persons with a numeric value. */
    stats: DistributionStats & { sum: number };
    /** Persons who did the event but never with a numeric value of the property. */
    missing: number;
  };
}

export function parseDistributionQuery(body: unknown): DistributionQuery {
  const b = bodyObject(body);
  const query: DistributionQuery = {
    dateRange: parseDateRange(b.dateRange),
    event: parseSelector(b.event, 'event'),
    maxCount: wholeNumber(b.maxCount, 'maxCount', 1, MAX_COUNT_BUCKETS, 10),
  };
  const buckets = bucketEdges(b.buckets, 'buckets', 1);
  if (buckets) query.buckets = buckets;
  if (b.property !== undefined) {
    if (typeof b.property !== 'object' || b.property === null)
      invalid('property', 'expected { field, buckets }', '必须是 { field, buckets }');
    const p = b.property as Record<string, unknown>;
    parseField(p.field, 'property.field');
    query.property = {
      field: p.field as string,
      buckets: bucketEdges(p.buckets, 'property.buckets') ?? [...DEFAULT_PROPERTY_EDGES],
    };
  }
  compileSelector(query.event, new SqlParams(), 'event');
  return query;
}

interface DistributionRow {
  persons: number;
  mean: number;
  median: number;
  p90: number;
  counts: number[];
  with_value: number;
  value_sum: number;
  value_mean: number;
  value_median: number;
  value_p90: number;
  value_counts: number[];
}

const stat = (v: unknown) => (Number.isFinite(Number(v)) ? Number(v) : 0);

export async function runDistribution(
  context: AnalysisContext,
  query: DistributionQuery,
): Promise<DistributionResult> {
  const params = new SqlParams();
  bindProject(params, context.project);
  const selector = compileSelector(query.event, params, 'event');
  const propertyRef: FieldRef | undefined = query.property
    ? parseField(query.property.field, 'property.field')
    : undefined;
  const source = selectorSource(
    [selector],
    { range: query.dateRange, extraRefs: propertyRef ? [propertyRef] : [] },
    params,
  );
  const countEdges = query.buckets ?? Array.from({ length: query.maxCount }, (_, i) => i + 1);
  const edges = params.add('Array(Float64)', countEdges);
  const valueEdges = params.add('Array(Float64)', query.property?.buckets ?? [0]);
  const value = propertyRef
    ? fieldSql(propertyRef, 'number', params.add.bind(params))
    : "CAST(NULL, 'Nullable(Float64)')";
  // Per person: the number of events, and the sum of the property over events that carry a number.
  const stages = personStages(source);
  const [row] = await context.facts.query<DistributionRow>(
    `WITH ${source.ctes},
     per_id AS (
       SELECT ${stages.idKey} AS id, max(e.person_id) AS pid, count() AS n, sum(${value}) AS total,
              count(${value}) AS valued
       FROM ${stages.idFrom}
       WHERE ${source.where}
       GROUP BY id
     ),
     per_person AS (
       SELECT ${stages.person} AS person, sum(d.n) AS n, sum(d.total) AS total, sum(d.valued) AS valued
       FROM ${stages.personFrom}
       GROUP BY person
     )
     SELECT count() AS persons, avg(n) AS mean,
            quantileExactInclusive(0.5)(n) AS median, quantileExactInclusive(0.9)(n) AS p90,
            sumForEach(${bucketVectorSql('n', edges)}) AS counts,
            countIf(valued > 0) AS with_value, sumIf(total, valued > 0) AS value_sum,
            avgIf(total, valued > 0) AS value_mean,
            quantileExactInclusiveIf(0.5)(total, valued > 0) AS value_median,
            quantileExactInclusiveIf(0.9)(total, valued > 0) AS value_p90,
            sumForEach(arrayMap(x -> x * (valued > 0), ${bucketVectorSql('total', valueEdges)})) AS value_counts
     FROM per_person
     ${FINAL_SETTINGS}`,
    params.values,
  );
  const persons = Number(row?.persons ?? 0);
  const counts = persons > 0 ? (row?.counts ?? []).map(Number) : [];
  const result: DistributionResult = {
    buckets: bucketsOf(countEdges, counts, true),
    stats: { persons, mean: stat(row?.mean), median: stat(row?.median), p90: stat(row?.p90) },
  };
  if (query.property) {
    const withValue = Number(row?.with_value ?? 0);
    result.property = {
      field: query.property.field,
      buckets: bucketsOf(
        query.property.buckets,
        persons > 0 ? (row?.value_counts ?? []).map(Number) : [],
        false,
      ),
      stats: {
        persons: withValue,
        sum: stat(row?.value_sum),
        mean: withValue > 0 ? stat(row?.value_mean) : 0,
        median: withValue > 0 ? stat(row?.value_median) : 0,
        p90: withValue > 0 ? stat(row?.value_p90) : 0,
      },
      missing: persons - withValue,
    };
  }
  return result;
}

export const distributionAnalysis = defineAnalysis<DistributionQuery, DistributionResult>({
  kind: 'distribution',
  en: 'Frequency distribution',
  zh: '频次分布',
  parse: parseDistributionQuery,
  run: runDistribution,
  dependsOn: (query) => query.dateRange,
});
