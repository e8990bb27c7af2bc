/**
 * Shapes shared by the text analyzer: categories, severities, matches and the analysis of one message.
 */

/** Every category the text analyzer reports, in the order `TextAnalysis.categories` lists them. */
export const TEXT_CATEGORIES = [
  'profanity', 'slur', 'sexual_harassment', 'threat', 'self_harm', 'minor_disclosure', 'personal_data',
  'contact_solicitation', 'off_platform_payment', 'spam', 'link',
] as const;

/**
 * What a match is about. `self_harm` is a person at risk, not a violation: callers route it to support
 * resources and never punish it. `minor_disclosure` is someone saying they are under 18.
 */
export type TextCategory = (typeof TEXT_CATEGORIES)[number];

/** How bad one match is, least to most: `low` < `medium` < `high` < `critical`. */
export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** Severities in increasing order; `SEVERITY_RANK[s]` compares them. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2, critical: 3 };

/** One finding in a text. */
export interface TextMatch {
  category: TextCategory;
  severity: Severity;
  /** UTF-16 offset in the ORIGINAL text where the evidence starts (inclusive). */
  start: number;
  /** UTF-16 offset in the ORIGINAL text where the evidence ends (exclusive); `text.slice(start, end)` is the evidence. */
  end: number;
  /** Which rule matched: `obscenity:<word>` for the obscenity dataset, `pattern:<name>` for Warden's own rules, `extra:<term>` for configured terms. */
  rule: string;
}

/** The result of analysing one text. */
export interface TextAnalysis {
  /** Every match, sorted by `start`, then `end`; one per rule and span (overlapping matches of one category keep the most severe). */
  matches: TextMatch[];
  /** The distinct categories of `matches`, in {@link TEXT_CATEGORIES} order. */
  categories: TextCategory[];
  /** The normalised text (lowercase, folded, leetspeak resolved, spaced letters joined, repeats ≤ 2): what was matched. */
  normalized: string;
}
