// Speech to text on real recorded speech (Debian pocketsphinx-testdata: LibriVox clips with reference
// transcripts), keyword spotting, and the `warden transcribe` command.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PocketsphinxTranscriber, wordErrorRate } from '../analyzer/audio/index.ts';
import { runFfmpeg } from '../ingest/ffmpeg.ts';
import { synthesiseSpeech } from '../bin/demo-media.ts';
import { DEFAULT_POLICY_FILE, loadPolicySync } from '../rules/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = '/usr/share/pocketsphinx/test/data/librivox/';
const clip = (id: string) => path.join(dir, `sense_and_sensibility_01_austen_64kb-${id}.wav`);
const references = readFileSync(path.join(dir, 'transcription'), 'utf8').trim().split('\n').map((l) => {
  const m = /^<s> (.*) <\/s> \((.*)\)$/.exec(l)!;
  return { text: m[1]!, file: path.join(dir, `${m[2]}.wav`) };
});
const transcriber = new PocketsphinxTranscriber();
const watchList = loadPolicySync(DEFAULT_POLICY_FILE).speech.watchList.map((w) => ({ phrase: w.phrase, threshold: w.threshold }));

describe('transcription', () => {
  it('unit: word error rate is word-level edit distance over the reference length', () => {
    expect(wordErrorRate('a b c d', 'a b c d')).toBe(0);
    expect(wordErrorRate('a b c d', 'a x c')).toBe(0.5); // one substitution, one deletion
    expect(wordErrorRate('a b', 'a b c d')).toBe(1); // two insertions
  });

  it('transcribes the LibriVox reference clips under the measured word-error-rate floor', async () => {
    let errors = 0;
    let words = 0;
    for (const r of references) {
      const t = await transcriber.transcribe(r.file);
      expect(t.engine).toBe('pocketsphinx/en-us');
      expect(t.words.length).toBeGreaterThan(3);
      for (const w of t.words) {
        expect(w.end).toBeGreaterThan(w.start);
        expect(w.confidence).toBeGreaterThanOrEqual(0);
        expect(w.confidence).toBeLessThanOrEqual(1);
      }
      const n = r.text.split(' ').length;
      errors += wordErrorRate(r.text, t.text) * n;
      words += n;
    }
    // Measured 0.35 over these 71 words: PocketSphinx's generic en-us language model on 64 kbps LibriVox
    // readings of 1811 prose. The floor leaves room for run-to-run noise, not for a broken decoder (which
    // scores near 1.0).
    expect(errors / words).toBeLessThan(0.42);
  }, 120_000);

  it('spots a watch-list phrase that free decoding misses, with its time, and not phrases never said', async () => {
    const t = await transcriber.transcribe(clip('0880'), { keyphrases: [{ phrase: 'ill disposed' }, { phrase: 'send me money' }, { phrase: 'kill you' }] });
    expect(t.text).not.toContain('ill disposed'); // free decoding hears "illness closed"
    expect(t.keywords).toHaveLength(1);
    expect(t.keywords[0]).toMatchObject({ phrase: 'ill disposed' });
    expect(t.keywords[0]!.start).toBeGreaterThan(1.0);
    expect(t.keywords[0]!.end).toBeLessThan(2.5);
  }, 60_000);

  it('warden transcribe reads any format ffmpeg reads, prints JSON, and refuses a missing file', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'warden-asr-test-'));
    const m4a = path.join(tmp, 'clip.m4a');
    await runFfmpeg(['-hide_banner', '-loglevel', 'error', '-i', clip('0880'), '-c:a', 'aac', '-b:a', '64k', '-y', m4a]);
    const r = spawnSync(path.join(root, 'bin/warden'), ['transcribe', m4a, '--keyphrase', 'young man'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { text: string; words: unknown[]; keywords: { phrase: string }[]; engine: string };
    expect(out.text).toMatch(/young man/);
    expect(out.keywords.map((k) => k.phrase)).toContain('young man');
    const missing = spawnSync(path.join(root, 'bin/warden'), ['transcribe', path.join(tmp, 'nope.wav')], { encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('cannot read');
  }, 60_000);

  it('hears no watch-list phrase in plain speech (the LibriVox clips)', async () => {
    for (const r of references) {
      const t = await transcriber.transcribe(r.file, { keyphrases: watchList });
      expect(t.keywords, r.file).toEqual([]);
    }
  }, 120_000);

  it('warden transcribe listens for the policy watch-list by default: a phrase spoken between real sentences', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'warden-asr-test-'));
    const phrase = path.join(tmp, 'phrase.wav');
    await synthesiseSpeech('i will kill you', phrase);
    const list = path.join(tmp, 'list.txt');
    writeFileSync(list, [clip('0870'), phrase, clip('0880')].map((f) => `file '${f}'`).join('\n'));
    const mix = path.join(tmp, 'mix.wav');
    await runFfmpeg(['-hide_banner', '-loglevel', 'error', '-f', 'concat', '-safe', '0', '-i', list, '-c:a', 'pcm_s16le', '-y', mix]);
    const r = spawnSync(path.join(root, 'bin/warden'), ['transcribe', mix], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { keywords: { phrase: string; start: number; end: number; category?: string }[]; engineVersion: string };
    expect(out.engineVersion).toMatch(/^0\.8/); // Debian's pocketsphinx package version
    const hit = out.keywords.find((k) => k.phrase === 'i will kill you');
    expect(hit).toMatchObject({ category: 'threat' });
    expect(hit!.start).toBeGreaterThan(6.8); // the phrase starts after the 7.1 s sentence
    expect(hit!.end).toBeLessThan(9);
    expect(out.keywords.filter((k) => k !== hit)).toEqual([]);
    // --no-watch-list: only what is asked for
    const plain = JSON.parse(spawnSync(path.join(root, 'bin/warden'), ['transcribe', mix, '--no-watch-list'], { encoding: 'utf8' }).stdout) as { keywords: unknown[] };
    expect(plain.keywords).toEqual([]);
    // a keyphrase with a word the dictionary lacks could never be spotted: refused
    const unknown = spawnSync(path.join(root, 'bin/warden'), ['transcribe', mix, '--keyphrase', 'add me on zzqxgram'], { encoding: 'utf8' });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('zzqxgram');
  }, 60_000);
});
