import type { PathGroup } from './journeys.js';

/**
 * The rule-based models. Each gives every position of a converting path a share of the conversion
 * (shares of one path sum to 1); a channel's credit is the sum of its positions' shares.
 */

export type HeuristicModel =
  | 'first_touch'
  | 'last_touch'
  | 'last_non_direct'
  | 'linear'
  | 'time_decay'
  | 'position_based';

export interface Credit {
  conversions: number;
  revenue: number;
}

/** The value of the channel dimension that last-non-direct passes over. */
export const DIRECT = 'direct';

/** Position-based: 40 % to the first touch, 40 % to the last, 20 % spread over the ones between. */
export function positionWeights(length: number): number[] {
  if (length === 1) return [1];
  if (length === 2) return [0.5, 0.5];
  const middle = 0.2 / (length - 2);
  return Array.from({ length }, (_, i) => (i === 0 || i === length - 1 ? 0.4 : middle));
}

function onlyAt(length: number, index: number): number[] {
  return Array.from({ length }, (_, i) => (i === index ? 1 : 0));
}

/** Last touch that is not direct; the last touch when every touch is direct (as GA does). */
export function lastNonDirectIndex(path: readonly string[]): number {
  for (let i = path.length - 1; i >= 0; i--) if (path[i] !== DIRECT) return i;
  return path.length - 1;
}

function weights(model: Exclude<HeuristicModel, 'time_decay'>, path: readonly string[]): number[] {
  const n = path.length;
  switch (model) {
    case 'first_touch':
      return onlyAt(n, 0);
    case 'last_touch':
      return onlyAt(n, n - 1);
    case 'last_non_direct':
      return onlyAt(n, lastNonDirectIndex(path));
    case 'linear':
      return Array.from({ length: n }, () => 1 / n);
    case 'position_based':
      return positionWeights(n);
  }
}

/** Credited conversions and revenue per channel under a rule-based model. */
export function heuristicCredit(model: HeuristicModel, groups: readonly PathGroup[]): Map<string, Credit> {
  const credit = new Map<string, Credit>();
  const add = (value: string, conversions: number, revenue: number) => {
    const c = credit.get(value) ?? { conversions: 0, revenue: 0 };
    c.conversions += conversions;
    c.revenue += revenue;
    credit.set(value, c);
  };
  for (const group of groups) {
    if (group.conversions === 0) continue;
    if (model === 'time_decay') {
      // Weights were computed per conversion in ClickHouse: 2^(−age / half-life), normalised to 1.
      group.path.forEach((value, i) => {
        add(value, group.decayCredit[i] ?? 0, group.decayRevenue[i] ?? 0);
      });
      continue;
    }
    const w = weights(model, group.path);
    group.path.forEach((value, i) => {
      const share = w[i] ?? 0;
      if (share > 0) add(value, group.conversions * share, group.revenue * share);
    });
  }
  return credit;
}
