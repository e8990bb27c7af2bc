/**
 * Phonetic search over a free-decoding transcript: finds watch-list phrases the recogniser heard as
 * something that sounds alike ("i know where you lose" for "i know where you live", "on fourteen years old"
 * for "i am fourteen years old"). Both sides are turned into phone strings with the pronunciation dictionary
 * and compared by edit distance, the usual way of searching ASR output for spoken terms when the words are
 * unreliable (see Chelba, Hazen & Saraçlar 2008, "Retrieval and browsing of spoken content", IEEE Signal
 * Processing Magazine 25(3)). It complements keyword search, which misses phrases in short chunks, and is
 * cheap: words × phrases × a few windows of short strings. Pure.
 */
import type { KeywordHit, TranscriptWord } from './pocketsphinx.ts';

/**
 * Largest phone edit distance, as a share of the phrase's phones, that counts as a match. Measured here
 * (2026-11-23) on the watch-list phrases spoken by espeak-ng between LibriVox sentences, whole and cut into
 * the tap's 10 s chunks: phrases the recogniser heard as near misses scored 0.14–0.32; no run of words in
 * the plain LibriVox speech came closer than 0.45 to any phrase. A sound-alike benign phrase still matches
 * ("i will call you" is one phone from "i will kill you"): these findings only ever open review cases.
 */
export const MAX_PHONE_DISTANCE = 0.34;

/** Phrases shorter than this many phones are left to keyword search: a few edits would make anything match. */
export const MIN_PHONETIC_PHONES = 8;

/** A phrase ready for phonetic search: its words' phones, concatenated. */
export interface PhoneticPhrase { phrase: string; phones: readonly string[] }

/** Word → phones (space-separated ARPAbet, as in cmudict-en-us.dict), for the first pronunciation. */
export type Pronunciations = ReadonlyMap<string, string>;

/** The phones of a phrase, or null when a word has no pronunciation (such a phrase cannot be searched). */
export function phrasePhones(phrase: string, dict: Pronunciations): string[] | null {
  const out: string[] = [];
  for (const w of phrase.split(' ')) {
    const p = dict.get(w);
    if (!p) return null;
    out.push(...p.split(' '));
  }
  return out;
}

/** Levenshtein distance between two phone sequences (unit costs), with one reusable row. */
function editDistance(a: readonly string[], b: readonly string[], row: number[]): number {
  for (let j = 0; j <= b.length; j++) row[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/**
 * Watch-list phrases that the transcript's words sound like. For each phrase, every run of consecutive
 * words whose phone count is within ±40% of the phrase's is compared; runs at or under `maxDistance` (edit
 * distance / phrase phones) are hits, the best first, overlapping ones dropped. Words the dictionary lacks
 * (and fillers) break runs. Phrases under {@link MIN_PHONETIC_PHONES} phones are skipped.
 *
 * @returns hits with the run's start and end (seconds, the words' own times), ordered by start
 */
export function phoneticHits(
  words: readonly TranscriptWord[],
  phrases: readonly PhoneticPhrase[],
  dict: Pronunciations,
  maxDistance = MAX_PHONE_DISTANCE,
): KeywordHit[] {
  const phones = words.map((w) => dict.get(w.word.replace(/\(\d+\)$/, ''))?.split(' '));
  const row: number[] = [];
  const hits: KeywordHit[] = [];
  for (const p of phrases) {
    const n = p.phones.length;
    if (n < MIN_PHONETIC_PHONES) continue;
    const candidates: { start: number; end: number; d: number }[] = [];
    for (let i = 0; i < words.length; i++) {
      const run: string[] = [];
      for (let j = i; j < words.length; j++) {
        const wp = phones[j];
        if (!wp) break;
        run.push(...wp);
        if (run.length > n * 1.4) break;
        if (run.length < n * 0.6) continue;
        const d = editDistance(p.phones, run, row) / n;
        if (d <= maxDistance) candidates.push({ start: words[i]!.start, end: words[j]!.end, d });
      }
    }
    candidates.sort((a, b) => a.d - b.d || a.start - b.start);
    const kept: typeof candidates = [];
    for (const c of candidates) if (!kept.some((k) => c.start < k.end && k.start < c.end)) kept.push(c);
    for (const c of kept) hits.push({ phrase: p.phrase, start: c.start, end: c.end, method: 'phonetic' });
  }
  return hits.sort((a, b) => a.start - b.start);
}
