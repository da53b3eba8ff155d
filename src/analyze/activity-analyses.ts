import { heatmapAnalysis } from './activity.js';
import type { Analysis } from './analysis.js';
import { distributionAnalysis } from './distribution.js';
import { intervalAnalysis } from './interval.js';
import { lifecycleAnalysis } from './lifecycle.js';
import { retentionAnalysis } from './retention.js';
import { stickinessAnalysis } from './stickiness.js';

/** Retention and the activity analyses, by kind, for the registry (one spread line there). */
const erased = <Query, Result>(analysis: Analysis<Query, Result>) =>
  analysis as unknown as Analysis<never, unknown>;

export const ACTIVITY_ANALYSES: Record<string, Analysis<never, unknown>> = Object.fromEntries(
  [
    erased(retentionAnalysis),
    erased(heatmapAnalysis),
    erased(distributionAnalysis),
    erased(intervalAnalysis),
    erased(stickinessAnalysis),
    erased(lifecycleAnalysis),
  ].map((analysis) => [analysis.kind, analysis]),
);
