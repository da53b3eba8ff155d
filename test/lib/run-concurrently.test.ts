import { describe, expect, it } from 'vitest';
import { runConcurrently } from '../../src/lib/run-concurrently.js';

/** A task the test ends by hand: `started` tells which are running, `end` settles one. */
function manualTasks() {
  const running = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  const started: number[] = [];
  let mostAtOnce = 0;
  const run = (index: number) =>
    new Promise<void>((resolve, reject) => {
      started.push(index);
      running.set(index, { resolve, reject });
      mostAtOnce = Math.max(mostAtOnce, running.size);
    }).finally(() => running.delete(index));
  const tick = () => new Promise((r) => setImmediate(r));
  return { run, started, running, tick, mostAtOnce: () => mostAtOnce };
}

describe('running at most a limit at once', () => {
  it('runs every index once, never more than the limit at a time', async () => {
    const tasks = manualTasks();
    const all = runConcurrently(7, 3, tasks.run);
    await tasks.tick();
    expect(tasks.started).toEqual([0, 1, 2]);
    while (tasks.started.length < 7 || tasks.running.size > 0) {
      const [first] = tasks.running.values();
      first?.resolve();
      await tasks.tick();
    }
    await all;
    expect([...tasks.started].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(tasks.mostAtOnce()).toBe(3);
  });

  it('starts no more after a failure, and rejects only once those running have ended', async () => {
    const tasks = manualTasks();
    let settled = false;
    const all = runConcurrently(10, 2, tasks.run).finally(() => {
      settled = true;
    });
    await tasks.tick();
    tasks.running.get(0)!.reject(new Error('merge failed'));
    await tasks.tick();
    // Index 1 is still running: the promise waits for it, and nothing new has started.
    expect(settled).toBe(false);
    expect(tasks.started).toEqual([0, 1]);
    tasks.running.get(1)!.resolve();
    await expect(all).rejects.toThrow('merge failed');
    expect(tasks.started).toEqual([0, 1]);
  });

  it('runs one lane when there is less to do than the limit, and nothing for nothing', async () => {
    const lanes: number[] = [];
    await runConcurrently(1, 4, async (_, lane) => {
      lanes.push(lane);
    });
    expect(lanes).toEqual([0]);
    await runConcurrently(0, 4, async () => {
      throw new Error('not to be called');
    });
  });
});
