import type { PathGroup } from './journeys.js';

/**
 * A first-order Markov chain fitted on every journey (converting and not): states are the channels
 * plus start, conversion and null; P(a → b) = transitions a → b / transitions out of a. A converting
 * journey ends with last touch → conversion, a non-converting one with last touch → null.
 *
 * P(conversion) is the probability of reaching conversion from start. "Removing" a channel can
 * mean two things (`RemovalMode`):
 * - 'drop' (the classic removal effect): a journey that reaches the channel ends in null there.
 *   Every channel that sits between others on converting paths then looks necessary, so frequent
 *   pass-through channels (direct) get much credit.
 * - 'skip': the channel's touches are skipped: a journey that reaches it goes on as it would after
 *   the channel (its transitions to other channels and to null, renormalised), only the conversions
 *   straight after it are lost. This asks "what if this touch had not happened" and is the default.
 */

export type RemovalMode = 'skip' | 'drop';

export interface MarkovChain {
  channels: string[];
  /** Transition probabilities from each channel (index) and from start (index = channels.length). */
  toChannel: Float64Array[];
  toConversion: Float64Array;
  /** Total journeys, converting journeys. */
  journeys: number;
}

/** Fits the chain on grouped journeys. */
export function fitMarkovChain(groups: readonly PathGroup[], channels: readonly string[]): MarkovChain {
  const n = channels.length;
  const index = new Map(channels.map((c, i) => [c, i]));
  const counts = Array.from({ length: n + 1 }, () => new Float64Array(n));
  const conversions = new Float64Array(n + 1);
  const outgoing = new Float64Array(n + 1);
  let journeys = 0;
  for (const group of groups) {
    const weight = group.conversions + group.nonConversions;
    if (weight === 0 || group.path.length === 0) continue;
    journeys += weight;
    let from = n; // start
    for (const value of group.path) {
      const to = index.get(value);
      if (to === undefined) throw new Error(`channel ${value} missing from the chain`);
      counts[from]![to]! += weight;
      outgoing[from]! += weight;
      from = to;
    }
    conversions[from]! += group.conversions;
    outgoing[from]! += weight;
  }
  const toChannel = counts.map((row, s) => row.map((c) => (outgoing[s]! > 0 ? c / outgoing[s]! : 0)));
  const toConversion = conversions.map((c, s) => (outgoing[s]! > 0 ? c / outgoing[s]! : 0));
  return { channels: [...channels], toChannel, toConversion, journeys };
}

/**
 * P(start reaches conversion) when only the channels marked `active` work; the others are removed
 * as `mode` says. Solves (I − Q) x = b over the transient states by Gaussian elimination.
 */
export function conversionProbability(
  chain: MarkovChain,
  active: readonly boolean[],
  mode: RemovalMode,
): number {
  const n = chain.channels.length;
  const size = n + 1;
  const a = Array.from({ length: size }, () => new Float64Array(size + 1));
  for (let s = 0; s < size; s++) {
    const row = a[s]!;
    row[s] = 1;
    const removed = s < n && !active[s];
    if (removed && mode === 'drop') continue; // x_s = 0: the journey ends here
    let toConversion = chain.toConversion[s]!;
    let scale = 1;
    if (removed) {
      // Skipped: no conversion straight after it, no self-loop; the rest renormalised.
      const stay = chain.toChannel[s]![s]!;
      const rest = 1 - toConversion - stay;
      if (rest <= 1e-12) continue;
      scale = 1 / rest;
      toConversion = 0;
    }
    for (let t = 0; t < n; t++) {
      if (removed && t === s) continue;
      row[t]! -= chain.toChannel[s]![t]! * scale;
    }
    row[size] = toConversion;
  }
  return solve(a)[n]!;
}

/** Gaussian elimination with partial pivoting on an augmented matrix. */
function solve(a: Float64Array[]): Float64Array {
  const size = a.length;
  for (let col = 0; col < size; col++) {
    let pivot = col;
    for (let r = col + 1; r < size; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const p = a[col]![col]!;
    if (Math.abs(p) < 1e-15) continue;
    for (let r = 0; r < size; r++) {
      if (r === col) continue;
      const f = a[r]![col]! / p;
      if (f === 0) continue;
      for (let c = col; c <= size; c++) a[r]![c]! -= f * a[col]![c]!;
    }
  }
  return Float64Array.from(a, (row, i) => (Math.abs(row[i]!) < 1e-15 ? 0 : row[size]! / row[i]!));
}

export interface RemovalEffect {
  channel: string;
  /** 1 − P(conversion | channel removed) / P(conversion). */
  removalEffect: number;
}

/** Removal effect of every channel. */
export function removalEffects(chain: MarkovChain, mode: RemovalMode): RemovalEffect[] {
  const all = chain.channels.map(() => true);
  const base = conversionProbability(chain, all, mode);
  return chain.channels.map((channel, i) => {
    if (base <= 0) return { channel, removalEffect: 0 };
    const active = all.map((_, j) => j !== i);
    return { channel, removalEffect: 1 - conversionProbability(chain, active, mode) / base };
  });
}
