/**
 * From a chunk's transcript to findings with time spans: the text checks (the same TextAnalyzer as chat) run
 * on the recognised words, and keyword-search hits count as findings of their watch-list category. Pure.
 */
import type { SpeechFinding, WatchPhrase } from '../../rules/index.ts';
import type { TextAnalyzer } from '../text/index.ts';
import type { KeywordHit, TranscriptWord } from './pocketsphinx.ts';

/** Inputs of {@link speechFindings}. */
export interface FindingsInput {
  words: readonly TranscriptWord[];
  keywords: readonly KeywordHit[];
  /** The policy's watch-list (maps a spotted phrase to its category). */
  watchList: readonly WatchPhrase[];
  /**
   * Milliseconds at the start of this chunk that repeat the end of the previous chunk. A finding whose
   * midpoint lies in the first half of that overlap belongs to the previous chunk (which heard it whole) and
   * is left out here; one cut off by the previous chunk's end lies later and is kept.
   */
  overlapMs: number;
}

/**
 * The findings of one chunk, ordered by start time. Text matches are mapped from character offsets to the
 * words they cover (span = first word's start to last word's end, in seconds from the chunk start); a hit of
 * keyword search is a `high` finding of its phrase's category (`rule: keyword:<phrase>`), a phonetic match in
 * the decoded words a `medium` one (`rule: sounds-like:<phrase>`). When the text
 * checks and keyword search find the same category over overlapping spans, both are kept (they agree).
 */
export function speechFindings(analyzer: TextAnalyzer, input: FindingsInput): SpeechFinding[] {
  const out: SpeechFinding[] = [];
  const { words } = input;
  if (words.length > 0) {
    // the transcript text is the words joined by single spaces: wordStart[i] is word i's first character
    const wordStart = new Array<number>(words.length);
    let text = '';
    for (let i = 0; i < words.length; i++) {
      if (i > 0) text += ' ';
      wordStart[i] = text.length;
      text += words[i]!.word;
    }
    for (const m of analyzer.analyze(text).matches) {
      let first = -1;
      let last = -1;
      for (let i = 0; i < words.length; i++) {
        const ws = wordStart[i]!;
        const we = ws + words[i]!.word.length;
        if (we > m.start && ws < m.end) {
          if (first < 0) first = i;
          last = i;
        }
      }
      if (first < 0) continue;
      out.push({
        category: m.category, severity: m.severity, source: 'text', rule: m.rule,
        start: words[first]!.start, end: words[last]!.end, text: words.slice(first, last + 1).map((w) => w.word).join(' '),
      });
    }
  }
  const byPhrase = new Map(input.watchList.map((w) => [w.phrase, w]));
  for (const k of input.keywords) {
    const w = byPhrase.get(k.phrase);
    if (!w) continue;
    out.push(k.method === 'phonetic'
      ? { category: w.category, severity: 'medium', source: 'keyword', rule: `sounds-like:${k.phrase}`, start: k.start, end: k.end, text: k.phrase }
      : { category: w.category, severity: 'high', source: 'keyword', rule: `keyword:${k.phrase}`, start: k.start, end: k.end, text: k.phrase });
  }
  const ownedFrom = input.overlapMs / 2000;
  return out.filter((f) => (f.start + f.end) / 2 >= ownedFrom).sort((a, b) => a.start - b.start || a.end - b.end);
}

/**
 * The span of audio a moderator should hear for the findings of one category: from the earliest start to
 * the latest end, widened by `contextS` on each side and clamped to [0, durationS]. Null when none match.
 */
export function evidenceSpan(findings: readonly SpeechFinding[], category: string, durationS: number, contextS = 1): { start: number; end: number } | null {
  let start = Infinity;
  let end = -Infinity;
  for (const f of findings) {
    if (f.category !== category) continue;
    start = Math.min(start, f.start);
    end = Math.max(end, f.end);
  }
  if (start === Infinity) return null;
  const round = (x: number) => Math.round(x * 100) / 100;
  return { start: round(Math.max(0, start - contextS)), end: round(Math.min(durationS > 0 ? durationS : end + contextS, end + contextS)) };
}
