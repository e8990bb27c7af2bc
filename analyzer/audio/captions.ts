/**
 * Live captions from the audio chunks' transcripts, as WebVTT (W3C, "WebVTT: The Web Video Text Tracks
 * Format"). Chunks overlap, so each word is captioned once, by the chunk that heard it whole (the same
 * ownership rule as speech findings: the earlier chunk owns the first half of an overlap). Words are grouped
 * into cues of at most two lines of 42 characters and six seconds, the line length broadcasters' subtitle
 * guidelines use (BBC Subtitle Guidelines; Netflix Timed Text Style Guide). Pure.
 */
import type { TranscriptWord } from './pocketsphinx.ts';

/** One transcribed audio chunk: when it started (wall clock), how long it is, how much repeats the previous one. */
export interface CaptionChunk {
  seq: number;
  startedAt: Date;
  durationMs: number;
  overlapMs: number;
  /** Times in seconds from the chunk's start. */
  words: TranscriptWord[];
}

/** A caption cue; times in seconds from the broadcast's start; text lines joined by `\n`. */
export interface CaptionCue { start: number; end: number; text: string }

/** Cue layout. */
export interface CaptionOptions {
  /** Characters per line (default 42). */
  maxChars?: number;
  /** Lines per cue (default 2). */
  maxLines?: number;
  /** Longest cue in seconds (default 6). */
  maxCueS?: number;
  /** A pause at least this long (seconds) starts a new cue (default 0.8). */
  gapS?: number;
  /** Shortest time a cue is shown (seconds), extended into the pause after it, never over the next cue (default 0.7). */
  minCueS?: number;
}

/** Recogniser tokens that are not words: sentence marks, silence, noise. */
const FILLER = /^(<.*>|\[.*\]|\+\+.*\+\+)$/;

/** A chunk's first word equal to the previous chunk's last, starting within this many seconds of its end, is the same word. */
const REPEAT_S = 0.3;

/**
 * Shortest time a word occupies (seconds). Words pulled forward to keep the output monotone (chunk start
 * times jitter) would otherwise have no duration, and a cue made of them none either.
 */
const MIN_WORD_S = 0.01;

interface TimedWord { word: string; start: number; end: number }

/** The words each chunk owns, in broadcast time (seconds from `broadcastStart`), ordered and monotone. */
function ownedWords(chunks: readonly CaptionChunk[], broadcastStart: Date): TimedWord[] {
  const sorted = [...chunks].sort((a, b) => a.seq - b.seq);
  const out: TimedWord[] = [];
  let last = 0;
  for (let k = 0; k < sorted.length; k++) {
    const c = sorted[k]!;
    const next = sorted[k + 1];
    const from = c.overlapMs / 2000;
    const until = next && next.seq === c.seq + 1 && next.overlapMs > 0 ? (c.durationMs - next.overlapMs / 2) / 1000 : Infinity;
    const offset = (c.startedAt.getTime() - broadcastStart.getTime()) / 1000;
    const firstOfChunk = out.length;
    for (const w of c.words) {
      const mid = (w.start + w.end) / 2;
      if (mid < from || mid >= until) continue;
      const word = w.word.replace(/\(\d+\)$/, '');
      if (!word || FILLER.test(word)) continue;
      // chunk start times are wall clock and may jitter: keep the output moving forward
      // both chunks may own one word when their timings differ a little at the ownership line: said once
      const prev = out[out.length - 1];
      if (out.length === firstOfChunk && prev && prev.word === word && offset + w.start < prev.end + REPEAT_S) continue;
      const start = Math.max(0, last, offset + w.start);
      const end = Math.max(start + MIN_WORD_S, offset + w.end);
      out.push({ word, start, end });
      last = end;
    }
  }
  return out;
}

/** Wraps words into lines of at most `maxChars` (a longer word gets a line of its own). */
function wrap(words: readonly string[], maxChars: number): string[] {
  const lines: string[] = [];
  for (const w of words) {
    const cur = lines[lines.length - 1];
    if (cur !== undefined && cur.length + 1 + w.length <= maxChars) lines[lines.length - 1] = `${cur} ${w}`;
    else lines.push(w);
  }
  return lines;
}

/**
 * Caption cues for a broadcast from its transcribed chunks (any order; gaps allowed), ordered by start and
 * never overlapping. A new cue starts at a pause of `gapS`, when the cue would run past `maxCueS`, or when its
 * text would not fit in `maxLines` lines of `maxChars`.
 */
export function captionCues(chunks: readonly CaptionChunk[], broadcastStart: Date, opts: CaptionOptions = {}): CaptionCue[] {
  const maxChars = opts.maxChars ?? 42;
  const maxLines = opts.maxLines ?? 2;
  const maxCueS = opts.maxCueS ?? 6;
  const gapS = opts.gapS ?? 0.8;
  const minCueS = opts.minCueS ?? 0.7;
  const cues: CaptionCue[] = [];
  let words: string[] = [];
  let start = 0;
  let end = 0;
  const close = (): void => {
    if (words.length) cues.push({ start, end, text: wrap(words, maxChars).join('\n') });
    words = [];
  };
  for (const w of ownedWords(chunks, broadcastStart)) {
    const fits = words.length > 0 && wrap([...words, w.word], maxChars).length <= maxLines;
    if (!fits || w.start - end >= gapS || w.end - start > maxCueS) {
      close();
      start = w.start;
    }
    words.push(w.word);
    end = w.end;
  }
  close();
  for (let i = 0; i < cues.length; i++) {
    const c = cues[i]!;
    const limit = cues[i + 1]?.start ?? Infinity;
    if (c.end - c.start < minCueS) c.end = Math.min(c.start + minCueS, limit);
    c.end = Math.min(Math.max(c.end, c.start + 0.001), limit);
  }
  return cues;
}

/** The cues still showing or yet to come at `fromS` (those ending after it). */
export function cuesSince(cues: readonly CaptionCue[], fromS: number): CaptionCue[] {
  return cues.filter((c) => c.end > fromS);
}

/** `HH:MM:SS.mmm` (hours at least two digits). */
function timestamp(s: number): string {
  const ms = Math.max(0, Math.round(s * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const sec = Math.floor(ms / 1000) % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`;
}

/**
 * A WebVTT file: the `WEBVTT` header, then one block per cue. Text is escaped (`&`, `<`, `>`) so it cannot
 * carry markup or the `-->` separator, and blank lines (which would end a cue; CR, LF and CRLF all end a line
 * in WebVTT) are dropped; a cue left with no text is left out.
 */
export function formatWebVtt(cues: readonly CaptionCue[]): string {
  let out = 'WEBVTT\n\n';
  for (const c of cues) {
    const text = c.text.split(/\r\n|\r|\n/).map((l) => l.trim()).filter(Boolean).join('\n')
      .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    if (!text) continue;
    out += `${timestamp(c.start)} --> ${timestamp(c.end)}\n${text}\n\n`;
  }
  return out;
}
