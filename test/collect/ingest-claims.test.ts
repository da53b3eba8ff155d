import { describe, expect, it } from 'vitest';
import type { BatchWriter } from '../../src/collect/batch-writer.js';
import { createMessageIdWindow } from '../../src/collect/dedupe.js';
import { type IngestDeps, type IngestRequest, ingest } from '../../src/collect/ingest.js';
import type { Wal, WalPosition } from '../../src/collect/wal.js';
import { createIdentityResolver } from '../../src/identity/resolver.js';

/**
 * A copy of an event that arrives while the first copy's request is still writing the log. The log
 * here is a stand-in whose appends the test settles by hand (the real log is tested in wal.test.ts
 * and, under SIGKILL, in durability.test.ts); the window and the pipeline are the real ones.
 */

interface HeldAppend {
  resolve(position: WalPosition): void;
  reject(error: Error): void;
}

function pipeline() {
  const held: HeldAppend[] = [];
  const appended: number[] = [];
  const wal = {
    append(records: { rowCount: number }[]) {
      return new Promise<WalPosition>((resolve, reject) => {
        held.push({
          resolve: (position) => {
            appended.push(records.reduce((sum, r) => sum + r.rowCount, 0));
            resolve(position);
          },
          reject,
        });
      });
    },
  } as unknown as Wal;
  const writer = { stats: () => ({ pendingBytes: 0 }), enqueue: () => undefined } as unknown as BatchWriter;
  const identity = createIdentityResolver();
  const deps: IngestDeps = {
    wal,
    writer,
    dedupe: createMessageIdWindow(48),
    identity,
    maxPendingBytes: 1 << 30,
  };
  const send = (messageId: string, overrides: Partial<IngestDeps> = {}) => {
    const request: IngestRequest = {
      callType: 'track',
      body: { userId: 'u-1', event: 'Order Completed', messageId },
      projectId: 'p',
      sourceId: 's',
      receivedAt: Date.now(),
      ip: '127.0.0.1',
    };
    return ingest({ ...deps, ...overrides }, request);
  };
  /** Lets pending promise callbacks run (the pipeline's awaits), so a request reaches its append. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
  return { held, appended, send, settle, identity, deps };
}

const position = { segment: 1, offset: 0 } as unknown as WalPosition;

describe('a copy arriving while the first is being written', () => {
  it('is stored after all when the first request fails to reach the log', async () => {
    const { held, send, settle } = pipeline();
    const first = send('m-1');
    await settle();
    expect(held).toHaveLength(1);
    const copy = send('m-1');
    await settle();
    // The copy waits for the first request's outcome instead of being answered "duplicate".
    expect(held).toHaveLength(1);
    held[0]!.reject(new Error('disk full'));
    await expect(first).rejects.toMatchObject({ code: 'overloaded' });
    await settle();
    expect(held).toHaveLength(2);
    held[1]!.resolve(position);
    expect(await copy).toMatchObject({ accepted: 1, duplicates: 0 });
  });

  it('is a duplicate once the first request is in the log', async () => {
    const { held, send, settle } = pipeline();
    const first = send('m-2');
    await settle();
    const copy = send('m-2');
    await settle();
    held[0]!.resolve(position);
    expect(await first).toMatchObject({ accepted: 1 });
    expect(await copy).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(held).toHaveLength(1);
  });

  it('counts a copy inside one batch as a duplicate without waiting for itself', async () => {
    const { held, settle, deps } = pipeline();
    const answer = ingest(deps, {
      callType: 'batch',
      body: {
        batch: [
          { type: 'track', userId: 'u', event: 'e', messageId: 'twice' },
          { type: 'track', userId: 'u', event: 'e', messageId: 'twice' },
        ],
      },
      projectId: 'p',
      sourceId: 's',
      receivedAt: Date.now(),
      ip: '127.0.0.1',
    });
    await settle();
    held[0]!.resolve(position);
    expect(await answer).toMatchObject({ accepted: 1, duplicates: 1 });
  });

  it('releases its ids when the request fails before the log, so the retry is not a duplicate', async () => {
    const { held, send, settle, identity } = pipeline();
    const failing = Object.create(identity) as typeof identity;
    failing.resolve = () => {
      throw new Error('identity graph unavailable');
    };
    await expect(send('m-3', { identity: failing })).rejects.toThrow('identity graph unavailable');
    const retry = send('m-3');
    await settle();
    held[0]!.resolve(position);
    expect(await retry).toMatchObject({ accepted: 1, duplicates: 0 });
  });
});

describe('an id the compact tier knows', () => {
  const window = (isStored: () => Promise<boolean>) => {
    const dedupe = createMessageIdWindow({ windowHours: 48, isStored });
    dedupe.advanceTo(Date.now());
    // Read back at start: compact, so a claim of it is 'unsure' and the store is asked.
    dedupe.remember('p', 'old-id', Date.now() - 3_600_000 * 5);
    return dedupe;
  };

  for (const [answer, isStored, expected] of [
    ['holds it', async () => true, { accepted: 0, duplicates: 1 }],
    [
      'does not hold it (a chance match, or an erased event)',
      async () => false,
      { accepted: 1, duplicates: 0 },
    ],
    [
      'cannot answer',
      async () => {
        throw new Error('store unreachable');
      },
      { accepted: 1, duplicates: 0 },
    ],
  ] as const) {
    it(`is ${expected.duplicates ? 'a duplicate' : 'stored'} when the store ${answer}`, async () => {
      const { held, settle, deps } = pipeline();
      const answered = ingest(
        { ...deps, dedupe: window(isStored) },
        {
          callType: 'track',
          body: { userId: 'u-1', event: 'Order Completed', messageId: 'old-id' },
          projectId: 'p',
          sourceId: 's',
          receivedAt: Date.now(),
          ip: '127.0.0.1',
        },
      );
      await settle();
      held[0]?.resolve(position);
      expect(await answered).toMatchObject(expected);
    });
  }
});
