import { describe, expect, it } from 'vitest';
import { hash32, Rng, rngFor } from '../../src/demo/prng.js';

describe('the demo world’s random numbers', () => {
  it('repeat exactly for the same seed and stream, and differ for another stream', () => {
    const draw = (rng: Rng): number[] => Array.from({ length: 5 }, () => rng.next());
    expect(draw(rngFor(1, 'persons', 3))).toEqual(draw(rngFor(1, 'persons', 3)));
    expect(draw(rngFor(1, 'persons', 3))).not.toEqual(draw(rngFor(1, 'persons', 4)));
    expect(draw(rngFor(1, 'persons', 3))).not.toEqual(draw(rngFor(2, 'persons', 3)));
    expect(hash32(7, 'a', 1)).toBe(hash32(7, 'a', 1));
    expect(hash32(7, 'a', 1)).not.toBe(hash32(7, 'a', 2));
  });

  it('draw uniform numbers in [0, 1) with the right mean', () => {
    const rng = new Rng(42);
    let [sum, low, high] = [0, 1, 0];
    for (let i = 0; i < 100_000; i++) {
      const x = rng.next();
      [sum, low, high] = [sum + x, Math.min(low, x), Math.max(high, x)];
    }
    expect(low).toBeGreaterThanOrEqual(0);
    expect(high).toBeLessThan(1);
    expect(sum / 100_000).toBeCloseTo(0.5, 2);
  });

  it('draw Poisson, geometric and weighted choices with their planned means', () => {
    const rng = new Rng(7);
    const mean = (f: () => number): number => {
      let sum = 0;
      for (let i = 0; i < 50_000; i++) sum += f();
      return sum / 50_000;
    };
    expect(mean(() => rng.poisson(2.5))).toBeCloseTo(2.5, 1);
    expect(mean(() => rng.poisson(60))).toBeCloseTo(60, 0);
    expect(mean(() => rng.geometric(3.2))).toBeCloseTo(3.2, 1);
    expect(mean(() => rng.weighted([1, 3]))).toBeCloseTo(0.75, 2);
  });

  it('draw a power law from pareto: P(X > 2·xMin) = 2^-alpha', () => {
    const rng = new Rng(3);
    let above = 0;
    for (let i = 0; i < 100_000; i++) if (rng.pareto(100, 1.25) > 200) above++;
    expect(above / 100_000).toBeCloseTo(2 ** -1.25, 2);
  });
});
