/**
 * Privacy-safe aggregates for exported or shared breakdowns.
 *
 * - k-anonymity: a cell counting fewer than k persons could single someone out, so its numbers are
 *   withheld (set to null and flagged), never just rounded.
 * - Laplace noise (differential privacy): adding Laplace(0, sensitivity/ε) noise to a count makes
 *   the published value ε-differentially private for one person's presence; smaller ε, more noise.
 */

export interface SuppressOptions<Row> {
  /** Smallest number of persons a published cell may describe (default 5). */
  k?: number;
  /** The column holding the number of distinct persons in each row. */
  personsColumn: keyof Row & string;
}

export type SuppressedRow<Row> = { [K in keyof Row]: Row[K] | null } & { suppressed: boolean };

/**
 * Withholds the numbers of every row that counts fewer than k persons (0 persons is kept: it
 * reveals no one). Non-numeric columns (the dimension values) are kept so the table shape stays.
 */
export function suppressSmallCells<Row extends Record<string, unknown>>(
  rows: Row[],
  options: SuppressOptions<Row>,
): Array<SuppressedRow<Row>> {
  const k = options.k ?? 5;
  return rows.map((row) => {
    const persons = Number(row[options.personsColumn]);
    const small = persons > 0 && persons < k;
    if (!small) return { ...row, suppressed: false } as SuppressedRow<Row>;
    const out: Record<string, unknown> = { suppressed: true };
    for (const [key, value] of Object.entries(row)) out[key] = typeof value === 'number' ? null : value;
    return out as SuppressedRow<Row>;
  });
}

/** A random number generator returning floats in [0, 1). */
export type Rng = () => number;

/** A seedable RNG (mulberry32) so tests and reproducible reports get the same noise. */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface LaplaceOptions {
  /** Privacy budget ε > 0. */
  epsilon: number;
  /** How much one person can change the value (1 for a count of persons). */
  sensitivity?: number;
  rng?: Rng;
}

/** `value` plus Laplace(0, sensitivity/ε) noise, by inverse-CDF sampling. */
export function laplaceNoise(value: number, options: LaplaceOptions): number {
  if (!(options.epsilon > 0)) throw new RangeError('epsilon must be greater than 0');
  const sensitivity = options.sensitivity ?? 1;
  if (!(sensitivity > 0)) throw new RangeError('sensitivity must be greater than 0');
  const rng = options.rng ?? Math.random;
  const scale = sensitivity / options.epsilon;
  // u in (-0.5, 0.5): avoid log(0) at the edge.
  let u = rng() - 0.5;
  while (u === -0.5) u = rng() - 0.5;
  return value - scale * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}
