import type { Analysis } from './analysis.js';
import { retentionAnalysis } from './retention.js';

/** Retention and the activity analyses, by kind, for the registry (one spread line there). */
const erased = <Query, Result>(analysis: Analysis<Query, Result>) =>
  analysis as unknown as Analysis<never, unknown>;

export const ACTIVITY_ANALYSES: Record<string, Analysis<never, unknown>> = Object.fromEntries(
  [erased(retentionAnalysis)].map((analysis) => [analysis.kind, analysis]),
);
