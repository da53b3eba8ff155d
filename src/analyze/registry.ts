import { ACTIVITY_ANALYSES } from './activity-analyses.js';
import type { Analysis } from './analysis.js';
import { attributionAnalysis } from './attribution/index.js';
import { CONTENT_ANALYSES } from './content/index.js';
import { funnelsAnalysis } from './funnels.js';
import { ltvAnalysis } from './ltv.js';
import { pathsAnalysis } from './paths.js';
import { platformsAnalysis } from './platforms.js';
import { trends } from './trends.js';
import { viralityAnalysis } from './virality.js';

/**
 * Every analysis the API serves, by kind. The kind in a request URL is looked up here, so only
 * these names ever reach the analysis code. Add a module's analysis with one line.
 */
// biome-ignore lint/suspicious/noExplicitAny: each analysis has its own query type; the route passes parse's output to run
type AnyAnalysis = Analysis<any, unknown>;

export const ANALYSES: Record<string, AnyAnalysis> = {
  ...CONTENT_ANALYSES,
  ...ACTIVITY_ANALYSES,
  funnels: funnelsAnalysis,
  paths: pathsAnalysis,
  platforms: platformsAnalysis,
  trends: trends,
  attribution: attributionAnalysis,
  ltv: ltvAnalysis,
  virality: viralityAnalysis,
};

export function findAnalysis(kind: string): Analysis<unknown, unknown> | undefined {
  return Object.hasOwn(ANALYSES, kind) ? (ANALYSES[kind] as Analysis<unknown, unknown>) : undefined;
}
