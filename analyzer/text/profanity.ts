/**
 * The obscenity matcher (npm `obscenity`, English dataset) run on Warden's normalised text, with extra
 * whitelisting, a profanity/slur split and a cheap prefilter.
 *
 * Transformers: our normalisation (normalize.ts) replaces obscenity's `resolveConfusables`,
 * `resolveLeetSpeak` and `toAsciiLowerCase` with context-aware versions that keep an offset map (obscenity's
 * leetspeak maps every digit, so "455" would read "ass" and phone numbers would be mangled). We keep the rest
 * of `englishRecommendedTransformers`: its `collapseDuplicates` thresholds for the blacklist and its whitelist
 * transformers.
 *
 * Prefilter: every pattern of the dataset is compiled once more into one alternation in which each literal
 * letter may repeat (`f+u+c+k+`). Because collapsing duplicates only shortens runs, any text obscenity would
 * match also matches this prefilter, so a miss proves "no obscenity match" and skips the matcher (most chat).
 */
import {
  DataSet, RegExpMatcher, SyntaxKind, collapseDuplicatesTransformer, englishDataset, englishRecommendedWhitelistMatcherTransformers,
  parseRawPattern, type ParsedPattern, type Node,
} from 'obscenity';
import type { Severity, TextCategory } from './types.ts';

/** Metadata on each phrase of our dataset. */
interface PhraseMeta { originalWord: string; category?: TextCategory; severity?: Severity; extra?: boolean }

/**
 * Words of obscenity's English dataset that Warden treats as slurs (category `slur`, severity `high`): terms
 * that attack people for race, ethnicity, sexuality, gender identity or disability. Everything else in the
 * dataset is `profanity`. Note `negro` is Spanish and Portuguese for "black"; Warden's default policy is for
 * English chat, and a platform with Spanish chat should remove it with `removeTerms`.
 */
export const SLUR_WORDS: ReadonlySet<string> = new Set([
  'abeed', 'abo', 'africoon', 'arabush', 'boonga', 'chingchong', 'chink', 'dyke', 'fag', 'kike', 'negro', 'nigger',
  'retard', 'spastic', 'tranny',
]);

/** Dataset words that are mild insults or exclamations (severity `low`); other profanity is `medium`. */
export const MILD_WORDS: ReadonlySet<string> = new Set(['arse', 'ass', 'bastard', 'bollocks', 'piss', 'shit', 'turd', 'fuck', 'wank', 'cuck']);

/**
 * Ordinary words and places that contain a dataset pattern, whitelisted on top of obscenity's own list
 * (which already covers e.g. Dickens, analysis, cockney, kung fu).
 */
export const EXTRA_WHITELIST: readonly string[] = [
  'scunthorpe', 'penistone', 'cocktail', 'shiitake', 'shitake', 'assassin', 'essex', 'sussex', 'middlesex', 'dickens',
  'dickinson', 'therapist', 'grapes', 'analysis', 'analyst', 'class', 'pass', 'bass', 'hello', 'cockburn', 'hancock',
  'peacock', 'cumin', 'cum laude', 'magna cum', 'summa cum', 'cumbria', 'cumberland', 'rapeseed', 'retardant', 'chink in',
  'cocked', 'scrapes', 'drapes', 'skyscraper', 'shuttlecock', 'titan', 'title', 'tithe', 'butte', 'arsenal', 'sextant', 'sexton',
];

/** One obscenity hit in normalised-text coordinates (`end` exclusive). */
export interface ProfanityHit { start: number; end: number; word: string; category: TextCategory; severity: Severity; extra: boolean }

/** A term added to the dataset by configuration (see `TextAnalyzerOptions.extraTerms`). */
export interface ExtraTerm {
  /** Matched after normalisation, as a whole substring; obscenity pattern syntax: `|` marks a word boundary, `[x]` optional, `?` any character. */
  term: string;
  /** Defaults to `profanity`. */
  category?: TextCategory;
  /** Defaults to `medium`. */
  severity?: Severity;
}

/** Options for {@link ProfanityMatcher}. */
export interface ProfanityOptions {
  extraTerms?: readonly ExtraTerm[];
  /** Further words or phrases never reported (lowercase, as they appear after normalisation). */
  extraWhitelist?: readonly string[];
  /** Dataset words (their `originalWord`, e.g. "negro") to drop. */
  removeTerms?: readonly string[];
}

/** obscenity's recommended blacklist collapse thresholds (englishRecommendedBlacklistMatcherTransformers). */
const collapse = () => collapseDuplicatesTransformer({
  defaultThreshold: 1,
  customThresholds: new Map([['b', 2], ['e', 2], ['o', 2], ['l', 2], ['s', 2], ['g', 2]]),
});

/**
 * obscenity's `RegExpMatcher` over the English dataset, built once; {@link ProfanityMatcher.match} is
 * synchronous and safe to call for every chat message.
 * @throws at construction if an extra term is not a valid obscenity pattern.
 */
export class ProfanityMatcher {
  private readonly dataset: DataSet<PhraseMeta>;
  private readonly matcher: RegExpMatcher;
  private readonly prefilter: RegExp;

  constructor(opts: ProfanityOptions = {}) {
    const remove = new Set(opts.removeTerms ?? []);
    this.dataset = new DataSet<PhraseMeta>().addAll(englishDataset as DataSet<PhraseMeta>)
      .removePhrasesIf((p) => remove.has(p.metadata?.originalWord ?? ''));
    for (const t of opts.extraTerms ?? []) {
      this.dataset.addPhrase((p) => p.setMetadata({ originalWord: t.term.replace(/[|[\]?]/g, ''), category: t.category ?? 'profanity', severity: t.severity ?? 'medium', extra: true })
        .addPattern(parseRawPattern(t.term.toLowerCase())));
    }
    const built = this.dataset.build();
    this.matcher = new RegExpMatcher({
      blacklistedTerms: built.blacklistedTerms,
      whitelistedTerms: [...(built.whitelistedTerms ?? []), ...EXTRA_WHITELIST, ...(opts.extraWhitelist ?? []).map((w) => w.toLowerCase())],
      blacklistMatcherTransformers: [collapse()],
      whitelistMatcherTransformers: englishRecommendedWhitelistMatcherTransformers,
    });
    this.prefilter = new RegExp(built.blacklistedTerms.map((t) => prefilterSource(t.pattern)).join('|'), 's');
  }

  /** True when obscenity might match `normalized` (never false when it would). */
  mightMatch(normalized: string): boolean {
    return this.prefilter.test(normalized);
  }

  /**
   * obscenity's matches in `normalized` (the normalised text), whitelisted terms removed.
   * @returns hits in normalised-text offsets, `end` exclusive.
   */
  match(normalized: string): ProfanityHit[] {
    if (!this.prefilter.test(normalized)) return [];
    const out: ProfanityHit[] = [];
    for (const m of this.matcher.getAllMatches(normalized)) {
      const meta = this.dataset.getPayloadWithPhraseMetadata(m).phraseMetadata;
      const word = meta?.originalWord ?? String(m.termId);
      const slur = SLUR_WORDS.has(word);
      out.push({
        start: m.startIndex, end: m.endIndex + 1, word, extra: meta?.extra === true,
        category: meta?.category ?? (slur ? 'slur' : 'profanity'),
        severity: meta?.severity ?? (slur ? 'high' : MILD_WORDS.has(word) ? 'low' : 'medium'),
      });
    }
    return out;
  }

  /** The underlying obscenity matcher (the benchmark compares against it). */
  get obscenity(): RegExpMatcher {
    return this.matcher;
  }
}

/** Regex source matching a superset of what `pattern` matches after duplicate collapsing. */
function prefilterSource(pattern: ParsedPattern): string {
  let s = pattern.requireWordBoundaryAtStart ? '\\b' : '';
  for (const node of pattern.nodes) s += nodeSource(node);
  return s + (pattern.requireWordBoundaryAtEnd ? '\\b' : '');
}

function nodeSource(node: Node): string {
  switch (node.kind) {
    case SyntaxKind.Literal:
      return node.chars.map((c) => `${String.fromCodePoint(c).replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')}+`).join('');
    case SyntaxKind.Optional:
      return `(?:${nodeSource(node.childNode)})?`;
    case SyntaxKind.Wildcard:
      return '.+?';
    default:
      return '\\b';
  }
}
