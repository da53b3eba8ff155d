import type { Analysis } from '../analysis.js';
import { contentCompare } from './compare.js';
import { contentLeaderboard } from './leaderboard.js';
import { contentLength } from './length.js';
import { contentPost } from './post.js';
import { contentTiming } from './timing.js';
import { contentTopics } from './topics.js';

/** The content analyses (issue 4, item 9); each `run` can be timed directly by the benchmark. */
export { contentCompare, contentLeaderboard, contentLength, contentPost, contentTiming, contentTopics };

/**
 * The registry holds analyses with their query types erased (its parse results are checked at
 * run time); the erasure happens here once instead of at every registry entry.
 */
const erased = <Query, Result>(analysis: Analysis<Query, Result>) =>
  analysis as unknown as Analysis<never, unknown>;

export const CONTENT_ANALYSES: Record<string, Analysis<never, unknown>> = Object.fromEntries(
  [contentLeaderboard, contentPost, contentTopics, contentTiming, contentCompare, contentLength].map(
    (analysis) => [analysis.kind, erased(analysis as Analysis<unknown, unknown>)],
  ),
);
