/** The demo world's option ranges, shared by the generator and the CLI (which must not load the generator to check them). */

/** The largest `--scale`: 100 × ≈ 5M events. */
export const MAX_DEMO_SCALE = 100;

/** Seeds are unsigned 32-bit integers (the generator's PRNG state). */
export const MAX_DEMO_SEED = 0xffffffff;

/** Why `scale` cannot be used, in English and Chinese; undefined when it can. */
export function demoScaleProblem(scale: number): { en: string; zh: string } | undefined {
  if (Number.isFinite(scale) && scale > 0 && scale <= MAX_DEMO_SCALE) return undefined;
  return {
    en: `must be a number above 0 and at most ${MAX_DEMO_SCALE}`,
    zh: `必须是大于 0、不超过 ${MAX_DEMO_SCALE} 的数`,
  };
}

/** Why `seed` cannot be used, in English and Chinese; undefined when it can. */
export function demoSeedProblem(seed: number): { en: string; zh: string } | undefined {
  if (Number.isInteger(seed) && seed >= 0 && seed <= MAX_DEMO_SEED) return undefined;
  return {
    en: `must be an integer from 0 to ${MAX_DEMO_SEED}`,
    zh: `必须是 0 到 ${MAX_DEMO_SEED} 之间的整数`,
  };
}
