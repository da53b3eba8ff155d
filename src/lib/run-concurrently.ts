/**
 * Runs `run` for indexes 0 … count − 1, at most `limit` at a time (`lane` tells which of the limit
 * runs it). After a failure no more are started; the promise settles once those running have ended,
 * and rejects with the first failure.
 */
export async function runConcurrently(
  count: number,
  limit: number,
  run: (index: number, lane: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (laneIndex: number): Promise<void> => {
    while (failure === undefined && next < count) {
      const index = next++;
      try {
        await run(index, laneIndex);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, count)) }, (_, i) => lane(i)));
  if (failure) throw failure.error;
}
