/**
 * Speech to text with CMU PocketSphinx (Debian packages `pocketsphinx`, `pocketsphinx-en-us`; installed by
 * scripts/setup.sh): free decoding with word timings and confidences (`pocketsphinx_continuous -time yes`),
 * and keyword spotting for a watch-list of phrases (`-kws`), which catches short phrases free decoding misses.
 * Input is any file ffmpeg reads; it is converted to 16 kHz mono 16-bit PCM first, as the en-us model expects.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runFfmpeg } from '../../ingest/ffmpeg.ts';

/** One recognised word; times in seconds from the start of the file; confidence is the posterior in 0..1. */
export interface TranscriptWord { word: string; start: number; end: number; confidence: number }
/** A watch-list phrase spotted in the audio; times in seconds. */
export interface KeywordHit { phrase: string; start: number; end: number }
/** A transcript as `warden transcribe` prints it. */
export interface Transcript { text: string; words: TranscriptWord[]; keywords: KeywordHit[]; engine: string }
/** A phrase to spot, with its detection threshold (PocketSphinx kws: smaller = stricter; 1e-20 … 1e-5). */
export interface Keyphrase { phrase: string; threshold?: number }

/** A speech recogniser. Only PocketSphinx works offline here; a stronger engine can implement this later. */
export interface Transcriber {
  readonly engine: string;
  /** @throws Error naming the file when it cannot be read or decoded, or the engine when it is missing. */
  transcribe(file: string, opts?: { keyphrases?: Keyphrase[] }): Promise<Transcript>;
}

const NON_WORDS = /^(<s>|<\/s>|<sil>|\[[A-Z_]+\]|\+\+.*\+\+)$/;

/** Runs a command, collecting stdout. @throws Error with the stderr tail on a non-zero exit. */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { err = (err + s).slice(-4000); });
    child.once('error', (e) => reject((e as NodeJS.ErrnoException).code === 'ENOENT'
      ? new Error(`${cmd} is not installed (Debian package pocketsphinx; run scripts/setup.sh)`) : e));
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`))));
  });
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
    if (m && phrases.includes(m[1]!.trim())) hits.push({ phrase: m[1]!.trim(), start: Number(m[2]), end: Number(m[3]) });
  }
  return hits;
}

export class PocketsphinxTranscriber implements Transcriber {
  readonly engine = 'pocketsphinx/en-us';

  async transcribe(file: string, opts: { keyphrases?: Keyphrase[] } = {}): Promise<Transcript> {
    try {
      await access(file);
    } catch {
      throw new Error(`cannot read ${file}`);
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'warden-asr-'));
    try {
      const wav = path.join(dir, 'audio.wav');
      await runFfmpeg(['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', file, '-vn', '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', '-y', wav])
        .catch((err: Error) => { throw new Error(`cannot decode ${file} as audio: ${err.message}`); });
      const common = ['-infile', wav, '-time', 'yes', '-logfn', '/dev/null'];
      const phrases = (opts.keyphrases ?? []).map((k) => ({ phrase: k.phrase.toLowerCase().replace(/[^a-z' ]/g, ' ').replace(/\s+/g, ' ').trim(), threshold: k.threshold ?? 1e-20 })).filter((k) => k.phrase);
      let kws: Promise<KeywordHit[]> = Promise.resolve([]);
      if (phrases.length) {
        const list = path.join(dir, 'keyphrases.txt');
        await writeFile(list, phrases.map((k) => `${k.phrase} /${k.threshold.toExponential()}/`).join('\n') + '\n');
        kws = run('pocketsphinx_continuous', [...common, '-kws', list]).then((o) => parseKeywordHits(o, phrases.map((p) => p.phrase)));
      }
      const [words, keywords] = await Promise.all([run('pocketsphinx_continuous', common).then(parseTimedWords), kws]);
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
