/**
 * Transcription: real-time factor (seconds of decoding per second of audio, one decode at a time — PocketSphinx
 * is single-threaded, so this is one core's cost), live audio streams one core keeps up with (1 / RTF), and
 * the word error rate on the LibriVox reference clips (Debian pocketsphinx-testdata). Runnable alone.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { PocketsphinxTranscriber, wordErrorRate } from '../analyzer/audio/index.ts';
import { readWavInfo } from '../analyzer/audio/index.ts';
import { runFfmpeg } from '../ingest/ffmpeg.ts';
import { synthesiseSpeech } from '../bin/demo-media.ts';
import { DEFAULT_POLICY_FILE, loadPolicy } from '../rules/index.ts';

const DIR = '/usr/share/pocketsphinx/test/data/librivox/';

export interface AudioBenchResult {
  audioSeconds: number; decodeSeconds: number; realTimeFactor: number; streamsPerCore: number; wer: number; words: number;
  /** Watch-list phrases spotted / said, when spoken by espeak-ng between LibriVox sentences (null: not measured). */
  keywordRecall: number | null;
  /** Watch-list hits where no phrase was said, per minute of speech (mixes and plain LibriVox; null: not measured). */
  keywordFalseAlarmsPerMin: number | null;
}

/**
 * Decodes the LibriVox reference clips (real-time factor, WER), then, unless `opts.keywords` is false (the bench's
 * --quick), measures keyword spotting on the watch-list.
 */
export async function benchAudio(print: (l: string) => void = console.log, opts: { keywords?: boolean } = {}): Promise<AudioBenchResult> {
  const refs = readFileSync(path.join(DIR, 'transcription'), 'utf8').trim().split('\n').map((l) => {
    const m = /^<s> (.*) <\/s> \((.*)\)$/.exec(l)!;
    return { text: m[1]!, file: path.join(DIR, `${m[2]}.wav`) };
  });
  const t = new PocketsphinxTranscriber();
  let audio = 0;
  let decode = 0;
  let errors = 0;
  let words = 0;
  for (const r of refs) {
    const t0 = performance.now();
    const out = await t.transcribe(r.file);
    decode += (performance.now() - t0) / 1000;
    audio += readWavInfo(readFileSync(r.file)).durationS;
    const n = r.text.split(' ').length;
    errors += wordErrorRate(r.text, out.text) * n;
    words += n;
  }
  const rtf = decode / audio;
  const kws = opts.keywords === false ? null : await benchKeywords(t, refs.map((r) => r.file));
  const result: AudioBenchResult = {
    audioSeconds: round(audio), decodeSeconds: round(decode), realTimeFactor: round(rtf), streamsPerCore: round(1 / rtf), wer: round(errors / words), words,
    keywordRecall: kws ? round(kws.spotted / kws.said) : null, keywordFalseAlarmsPerMin: kws ? round(kws.falseAlarms / (kws.speechS / 60)) : null,
  };
  print(`audio  ${result.audioSeconds} s of LibriVox speech decoded in ${result.decodeSeconds} s: real-time factor ${result.realTimeFactor} (≈ ${result.streamsPerCore} live streams per core; live chunks overlap 2 s in 10, so ≈ ${round(0.8 / rtf)} with the tap's defaults)`);
  print(`audio  word error rate ${(result.wer * 100).toFixed(1)}% over ${words} reference words (${t.engine})`);
  if (kws) print(`audio  keyword spotting: ${kws.spotted}/${kws.said} watch-list phrases spotted (espeak-ng between LibriVox sentences; keyword search + phonetic search)${kws.missed.length ? `, missed: ${kws.missed.join('; ')}` : ''}; ${kws.falseAlarms} false alarms in ${round(kws.speechS)} s of speech${kws.falseAlarmPhrases.length ? ` (${kws.falseAlarmPhrases.join('; ')})` : ''}; keyword search (beside decoding, in parallel) adds ${round(kws.rtf)} s of wall time per s of audio`);
  return result;
}

/**
 * Keyword spotting on the default policy's watch-list: each phrase, synthesised by espeak-ng, between two
 * LibriVox sentences, searched for with the whole list; and the LibriVox sentences alone. A hit overlapping
 * the phrase counts as spotted; a hit where no phrase was said is a false alarm. Both keyword search and the
 * phonetic search over the decoded words count (as the live pipeline uses both).
 */
async function benchKeywords(t: PocketsphinxTranscriber, clips: string[]): Promise<{ said: number; spotted: number; missed: string[]; falseAlarms: number; falseAlarmPhrases: string[]; speechS: number; rtf: number }> {
  const watchList = (await loadPolicy(DEFAULT_POLICY_FILE)).speech.watchList;
  const keyphrases = watchList.map((w) => ({ phrase: w.phrase, threshold: w.threshold }));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'warden-bench-kws-'));
  let spotted = 0;
  let falseAlarms = 0;
  let speechS = 0;
  let kwsS = 0;
  const missed: string[] = [];
  const falseAlarmPhrases: string[] = [];
  try {
    const cases: { file: string; phrase?: string; from?: number; to?: number }[] = [];
    for (const [i, w] of watchList.entries()) {
      const phraseWav = path.join(dir, `phrase-${i}.wav`);
      await synthesiseSpeech(w.phrase, phraseWav);
      const before = clips[i % clips.length]!;
      const after = clips[(i + 1) % clips.length]!;
      const from = readWavInfo(readFileSync(before)).durationS;
      const to = from + readWavInfo(readFileSync(phraseWav)).durationS;
      const list = path.join(dir, `mix-${i}.txt`);
      await writeFile(list, [before, phraseWav, after].map((f) => `file '${f}'`).join('\n'));
      const mix = path.join(dir, `mix-${i}.wav`);
      await runFfmpeg(['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-c:a', 'pcm_s16le', mix]);
      cases.push({ file: mix, phrase: w.phrase, from, to });
    }
    const plain = path.join(dir, 'librivox.wav');
    await writeFile(path.join(dir, 'plain.txt'), clips.map((f) => `file '${f}'`).join('\n'));
    await runFfmpeg(['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'concat', '-safe', '0', '-i', path.join(dir, 'plain.txt'), '-c:a', 'pcm_s16le', plain]);
    cases.push({ file: plain });
    for (const c of cases) {
      const t0 = performance.now();
      const out = await t.transcribe(c.file, { keyphrases });
      kwsS += (performance.now() - t0) / 1000;
      const length = readWavInfo(readFileSync(c.file)).durationS;
      speechS += length - (c.to !== undefined ? c.to - c.from! : 0);
      let found = false;
      for (const k of out.keywords) {
        const during = c.phrase !== undefined && k.end > c.from! && k.start < c.to!;
        if (during && k.phrase === c.phrase) found = true;
        else if (!during) { falseAlarms++; falseAlarmPhrases.push(`"${k.phrase}" at ${k.start}s (${k.method})`); }
        // a different phrase heard while one was said ("fifteen" for "fourteen") is a confusion, not a false alarm
      }
      if (c.phrase !== undefined) (found ? spotted++ : missed.push(c.phrase));
    }
    // keyword search runs beside free decoding: its extra cost is the wall time over free decoding alone
    let freeS = 0;
    for (const c of cases) {
      const t0 = performance.now();
      await t.transcribe(c.file);
      freeS += (performance.now() - t0) / 1000;
    }
    const total = cases.reduce((n, c) => n + readWavInfo(readFileSync(c.file)).durationS, 0);
    return { said: watchList.length, spotted, missed, falseAlarms, falseAlarmPhrases, speechS, rtf: Math.max(0, kwsS - freeS) / total };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  benchAudio().then((r) => console.log(JSON.stringify(r)), (e: unknown) => { console.error(e); process.exitCode = 1; });
}
