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

/** Seeded linear congruential generator in [0, 1). */
function lcg(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

/**
 * A strict reader of the WebVTT this module writes (W3C WebVTT: header, blank line, then cue blocks of a
 * timing line and one or more non-empty text lines, each block ended by a blank line). Throws on anything else.
 */
function parseVtt(vtt: string): { start: number; end: number; text: string }[] {
  if (!vtt.startsWith('WEBVTT\n\n')) throw new Error('no header');
  const body = vtt.slice('WEBVTT\n\n'.length);
  if (body === '') return [];
  if (!body.endsWith('\n\n')) throw new Error('last block not ended by a blank line');
  const ts = '(\\d{2,}):([0-5]\\d):([0-5]\\d)\\.(\\d{3})';
  const block = new RegExp(`^${ts} --> ${ts}\\n((?:[^\\n]+)(?:\\n[^\\n]+)*)$`);
  return body.slice(0, -2).split('\n\n').map((b) => {
    const m = block.exec(b);
    if (!m) throw new Error(`bad cue block: ${JSON.stringify(b)}`);
    const sec = (i: number) => Number(m[i]) * 3600 + Number(m[i + 1]) * 60 + Number(m[i + 2]) + Number(m[i + 3]) / 1000;
    const text = m[9]!;
    if (text.includes('-->')) throw new Error('"-->" in cue text');
    if (/[<>]|&(?!amp;|lt;|gt;)/.test(text)) throw new Error('unescaped markup in cue text');
    return { start: sec(1), end: sec(5), text };
  });
}

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

  it('places a word heard in both chunks at its broadcast time, from the chunk that owns it', () => {
    // the chunks start 100 s into the broadcast; "again" (chunk 0: 8.5–8.8 s, midpoint 8.65 < 9) belongs to chunk 0
    const c0 = chunk(0, 100, 0, [...words('first', 2), { word: 'again', start: 8.5, end: 8.8, confidence: 1 }]);
    const c1 = chunk(1, 108, 2000, [{ word: 'again', start: 0.5, end: 0.8, confidence: 1 }, ...words('later', 4)]);
    expect(captionCues([c0, c1], T0)).toEqual([
      { start: 102, end: expect.closeTo(102.7, 6), text: 'first' },
      { start: 108.5, end: expect.closeTo(109.2, 6), text: 'again' },
      { start: 112, end: expect.closeTo(112.7, 6), text: 'later' },
    ]);
  });

  it('gives a word whose midpoint is exactly on the ownership line to the later chunk only', () => {
    // the line is at 9 s of chunk 0 = 1 s of chunk 1; both hear "edge" with its midpoint exactly there
    const c0 = chunk(0, 0, 0, [...words('left', 5), { word: 'edge', start: 8.75, end: 9.25, confidence: 1 }]);
    const c1 = chunk(1, 8, 2000, [{ word: 'edge', start: 0.75, end: 1.25, confidence: 1 }, ...words('right', 3)]);
    const cues = captionCues([c0, c1], T0, { gapS: 100 });
    expect(cues.map((c) => c.text).join(' ')).toBe('left edge right');
    // chunk 0 alone (no later chunk yet, as live) keeps it; chunk 1 alone keeps it; neither drops it
    expect(captionCues([c0], T0).map((c) => c.text).join(' ')).toBe('left edge');
    expect(captionCues([c1], T0).map((c) => c.text).join(' ')).toBe('edge right');
    // just before the line it is chunk 0's
    const b0 = chunk(0, 0, 0, [{ word: 'edge', start: 8.75, end: 9.2499, confidence: 1 }]);
    const b1 = chunk(1, 8, 2000, [{ word: 'edge', start: 0.75, end: 1.2499, confidence: 1 }]);
    expect(captionCues([b0], T0)).toHaveLength(1);
    expect(captionCues([b1], T0)).toEqual([]);
  });

  it('does not trim a chunk by the next one when that is not contiguous (a seq gap)', () => {
    const c0 = chunk(0, 0, 0, words('tail', 9.5));
    const c2 = chunk(2, 16, 2000, words('head', 1.5));
    expect(captionCues([c0, c2], T0).map((c) => c.text)).toEqual(['tail', 'head']);
  });

  it('drops every kind of recogniser filler and strips variant numbers', () => {
    const c = chunk(0, 0, 0, words('<s> </s> <sil> [NOISE] [SPEECH] [noise] <unk> read(2) [laugh] the(3) book </s>', 0));
    expect(captionCues([c], T0, { gapS: 100 }).map((x) => x.text)).toEqual(['read the book']);
  });

  it('gives a word longer than a line a line of its own', () => {
    const long = 'x'.repeat(50);
    const cues = captionCues([chunk(0, 0, 0, words(`a b ${long} c`, 0))], T0);
    expect(cues.map((c) => c.text)).toEqual([`a b\n${long}`, 'c']);
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

  it('captions each word of overlapping chunks exactly once, in order (randomised)', () => {
    for (const seed of [1, 7, 42, 1234]) {
      const rand = lcg(seed);
      // one timeline of distinct words (0.1–1 s long), heard by 10 s chunks every 8 s; each chunk hears the words wholly inside it
      const truth: { word: string; start: number; end: number }[] = [];
      for (let t = rand(); t < 200; t += 0.05 + rand() * 1.2) {
        const len = 0.1 + rand() * 0.9;
        truth.push({ word: `w${truth.length}`, start: t, end: t + len });
        t += len;
      }
      const chunks: CaptionChunk[] = [];
      for (let k = 0; k * 8 < 200; k++) {
        const from = k * 8;
        const heard = truth.filter((w) => w.start >= from && w.end <= from + 10)
          .map((w) => ({ word: w.word, start: w.start - from, end: w.end - from, confidence: 1 }));
        chunks.push(chunk(k, from, k === 0 ? 0 : 2000, heard));
      }
      const cues = captionCues(chunks.sort(() => rand() - 0.5), T0);
      const said = cues.flatMap((c) => c.text.split(/\s+/));
      expect(said).toEqual(truth.map((w) => w.word));
      expect(cues[0]!.start).toBeCloseTo(truth[0]!.start, 6);
    }
  });

  it('keeps cues forward and of positive length when a chunk\'s clock runs behind the previous one', () => {
    // chunk 5 (after a gap, no overlap) claims to start 8 s before chunk 0 ended: all its words are pulled forward
    const many = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    const cues = captionCues([chunk(0, 0, 0, words('before', 9)), chunk(5, 1, 0, words(many, 0, 0.1, 0.05))], T0);
    expect(cues.length).toBeGreaterThanOrEqual(3);
    expect(cues.flatMap((c) => c.text.split(/\s+/))).toEqual(['before', ...many.split(' ')]);
    cues.forEach((c, i) => {
      expect(c.end).toBeGreaterThan(c.start);
      if (i > 0) expect(c.start).toBeGreaterThanOrEqual(cues[i - 1]!.end);
    });
    expect(parseVtt(formatWebVtt(cues))).toHaveLength(cues.length);
  });

  it('stays ordered and non-overlapping when chunk times jitter (randomised)', () => {
    for (const [seed, jitter] of [[42, 1.5], [3, 4], [99, 10]] as const) {
      const rand = lcg(seed);
      const chunks: CaptionChunk[] = [];
      for (let k = 0; k < 30; k++) {
        const w: TranscriptWord[] = [];
        for (let t = rand(); t < 9.5; t += 0.2 + rand() * 0.8) w.push({ word: `w${k}_${w.length}`, start: t, end: t + rand() * 0.4, confidence: 1 });
        chunks.push(chunk(k, k * 8 + (rand() - 0.5) * jitter, k === 0 || rand() < 0.1 ? 0 : 2000, w));
      }
      const cues = captionCues(chunks, T0);
      expect(cues.length).toBeGreaterThan(30);
      for (let i = 0; i < cues.length; i++) {
        expect(cues[i]!.end).toBeGreaterThan(cues[i]!.start);
        expect(cues[i]!.start).toBeGreaterThanOrEqual(0);
        if (i > 0) expect(cues[i]!.start).toBeGreaterThanOrEqual(cues[i - 1]!.end);
      }
      // and the WebVTT made of them reads back as the same cues, in order
      const parsed = parseVtt(formatWebVtt(cues));
      expect(parsed.map((c) => c.text)).toEqual(cues.map((c) => c.text));
      parsed.forEach((c, i) => {
        expect(c.start).toBeCloseTo(cues[i]!.start, 2);
        expect(c.end).toBeCloseTo(cues[i]!.end, 2);
        if (i > 0) expect(c.start).toBeGreaterThanOrEqual(parsed[i - 1]!.end);
      });
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

  it('pads hours past 99, collapses blank lines of any line ending, leaves out empty cues, and parses back', () => {
    const cues = [
      { start: 0.25, end: 1, text: 'a -->b\r\rc\r\n\r\nd' },
      { start: 2, end: 3, text: ' \n ' },
      { start: 360_000 + 61.5, end: 360_000 + 62.125, text: 'R&D <i>' },
    ];
    const vtt = formatWebVtt(cues);
    expect(vtt).toBe(
      'WEBVTT\n\n' +
      '00:00:00.250 --> 00:00:01.000\na --&gt;b\nc\nd\n\n' +
      '100:01:01.500 --> 100:01:02.125\nR&amp;D &lt;i&gt;\n\n',
    );
    expect(parseVtt(vtt)).toEqual([
      { start: 0.25, end: 1, text: 'a --&gt;b\nc\nd' },
      { start: 360_061.5, end: 360_062.125, text: 'R&amp;D &lt;i&gt;' },
    ]);
    expect(parseVtt('WEBVTT\n\n')).toEqual([]);
    expect(() => parseVtt('WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n\n')).toThrow();
  });
});

describe('cuesSince', () => {
  it('keeps the cues still showing or still to come', () => {
    const cues = [{ start: 0, end: 2, text: 'a' }, { start: 2, end: 4, text: 'b' }, { start: 5, end: 6, text: 'c' }];
    expect(cuesSince(cues, 2).map((c) => c.text)).toEqual(['b', 'c']);
    expect(cuesSince(cues, 6)).toEqual([]);
    expect(cuesSince(cues, -1)).toHaveLength(3);
    expect(cuesSince(cues, 1.999).map((c) => c.text)).toEqual(['a', 'b', 'c']);
  });
});
