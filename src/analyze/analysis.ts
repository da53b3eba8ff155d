import type { FactsEngine } from '../store/facts/engine.js';
import type { MetadataStore } from '../store/metadata/open.js';
import type { DateRange, ProjectContext } from './query/scope.js';

/** What an analysis runs with: the stores and the project it is scoped to. */
export interface AnalysisContext {
  facts: FactsEngine;
  metadata: MetadataStore;
  project: ProjectContext;
}

/**
 * One kind of analysis (trends, funnels, retention, …) as the API serves it: a typed JSON query
 * validated by `parse` (which throws `invalid_query` naming the wrong field), run by `run`.
 */
export interface Analysis<Query = unknown, Result = unknown> {
  kind: string;
  en: string;
  zh: string;
  parse(body: unknown): Query;
  run(context: AnalysisContext, query: Query): Promise<Result>;
  /** The event days the result depends on, so new data inside them invalidates a cached result. */
  dependsOn(query: Query): DateRange;
}

/** Lets each module declare its analysis with its own query and result types. */
export function defineAnalysis<Query, Result>(analysis: Analysis<Query, Result>): Analysis<Query, Result> {
  return analysis;
}
