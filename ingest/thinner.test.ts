/** The tap's run-time interval: which of the frames ffmpeg delivers a base interval apart are kept. */
import { describe, expect, it } from 'vitest';
import { FrameThinner } from './thinner.ts';

/** Feeds frames every `stepMs` (with ±`jitterMs` alternating) for `n` frames; returns the arrival times kept. */
function run(t: FrameThinner, n: number, stepMs = 2000, jitterMs = 0, start = 0): number[] {
  const kept: number[] = [];
  for (let i = 0; i < n; i++) {
    const at = start + i * stepMs + (i % 2 ? jitterMs : -jitterMs);
    if (t.keep(at)) kept.push(at);
  }
  return kept;
}

describe('FrameThinner', () => {
  it('keeps every frame at the base interval, jitter or not', () => {
    expect(run(new FrameThinner(2000), 20, 2000, 300)).toHaveLength(20);
  });

  it('keeps about one frame per effective interval, on average exactly, with jitter', () => {
    for (const eff of [3000, 4000, 5000, 6000, 10_000]) {
      for (const jitter of [0, 200, 400]) {
        const t = new FrameThinner(2000);
        t.setInterval(eff, 0);
        const kept = run(t, 301, 2000, jitter);
        const spanS = (kept.at(-1)! - kept[0]!) / 1000;
        const meanGap = spanS / (kept.length - 1);
        expect(Math.abs(meanGap - eff / 1000), `interval ${eff} jitter ${jitter}: mean gap ${meanGap}`).toBeLessThan(0.15 * eff / 1000);
        // never two frames closer than a base interval apart (less jitter), never a gap over the interval plus one frame
        for (let i = 1; i < kept.length; i++) {
          const gap = kept[i]! - kept[i - 1]!;
          expect(gap).toBeGreaterThanOrEqual(2000 - 2 * jitter);
          expect(gap).toBeLessThanOrEqual(eff + 2000 + 2 * jitter);
        }
      }
    }
  });

  it('raises intervals under the base one to it, and a shortened interval brings the next frame forward', () => {
    const t = new FrameThinner(2000);
    expect(t.setInterval(500)).toBe(false);
    expect(t.effectiveMs).toBe(2000);
    t.setInterval(10_000, 0);
    expect(t.keep(0)).toBe(true);
    expect(t.keep(2000)).toBe(false);
    t.setInterval(2000, 3000); // back to the base: every frame again
    expect(t.keep(4000)).toBe(true);
    expect(t.keep(6000)).toBe(true);
  });

  it('after a gap in the stream, takes the next frame and schedules from it', () => {
    const t = new FrameThinner(2000);
    t.setInterval(4000, 0);
    expect(t.keep(0)).toBe(true);
    expect(t.keep(30_000)).toBe(true); // 30 s without frames
    expect(t.keep(32_000)).toBe(false);
    expect(t.keep(34_000)).toBe(true);
  });
});
