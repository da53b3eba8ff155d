import type { Credit } from './heuristic.js';
import type { PathGroup } from './journeys.js';
import { conversionProbability, type MarkovChain } from './markov.js';

/**
 * Shapley value attribution: φ_c = Σ_{S ⊆ N \ {c}} |S|! (n − |S| − 1)! / n! · (v(S ∪ {c}) − v(S)),
 * exact over the observed channels N. Two coalition values (`ShapleyValue`):
 *
 * - 'conversions' — the usual "Shapley value for multi-channel attribution" (Zhao et al. 2018):
 *   v(S) = conversions of the journeys whose channel set is contained in S. This game is a sum of
 *   unanimity games (one per observed set T, worth its conversions r(T)), so its Shapley value has
 *   the closed form φ_c = Σ_{T ∋ c} r(T) / |T|: each conversion split equally among the distinct
 *   channels of its journey. Exact for any number of channels. It ignores journeys that did not
 *   convert, so a channel present on many paths gets credit whether or not it adds anything.
 * - 'markov' (default) — v(S) = P(conversion) of the fitted Markov chain when only the channels in
 *   S work and the touches of the others are skipped (see markov.ts). It uses the non-converting
 *   journeys, so a channel is worth what it adds to the chance of converting. Exact over 2^n
 *   coalitions (one small linear solve each), so n is capped at MAX_SHAPLEY_CHANNELS.
 *
 * Both are scaled so that the credits add up to the attributed conversions (and revenue).
 */

export type ShapleyValue = 'markov' | 'conversions';

export const MAX_SHAPLEY_CHANNELS = 15;

/** Closed-form Shapley credit of the 'conversions' game (also applied to revenue). */
export function shapleyByConversions(groups: readonly PathGroup[]): Map<string, Credit> {
  const credit = new Map<string, Credit>();
  for (const group of groups) {
    if (group.conversions === 0) continue;
    const members = [...new Set(group.path)];
    for (const value of members) {
      const c = credit.get(value) ?? { conversions: 0, revenue: 0 };
      c.conversions += group.conversions / members.length;
      c.revenue += group.revenue / members.length;
      credit.set(value, c);
    }
  }
  return credit;
}

function factorials(n: number): number[] {
  const f = [1];
  for (let i = 1; i <= n; i++) f.push(f[i - 1]! * i);
  return f;
}

/** Exact Shapley values of a game given as v(mask) over `n` players (mask bit i = player i). */
export function shapleyValues(n: number, value: (mask: number) => number): number[] {
  const v = new Float64Array(1 << n);
  for (let mask = 0; mask < 1 << n; mask++) v[mask] = value(mask);
  const f = factorials(n);
  const size = new Uint8Array(1 << n);
  for (let mask = 1; mask < 1 << n; mask++) size[mask] = size[mask >> 1]! + (mask & 1);
  const phi = new Array<number>(n).fill(0);
  for (let c = 0; c < n; c++) {
    const bit = 1 << c;
    for (let mask = 0; mask < 1 << n; mask++) {
      if (mask & bit) continue;
      const s = size[mask]!;
      phi[c]! += ((f[s]! * f[n - s - 1]!) / f[n]!) * (v[mask | bit]! - v[mask]!);
    }
  }
  return phi;
}

/** Shapley values of the chain's channels with v(S) = P(conversion | only S works, others skipped). */
export function shapleyOverMarkov(chain: MarkovChain): number[] {
  const n = chain.channels.length;
  if (n > MAX_SHAPLEY_CHANNELS) throw new Error(`at most ${MAX_SHAPLEY_CHANNELS} channels`);
  return shapleyValues(n, (mask) =>
    conversionProbability(
      chain,
      chain.channels.map((_, i) => (mask & (1 << i)) !== 0),
      'skip',
    ),
  );
}
