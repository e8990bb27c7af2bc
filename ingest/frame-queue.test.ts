// FrameQueue: the tap's hand-over to a consumer that is sometimes slow.
import { describe, expect, it } from 'vitest';
import type { TapFrame } from './tap-types.ts';
import { FrameQueue } from './frame-queue.ts';

const frame = (n: number) => ({ jpeg: Buffer.from([n]), width: 1, height: 1, capturedAt: new Date(n) });

describe('FrameQueue', () => {
  it('delivers one at a time, in order, numbered without gaps; a slow consumer gets the newest frames', async () => {
    const got: TapFrame[] = [];
    const drops: number[] = [];
    let release!: () => void;
    let busy = true;
    const q = new FrameQueue({
      max: 2,
      deliver: async (f) => { got.push(f); if (busy) await new Promise<void>((r) => { release = r; }); },
      onDrop: (n) => drops.push(n), onError: () => {},
    });
    for (let i = 0; i < 6; i++) q.push(frame(i)); // 0 is being delivered; 1–5 arrive while it is: 4 and 5 wait
    expect(got.map((f) => f.jpeg[0])).toEqual([0]);
    busy = false;
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(got.map((f) => [f.seq, f.jpeg[0]])).toEqual([[0, 0], [1, 4], [2, 5]]);
    expect(drops).toEqual([1, 2, 3]);
    expect([q.emitted, q.dropped]).toEqual([3, 3]);
  });

  it('goes on after a consumer that throws, and delivers nothing once closed', async () => {
    const errors: number[] = [];
    const got: number[] = [];
    const q = new FrameQueue({ max: 4, deliver: (f) => { got.push(f.seq); if (f.seq === 0) throw new Error('boom'); }, onDrop: () => {}, onError: (_e, seq) => errors.push(seq) });
    q.push(frame(0));
    q.push(frame(1));
    await new Promise((r) => setTimeout(r, 10));
    expect([got, errors]).toEqual([[0, 1], [0]]);
    q.close();
    q.push(frame(2));
    await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual([0, 1]);
  });
});
