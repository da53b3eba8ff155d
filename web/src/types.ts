/** The shapes of the API's analysis results the pages read (see src/analyze on the server). */

export interface MetricInfo {
  id: string;
  en: string;
  zh: string;
  unit: string;
  format: string;
  higherIsBetter: boolean;
}

export interface TrendSeries {
  metric: string;
  breakdown: string[] | null;
  points: { t: string; value: number | null }[];
  total: number | null;
  previousTotal: number | null;
  changePercent: number | null;
}

export interface TrendsResult {
  currency: string;
  buckets: string[];
  metrics: MetricInfo[];
  series: TrendSeries[];
}

export interface LeaderboardRow {
  platform: string;
  accountId: string;
  contentId: string;
  title: string;
  contentType: string;
  publishedAt: string | null;
  durationSeconds: number;
  tags: string[];
  metrics: Record<string, number | null>;
}

// Analysis pages (funnels, retention, paths, heatmap, distributions): see src/analyze/*.ts.

export interface FunnelFilter {
  field: string;
  op: string;
  value?: string | number;
}

export interface FunnelStepSpec {
  event: string;
  filters?: FunnelFilter[];
}

export interface FunnelStepResult {
  step: number;
  event: string;
  count: number;
  conversionFromPrevious: number;
  conversionFromFirst: number;
  droppedFromPrevious: number;
  avgSecondsFromPrevious: number | null;
  medianSecondsFromPrevious: number | null;
}

export interface FunnelResult {
  steps: FunnelStepResult[];
  breakdown?: { field: string; values: { value: string; steps: FunnelStepResult[] }[] };
  conversionOverTime: {
    granularity: 'day' | 'week';
    /** `complete`: every entrant has had the whole window by today; otherwise the rate can still rise. */
    periods: {
      period: string;
      entered: number;
      converted: number;
      conversionRate: number | null;
      complete: boolean;
    }[];
  };
  timeToConvert: {
    fromStep: number;
    toStep: number;
    averageSeconds: number | null;
    medianSeconds: number | null;
    buckets: { fromSeconds: number; toSeconds: number | null; count: number }[];
  };
  dropped?: { step: number; breakdownValue?: string; total: number; persons: string[] };
}

export interface RetentionRow {
  cohort: string;
  size: number;
  values: number[];
  rates: number[];
  /** Values of ended periods; the next one, if listed, is today's period, still in progress. */
  ended: number;
}

export interface RetentionResult {
  period: 'day' | 'week' | 'month';
  periods: number;
  mode: 'bounded' | 'unbounded';
  cohortType: string;
  cohorts: RetentionRow[];
  average: { size: number; values: number[]; rates: number[] };
}

export interface PathsResult {
  total: number;
  nodes: { id: string; name: string; step: number; value: number }[];
  links: { source: string; target: string; value: number }[];
  topPaths: { path: string[]; count: number; share: number }[];
  steps: { step: number; paths: number; dropped: number }[];
}

export interface HeatmapResult {
  measure: 'events' | 'persons';
  weekdays: { en: string; zh: string }[];
  /** values[weekday][hour], Monday first, hours in the project time zone. */
  values: number[][];
  total: number;
  max: number;
  peak: { weekday: number; hour: number; value: number } | null;
}

export interface Bucket {
  from: number | null;
  to: number | null;
  label: string;
  persons: number;
}

export interface DistributionResult {
  buckets: Bucket[];
  stats: { persons: number; mean: number; median: number; p90: number };
}

export interface IntervalResult {
  unit: 'minute' | 'hour' | 'day';
  persons: number;
  converted: number;
  buckets: Bucket[];
  stats: { mean: number; median: number; p90: number };
}

export interface StickinessResult {
  days: number;
  values: { days: number; persons: number; share: number }[];
  persons: number;
  averageDays: number;
}

export interface LifecycleResult {
  period: 'day' | 'week' | 'month';
  periods: { period: string; new: number; returning: number; resurrecting: number; dormant: number }[];
}
