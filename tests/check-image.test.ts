/**
 * check-image and the frame classifier on the six real photos shipped with @vladmandic/face-api.
 * Runs the function always, and the CLI as a subprocess once bin/warden.ts has a check-image command.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheckImage } from '../analyzer/check-image.ts';
import { createFrameClassifier, NSFW_LABELS, type FrameClassifier, type FrameResult, type NsfwScores } from '../analyzer/frame-model.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const photos = [1, 2, 3, 4, 5, 6].map((i) => path.join(root, `node_modules/@vladmandic/face-api/demo/sample${i}.jpg`));
const cli = path.join(root, 'bin/warden.ts');
const cliHasCheckImage = existsSync(cli) && readFileSync(cli, 'utf8').includes('check-image');

let classifier: FrameClassifier;
let tmp: string;
let missing: string;
let corrupt: string;

beforeAll(async () => {
  classifier = await createFrameClassifier({ backend: 'auto' });
  tmp = await mkdtemp(path.join(os.tmpdir(), 'warden-check-image-'));
  missing = path.join(tmp, 'does-not-exist.jpg');
  corrupt = path.join(tmp, 'truncated.jpg');
  const jpeg = readFileSync(photos[0]!);
  await writeFile(corrupt, jpeg.subarray(0, Math.floor(jpeg.length / 3))); // valid header, cut mid-scan
});

afterAll(async () => {
  classifier?.dispose();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function expectDistribution(s: NsfwScores): void {
  expect(Object.keys(s).sort()).toEqual([...NSFW_LABELS].sort());
  for (const label of NSFW_LABELS) {
    expect(s[label]).toBeGreaterThanOrEqual(0);
    expect(s[label]).toBeLessThanOrEqual(1);
  }
  const sum = NSFW_LABELS.reduce((a, l) => a + s[l], 0);
  expect(Math.abs(sum - 1)).toBeLessThanOrEqual(1e-3);
}

function scoresOf(r: FrameResult | undefined): NsfwScores {
  if (!r?.ok) throw new Error(`expected scores, got ${JSON.stringify(r)}`);
  return r.scores;
}

function maxDiff(a: NsfwScores, b: NsfwScores): number {
  return Math.max(...NSFW_LABELS.map((l) => Math.abs(a[l] - b[l])));
}

async function check(files: string[]): Promise<{ code: number; lines: Record<string, unknown>[]; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: string[] = [];
  const errChunks: string[] = [];
  out.on('data', (c) => chunks.push(String(c)));
  err.on('data', (c) => errChunks.push(String(c)));
  const code = await runCheckImage(files, classifier, out, err);
  const text = chunks.join('');
  expect(text.endsWith('\n')).toBe(true);
  return { code, lines: text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>), err: errChunks.join('') };
}

describe('frame classifier on real photos', () => {
  it('reports its backend and model', () => {
    expect(['wasm', 'tfjs-node']).toContain(classifier.backend);
    expect(classifier.model).toBe('nsfwjs/MobileNetV2');
    expect(classifier.modelVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('gives a probability distribution per photo, identical across runs and batch orders', async () => {
    const bufs = photos.map((p) => readFileSync(p));
    const first = await classifier.classify(bufs);
    const second = await classifier.classify(bufs);
    expect(first).toHaveLength(6);
    first.forEach((r, i) => {
      expectDistribution(scoresOf(r));
      expect(maxDiff(scoresOf(r), scoresOf(second[i]))).toBeLessThanOrEqual(1e-6);
    });
    const [a, b] = [bufs[0]!, bufs[1]!];
    const ab = await classifier.classify([a, b]);
    const ba = await classifier.classify([b, a]);
    expect(maxDiff(scoresOf(ab[0]), scoresOf(ba[1]))).toBeLessThanOrEqual(1e-6);
    expect(maxDiff(scoresOf(ab[1]), scoresOf(ba[0]))).toBeLessThanOrEqual(1e-6);
    // a batch of one and a batch of six agree too
    const single = await classifier.classify([bufs[3]!]);
    expect(maxDiff(scoresOf(single[0]), scoresOf(first[3]))).toBeLessThanOrEqual(1e-5);
  });

  it("matches nsfwjs's own classify(tensor3d) on the same decoded pixels within 1e-3", async () => {
    // the nsfwjs instance the classifier wraps; classify() normalises and resizes the full-size image itself
    const net = (classifier as unknown as { net: { classify(t: tf.Tensor3D, k?: number): Promise<{ className: string; probability: number }[]> } }).net;
    expect(net).toBeDefined();
    const ours = await classifier.classify(photos.map((p) => readFileSync(p)));
    let worst = 0;
    for (const [i, file] of photos.entries()) {
      const { data, info } = await sharp(file).autoOrient().removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const pixels = tf.tensor3d(new Int32Array(data), [info.height, info.width, 3], 'int32');
      const theirs = await net.classify(pixels, 5);
      pixels.dispose();
      expect(theirs).toHaveLength(5);
      const s = scoresOf(ours[i]);
      for (const p of theirs) worst = Math.max(worst, Math.abs(p.probability - s[p.className as keyof NsfwScores]));
    }
    expect(worst).toBeLessThanOrEqual(1e-3);
  });

  it('gives per-item errors for bad input without throwing, and still scores the good ones', async () => {
    const good = readFileSync(photos[1]!);
    const results = await classifier.classify([Buffer.from('not an image'), good, Buffer.alloc(0), readFileSync(corrupt)]);
    expect(results.map((r) => r.ok)).toEqual([false, true, false, false]);
    expectDistribution(scoresOf(results[1]));
    for (const r of results) if (!r.ok) expect(r.error.length).toBeGreaterThan(0);
    expect(await classifier.classify([])).toEqual([]);
  });
});

describe('runCheckImage', () => {
  it('writes one JSON line of scores per photo and exits 0', async () => {
    const { code, lines, err } = await check(photos);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(lines.map((l) => l.file)).toEqual(photos);
    for (const l of lines) {
      expect(Object.keys(l)).toEqual(['file', 'nsfw', 'backend', 'model']);
      expect(Object.keys(l.nsfw as object)).toEqual([...NSFW_LABELS]);
      expectDistribution(l.nsfw as NsfwScores);
      expect(l.backend).toBe(classifier.backend);
      expect(l.model).toBe(`nsfwjs/MobileNetV2@${classifier.modelVersion}`);
    }
    const again = await check(photos);
    again.lines.forEach((l, i) => expect(maxDiff(l.nsfw as NsfwScores, lines[i]!.nsfw as NsfwScores)).toBeLessThanOrEqual(1e-6));
  });

  it('reports a missing and a corrupt file, keeps going, and exits 1', async () => {
    const files = [photos[0]!, missing, photos[1]!, corrupt, photos[2]!];
    const { code, lines, err } = await check(files);
    expect(code).toBe(1);
    expect(lines.map((l) => l.file)).toEqual(files);
    expect(lines[1]).toEqual({ file: missing, error: expect.stringMatching(/no such file/) });
    expect(lines[3]).toEqual({ file: corrupt, error: expect.stringMatching(/cannot decode/) });
    for (const i of [0, 2, 4]) expectDistribution(lines[i]!.nsfw as NsfwScores);
    expect(err).toContain(missing);
    expect(err).toContain(corrupt);
    expect(err.trimEnd().split('\n')).toHaveLength(2);
  });

  it('handles more files than one model batch, in order', async () => {
    const files = [...photos, missing, ...photos]; // 13 > CHECK_IMAGE_BATCH
    const { code, lines } = await check(files);
    expect(code).toBe(1);
    expect(lines.map((l) => l.file)).toEqual(files);
    lines.slice(7).forEach((l, i) => expect(maxDiff(l.nsfw as NsfwScores, lines[i]!.nsfw as NsfwScores)).toBeLessThanOrEqual(1e-5));
  });
});

describe.skipIf(!cliHasCheckImage)('warden check-image (CLI subprocess)', () => {
  function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const tsx = path.join(root, 'node_modules/.bin/tsx');
    return new Promise((resolve) => {
      execFile(tsx, [cli, 'check-image', ...args], { cwd: root, timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  it('prints only JSON lines on stdout and exits 0 for good photos', async () => {
    const { code, stdout, stderr } = await runCli(photos.slice(0, 2));
    expect(code, stderr).toBe(0);
    const lines = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.file)).toEqual(photos.slice(0, 2));
    for (const l of lines) expectDistribution(l.nsfw as NsfwScores);
  });

  it('exits 1 with error lines for a missing and a corrupt file, still scoring the good one', async () => {
    const { code, stdout, stderr } = await runCli([missing, photos[0]!, corrupt]);
    expect(code).toBe(1);
    const lines = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.file)).toEqual([missing, photos[0]!, corrupt]);
    expect(lines[0]).toHaveProperty('error');
    expect(lines[2]).toHaveProperty('error');
    expectDistribution(lines[1]!.nsfw as NsfwScores);
    expect(stderr).toContain(missing);
  });
});
