import { CHANNELS, type Channel } from './catalogue.js';
import { CONVERSION_MODEL } from './models.js';

/**
 * The attribution truth implied by the planted conversion model, computed exactly over the paths
 * the world really contains. For a path with channel set S the model gives
 * f(S) = 1 − (1 − base) · Π_{c ∈ S} (1 − lift_c). Over all paths:
 * - expected Shapley conversions of c: Σ_paths φ_c(f − f(∅), S), the value a Shapley attribution
 *   on the conversion function should recover;
 * - expected removal effect of c: Σ_paths f(S) − f(S \ {c}), what a Markov removal effect measures;
 * both also as shares of their totals.
 */

export interface ChannelTruth {
  channel: Channel;
  lift: number;
  /** Paths (persons) whose path to the first purchase, or whole history, touches the channel. */
  paths: number;
  /** Of those, paths that end in a first purchase. */
  convertedPaths: number;
  expectedShapleyConversions: number;
  shapleyShare: number;
  expectedRemovalEffect: number;
  removalShare: number;
}

/** Counts persons by the set of channels on their path (a bit set over CHANNELS). */
export class PathTally {
  readonly persons = new Float64Array(1 << CHANNELS.length);
  readonly converted = new Float64Array(1 << CHANNELS.length);

  add(pathChannels: number, converted: boolean): void {
    this.persons[pathChannels] = this.persons[pathChannels]! + 1;
    if (converted) this.converted[pathChannels] = this.converted[pathChannels]! + 1;
  }
}

const LIFTS = CHANNELS.map((c) => CONVERSION_MODEL.lifts[c]);

/** The model's first-purchase probability for a channel set. */
export function conversionProbability(set: number): number {
  let stay = 1 - CONVERSION_MODEL.baseRate;
  for (let c = 0; c < CHANNELS.length; c++) if (set & (1 << c)) stay *= 1 - LIFTS[c]!;
  return 1 - stay;
}

function factorial(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return f;
}

/** Exact Shapley values of v(T) = f(T) − f(∅) over the channels of `set`. */
export function shapleyValues(set: number): Float64Array {
  const members: number[] = [];
  for (let c = 0; c < CHANNELS.length; c++) if (set & (1 << c)) members.push(c);
  const n = members.length;
  const values = new Float64Array(CHANNELS.length);
  const empty = conversionProbability(0);
  for (const c of members) {
    const others = members.filter((m) => m !== c);
    let phi = 0;
    for (let subset = 0; subset < 1 << others.length; subset++) {
      let coalition = 0;
      let size = 0;
      others.forEach((m, i) => {
        if (subset & (1 << i)) {
          coalition |= 1 << m;
          size++;
        }
      });
      const weight = (factorial(size) * factorial(n - size - 1)) / factorial(n);
      phi +=
        weight *
        (conversionProbability(coalition | (1 << c)) - empty - (conversionProbability(coalition) - empty));
    }
    values[c] = phi;
  }
  return values;
}

export function attributionTruth(tally: PathTally): ChannelTruth[] {
  const shapley = new Float64Array(CHANNELS.length);
  const removal = new Float64Array(CHANNELS.length);
  const paths = new Float64Array(CHANNELS.length);
  const convertedPaths = new Float64Array(CHANNELS.length);
  for (let set = 0; set < tally.persons.length; set++) {
    const count = tally.persons[set]!;
    if (count === 0) continue;
    const phi = shapleyValues(set);
    const full = conversionProbability(set);
    for (let c = 0; c < CHANNELS.length; c++) {
      if ((set & (1 << c)) === 0) continue;
      shapley[c] = shapley[c]! + count * phi[c]!;
      removal[c] = removal[c]! + count * (full - conversionProbability(set & ~(1 << c)));
      paths[c] = paths[c]! + count;
      convertedPaths[c] = convertedPaths[c]! + tally.converted[set]!;
    }
  }
  const shapleyTotal = shapley.reduce((a, b) => a + b, 0) || 1;
  const removalTotal = removal.reduce((a, b) => a + b, 0) || 1;
  return CHANNELS.map((channel, c) => ({
    channel,
    lift: LIFTS[c]!,
    paths: paths[c]!,
    convertedPaths: convertedPaths[c]!,
    expectedShapleyConversions: round(shapley[c]!, 2),
    shapleyShare: round(shapley[c]! / shapleyTotal, 4),
    expectedRemovalEffect: round(removal[c]!, 2),
    removalShare: round(removal[c]! / removalTotal, 4),
  }));
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
