import { describe, expect, it } from 'vitest';
import {
  attributionTruth,
  conversionProbability,
  PathTally,
  shapleyValues,
} from '../../src/demo/attribution-truth.js';
import { CHANNELS } from '../../src/demo/catalogue.js';
import { CONVERSION_MODEL } from '../../src/demo/models.js';

const bit = (channel: (typeof CHANNELS)[number]): number => 1 << CHANNELS.indexOf(channel);

describe('the attribution truth', () => {
  it('follows the planted formula: 1 − (1 − base) · Π (1 − lift)', () => {
    const { baseRate, lifts } = CONVERSION_MODEL;
    expect(conversionProbability(0)).toBeCloseTo(baseRate, 12);
    expect(conversionProbability(bit('kol') | bit('email'))).toBeCloseTo(
      1 - (1 - baseRate) * (1 - lifts.kol) * (1 - lifts.email),
      12,
    );
  });

  it('splits a path’s conversion probability above the base rate exactly among its channels', () => {
    const set = bit('kol') | bit('paid_social') | bit('direct');
    const values = shapleyValues(set);
    const total = values.reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(conversionProbability(set) - conversionProbability(0), 12);
    expect(values[CHANNELS.indexOf('kol')]).toBeGreaterThan(values[CHANNELS.indexOf('paid_social')]!);
    expect(values[CHANNELS.indexOf('email')]).toBe(0);
  });

  it('ranks channels by contribution, which for equal reach is the planted lift order', () => {
    const tally = new PathTally();
    for (const channel of CHANNELS) for (let i = 0; i < 100; i++) tally.add(bit(channel), i < 10);
    const truth = attributionTruth(tally);
    const byShapley = [...truth]
      .sort((a, b) => b.expectedShapleyConversions - a.expectedShapleyConversions)
      .map((c) => c.channel);
    expect(byShapley).toEqual([...CHANNELS]);
    expect(truth.every((c) => c.paths === 100 && c.convertedPaths === 10)).toBe(true);
    expect(truth.reduce((sum, c) => sum + c.shapleyShare, 0)).toBeCloseTo(1, 3);
  });
});
