import { describe, expect, it } from 'vitest';
import { TextAnalyzer } from '../text/index.ts';
import { evidenceSpan, speechFindings } from './findings.ts';
import type { TranscriptWord } from './pocketsphinx.ts';

const analyzer = new TextAnalyzer();
/** Words at 0.5 s each from `at`. */
function words(text: string, at = 0): TranscriptWord[] {
  return text.split(' ').map((word, i) => ({ word, start: at + i * 0.5, end: at + i * 0.5 + 0.4, confidence: 0.9 }));
}
const watchList = [{ phrase: 'add me on snapchat', category: 'contact_solicitation' as const, threshold: 1e-10 }];

describe('speechFindings', () => {
  it('maps a text match to the time span of the words it covers', () => {
    const f = speechFindings(analyzer, { words: words('well hello there i know where you live so be careful', 1), keywords: [], watchList, overlapMs: 0 });
    const threat = f.find((x) => x.category === 'threat')!;
    expect(threat).toMatchObject({ source: 'text', severity: 'high' });
    // "i know where you live" are words 3..7: 1 + 1.5 = 2.5 s to 1 + 3.5 + 0.4 = 4.9 s (the pattern may start at "know")
    expect(threat.start).toBeGreaterThanOrEqual(2.5);
    expect(threat.end).toBeCloseTo(4.9, 5);
    expect(threat.text).toMatch(/where you live$/);
  });

  it('turns a keyword hit into a high finding of its phrase category, ignoring phrases not on the list', () => {
    const f = speechFindings(analyzer, { words: [], keywords: [{ phrase: 'add me on snapchat', start: 3, end: 4.2, method: 'kws' }, { phrase: 'other', start: 1, end: 2, method: 'kws' }], watchList, overlapMs: 0 });
    expect(f).toEqual([{ category: 'contact_solicitation', severity: 'high', source: 'keyword', rule: 'keyword:add me on snapchat', start: 3, end: 4.2, text: 'add me on snapchat' }]);
  });

  it('makes a phonetic match a medium finding with its own rule name', () => {
    const f = speechFindings(analyzer, { words: [], keywords: [{ phrase: 'add me on snapchat', start: 2, end: 3, method: 'phonetic' }], watchList, overlapMs: 0 });
    expect(f).toEqual([{ category: 'contact_solicitation', severity: 'medium', source: 'keyword', rule: 'sounds-like:add me on snapchat', start: 2, end: 3, text: 'add me on snapchat' }]);
  });

  it('leaves findings in the first half of the overlap to the previous chunk', () => {
    const hit = (start: number) => ({ phrase: 'add me on snapchat', start, end: start + 1.2, method: 'kws' as const });
    const f = speechFindings(analyzer, { words: [], keywords: [hit(0.1), hit(0.5), hit(5)], watchList, overlapMs: 2000 });
    // midpoints 0.7 (< 1.0: previous chunk's), 1.1 and 5.6 (kept)
    expect(f.map((x) => x.start)).toEqual([0.5, 5]);
  });

  it('finds nothing in clean speech', () => {
    expect(speechFindings(analyzer, { words: words('he was not an ill disposed young man'), keywords: [], watchList, overlapMs: 0 })).toEqual([]);
  });
});

describe('evidenceSpan', () => {
  it('covers the findings of one category with context, clamped to the chunk', () => {
    const f = speechFindings(analyzer, { words: [], keywords: [{ phrase: 'add me on snapchat', start: 0.4, end: 1.6, method: 'kws' }, { phrase: 'add me on snapchat', start: 8.5, end: 9.8, method: 'phonetic' }], watchList, overlapMs: 0 });
    expect(evidenceSpan(f, 'contact_solicitation', 10)).toEqual({ start: 0, end: 10 });
    expect(evidenceSpan(f, 'contact_solicitation', 10, 0.25)).toEqual({ start: 0.15, end: 10 });
    expect(evidenceSpan(f, 'threat', 10)).toBeNull();
  });
});
