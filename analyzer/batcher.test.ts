import { describe, expect, it } from 'vitest';
import { MicroBatcher } from './batcher.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A batcher that doubles numbers and records every batch it ran. */
function doubler(maxBatch: number, maxWaitMs: number, delayMs = 0) {
  const batches: number[][] = [];
  const b = new MicroBatcher<number, number>({
    maxBatch,
    maxWaitMs,
    run: async (items) => {
      batches.push([...items]);
      if (delayMs) await sleep(delayMs);
      return items.map((x) => x * 2);
    },
  });
  return { b, batches };
}

describe('MicroBatcher', () => {
  it('runs items pushed together as one batch and resolves each with its own output', async () => {
    const { b, batches } = doubler(8, 20);
    const out = await Promise.all([1, 2, 3].map((x) => b.push(x)));
    expect(out).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('runs a full batch at once, without waiting for maxWaitMs', async () => {
    const { b, batches } = doubler(2, 10_000);
    const t0 = performance.now();
    expect(await Promise.all([b.push(1), b.push(2)])).toEqual([2, 4]);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(batches).toEqual([[1, 2]]);
  });

  it('splits more than maxBatch items into several batches, in order', async () => {
    const { b, batches } = doubler(3, 5);
    const out = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((x) => b.push(x)));
    expect(out).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('waits at most about maxWaitMs after the first item', async () => {
    const { b, batches } = doubler(100, 30);
    const t0 = performance.now();
    const p = b.push(1);
    await sleep(10);
    const q = b.push(2);
    expect(await Promise.all([p, q])).toEqual([2, 4]);
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(25);
    expect(waited).toBeLessThan(500);
    expect(batches).toEqual([[1, 2]]);
  });

  it('items that arrive while a batch runs form the next batch; batches never overlap', async () => {
    let active = 0;
    let maxActive = 0;
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>({
      maxBatch: 10,
      maxWaitMs: 1,
      run: async (items) => {
        active++;
        maxActive = Math.max(maxActive, active);
        batches.push(items);
        await sleep(30);
        active--;
        return items;
      },
    });
    const first = b.push(1);
    await sleep(10); // batch [1] is running now
    const rest = [2, 3, 4].map((x) => b.push(x));
    expect(await Promise.all([first, ...rest])).toEqual([1, 2, 3, 4]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
    expect(maxActive).toBe(1);
  });

  it('rejects every item of a batch whose run throws, and keeps working afterwards', async () => {
    let fail = true;
    const b = new MicroBatcher<number, number>({
      maxBatch: 4,
      maxWaitMs: 5,
      run: async (items) => {
        if (fail) throw new Error('model exploded');
        return items;
      },
    });
    const results = await Promise.allSettled([b.push(1), b.push(2), b.push(3)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toMatchObject({ message: 'model exploded' });
    fail = false;
    expect(await b.push(9)).toBe(9);
  });

  it('rejects a batch whose run returns the wrong number of outputs', async () => {
    const b = new MicroBatcher<number, number>({ maxBatch: 4, maxWaitMs: 1, run: async () => [1] });
    const results = await Promise.allSettled([b.push(1), b.push(2)]);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/1 outputs for 2 items/);
  });

  it('a synchronous throw in run rejects the batch instead of escaping', async () => {
    const b = new MicroBatcher<number, number>({
      maxBatch: 2,
      maxWaitMs: 1,
      run: () => {
        throw new Error('sync');
      },
    });
    await expect(b.push(1)).rejects.toThrow('sync');
  });

  it('close() flushes queued items without waiting and refuses new ones', async () => {
    const { b, batches } = doubler(100, 60_000);
    const p = [1, 2].map((x) => b.push(x));
    const t0 = performance.now();
    await b.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await Promise.all(p)).toEqual([2, 4]);
    expect(batches).toEqual([[1, 2]]);
    await expect(b.push(3)).rejects.toThrow(/closed/);
    await b.close(); // idempotent
  });

  it('close() waits for the running batch and everything queued behind it', async () => {
    const { b, batches } = doubler(2, 60_000, 20);
    const p = [1, 2, 3, 4, 5].map((x) => b.push(x));
    await b.close();
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
    expect(await Promise.all(p)).toEqual([2, 4, 6, 8, 10]);
    expect(b.pending).toBe(0);
  });

  it('validates its options', () => {
    const run = async (x: number[]) => x;
    expect(() => new MicroBatcher({ maxBatch: 0, maxWaitMs: 1, run })).toThrow(RangeError);
    expect(() => new MicroBatcher({ maxBatch: 1.5, maxWaitMs: 1, run })).toThrow(RangeError);
    expect(() => new MicroBatcher({ maxBatch: 1, maxWaitMs: -1, run })).toThrow(RangeError);
  });
});
