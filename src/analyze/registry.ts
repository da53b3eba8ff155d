import type { Analysis } from './analysis.js';
import { attributionAnalysis } from './attribution/index.js';
import { ACTIVITY_ANALYSES } from './activity-analyses.js';
import { CONTENT_ANALYSES } from './content/index.js';
import { funnelsAnalysis } from './funnels.js';
import { pathsAnalysis } from './paths.js';
import { trends } from './trends.js';

/**
 * Every analysis the API serves, by kind. The kind in a request URL is looked up here, so only
 * these names ever reach the analysis code. Add a module's analysis with one line.
 */
export const ANALYSES: Record<string, Analysis<never, unknown>> = {
  ...CONTENT_ANALYSES,
  ...ACTIVITY_ANALYSES,
  funnels: funnelsAnalysis as unknown as Analysis<never, unknown>,
  attribution: attributionAnalysis as unknown as Analysis<never, unknown>,
  paths: pathsAnalysis as unknown as Analysis<never, unknown>,
  trends: trends as unknown as Analysis<never, unknown>,
};

export function findAnalysis(kind: string): Analysis<unknown, unknown> | undefined {
  return Object.hasOwn(ANALYSES, kind) ? (ANALYSES[kind] as Analysis<unknown, unknown>) : undefined;
}
