/**
 * Confusable letters folded to Latin, a hand-picked subset of Unicode TR39 `confusables.txt`
 * (https://www.unicode.org/reports/tr39/, https://www.unicode.org/Public/security/latest/confusables.txt):
 * Cyrillic, Greek, Armenian, IPA and small-capital letters that render like a Latin letter in common fonts,
 * plus a few Latin letters with strokes and ligatures that NFKC leaves alone. Fullwidth, mathematical,
 * circled and superscript forms are not listed: NFKC already folds them (normalize.ts applies NFKC first).
 *
 * Keys are code points of the character as typed (upper and lower case listed separately, because e.g.
 * Cyrillic Н looks like H while its lowercase н looks like a small-capital H); values are lowercase Latin.
 */
const PAIRS: string =
  // Cyrillic (TR39: е→e, а→a, о→o, р→p, с→c, у→y, х→x, ѕ→s, і→i, ј→j, ԁ→d, һ→h, ӏ→l, ԛ→q, ԝ→w, ѵ→v …)
  'аaАaвbВbеeЕeёeЁeгrкkКkмmМmнhНhоoОoпnрpРpсcСcтtТtуyУyхxХxшwщwъbьbЬbѕsЅsіiІiїiЇiјjЈjԁdһhҺhӏlӀlԛqԜwԝwѵvѴvүyҮyқkҡkӄkѡwɡg' +
  // Greek (TR39: ο→o, α→a, ν→v, ι→i, κ→k, ρ→p, τ→t, υ→u, χ→x, ω→w, Β→B, Ε→E, Η→H, Ζ→Z, Μ→M, Ν→N …)
  'αaΑaβbΒbγyεeΕeΖzηnΗhιiΙiκkΚkμuΜmνvΝnοoΟoρpΡpσoτtΤtυuΥyχxΧxωwςcϲcϳjϵe' +
  // Armenian (TR39: օ→o, ս→u, հ→h, ո→n, ց→g, զ→q, յ→j, ա→w, Ս→U, Օ→O)
  'օoՕoսuՍuհhոnցgզqյjաw' +
  // IPA and small capitals (TR39: ɑ→a, ɡ→g, ı→i, ȷ→j, ʀ→r, ᴀ→a …), Latin letters with strokes
  'ɑaɩiıiȷjʀrᴀaʙbᴄcᴅdᴇeꜰfɢgʜhɪiᴊjᴋkʟlᴍmɴnᴏoᴘpꜱsᴛtᴜuᴠvᴡwʏyᴢzłlŁlđdĐdøoØoħhŧtƶzɵoȿsʂs';

/** Multi-letter folds (ligatures and ß) that NFKC keeps. */
const MULTI: ReadonlyArray<readonly [string, string]> = [['ß', 'ss'], ['ẞ', 'ss'], ['æ', 'ae'], ['Æ', 'ae'], ['œ', 'oe'], ['Œ', 'oe']];

/** Typographic punctuation folded to ASCII so patterns like "i'm" see one apostrophe (TR39 lists ’ ‘ ʼ ′ as confusable with '). */
const PUNCT: ReadonlyArray<readonly [string, string]> = [
  ['\u2019', "'"], ['\u2018', "'"], ['\u201B', "'"], ['\u02BC', "'"], ['\u2032', "'"], ['\u00B4', "'"], ['\u0060', "'"],
  ['\u201C', '"'], ['\u201D', '"'], ['\u2010', '-'], ['\u2011', '-'], ['\u2012', '-'], ['\u2013', '-'], ['\u2014', '-'], ['\u2212', '-'],
];

/**
 * Builds the confusables map: code point → replacement (lowercase Latin letters or ASCII punctuation).
 * Built once per {@link TextNormalizer}; about 200 entries.
 */
export function buildConfusables(): Map<number, string> {
  const map = new Map<number, string>();
  const chars = [...PAIRS];
  for (let i = 0; i + 1 < chars.length; i += 2) map.set(chars[i]!.codePointAt(0)!, chars[i + 1]!);
  for (const [from, to] of MULTI) map.set(from.codePointAt(0)!, to);
  for (const [from, to] of PUNCT) map.set(from.codePointAt(0)!, to);
  return map;
}
