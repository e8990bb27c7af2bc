/**
 * The `speech:` section of a policy: the spoken watch-list (phrases per text category that keyword search
 * listens for in every audio chunk) and how findings in a transcript become `speech` signals. The rules that
 * act on those signals are ordinary rules (`analyzer: speech`, labels = text categories), so speech goes
 * through the same engine, windows, cooldowns and shadow mode as frames. Pure: no I/O.
 */
import { z } from 'zod';
import { SEVERITY_RANK, TEXT_CATEGORIES, type Severity, type TextCategory } from '../analyzer/text/types.ts';

/** The analyzer name of speech signals (rules use `analyzer: speech`). */
export const SPEECH_ANALYZER = 'speech';

/**
 * The score a finding of each severity gives its category's `speech` signal. Text checks report a severity
 * per match; a spotted watch-list phrase counts as `high`. Rules compare these with `min_score` like any score.
 */
export const SPEECH_SEVERITY_SCORE: Readonly<Record<Severity, number>> = { low: 0.4, medium: 0.6, high: 0.8, critical: 0.95 };

/** Words PocketSphinx's dictionary can hold: lowercase letters and apostrophes ("don't"); numbers spelt out. */
const PHRASE_RE = /^[a-z']+( [a-z']+)*$/;

const phrase = z.string().transform((s) => s.trim().toLowerCase().replace(/\s+/g, ' ')).pipe(
  z.string().regex(PHRASE_RE, 'a watch-list phrase is words of letters and apostrophes (spell numbers out: "fourteen", not "14")')
    .refine((s) => s.split(' ').length >= 2, 'a watch-list phrase needs at least two words (single words are spotted everywhere)'),
);

/** The zod schema of the `speech:` section (used by rules/policy.ts). */
export const speechPolicySchema = z.strictObject({
  watch_list: z.partialRecord(z.enum(TEXT_CATEGORIES), z.array(phrase).min(1)).optional(),
  /**
   * PocketSphinx keyword-search detection threshold (`-kws_threshold`): smaller spots more (and more falsely).
   * Default 1e-10, measured on espeak-ng phrases mixed into LibriVox speech (see analyzer/audio/pocketsphinx.ts).
   */
  keyword_threshold: z.number().gt(0).max(1).optional(),
});

/** One phrase to listen for, with the category a hit counts as. */
export interface WatchPhrase { phrase: string; category: TextCategory; threshold: number }

/** The normalised speech policy. */
export interface SpeechPolicy {
  /** Every watch-list phrase (lowercase, single spaces), in policy order, without duplicates. */
  watchList: WatchPhrase[];
}

/** Normalises a validated `speech:` section (or undefined: no watch-list). */
export function normaliseSpeechPolicy(raw: z.output<typeof speechPolicySchema> | undefined): SpeechPolicy {
  const threshold = raw?.keyword_threshold ?? 1e-10;
  const seen = new Set<string>();
  const watchList: WatchPhrase[] = [];
  for (const category of TEXT_CATEGORIES) {
    for (const p of raw?.watch_list?.[category] ?? []) {
      if (seen.has(p)) continue;
      seen.add(p);
      watchList.push({ phrase: p, category, threshold });
    }
  }
  return { watchList };
}

/** What was found in a transcript, with where: `start`/`end` in seconds from the chunk start. */
export interface SpeechFinding {
  category: TextCategory;
  severity: Severity;
  /** `keyword`: a watch-list phrase spotted by keyword search; `text`: the text checks on the transcript. */
  source: 'keyword' | 'text';
  /** `keyword:<phrase>`, or the text rule (`pattern:…`, `obscenity:…`). */
  rule: string;
  start: number;
  end: number;
  /** The words heard in that span. */
  text: string;
}

/**
 * The `speech` signal scores of one chunk: per category, the score of its most severe finding
 * ({@link SPEECH_SEVERITY_SCORE}). Categories without findings get no signal.
 */
export function speechScores(findings: readonly SpeechFinding[]): Map<TextCategory, number> {
  const worst = new Map<TextCategory, Severity>();
  for (const f of findings) {
    const prior = worst.get(f.category);
    if (!prior || SEVERITY_RANK[f.severity] > SEVERITY_RANK[prior]) worst.set(f.category, f.severity);
  }
  return new Map([...worst].map(([c, s]) => [c, SPEECH_SEVERITY_SCORE[s]]));
}
