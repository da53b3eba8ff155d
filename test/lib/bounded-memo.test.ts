import { describe, expect, it } from 'vitest';
import { BoundedMemo } from '../../src/lib/bounded-memo.js';

describe('BoundedMemo', () => {
  it('computes a value once and answers it again from memory', () => {
    const memo = new BoundedMemo<string>(10);
    let calls = 0;
    const compute = () => {
      calls += 1;
      return `v${calls}`;
    };
    expect(memo.get('a', compute)).toBe('v1');
    expect(memo.get('a', compute)).toBe('v1');
    expect(calls).toBe(1);
  });

  it('holds at most its capacity and forgets the oldest entry first', () => {
    const memo = new BoundedMemo<number>(3);
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) memo.get(key, () => i);
    expect(memo.size).toBe(3);
    // 'a' was forgotten: computed afresh; 'd' is still known.
    expect(memo.get('a', () => 100)).toBe(100);
    expect(memo.get('d', () => 200)).toBe(3);
    expect(memo.size).toBe(3);
  });

  it('refuses a capacity that is not positive', () => {
    expect(() => new BoundedMemo(0)).toThrow(/capacity must be positive/);
  });
});
