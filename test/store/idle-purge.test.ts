import { describe, expect, it } from 'vitest';
import { startIdlePurge } from '../../src/store/facts/idle-purge.js';

const IDLE_MS = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('idle purge', () => {
  it('purges once an idle spell, never while work runs or soon after it', async () => {
    let purges = 0;
    const idle = startIdlePurge(async () => {
      purges += 1;
    }, IDLE_MS);
    try {
      // Work longer than the idle time: no purge while it runs.
      await idle.run(() => sleep(4 * IDLE_MS));
      expect(purges).toBe(0);
      // Work ending every IDLE_MS / 3 keeps the engine busy.
      for (let i = 0; i < 8; i += 1) {
        await idle.run(() => sleep(1));
        await sleep(IDLE_MS / 3);
      }
      expect(purges).toBe(0);
      await sleep(3 * IDLE_MS);
      expect(purges).toBe(1);
      // Still idle: nothing more to give back.
      await sleep(3 * IDLE_MS);
      expect(purges).toBe(1);
      // New work, then a new idle spell.
      await idle.run(async () => 'answer');
      await sleep(3 * IDLE_MS);
      expect(purges).toBe(2);
    } finally {
      await idle.stop();
    }
  });

  it('answers the work’s own result and error, and stop waits for a purge under way', async () => {
    let finished = false;
    const idle = startIdlePurge(async () => {
      await sleep(100);
      finished = true;
    }, 10);
    expect(await idle.run(async () => 42)).toBe(42);
    await expect(idle.run(async () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    await sleep(40);
    await idle.stop();
    expect(finished).toBe(true);
  });
});
