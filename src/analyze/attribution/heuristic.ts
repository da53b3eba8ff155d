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

/** Last touch that is not direct; the last touch when every touch is direct (as GA does). */
export function lastNonDirectIndex(path: readonly string[]): number {
  for (let i = path.length - 1; i >= 0; i--) if (path[i] !== DIRECT) return i;
  return path.length - 1;
}

/** The share of position `i` of a path of `n` touches (`lastNonDirect`: its last non-direct index). */
function shareAt(
  model: Exclude<HeuristicModel, 'time_decay'>,
  n: number,
  i: number,
  lastNonDirect: number,
): number {
  switch (model) {
    case 'first_touch':
      return i === 0 ? 1 : 0;
    case 'last_touch':
      return i === n - 1 ? 1 : 0;
    case 'last_non_direct':
      return i === lastNonDirect ? 1 : 0;
    case 'linear':
      return 1 / n;
    case 'position_based': // 40 % to the first touch, 40 % to the last, 20 % spread over the ones between
      if (n === 1) return 1;
      if (n === 2) return 0.5;
      return i === 0 || i === n - 1 ? 0.4 : 0.2 / (n - 2);
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
    // Shares computed per position (no array per path): this loop runs over every distinct path.
    const n = group.path.length;
    const lastNonDirect = model === 'last_non_direct' ? lastNonDirectIndex(group.path) : -1;
    for (let i = 0; i < n; i++) {
      const share = shareAt(model, n, i, lastNonDirect);
      if (share > 0) add(group.path[i]!, group.conversions * share, group.revenue * share);
    }
  }
  return credit;
}
