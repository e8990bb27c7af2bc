// KeyframeSpacing on packet timelines like real encoders' (30 fps, keyframes every N s), in stream time.
import { describe, expect, it } from 'vitest';
import { KeyframeSpacing } from './keyframe-spacing.ts';

/** Feeds `seconds` of 30 fps packets with a keyframe every `gopS` (from `startS`); returns the first verdict and when. */
function run(w: KeyframeSpacing, gopS: number, seconds: number, startS = 0): { why: string; atS: number } | null {
  for (let i = 0; i < seconds * 30; i++) {
    const t = startS + i / 30;
    const why = w.observe({ dts: t, pts: t, key: i % Math.round(gopS * 30) === 0 });
    if (why) return { why, atS: t };
  }
  return null;
}

describe('KeyframeSpacing (2 s sampling interval)', () => {
  it('keeps keyframes mode for keyframes at or within the interval, and a little beyond it (up to 1.5×)', () => {
    for (const gop of [0.5, 1, 2, 2.9]) expect(run(new KeyframeSpacing(2000), gop, 60), `GOP ${gop} s`).toBeNull();
  });

  it('falls back after two consecutive gaps over 1.5× the interval, at the second one', () => {
    expect(run(new KeyframeSpacing(2000), 4, 60)).toEqual({ why: 'keyframes every 4.0 s', atS: 8 });
  });

  it('falls back at once on one gap over 3× the interval', () => {
    expect(run(new KeyframeSpacing(2000), 7, 60)).toEqual({ why: 'keyframes every 7.0 s', atS: 7 });
  });

  it('falls back when packets keep coming with no keyframe for max(4× interval, 10 s)', () => {
    const w = new KeyframeSpacing(2000);
    w.observe({ dts: 0, pts: 0, key: true });
    let why: string | null = null;
    let t = 0;
    while (!why) { t += 1 / 30; why = w.observe({ dts: t, pts: t, key: false }); }
    expect(why).toMatch(/^no keyframe for 10\.0 s$/);
    expect(t).toBeCloseTo(10, 1);
  });

  it('starts afresh after timestamps jump back (a discontinuity), so one long gap before it does not count', () => {
    const w = new KeyframeSpacing(2000);
    for (const [t, key] of [[0, true], [3.5, true], [1, true], [4.5, true]] as const) {
      expect(w.observe({ dts: t, pts: t, key }), `keyframe at ${t}`).toBeNull(); // 3.5 s gaps, but never two in a row
    }
    expect(w.observe({ dts: 8, pts: 8, key: true })).toBe('keyframes every 3.5 s');
  });
});
