import { describe, expect, it } from 'vitest';
import { captionCues, cuesSince, formatWebVtt, type CaptionChunk } from './captions.ts';
import type { TranscriptWord } from './pocketsphinx.ts';

const T0 = new Date('2026-11-23T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
/** Words `dur` seconds long, `step` apart, from `from` (chunk time). */
function words(text: string, from: number, step = 0.4, dur = 0.3): TranscriptWord[] {
  return text.split(' ').map((word, i) => ({ word, start: from + i * step, end: from + i * step + dur, confidence: 0.9 }));
}
const chunk = (seq: number, startS: number, overlapMs: number, w: TranscriptWord[], durationMs = 10_000): CaptionChunk => ({ seq, startedAt: at(startS), durationMs, overlapMs, words: w });

describe('captionCues', () => {
  it('captions a word heard in both chunks of an overlap once, at its broadcast time', () => {
    // chunk 0: 0–10 s; chunk 1: 8–18 s (2 s overlap, owned up to 9 s by chunk 0, from 9 s by chunk 1)
    const c0 = chunk(0, 0, 0, [...words('hello there', 1), ...words('overlap', 8.2), ...words('boundary', 9.3)]);
    const c1 = chunk(1, 8, 2000, [...words('overlap', 0.2), ...words('boundary', 1.3), ...words('after', 3)]);
    const cues = captionCues([c1, c0], T0, { gapS: 100 });
    const text = cues.map((c) => c.text).join(' ');
    expect(text.split(/\s+/)).toEqual(['hello', 'there', 'overlap', 'boundary', 'after']);
    expect(cues[0]!.start).toBeCloseTo(1, 6);
    expect(cues.at(-1)!.end).toBeCloseTo(11.3, 6);
  });

  it('drops a word both chunks claim when their timings straddle the ownership line', () => {
    // chunk 0 hears "was" ending at 8.95 s (midpoint 8.8: its own); chunk 1 hears it at 9.0–9.3 s (midpoint 9.15: its own)
    const c0 = chunk(0, 0, 0, [...words('he', 8.2, 0.4, 0.3), { word: 'was', start: 8.65, end: 8.95, confidence: 1 }]);
    const c1 = chunk(1, 8, 2000, [{ word: 'was', start: 1.0, end: 1.3, confidence: 1 }, ...words('not an', 1.4)]);
    expect(captionCues([c0, c1], T0).map((c) => c.text).join(' ')).toBe('he was not an');
    // a real repetition further apart is kept
    const c2 = chunk(1, 8, 2000, [{ word: 'was', start: 1.5, end: 1.8, confidence: 1 }]);
    expect(captionCues([c0, c2], T0).map((c) => c.text).join(' ')).toBe('he was was');
  });

  it('keeps every word of chunks that do not overlap (a restart), and drops recogniser fillers and variant marks', () => {
    const c0 = chunk(0, 0, 0, words('one two', 9));
    const c1 = chunk(1, 20, 0, [...words('<s> three(2) [NOISE] <sil>', 0), ...words('++breath++ four', 3)]);
    const text = captionCues([c0, c1], T0).map((c) => c.text).join(' ');
    expect(text).toBe('one two three four');
  });

  it('starts a new cue at a pause, at the length limit and when two 42-character lines are full', () => {
    const pause = captionCues([chunk(0, 0, 0, [...words('before the pause', 0), ...words('after it', 3)])], T0);
    expect(pause.map((c) => c.text)).toEqual(['before the pause', 'after it']);
    const long = captionCues([chunk(0, 0, 0, words(Array.from({ length: 40 }, (_, i) => `w${i}`).join(' '), 0, 0.3, 0.25))], T0, { maxChars: 100, maxLines: 5 });
    for (const c of long) expect(c.end - c.start).toBeLessThanOrEqual(6);
    const wordy = 'the quick brown fox jumps over the lazy dog and then keeps running far across the wide open green field until night';
    const cues = captionCues([chunk(0, 0, 0, words(wordy, 0, 0.1, 0.08))], T0);
    expect(cues.length).toBeGreaterThan(1);
    for (const c of cues) {
      const lines = c.text.split('\n');
      expect(lines.length).toBeLessThanOrEqual(2);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(42);
    }
    expect(cues.map((c) => c.text.replace(/\n/g, ' ')).join(' ')).toBe(wordy);
  });

  it('shows a short cue at least 0.7 s without running into the next', () => {
    const cues = captionCues([chunk(0, 0, 0, [...words('hi', 1, 0.4, 0.2), ...words('there', 2.0, 0.4, 0.3), ...words('you', 3.5, 0.4, 0.1)])], T0, { gapS: 0.8 });
    expect(cues.map((c) => [c.start, c.end])).toEqual([[1, 1.7], [2, 2.7], [3.5, expect.closeTo(4.2, 6)]]);
    const tight = captionCues([chunk(0, 0, 0, [...words('hi', 1, 0.4, 0.2), ...words('there', 2.05, 0.4, 0.3)])], T0, { gapS: 0.8, minCueS: 5 });
    expect(tight[0]!.end).toBe(tight[1]!.start);
  });

  it('stays ordered and non-overlapping when chunk times jitter (randomised)', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const chunks: CaptionChunk[] = [];
    for (let k = 0; k < 30; k++) {
      const w: TranscriptWord[] = [];
      for (let t = rand(); t < 9.5; t += 0.2 + rand() * 0.8) w.push({ word: `w${k}_${w.length}`, start: t, end: t + 0.1 + rand() * 0.4, confidence: 1 });
      chunks.push(chunk(k, k * 8 + (rand() - 0.5) * 1.5, k === 0 || rand() < 0.1 ? 0 : 2000, w));
    }
    const cues = captionCues(chunks, T0);
    expect(cues.length).toBeGreaterThan(30);
    for (let i = 0; i < cues.length; i++) {
      expect(cues[i]!.end).toBeGreaterThan(cues[i]!.start);
      expect(cues[i]!.start).toBeGreaterThanOrEqual(0);
      if (i > 0) expect(cues[i]!.start).toBeGreaterThanOrEqual(cues[i - 1]!.end);
    }
  });
});

describe('formatWebVtt', () => {
  it('writes the header, HH:MM:SS.mmm timings and escaped text', () => {
    const vtt = formatWebVtt([
      { start: 1.5, end: 3.25, text: 'fish & chips\n<b>bold</b> --> arrow' },
      { start: 3725.0004, end: 3727.9996, text: 'an hour in' },
    ]);
    expect(vtt).toBe(
      'WEBVTT\n\n' +
      '00:00:01.500 --> 00:00:03.250\nfish &amp; chips\n&lt;b&gt;bold&lt;/b&gt; --&gt; arrow\n\n' +
      '01:02:05.000 --> 01:02:08.000\nan hour in\n\n',
    );
    expect(formatWebVtt([])).toBe('WEBVTT\n\n');
    expect(formatWebVtt([{ start: 0, end: 1, text: 'a\n\nb' }])).toBe('WEBVTT\n\n00:00:00.000 --> 00:00:01.000\na\nb\n\n');
  });
});

describe('cuesSince', () => {
  it('keeps the cues still showing or still to come', () => {
    const cues = [{ start: 0, end: 2, text: 'a' }, { start: 2, end: 4, text: 'b' }, { start: 5, end: 6, text: 'c' }];
    expect(cuesSince(cues, 2).map((c) => c.text)).toEqual(['b', 'c']);
    expect(cuesSince(cues, 6)).toEqual([]);
  });
});
