/**
 * analyzer/text: chat, transcript and username checks. Normalise (zero-width, confusables, leetspeak,
 * spacing, repeats), then obscenity and Warden's pattern rules; every match carries its span in the
 * original text. See analyzer.ts for the entry point.
 */
export { TEXT_CATEGORIES, SEVERITY_RANK, type TextCategory, type Severity, type TextMatch, type TextAnalysis } from './types.ts';
export { TextAnalyzer, isCapsFlood, repeatedWords, CAPS_RATIO, CAPS_MIN_LETTERS, REPEAT_MIN, REPEAT_MIN_CHARS, type TextAnalyzerOptions } from './analyzer.ts';
export { TextNormalizer, normalize, toOriginalSpan, type NormalizedText, type TextView } from './normalize.ts';
export { ProfanityMatcher, SLUR_WORDS, MILD_WORDS, EXTRA_WHITELIST, type ExtraTerm, type ProfanityHit, type ProfanityOptions } from './profanity.ts';
export { PATTERN_RULES, stretch, type PatternRule, type RuleView } from './patterns.ts';
export { runCheckText, type TextAction, type CheckTextLine } from './check-text.ts';
