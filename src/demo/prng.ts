/**
 * The demo world's only source of randomness: a seeded sfc32 generator. Every random choice in
 * `src/demo` goes through an `Rng`, never `Math.random`, so the same seed gives the same world.
 *
 * Independent streams: `rngFor(seed, stream, index)` derives a generator from a seed and a label,
 * so the persons, the content and the ad spend do not shift when another part of the world
 * changes how many numbers it draws.
 */

import { mix32 } from '../lib/mix32.js';

/** Hashes a list of integers and strings into one unsigned 32-bit number. */
export function hash32(...parts: ReadonlyArray<number | string>): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    if (typeof part === 'number') {
      h = mix32(h ^ mix32(part | 0) ^ Math.floor(part / 4294967296));
    } else {
      for (let i = 0; i < part.length; i++) h = mix32(h ^ part.charCodeAt(i));
    }
    h = mix32(h + 0x6d2b79f5);
  }
  return h;
}

/** A fast seeded generator with the distributions the world needs. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = mix32(seed ^ 0xa5a5a5a5);
    this.b = mix32(seed + 0x12345678);
    this.c = mix32(seed ^ 0x3c6ef372);
    this.d = 1;
    // A few rounds so that nearby seeds diverge at once.
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [min, max]. */
  between(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Uniform in [min, max). */
  uniform(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Index drawn with probability proportional to `weights[i]`. */
  weighted(weights: readonly number[]): number {
    return this.weightedWithTotal(weights, weightTotal(weights));
  }

  /** `weighted` for fixed weights whose `weightTotal` was computed once (a hot draw). */
  weightedWithTotal(weights: readonly number[], total: number): number {
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given median and log-space spread. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** Pareto (power law): P(X > x) = (xMin / x)^alpha. */
  pareto(xMin: number, alpha: number): number {
    return xMin / (1 - this.next()) ** (1 / alpha);
  }

  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Poisson count (Knuth for small means, normal approximation above 30). */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** Number of failures before the first success, mean (1 - p) / p. */
  geometric(mean: number): number {
    return Math.floor(Math.log(1 - this.next()) / Math.log(mean / (mean + 1)));
  }

  /** Lower-case hex string of `length` characters. */
  hex(length: number): string {
    let out = '';
    while (out.length < length) {
      const word = (this.next() * 4294967296) >>> 0;
      out +=
        HEX_BYTES[word >>> 24]! +
        HEX_BYTES[(word >>> 16) & 0xff]! +
        HEX_BYTES[(word >>> 8) & 0xff]! +
        HEX_BYTES[word & 0xff]!;
    }
    return out.slice(0, length);
  }
}

/** Two lower-case hex digits per byte value (a number's toString(16) was most of `hex`'s time). */
const HEX_BYTES = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** The sum `weighted` draws against, added in array order. */
export function weightTotal(weights: readonly number[]): number {
  let total = 0;
  for (const w of weights) total += w;
  return total;
}

/** A generator for one stream of the world: the same (seed, stream, index) always gives the same numbers. */
export function rngFor(seed: number, stream: string, index = 0): Rng {
  return new Rng(hash32(seed, stream, index));
}
