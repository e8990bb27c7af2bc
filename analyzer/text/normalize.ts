/**
 * Text normalisation for matching, with an offset map back to the original string.
 *
 * Two views are produced from one input:
 * - `plain`: NFKC (per code point), zero-width characters, soft hyphens, variation selectors and zalgo
 *   combining marks removed, accents stripped, confusable letters folded to Latin (confusables.ts, after
 *   Unicode TR39), lowercase. Digits and punctuation are untouched: phone numbers, e-mail addresses, URLs,
 *   cashtags and ages are matched here.
 * - `text` (the normalised text): `plain` plus leetspeak resolved inside words that contain a letter
 *   (0→o 1→i/l 3→e 4→a 5→s 6→g 7→t @→a $→s !→i; a token of digits only, like a phone number or "14", is
 *   never touched, nor are ordinals and units like "8th", "3am", "10k"), letters spaced out or separated by
 *   punctuation joined ("f u c k", "f.u.c.k", "f-u-c-k" → "fuck"), and runs of one character cut to two
 *   ("fuuuuck" → "fuuck", digits excepted; rules then accept one or more of each letter, obscenity collapses further itself).
 *
 * Every UTF-16 unit of either view carries the original span it came from, so a match `[s, e)` in a view is
 * `[starts[s], ends[e - 1])` in the original text and covers every evasive character in between.
 */
import { buildConfusables } from './confusables.ts';

/** One normalised view and its offset map. Arrays may be views into a reused buffer (see {@link TextNormalizer}). */
export interface TextView {
  text: string;
  /** `starts[i]`: UTF-16 offset in the original text where unit `i` of `text` comes from (inclusive). */
  starts: Int32Array;
  /** `ends[i]`: UTF-16 offset in the original text where unit `i` of `text` ends (exclusive). */
  ends: Int32Array;
}

/** Both views of one input. */
export interface NormalizedText extends TextView {
  /** The digit-preserving view (no leetspeak, joining or repeat cutting). */
  plain: TextView;
}

/**
 * Maps a span `[start, end)` of a view back to the original text.
 * @returns `[start, end)` in UTF-16 offsets of the original; an empty span maps to an empty span at its position.
 */
export function toOriginalSpan(view: TextView, start: number, end: number): [number, number] {
  if (end <= start) {
    const at = start < view.starts.length ? view.starts[start]! : (view.ends.length ? view.ends[view.ends.length - 1]! : 0);
    return [at, at];
  }
  return [view.starts[start]!, view.ends[end - 1]!];
}

const isZeroWidth = (cp: number): boolean =>
  cp === 0xad || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2060 && cp <= 0x2064) || cp === 0xfeff ||
  cp === 0x34f || cp === 0x180e || cp === 0x61c || (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0x202a && cp <= 0x202e);

/** Combining marks used for zalgo and accents (diacritical marks blocks); other scripts' vowel signs are kept. */
const isCombiningMark = (cp: number): boolean =>
  (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x483 && cp <= 0x489) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
  (cp >= 0x1dc0 && cp <= 0x1dff) || (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe20 && cp <= 0xfe2f);

/** Suffixes after leading digits that make a token a number, not leetspeak ("8th", "3am", "10k", "24h", "15yo"). */
const NUMBER_SUFFIXES = new Set(['st', 'nd', 'rd', 'th', 's', 'k', 'm', 'b', 'x', 'am', 'pm', 'h', 'hr', 'hrs', 'min', 'mins', 'yo', 'yr', 'yrs', 'y', 'f', 'p', 'fps', 'gb', 'mb', 'kg', 'lb', 'lbs', 'cm', 'mm', 'km', 'ft', 'in', 'ish', 'd', 'v', 'v1']);

const LEET: Record<number, string> = { 48: 'o', 51: 'e', 52: 'a', 53: 's', 54: 'g', 55: 't', 64: 'a', 36: 's', 33: 'i' };
/** Separators allowed between spaced-out letters (1–3 of them, the same between every pair of letters). */
const JOIN_SEP = new Set([32, 46, 45, 95, 42, 44, 47, 124, 126, 43, 58, 9]);

// unit kinds
const OTHER = 0, LETTER = 1, DIGIT = 2, SYMBOL = 3;

/**
 * Reusable normaliser: owns growable scratch buffers and a memo of folded code points, so normalising a chat
 * message allocates little beyond the two output strings. Not reentrant: the arrays of a result are views into
 * the buffers and stay valid only until the next {@link TextNormalizer.normalize} call (copy them to keep them).
 */
export class TextNormalizer {
  private readonly confusables = buildConfusables();
  private readonly folded = new Map<number, string>();
  private readonly letterClass = new Uint8Array(65536); // 0 unknown, 1 letter, 2 not
  private pBuf = new Uint16Array(256);
  private pS = new Int32Array(256);
  private pE = new Int32Array(256);
  private nBuf = new Uint16Array(256);
  private nS = new Int32Array(256);
  private nE = new Int32Array(256);
  private kind = new Uint8Array(256);

  /**
   * Normalises `input` (any string; lone surrogates pass through unchanged).
   * @returns both views with their offset maps (see the module comment).
   */
  normalize(input: string): NormalizedText {
    const plainLen = this.fold(input);
    const nLen = this.rewrite(plainLen);
    return {
      text: decode(this.nBuf, nLen),
      starts: this.nS.subarray(0, nLen),
      ends: this.nE.subarray(0, nLen),
      plain: { text: decode(this.pBuf, plainLen), starts: this.pS.subarray(0, plainLen), ends: this.pE.subarray(0, plainLen) },
    };
  }

  /** Pass 1: NFKC, strip, fold confusables, lowercase into pBuf/pS/pE. Returns the length. */
  private fold(input: string): number {
    const n = input.length;
    this.ensurePlain(n * 2 + 8);
    let k = 0;
    for (let i = 0; i < n;) {
      const c = input.charCodeAt(i);
      if (c < 128) {
        if (k >= this.pBuf.length) this.ensurePlain(k * 2);
        this.pBuf[k] = c >= 65 && c <= 90 ? c + 32 : c;
        this.pS[k] = i;
        this.pE[k++] = ++i;
        continue;
      }
      const cp = input.codePointAt(i)!;
      const len = cp > 0xffff ? 2 : 1;
      if (isZeroWidth(cp)) { i += len; continue; }
      if (isCombiningMark(cp)) {
        if (k > 0) this.pE[k - 1] = i + len; // the mark belongs to the letter before it
        i += len;
        continue;
      }
      const out = this.foldCodePoint(cp);
      if (k + out.length >= this.pBuf.length) this.ensurePlain((k + out.length) * 2);
      for (let j = 0; j < out.length; j++) {
        this.pBuf[k] = out.charCodeAt(j);
        this.pS[k] = i;
        this.pE[k++] = i + len;
      }
      i += len;
    }
    return k;
  }

  /** NFKC, accents and marks dropped, lowercase, confusables; memoised per code point. */
  private foldCodePoint(cp: number): string {
    const hit = this.folded.get(cp);
    if (hit !== undefined) return hit;
    let out = this.confusables.get(cp);
    if (out === undefined) {
      out = '';
      for (const ch of String.fromCodePoint(cp).normalize('NFKC').normalize('NFD')) {
        const c = ch.codePointAt(0)!;
        if (isCombiningMark(c) || isZeroWidth(c)) continue;
        const lower = ch.toLowerCase();
        out += this.confusables.get(c) ?? this.confusables.get(lower.codePointAt(0)!) ?? lower;
      }
    }
    if (this.folded.size < 20_000) this.folded.set(cp, out);
    return out;
  }

  private isLetter(c: number): boolean {
    if (c < 128) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
    if (c >= 0xd800 && c <= 0xdfff) return false;
    let k = this.letterClass[c]!;
    if (k === 0) { k = /\p{L}/u.test(String.fromCharCode(c)) ? 1 : 2; this.letterClass[c] = k; }
    return k === 1;
  }

  /** Pass 2: leetspeak, joining, repeat cutting from pBuf into nBuf. Returns the length. */
  private rewrite(len: number): number {
    const p = this.pBuf;
    this.lastOut = -1;
    if (this.kind.length < len) this.kind = new Uint8Array(len * 2);
    const kind = this.kind;
    for (let i = 0; i < len; i++) {
      const c = p[i]!;
      kind[i] = (c >= 97 && c <= 122) || (c >= 128 && this.isLetter(c)) ? LETTER : c >= 48 && c <= 57 ? DIGIT : c === 64 || c === 36 || c === 33 ? SYMBOL : OTHER;
    }
    if (this.nBuf.length < len + 8) { this.nBuf = new Uint16Array(len * 2 + 8); this.nS = new Int32Array(len * 2 + 8); this.nE = new Int32Array(len * 2 + 8); }
    let k = 0;
    let i = 0;
    while (i < len) {
      if (kind[i] === OTHER) { k = this.emit(k, p[i]!, i); i++; continue; }
      // a spaced-out run: single-unit tokens separated by 1–3 separator units, at least 3 tokens and 2 letters
      const run = this.spacedRun(i, len);
      if (run > 0) {
        for (let j = i; j < run; j++) if (kind[j] !== OTHER) k = this.emit(k, this.leet(j, true, len), j);
        i = run;
        continue;
      }
      let e = i;
      let letters = 0, digitsLead = 0;
      while (e < len && kind[e] !== OTHER) { if (kind[e] === LETTER) letters++; e++; }
      while (digitsLead < e - i && kind[i + digitsLead] === DIGIT) digitsLead++;
      let leet = letters > 0;
      if (leet && digitsLead > 0 && digitsLead + letters === e - i) leet = !NUMBER_SUFFIXES.has(decode(p, e, i + digitsLead));
      for (let j = i; j < e; j++) k = this.emit(k, leet ? this.leet(j, false, e) : p[j]!, j);
      i = e;
    }
    return k;
  }

  /** The end (exclusive) of a spaced-out letter run starting at `i`, or 0 when there is none. */
  private spacedRun(i: number, len: number): number {
    const kind = this.kind, p = this.pBuf;
    let tokens = 0, letters = 0, j = i, end = 0, sep = -1, sepLen = 0;
    while (j < len && kind[j] !== OTHER && (j + 1 >= len || kind[j + 1] === OTHER)) {
      tokens++;
      if (kind[j] === LETTER) letters++;
      end = j + 1;
      let g = j + 1;
      while (g < len && g - j <= 3 && kind[g] === OTHER && JOIN_SEP.has(p[g]!)) g++;
      if (g === j + 1 || g >= len || kind[g] === OTHER) break;
      // every gap of a run is the same separator ("f.u.c.k", "f - u - c - k"), so "i.e. a b" is not a run
      if (sep < 0) { sep = j + 1; sepLen = g - j - 1; } else if (!sameUnits(p, sep, j + 1, sepLen, g - j - 1)) break;
      j = g;
    }
    return tokens >= 3 && letters >= 2 ? end : 0;
  }

  /** The leetspeak reading of unit `j` (inside a word with a letter; `end` bounds the word). */
  private leet(j: number, inRun: boolean, end: number): number {
    const c = this.pBuf[j]!;
    if (c === 49) { // 1 → l after i/l, else i
      const prev = this.lastOut;
      return prev === 105 || prev === 108 ? 108 : 105;
    }
    const m = LEET[c];
    if (m === undefined) return c;
    if (c === 64 && !inRun && (j === 0 || this.kind[j - 1] === OTHER)) return c; // "@name" stays a handle
    if (c === 33 && !inRun && (j + 1 >= end || this.kind[j + 1] !== LETTER)) return c; // "wow!" is not "wowi"
    return m.charCodeAt(0);
  }

  private lastOut = -1;

  /** Appends `c` (from plain unit `j`) to the normalised buffer, cutting runs of one character (not digits) to two. */
  private emit(k: number, c: number, j: number): number {
    if (k >= 2 && this.nBuf[k - 1] === c && this.nBuf[k - 2] === c && (c < 48 || c > 57)) {
      this.nE[k - 1] = this.pE[j]!;
      return k;
    }
    if (k >= this.nBuf.length) this.growNormalized(k * 2);
    this.nBuf[k] = c;
    this.nS[k] = this.pS[j]!;
    this.nE[k] = this.pE[j]!;
    this.lastOut = c;
    return k + 1;
  }

  private ensurePlain(size: number): void {
    if (this.pBuf.length >= size) return;
    const b = new Uint16Array(size); b.set(this.pBuf); this.pBuf = b;
    const s = new Int32Array(size); s.set(this.pS); this.pS = s;
    const e = new Int32Array(size); e.set(this.pE); this.pE = e;
  }

  private growNormalized(size: number): void {
    const b = new Uint16Array(size); b.set(this.nBuf); this.nBuf = b;
    const s = new Int32Array(size); s.set(this.nS); this.nS = s;
    const e = new Int32Array(size); e.set(this.nE); this.nE = e;
  }
}

/** Whether units `[a, a+la)` and `[b, b+lb)` of `buf` are equal. */
function sameUnits(buf: Uint16Array, a: number, b: number, la: number, lb: number): boolean {
  if (la !== lb) return false;
  for (let i = 0; i < la; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

/** Decodes UTF-16 units `[from, to)` of `buf` into a string, in chunks (no argument-count limit). */
function decode(buf: Uint16Array, to: number, from = 0): string {
  if (to - from <= 4096) return String.fromCharCode.apply(null, buf.subarray(from, to) as unknown as number[]);
  let s = '';
  for (let i = from; i < to; i += 4096) s += String.fromCharCode.apply(null, buf.subarray(i, Math.min(to, i + 4096)) as unknown as number[]);
  return s;
}

/**
 * Normalises one text with a fresh {@link TextNormalizer} and copies the result (safe to keep).
 * For hot paths keep a `TextNormalizer` (the {@link TextAnalyzer} does).
 */
export function normalize(input: string): NormalizedText {
  const r = new TextNormalizer().normalize(input);
  return { text: r.text, starts: r.starts.slice(), ends: r.ends.slice(), plain: { text: r.plain.text, starts: r.plain.starts.slice(), ends: r.plain.ends.slice() } };
}
