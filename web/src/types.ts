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
