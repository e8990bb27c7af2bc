// The compiled ONNX frame model against TF.js (the reference) on real photos (the samples shipped with
// @vladmandic/face-api, at full size and as 640x360 stream frames) and generated images: every class probability
// within 1e-3 and the same top class. A model that differs is not used: `auto` falls back to TF.js and `onnx`
// refuses, naming why. Also TensorFlow's 'same' padding rule, and the compiled graph's shape.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFrameClassifier, NSFW_LABELS, type FrameClassifier } from '../analyzer/frame-model.ts';
import { compileNsfwMobileNetV2, samePadding } from '../analyzer/onnx/compile.ts';
import { OnnxFrameClassifier } from '../analyzer/onnx/classifier.ts';
import { compareClassifiers, ensureOnnxModel, equivalenceImages, EQUIVALENCE_TOLERANCE } from '../analyzer/onnx/cache.ts';
import { createClassifier } from '../analyzer/classifiers.ts';

const { onnx } = onnxProto;
let reference: FrameClassifier;
let compiled: ReturnType<typeof compileNsfwMobileNetV2>;
let onnxClassifier: OnnxFrameClassifier;
const tmp: string[] = [];

beforeAll(async () => {
  reference = await createFrameClassifier({ backend: 'wasm' });
  compiled = compileNsfwMobileNetV2();
  onnxClassifier = await OnnxFrameClassifier.create({ model: compiled.bytes, modelVersion: 'test' });
}, 120_000);
afterAll(async () => {
  reference?.dispose();
  onnxClassifier?.dispose();
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

describe('TensorFlow padding', () => {
  it("computes 'same' padding as TensorFlow does (the extra pixel at the end)", () => {
    expect(samePadding(224, 3, 2)).toEqual([0, 1]);
    expect(samePadding(112, 3, 1)).toEqual([1, 1]);
    expect(samePadding(7, 1, 1)).toEqual([0, 0]);
    expect(samePadding(5, 4, 1)).toEqual([1, 2]);
    expect(samePadding(10, 3, 3)).toEqual([1, 1]);
    expect(samePadding(9, 3, 2, 2)).toEqual([2, 2]);
  });
});

describe('the compiled nsfwjs MobileNetV2', () => {
  it('is one graph of convolutions with batch normalisation folded in, and no dropout', () => {
    const model = onnx.ModelProto.decode(compiled.bytes);
    const ops = model.graph!.node!.map((n) => n.opType!);
    expect(ops.filter((o) => o === 'Conv')).toHaveLength(52);
    expect(ops).not.toContain('BatchNormalization');
    expect(ops).not.toContain('Dropout');
    expect(ops.filter((o) => o === 'Clip')).toHaveLength(35);
    expect(ops.at(-2)).toBe('Softmax');
    expect(Number(model.opsetImport![0]!.version)).toBe(13);
    expect(compiled.source).toMatch(/^nsfwjs@\d+\.\d+\.\d+\/mobilenet_v2$/);
  });

  it(`agrees with TF.js within ${EQUIVALENCE_TOLERANCE} on every real photo, stream-size frame and generated image, with the same top class`, async () => {
    const images = await equivalenceImages();
    expect(images.filter((i) => i.name.startsWith('sample')).length).toBe(6);
    // the same photos as 640x360 stream frames too
    for (const i of images.filter((x) => x.name.startsWith('sample'))) images.push({ name: `${i.name}@640x360`, jpeg: await sharp(i.jpeg).resize(640, 360, { fit: 'cover' }).jpeg({ quality: 85 }).toBuffer() });
    const r = await compareClassifiers(reference, onnxClassifier, images);
    for (const row of r.rows) {
      expect(row.a.ok && row.b.ok, row.name).toBe(true);
      if (!row.a.ok || !row.b.ok) continue;
      for (const l of NSFW_LABELS) expect(Math.abs(row.a.scores[l] - row.b.scores[l]), `${row.name} ${l}`).toBeLessThanOrEqual(EQUIVALENCE_TOLERANCE);
    }
    expect(r.topClassMismatches).toEqual([]);
    console.log(`ONNX vs TF.js over ${images.length} images: max |Δp| = ${r.maxAbsDiff.toExponential(2)}`);
    // and bad input is a value, not a throw, as with TF.js
    const [bad] = await onnxClassifier.classify([Buffer.from('not an image')]);
    expect(bad).toMatchObject({ ok: false });
  }, 120_000);

  it('classifies a batch exactly as one image at a time', async () => {
    const images = (await equivalenceImages()).slice(0, 4).map((i) => i.jpeg);
    const batch = await onnxClassifier.classify(images);
    for (let i = 0; i < images.length; i++) {
      const [one] = await onnxClassifier.classify([images[i]!]);
      const many = batch[i]!;
      if (!one?.ok || !many.ok) throw new Error('classification failed');
      for (const l of NSFW_LABELS) expect(Math.abs(one.scores[l] - many.scores[l])).toBeLessThan(1e-5);
    }
  });
});

describe('warden models build', () => {
  it('compiles and verifies at build time, prints the verdict as JSON, and is a no-op once cached', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'warden-models-')); tmp.push(dir);
    const run = () => new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(path.join(process.cwd(), 'bin/warden'), ['models', 'build'], { env: { ...process.env, MODEL_CACHE_DIR: dir, LOG_LEVEL: 'silent' } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.on('exit', (code) => resolve({ code, out }));
    });
    type Line = { verified: boolean; maxAbsDiff: number; file: string; images: number; source: string; ms: number };
    const lines = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as Line);
    const first = await run();
    expect(first.code).toBe(0);
    // one line per compiled model: nsfwjs's, then face-api's detector, recognition, landmark and age networks
    const built = lines(first.out);
    expect(built.map((l) => l.source.replace(/@\d[^/]*/, ''))).toEqual(['nsfwjs/mobilenet_v2', '@vladmandic/face-api/tiny_face_detector', '@vladmandic/face-api/face_recognition', '@vladmandic/face-api/face_landmark_68', '@vladmandic/face-api/age_gender']);
    for (const line of built) {
      expect(line).toMatchObject({ verified: true, images: 10 });
      expect(line.file.startsWith(dir)).toBe(true);
    }
    const again = await run();
    expect(again.code).toBe(0);
    for (const line of lines(again.out)) expect(line.ms).toBeLessThan(1000);
  }, 120_000);
});

describe('choosing the backend', () => {
  it('uses the verified compiled model by default, and names it as the backend', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'warden-models-')); tmp.push(dir);
    const c = await createClassifier({ backend: 'auto', modelCacheDir: dir });
    try {
      expect(c.backend).toBe('onnxruntime');
      const m = await ensureOnnxModel({ cacheDir: dir }); // cached now: the verdict is read, not recomputed
      expect(m.report).toMatchObject({ verified: true, topClassMismatches: [] });
      expect(m.report.maxAbsDiff).toBeLessThanOrEqual(EQUIVALENCE_TOLERANCE);
    } finally {
      c.dispose();
    }
  }, 120_000);

  it('does not use a compiled model that differs from TF.js: auto falls back, onnx refuses', async () => {
    // a model whose last bias is shifted (Porn +2): it still runs, but its answers are wrong
    const model = onnx.ModelProto.decode(compiled.bytes);
    const bias = model.graph!.initializer!.find((t) => t.name === 'dense_3/B')!;
    const values = new Float32Array(new Uint8Array(bias.rawData!).buffer.slice(0));
    values[3]! += 2;
    bias.rawData = new Uint8Array(values.buffer);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'warden-models-')); tmp.push(dir);
    const good = await ensureOnnxModel({ cacheDir: dir, reference });
    await writeFile(good.file, onnx.ModelProto.encode(model).finish()); // the cached verdict no longer matches its bytes
    const bad = await ensureOnnxModel({ cacheDir: dir, reference });
    expect(bad.report.verified).toBe(false);
    expect(bad.report.maxAbsDiff).toBeGreaterThan(EQUIVALENCE_TOLERANCE);
    const fallback = await createClassifier({ backend: 'auto', modelCacheDir: dir });
    expect(fallback.backend).not.toBe('onnxruntime');
    fallback.dispose();
    await expect(createClassifier({ backend: 'onnx', modelCacheDir: dir })).rejects.toThrow(/differs from TF\.js/);
  }, 120_000);
});
