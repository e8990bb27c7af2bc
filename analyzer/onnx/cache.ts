/**
 * The compiled model on disk, and the proof that it is equal to TF.js. `ensureOnnxModel` compiles nsfwjs's
 * bundled model once per (nsfwjs version, compiler version), writes it atomically under the cache directory,
 * then runs the real photos shipped with @vladmandic/face-api and generated images through both the TF.js
 * classifier (wasm, the reference) and the ONNX one: the five class probabilities must agree within
 * {@link EQUIVALENCE_TOLERANCE} on every image and the top class must be the same, or the ONNX path is not used.
 * The verdict is written beside the model (`<name>.verified.json`) and trusted while the model's SHA-256 and
 * the onnxruntime and TF.js versions match.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { createFrameClassifier, NSFW_LABELS, type FrameClassifier, type FrameResult } from '../frame-model.ts';
import { COMPILER_VERSION, compileNsfwMobileNetV2, nsfwjsPackage } from './compile.ts';
import { OnnxFrameClassifier } from './classifier.ts';

/** Largest difference allowed between the two backends' probabilities, per class and image. */
export const EQUIVALENCE_TOLERANCE = 1e-3;

/** The default cache directory: node_modules/.cache/warden-models beside the project (rebuilt by `npm ci`). */
export const DEFAULT_MODEL_CACHE = fileURLToPath(new URL('../../node_modules/.cache/warden-models', import.meta.url));

/** How the compiled model compared with TF.js. */
export interface EquivalenceReport {
  verified: boolean;
  images: number;
  /** Largest |p_onnx − p_tfjs| over every class of every image. */
  maxAbsDiff: number;
  /** Images whose top class differed (names). */
  topClassMismatches: string[];
  tolerance: number;
  modelSha256: string;
  onnxruntime: string;
  tfjs: string;
  at: string;
}

/** A usable compiled model: its file and the equivalence verdict. */
export interface OnnxModel { file: string; sha256: string; source: string; report: EquivalenceReport }

/** The images the equivalence check runs: the face-api sample photos (when installed) and generated ones. */
export async function equivalenceImages(): Promise<{ name: string; jpeg: Buffer }[]> {
  const out: { name: string; jpeg: Buffer }[] = [];
  try {
    const require = createRequire(import.meta.url);
    const demo = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
    for (const f of (await readdir(demo)).filter((x) => /^sample\d+\.jpg$/.test(x)).sort()) out.push({ name: f, jpeg: await readFile(path.join(demo, f)) });
  } catch { /* the photos are a devDependency's; generated images still run */ }
  // generated: a gradient, a colour field, seeded noise, and a test-card-like pattern, at stream frame size
  const w = 640;
  const h = 360;
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const gen: [string, (x: number, y: number, c: number) => number][] = [
    ['gradient', (x, y, c) => (c === 0 ? x / w : c === 1 ? y / h : 1 - x / w) * 255],
    ['skin-tone field', (_x, _y, c) => [224, 172, 105][c]!],
    ['noise', () => rnd() * 255],
    ['bars', (x, _y, c) => ((Math.floor(x / (w / 8)) >> c) & 1) * 255],
  ];
  for (const [name, f] of gen) {
    const px = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(f(x, y, c))));
    out.push({ name, jpeg: await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toBuffer() });
  }
  return out;
}

/**
 * Compares two classifiers on the same images.
 * @returns the largest probability difference and the images whose top class differs.
 */
export async function compareClassifiers(a: FrameClassifier, b: FrameClassifier, images: { name: string; jpeg: Buffer }[]): Promise<{ maxAbsDiff: number; topClassMismatches: string[]; rows: { name: string; a: FrameResult; b: FrameResult }[] }> {
  const [ra, rb] = [await a.classify(images.map((i) => i.jpeg)), await b.classify(images.map((i) => i.jpeg))];
  let maxAbsDiff = 0;
  const topClassMismatches: string[] = [];
  const top = (r: FrameResult) => (r.ok ? NSFW_LABELS.reduce((best, l) => (r.scores[l] > r.scores[best] ? l : best), NSFW_LABELS[0]) : null);
  images.forEach((img, i) => {
    const x = ra[i]!;
    const y = rb[i]!;
    if (!x.ok || !y.ok) { topClassMismatches.push(img.name); maxAbsDiff = Infinity; return; }
    for (const l of NSFW_LABELS) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(x.scores[l] - y.scores[l]));
    if (top(x) !== top(y)) topClassMismatches.push(img.name);
  });
  return { maxAbsDiff, topClassMismatches, rows: images.map((img, i) => ({ name: img.name, a: ra[i]!, b: rb[i]! })) };
}

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/**
 * The compiled, verified model: from the cache when it is there and its verdict stands, else compiled and
 * checked now (about 2 s, once). A model that fails the check is still written, with `verified: false`.
 * @param opts.reference a TF.js classifier to compare with (default: a wasm one made and disposed here).
 * @throws Error when compiling fails or onnxruntime-node cannot open the model.
 */
export async function ensureOnnxModel(opts: { cacheDir?: string; reference?: FrameClassifier } = {}): Promise<OnnxModel> {
  const dir = opts.cacheDir ?? DEFAULT_MODEL_CACHE;
  const { version } = nsfwjsPackage();
  const key = createHash('sha256').update(`nsfwjs@${version} compiler ${COMPILER_VERSION}`).digest('hex').slice(0, 16);
  const file = path.join(dir, `nsfwjs-mobilenet_v2-${key}.onnx`);
  const verdictFile = `${file}.verified.json`;
  const source = `nsfwjs@${version}/mobilenet_v2`;
  await mkdir(dir, { recursive: true });
  let bytes = await readFile(file).catch(() => null);
  if (!bytes) {
    const compiled = compileNsfwMobileNetV2();
    await writeAtomic(file, compiled.bytes);
    bytes = Buffer.from(compiled.bytes);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const versions = { onnxruntime: ort.env.versions.common ?? 'unknown', tfjs: tf.version_core };
  const cached = await readFile(verdictFile, 'utf8').then((t) => JSON.parse(t) as EquivalenceReport).catch(() => null);
  if (cached && cached.modelSha256 === sha256 && cached.onnxruntime === versions.onnxruntime && cached.tfjs === versions.tfjs && cached.tolerance === EQUIVALENCE_TOLERANCE) {
    return { file, sha256, source, report: cached };
  }
  const report = await verifyModel(bytes, sha256, version, opts.reference);
  await writeAtomic(verdictFile, `${JSON.stringify(report, null, 2)}\n`);
  return { file, sha256, source, report };
}

/** Runs the equivalence check of a compiled model against TF.js. */
export async function verifyModel(bytes: Uint8Array, sha256: string, modelVersion: string, reference?: FrameClassifier): Promise<EquivalenceReport> {
  const images = await equivalenceImages();
  const onnxC = await OnnxFrameClassifier.create({ model: bytes, modelVersion });
  const ref = reference ?? await createFrameClassifier({ backend: 'wasm' });
  try {
    const { maxAbsDiff, topClassMismatches } = await compareClassifiers(ref, onnxC, images);
    return {
      verified: maxAbsDiff <= EQUIVALENCE_TOLERANCE && topClassMismatches.length === 0, images: images.length, maxAbsDiff, topClassMismatches,
      tolerance: EQUIVALENCE_TOLERANCE, modelSha256: sha256, onnxruntime: ort.env.versions.common ?? 'unknown', tfjs: tf.version_core, at: new Date().toISOString(),
    };
  } finally {
    onnxC.dispose();
    if (!reference) ref.dispose();
  }
}
