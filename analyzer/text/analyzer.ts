/**
 * The text analyzer: normalise once, then obscenity and Warden's pattern rules, each compiled once and run
 * in a single pass per message. Used synchronously by live chat before fan-out, and for transcripts and
 * usernames.
 */
import { TextNormalizer, toOriginalSpan, type TextView } from './normalize.ts';
import { EMOJI_FLOOD, PATTERN_RULES, type PatternRule } from './patterns.ts';
import { ProfanityMatcher, type ExtraTerm } from './profanity.ts';
import { SEVERITY_RANK, TEXT_CATEGORIES, type TextAnalysis, type TextCategory, type TextMatch } from './types.ts';

/** Options for {@link TextAnalyzer}. */
export interface TextAnalyzerOptions {
  /** Extra blacklisted terms (matched like obscenity's dataset, after normalisation); rule id `extra:<term>`. */
  extraTerms?: readonly ExtraTerm[];
  /** Extra whitelisted words or phrases (lowercase, as after normalisation) that obscenity must not report. */
  extraWhitelist?: readonly string[];
  /** obscenity dataset words to drop (their `originalWord`, e.g. `negro` for Spanish-language chat). */
  removeTerms?: readonly string[];
  /** Pattern rules to skip, by name without `pattern:` (e.g. `['char_flood']`). */
  disableRules?: readonly string[];
}

/** Caps floods: more than this share of letters upper-case … */
export const CAPS_RATIO = 0.7;
/** … over at least this many letters. */
export const CAPS_MIN_LETTERS = 12;

const CATEGORY_ORDER = new Map<TextCategory, number>(TEXT_CATEGORIES.map((c, i) => [c, i]));

/**
 * Analyses texts for the categories in {@link TEXT_CATEGORIES}. Build one per process (matchers are compiled
 * in the constructor, a few milliseconds) and call {@link TextAnalyzer.analyze} per message. Not reentrant
 * (it reuses normalisation buffers), which is fine on Node's single thread.
 * @throws at construction if an extra term is not a valid obscenity pattern.
 */
export class TextAnalyzer {
  private readonly normalizer = new TextNormalizer();
  private readonly profanity: ProfanityMatcher;
  private readonly rules: readonly PatternRule[];

  constructor(opts: TextAnalyzerOptions = {}) {
    this.profanity = new ProfanityMatcher(opts);
    const off = new Set(opts.disableRules ?? []);
    this.rules = PATTERN_RULES.filter((r) => !off.has(r.name));
  }

  /**
   * Analyses one text (a chat message, a transcript line, a username).
   * @returns matches with spans in UTF-16 offsets of `text`, the distinct categories, and the normalised text.
   * @throws TypeError if `text` is not a string.
   */
  analyze(text: string): TextAnalysis {
    if (typeof text !== 'string') throw new TypeError('TextAnalyzer.analyze: text must be a string');
    const n = this.normalizer.normalize(text);
    const found: TextMatch[] = [];
    for (const h of this.profanity.match(n.text)) {
      const [start, end] = toOriginalSpan(n, h.start, h.end);
      found.push({ category: h.category, severity: h.severity, start, end, rule: `${h.extra ? 'extra' : 'obscenity'}:${h.word}` });
    }
    for (const r of this.rules) {
      const view: TextView = r.view === 'norm' ? n : n.plain;
      if (r.gate && !r.gate.some((g) => view.text.includes(g))) continue;
      const re = r.re;
      re.lastIndex = 0;
      for (let m = re.exec(view.text); m !== null; m = re.exec(view.text)) {
        if (m[0].length === 0) { re.lastIndex++; continue; }
        if (r.accept && !r.accept(m)) continue;
        const [start, end] = toOriginalSpan(view, m.index, m.index + m[0].length);
        found.push({ category: r.category, severity: r.severity, start, end, rule: `pattern:${r.name}` });
      }
    }
    const rep = repeatedWords(n.text);
    if (rep) {
      const [start, end] = toOriginalSpan(n, rep[0], rep[1]);
      found.push({ category: 'spam', severity: 'medium', start, end, rule: 'pattern:repeated_text' });
    }
    if (isCapsFlood(text)) found.push({ category: 'spam', severity: 'low', start: 0, end: text.length, rule: 'pattern:caps_flood' });
    if (text.length >= 10) {
      EMOJI_FLOOD.lastIndex = 0;
      for (let m = EMOJI_FLOOD.exec(text); m !== null; m = EMOJI_FLOOD.exec(text)) {
        found.push({ category: 'spam', severity: 'low', start: m.index, end: m.index + m[0].length, rule: 'pattern:emoji_flood' });
      }
    }
    const matches = dedupe(found);
    const seen = new Set<TextCategory>();
    for (const m of matches) seen.add(m.category);
    const categories = TEXT_CATEGORIES.filter((c) => seen.has(c));
    return { matches, categories, normalized: n.text };
  }
}

/** More than {@link CAPS_RATIO} of at least {@link CAPS_MIN_LETTERS} letters are capitals (ASCII and Latin-1 letters). */
export function isCapsFlood(text: string): boolean {
  let letters = 0, upper = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) { letters++; upper++; } else if (c >= 97 && c <= 122) letters++;
    else if (c >= 0xc0 && c <= 0xff && c !== 0xd7 && c !== 0xf7) { letters++; if (c <= 0xde) upper++; }
  }
  return letters >= CAPS_MIN_LETTERS && upper / letters > CAPS_RATIO;
}

/** Repeated text: one to four words repeated at least {@link REPEAT_MIN} times in a row, {@link REPEAT_MIN_CHARS}+ characters in all. */
export const REPEAT_MIN = 4;
export const REPEAT_MIN_CHARS = 12;

/**
 * Finds a unit of 1–4 words repeated back to back ("buy followers buy followers …", "lol lol lol lol lol").
 * @returns the span `[start, end)` in `s` of the first such repetition, or null.
 */
export function repeatedWords(s: string): [number, number] | null {
  let spaces = 0;
  for (let i = s.indexOf(' '); i !== -1 && spaces < REPEAT_MIN - 1; i = s.indexOf(' ', i + 1)) spaces++;
  if (spaces < REPEAT_MIN - 1) return null;
  const starts: number[] = [], ends: number[] = [], words: string[] = [];
  for (const m of s.matchAll(/\S+/g)) { starts.push(m.index); ends.push(m.index + m[0].length); words.push(m[0]); }
  for (let p = 1; p <= 4; p++) {
    let run = 0;
    for (let i = p; i < words.length; i++) {
      run = words[i] === words[i - p] ? run + 1 : 0;
      const reps = Math.floor(run / p) + 1;
      if (reps >= REPEAT_MIN && run % p === 0) {
        const from = i - run - p + 1;
        if (ends[i]! - starts[from]! >= REPEAT_MIN_CHARS) {
          let j = i;
          while (j + 1 < words.length && words[j + 1] === words[j + 1 - p]) j++;
          return [starts[from]!, ends[j]!];
        }
      }
    }
  }
  return null;
}

const overlaps = (a: TextMatch, b: TextMatch): boolean => a.start < b.end && b.start < a.end;

/**
 * Sorts matches by start and end, and drops (1) a match overlapping a more severe (or equally severe and
 * longer) match of the same category, and (2) links inside an e-mail address.
 */
function dedupe(found: TextMatch[]): TextMatch[] {
  if (found.length <= 1) return found;
  const emails = found.filter((m) => m.rule === 'pattern:email' || m.rule === 'pattern:email_spelled');
  const ranked = found
    .filter((m) => m.category !== 'link' || !emails.some((e) => overlaps(e, m)))
    .sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || (b.end - b.start) - (a.end - a.start) || a.start - b.start);
  const kept: TextMatch[] = [];
  for (const m of ranked) {
    if (!kept.some((k) => k.category === m.category && overlaps(k, m))) kept.push(m);
  }
  return kept.sort((a, b) => a.start - b.start || a.end - b.end || CATEGORY_ORDER.get(a.category)! - CATEGORY_ORDER.get(b.category)!);
}
