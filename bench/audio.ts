/**
 * Transcription: real-time factor (seconds of decoding per second of audio, one decode at a time — PocketSphinx
 * is single-threaded, so this is one core's cost), live audio streams one core keeps up with (1 / RTF), and
 * the word error rate on the LibriVox reference clips (Debian pocketsphinx-testdata). Runnable alone.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PocketsphinxTranscriber, wordErrorRate } from '../analyzer/audio/index.ts';

const DIR = '/usr/share/pocketsphinx/test/data/librivox/';

/** Seconds of audio in a PCM WAV file (RIFF header: byte rate at 28, then the `data` chunk's size). */
function wavSeconds(file: string): number {
  const b = readFileSync(file);
  const byteRate = b.readUInt32LE(28);
  let off = 12;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'data') return size / byteRate;
    off += 8 + size + (size % 2);
  }
  throw new Error(`no data chunk in ${file}`);
}

export interface AudioBenchResult { audioSeconds: number; decodeSeconds: number; realTimeFactor: number; streamsPerCore: number; wer: number; words: number }

export async function benchAudio(print: (l: string) => void = console.log): Promise<AudioBenchResult> {
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
    audio += wavSeconds(r.file);
    const n = r.text.split(' ').length;
    errors += wordErrorRate(r.text, out.text) * n;
    words += n;
  }
  const rtf = decode / audio;
  const result = { audioSeconds: round(audio), decodeSeconds: round(decode), realTimeFactor: round(rtf), streamsPerCore: round(1 / rtf), wer: round(errors / words), words };
  print(`audio  ${result.audioSeconds} s of LibriVox speech decoded in ${result.decodeSeconds} s: real-time factor ${result.realTimeFactor} (≈ ${result.streamsPerCore} live streams per core)`);
  print(`audio  word error rate ${(result.wer * 100).toFixed(1)}% over ${words} reference words (${t.engine})`);
  return result;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  benchAudio().then((r) => console.log(JSON.stringify(r)), (e: unknown) => { console.error(e); process.exitCode = 1; });
}
