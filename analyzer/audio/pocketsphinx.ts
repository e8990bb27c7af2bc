/**
 * Speech to text with CMU PocketSphinx (Debian packages `pocketsphinx`, `pocketsphinx-en-us`; installed by
 * scripts/setup.sh): free decoding with word timings and confidences (`pocketsphinx_continuous -time yes`),
 * and keyword spotting for a watch-list of phrases (`-kws`), which catches short phrases free decoding misses.
 * Input is any file ffmpeg reads; anything but a 16 kHz mono 16-bit PCM WAV (what the en-us model expects,
 * and what the tap writes) is converted first.
 *
 * Keyword-search tuning (measured here, 2026-11-22, pocketsphinx 0.8+5prealpha): five watch-list phrases
 * synthesised with espeak-ng (en-us voice, 130–160 words/min) between LibriVox sentences. With the default
 * phone-loop probability (`-kws_plp 1e-1`) no threshold spotted more than 2 of 5; `-kws_plp 1e-9` with
 * `-kws_threshold 1e-10` spotted 5 of 5 at each rate with no false alarm on the LibriVox speech, and lower
 * thresholds (1e-20) added false alarms. Other espeak voices fare worse (en-us+m3: 3 of 5; en: 2 of 5).
 */
import { execFile } from 'node:child_process';
import { access, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runFfmpeg } from '../../ingest/ffmpeg.ts';
import { readWavInfo } from './wav.ts';
import { IN_PROCESS, type CommandRunner } from '../../core/commands.ts';
import { phoneticHits, phrasePhones, type PhoneticPhrase, type Pronunciations } from './phonetic.ts';

/** Phone-loop probability for keyword search (see the module docs for how it was chosen). */
export const KWS_PLP = 1e-9;
/** Default keyword-search detection threshold per phrase (see the module docs). */
export const KWS_THRESHOLD = 1e-10;
/**
 * Shortest plausible time per phone of a spotted phrase, in seconds: 20 phones a second is faster than even
 * fast conversational speech (roughly 12–16 phones/s; Kuwabara 1996, "Acoustic and perceptual properties of
 * phonemes in continuous speech as a function of speaking rate"). Keyword search at the permissive settings
 * above sometimes "hears" a long phrase squeezed into a fraction of a second of unrelated speech (measured on
 * the LibriVox clips: "i will kill you" in 0.42 s, 47 ms a phone); such hits are dropped. Genuine hits in the
 * espeak-ng tests ran 71–112 ms a phone.
 */
export const MIN_PHONE_S = 0.05;
/** The en-us pronunciation dictionary Debian's pocketsphinx-en-us installs (keyphrase words must be in it). */
export const EN_US_DICTIONARY = '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict';

/** One recognised word; times in seconds from the start of the file; confidence is the posterior in 0..1. */
export interface TranscriptWord { word: string; start: number; end: number; confidence: number }
/** A watch-list phrase spotted in the audio; times in seconds. */
export interface KeywordHit {
  phrase: string; start: number; end: number;
  /** How it was found: keyword search on the audio, or phonetic search over the free-decoding words. */
  method: 'kws' | 'phonetic';
}
/** A transcript as `warden transcribe` prints it. */
export interface Transcript { text: string; words: TranscriptWord[]; keywords: KeywordHit[]; engine: string }
/**
 * A phrase to spot, with its detection threshold (PocketSphinx `-kws_threshold`: smaller spots more, and more
 * falsely; default {@link KWS_THRESHOLD}).
 */
export interface Keyphrase { phrase: string; threshold?: number }

/**
 * A speech recogniser. Only PocketSphinx works offline here; a stronger engine (whisper.cpp, Vosk, a cloud
 * API) can implement this later and be configured instead.
 */
export interface Transcriber {
  /** Engine and model, e.g. `pocketsphinx/en-us`. */
  readonly engine: string;
  /** The language of the model (BCP 47-ish, e.g. `en-us`). */
  readonly language: string;
  /** The installed engine's version, e.g. the Debian package version; `unknown` when it cannot be told. */
  version(): Promise<string>;
  /** Keyphrase words the engine cannot spot (not in its dictionary); such phrases would never be found. */
  unknownWords(phrases: readonly string[]): Promise<string[]>;
  /** @throws Error naming the file when it cannot be read or decoded, or the engine when it is missing. */
  transcribe(file: string, opts?: { keyphrases?: Keyphrase[] }): Promise<Transcript>;
}

const NON_WORDS = /^(<s>|<\/s>|<sil>|\[[A-Z_]+\]|\+\+.*\+\+)$/;

/** Runs a command with `runner`, collecting stdout. @throws Error with the stderr tail on a non-zero exit. */
async function run(runner: CommandRunner, cmd: string, args: string[], nice = 0): Promise<string> {
  const r = await runner.run(cmd, args, { nice }).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'ENOENT' ? new Error(`${cmd} is not installed (Debian package pocketsphinx; run scripts/setup.sh)`) : e;
  });
  if (r.code !== 0) throw new Error(`${cmd} exited with ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  return r.stdout;
}


/** Parses `-time yes` output: per utterance, a text line then `word start end confidence` lines. */
export function parseTimedWords(output: string): TranscriptWord[] {
  const words: TranscriptWord[] = [];
  for (const line of output.split('\n')) {
    const m = /^(\S+) (\d+\.\d+) (\d+\.\d+) (\d+(?:\.\d+)?)$/.exec(line.trim());
    if (!m || NON_WORDS.test(m[1]!)) continue;
    words.push({ word: m[1]!.replace(/\(\d+\)$/, ''), start: Number(m[2]), end: Number(m[3]), confidence: Number(m[4]) });
  }
  return words;
}

/** Parses `-kws … -time yes` output: `phrase start end confidence` lines. */
export function parseKeywordHits(output: string, phrases: readonly string[]): KeywordHit[] {
  const hits: KeywordHit[] = [];
  for (const line of output.split('\n')) {
    const m = /^(.+?)\s+(\d+\.\d+) (\d+\.\d+) (\d+(?:\.\d+)?)$/.exec(line.trim());
    if (m && phrases.includes(m[1]!.trim())) hits.push({ phrase: m[1]!.trim(), start: Number(m[2]), end: Number(m[3]), method: 'kws' });
  }
  return hits;
}

/** Lowercase, letters and apostrophes only, single spaces: how PocketSphinx's dictionary spells a phrase. */
export function normalisePhrase(phrase: string): string {
  return phrase.toLowerCase().replace(/[^a-z' ]/g, ' ').replace(/\s+/g, ' ').trim();
}

/** Whether `file` is already what the en-us model takes: a 16 kHz mono 16-bit PCM WAV. */
async function isModelWav(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const info = readWavInfo(head.subarray(0, bytesRead), { partial: true });
    return info.sampleRate === 16000 && info.channels === 1 && info.bitsPerSample === 16;
  } catch {
    return false;
  } finally {
    await fh.close();
  }
}

/**
 * PocketSphinx through `pocketsphinx_continuous` (one process per pass: free decoding, and keyword search
 * when there are keyphrases, run in parallel). Stateless apart from caches; safe to share.
 */
export class PocketsphinxTranscriber implements Transcriber {
  readonly engine = 'pocketsphinx/en-us';
  readonly language = 'en-us';
  private versionP: Promise<string> | undefined;
  private dictionary: Promise<Map<string, string>> | undefined;

  /**
   * @param opts.nice niceness of the PocketSphinx processes (0–19; default 0).
   * @param opts.runner what starts them (default: this process; a serving process passes a SpawnHelper, core/commands.ts).
   */
  constructor(private readonly opts: { dictionaryFile?: string; nice?: number; runner?: CommandRunner } = {}) {}

  version(): Promise<string> {
    this.versionP ??= new Promise((resolve) => {
      execFile('dpkg-query', ['-W', '-f', '${Version}', 'pocketsphinx'], (err, out) => resolve(err || !out.trim() ? 'unknown' : out.trim()));
    });
    return this.versionP;
  }

  /** The pronunciation dictionary: word → phones of its first pronunciation (loaded once, ~135k words). */
  pronunciations(): Promise<Pronunciations> {
    this.dictionary ??= readFile(this.opts.dictionaryFile ?? EN_US_DICTIONARY, 'utf8').then((text) => {
      const words = new Map<string, string>();
      for (const line of text.split('\n')) {
        const space = line.indexOf(' ');
        if (space <= 0 || /\(\d+\)$/.test(line.slice(0, space))) continue; // variants: the first one stands
        words.set(line.slice(0, space), line.slice(space + 1).trim());
      }
      return words;
    });
    return this.dictionary;
  }

  async unknownWords(phrases: readonly string[]): Promise<string[]> {
    const dict = await this.pronunciations();
    const unknown = new Set<string>();
    for (const p of phrases) for (const w of normalisePhrase(p).split(' ')) if (w && !dict.has(w)) unknown.add(w);
    return [...unknown];
  }

  async transcribe(file: string, opts: { keyphrases?: Keyphrase[] } = {}): Promise<Transcript> {
    try {
      await access(file);
    } catch {
      throw new Error(`cannot read ${file}`);
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'warden-asr-'));
    try {
      let wav = file;
      if (!(await isModelWav(file))) {
        wav = path.join(dir, 'audio.wav');
        await runFfmpeg(['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', file, '-vn', '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', '-y', wav])
          .catch((err: Error) => { throw new Error(`cannot decode ${file} as audio: ${err.message}`); });
      }
      const common = ['-infile', wav, '-time', 'yes', '-logfn', '/dev/null'];
      const phrases = (opts.keyphrases ?? []).map((k) => ({ phrase: normalisePhrase(k.phrase), threshold: k.threshold ?? KWS_THRESHOLD })).filter((k) => k.phrase);
      const dict = await this.pronunciations();
      const searchable: PhoneticPhrase[] = [];
      for (const k of phrases) {
        const phones = phrasePhones(k.phrase, dict);
        if (phones) searchable.push({ phrase: k.phrase, phones });
      }
      let kws: Promise<KeywordHit[]> = Promise.resolve([]);
      if (phrases.length) {
        const list = path.join(dir, 'keyphrases.txt');
        await writeFile(list, phrases.map((k) => `${k.phrase} /${k.threshold.toExponential()}/`).join('\n') + '\n');
        const minS = new Map(searchable.map((p) => [p.phrase, MIN_PHONE_S * p.phones.length]));
        kws = run(this.opts.runner ?? IN_PROCESS, 'pocketsphinx_continuous', [...common, '-kws', list, '-kws_plp', String(KWS_PLP)], this.opts.nice)
          .then((o) => parseKeywordHits(o, phrases.map((p) => p.phrase)).filter((h) => h.end - h.start >= (minS.get(h.phrase) ?? 0)));
      }
      const [words, spotted] = await Promise.all([run(this.opts.runner ?? IN_PROCESS, 'pocketsphinx_continuous', common, this.opts.nice).then(parseTimedWords), kws]);
      // phonetic search adds what keyword search missed (a phrase it found over the same time is not repeated)
      const keywords = [...spotted];
      for (const h of phoneticHits(words, searchable, dict)) {
        if (!spotted.some((k) => k.phrase === h.phrase && k.start < h.end && h.start < k.end)) keywords.push(h);
      }
      keywords.sort((a, b) => a.start - b.start);
      return { text: words.map((w) => w.word).join(' '), words, keywords, engine: this.engine };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** Word error rate: word-level Levenshtein distance / reference length (the standard ASR measure). */
export function wordErrorRate(reference: string, hypothesis: string): number {
  const r = reference.toLowerCase().split(/\s+/).filter(Boolean);
  const h = hypothesis.toLowerCase().split(/\s+/).filter(Boolean);
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (r[i - 1] === h[j - 1] ? 0 : 1));
    prev = cur;
  }
  return r.length ? prev[h.length]! / r.length : 0;
}
