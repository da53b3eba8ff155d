import { type AnalysisContext, defineAnalysis } from '../analysis.js';
import { nextDay } from '../query/scope.js';
import { type Credit, type HeuristicModel, heuristicCredit } from './heuristic.js';
import { fetchConversionTotals, fetchPathGroups, type PathGroup } from './journeys.js';
import { fitMarkovChain, removalEffects } from './markov.js';
import {
  type AttributionQuery,
  type ModelName,
  parseAttributionQuery,
  type TouchDimension,
} from './query.js';
import { MAX_SHAPLEY_CHANNELS, shapleyByConversions, shapleyOverMarkov } from './shapley.js';
import { roas, roi, spendByValue } from './spend.js';

/**
 * Multi-touch attribution: every model side by side, per value of the touch dimension, with the
 * credited conversions and revenue joined to ad spend (ROI, ROAS). Journeys come from ClickHouse
 * grouped by path (journeys.ts); the models run here over the distinct paths.
 */

export interface ModelCredit {
  conversions: number;
  revenue: number;
  /** (revenue − spend) / spend; null without spend. */
  roi: number | null;
  /** revenue / spend; null without spend. */
  roas: number | null;
}

export interface AttributionRow {
  value: string;
  /** Journeys (converting or not) that touch this value. */
  journeys: number;
  convertingJourneys: number;
  /** Ad spend in the range; null when unknown for this dimension or value. */
  spend: number | null;
  /** Markov removal effect, 1 − P(conversion | removed) / P(conversion). */
  removalEffect: number | null;
  models: Partial<Record<ModelName, ModelCredit>>;
}

export interface AttributionResult {
  dimension: TouchDimension;
  currency: string;
  models: ModelName[];
  totals: {
    conversions: number;
    revenue: number;
    /** Conversions with at least one touch in the lookback window: what the models share out. */
    attributedConversions: number;
    attributedRevenue: number;
    /** Conversions without any touch in the window (credited to no channel). */
    unattributedConversions: number;
    unattributedRevenue: number;
    journeys: number;
    distinctPaths: number;
    spend: number | null;
  };
  rows: AttributionRow[];
}

/** Name of the value that stands for the least-travelled values beyond MAX_SHAPLEY_CHANNELS. */
export const OTHER_VALUE = '(other)';

/**
 * Calls `visit` once per distinct value of each group's path. Paths are short and many (tens of
 * thousands of groups): a "last group seen" stamp per value replaces a Set per path.
 */
function forEachDistinctValue(
  groups: readonly PathGroup[],
  visit: (value: string, group: PathGroup) => void,
): void {
  const lastSeen = new Map<string, number>();
  groups.forEach((group, index) => {
    for (const value of group.path) {
      if (lastSeen.get(value) === index) continue;
      lastSeen.set(value, index);
      visit(value, group);
    }
  });
}

/** Keeps the most-travelled values and folds the rest into OTHER_VALUE, merging paths that become equal. */
function foldRareValues(groups: PathGroup[], keep: number): PathGroup[] {
  const reach = new Map<string, number>();
  forEachDistinctValue(groups, (v, g) =>
    reach.set(v, (reach.get(v) ?? 0) + g.conversions + g.nonConversions),
  );
  if (reach.size <= keep) return groups;
  const kept = new Set(
    [...reach.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, keep - 1)
      .map(([v]) => v),
  );
  const merged = new Map<string, PathGroup>();
  for (const g of groups) {
    const path = g.path.map((v) => (kept.has(v) ? v : OTHER_VALUE));
    const key = JSON.stringify(path);
    const into = merged.get(key);
    if (!into) {
      merged.set(key, { ...g, path, decayCredit: [...g.decayCredit], decayRevenue: [...g.decayRevenue] });
      continue;
    }
    into.conversions += g.conversions;
    into.revenue += g.revenue;
    into.nonConversions += g.nonConversions;
    g.decayCredit.forEach((w, i) => {
      into.decayCredit[i] = (into.decayCredit[i] ?? 0) + w;
    });
    g.decayRevenue.forEach((w, i) => {
      into.decayRevenue[i] = (into.decayRevenue[i] ?? 0) + w;
    });
  }
  return [...merged.values()];
}

/** Scales non-negative shares so that they add up to the attributed conversions and revenue. */
function creditByShares(values: string[], shares: number[], conversions: number, revenue: number) {
  const positive = shares.map((s) => Math.max(0, s));
  const total = positive.reduce((a, b) => a + b, 0);
  const credit = new Map<string, Credit>();
  values.forEach((v, i) => {
    const share = total > 0 ? positive[i]! / total : 0;
    credit.set(v, { conversions: share * conversions, revenue: share * revenue });
  });
  return credit;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Runs an attribution query. */
export async function runAttribution(
  context: AnalysisContext,
  query: AttributionQuery,
): Promise<AttributionResult> {
  const { facts, project } = context;
  const groups = foldRareValues(await fetchPathGroups(facts, project, query), MAX_SHAPLEY_CHANNELS);
  const totals = await fetchConversionTotals(facts, project, query);
  const spend = await spendByValue(facts, project, query.touch.dimension, query.dateRange);
  const journeys = new Map<string, { all: number; converting: number }>();
  let attributedConversions = 0;
  let attributedRevenue = 0;
  let journeyCount = 0;
  for (const g of groups) {
    attributedConversions += g.conversions;
    attributedRevenue += g.revenue;
    journeyCount += g.conversions + g.nonConversions;
  }
  forEachDistinctValue(groups, (v, g) => {
    const j = journeys.get(v) ?? { all: 0, converting: 0 };
    j.all += g.conversions + g.nonConversions;
    j.converting += g.conversions;
    journeys.set(v, j);
  });
  const values = [...journeys.keys()].sort();

  const chain = fitMarkovChain(groups, values);
  const removal = removalEffects(chain, query.markovRemoval);
  const credits = new Map<ModelName, Map<string, Credit>>();
  for (const model of query.models) {
    if (model === 'markov') {
      const shares = removal.map((r) => r.removalEffect);
      credits.set(model, creditByShares(values, shares, attributedConversions, attributedRevenue));
    } else if (model === 'shapley') {
      credits.set(
        model,
        query.shapleyValue === 'conversions'
          ? shapleyByConversions(groups)
          : creditByShares(values, shapleyOverMarkov(chain), attributedConversions, attributedRevenue),
      );
    } else {
      credits.set(model, heuristicCredit(model as HeuristicModel, groups));
    }
  }

  const spendOf = (value: string): number | null => {
    if (spend === undefined) return null;
    if (value !== OTHER_VALUE) return spend.get(value) ?? null;
    let sum = 0;
    let found = false;
    for (const [v, s] of spend) {
      if (!journeys.has(v)) {
        sum += s;
        found = true;
      }
    }
    return found ? sum : null;
  };

  const rows: AttributionRow[] = values.map((value, i) => {
    const valueSpend = spendOf(value);
    const models: Partial<Record<ModelName, ModelCredit>> = {};
    for (const model of query.models) {
      const c = credits.get(model)?.get(value) ?? { conversions: 0, revenue: 0 };
      const r = roi(c.revenue, valueSpend);
      const s = roas(c.revenue, valueSpend);
      models[model] = {
        conversions: round(c.conversions, 4),
        revenue: round(c.revenue, 2),
        roi: r === null ? null : round(r, 4),
        roas: s === null ? null : round(s, 4),
      };
    }
    return {
      value,
      journeys: journeys.get(value)!.all,
      convertingJourneys: journeys.get(value)!.converting,
      spend: valueSpend === null ? null : round(valueSpend, 2),
      removalEffect: round(removal[i]!.removalEffect, 6),
      models,
    };
  });
  const sortModel = query.models[0]!;
  rows.sort(
    (a, b) =>
      (b.models[sortModel]?.conversions ?? 0) - (a.models[sortModel]?.conversions ?? 0) ||
      a.value.localeCompare(b.value),
  );
  const totalSpend = spend === undefined ? null : [...spend.values()].reduce((a, b) => a + b, 0);
  return {
    dimension: query.touch.dimension,
    currency: project.currency,
    models: query.models,
    totals: {
      conversions: totals.conversions,
      revenue: round(totals.revenue, 2),
      attributedConversions,
      attributedRevenue: round(attributedRevenue, 2),
      unattributedConversions: totals.conversions - attributedConversions,
      unattributedRevenue: round(totals.revenue - attributedRevenue, 2),
      journeys: journeyCount,
      distinctPaths: groups.length,
      spend: totalSpend === null ? null : round(totalSpend, 2),
    },
    rows,
  };
}

export const attributionAnalysis = defineAnalysis<AttributionQuery, AttributionResult>({
  kind: 'attribution',
  en: 'Attribution',
  zh: '归因分析',
  parse: parseAttributionQuery,
  run: runAttribution,
  // Touches up to the lookback before the range count too.
  dependsOn: (query) => ({
    from: nextDay(query.dateRange.from, -Math.ceil(query.lookbackDays)),
    to: query.dateRange.to,
  }),
});
