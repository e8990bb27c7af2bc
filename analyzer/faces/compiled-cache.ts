/**
 * face-api networks compiled to ONNX (analyzer/onnx/face-detector.ts, face-landmarks.ts, face-recognition.ts, age-gender.ts) on disk, and the proof
 * that each computes what face-api's TF.js network computes. Each is compiled once per (face-api version, compiler
 * version) into the model cache (`MODEL_CACHE_DIR`, default node_modules/.cache/warden-models, as the frame model),
 * then checked: the caller's `verify` runs the equivalence images through both and reports the largest difference of
 * any output value; within the network's tolerance on every image, or the ONNX path is not used. The verdict is
 * written beside the model and trusted while the model's SHA-256, the tolerance and the onnxruntime and TF.js
 * versions match.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_MODEL_CACHE } from '../onnx/cache.ts';
import { compileTinyFaceDetector, faceApiPackage, FACE_DETECTOR_COMPILER_VERSION } from '../onnx/face-detector.ts';
import { compileFaceRecognitionNet, FACE_RECOGNITION_COMPILER_VERSION } from '../onnx/face-recognition.ts';
import { AGE_GENDER_COMPILER_VERSION, compileAgeGenderNet } from '../onnx/age-gender.ts';
import { compileFaceLandmark68Net, FACE_LANDMARKS_COMPILER_VERSION } from '../onnx/face-landmarks.ts';
import type { BuiltModel } from '../onnx/graph.ts';

/** The networks Warden compiles, with their compilers and how closely they must agree with TF.js. */
export const COMPILED_FACE_NETS = {
  /** Output logits reach about 50 in magnitude. */
  tiny_face_detector: { compile: compileTinyFaceDetector, compiler: FACE_DETECTOR_COMPILER_VERSION, tolerance: 1e-3 },
  /** Descriptor values are under 0.5; 1e-4 per value moves a distance by at most about 0.001 (the match bound is 0.5). */
  face_recognition: { compile: compileFaceRecognitionNet, compiler: FACE_RECOGNITION_COMPILER_VERSION, tolerance: 1e-4 },
  /** 68 points as fractions of the face's width and height: 1e-4 is a hundredth of a pixel on a 112-pixel face. */
  face_landmark_68: { compile: compileFaceLandmark68Net, compiler: FACE_LANDMARKS_COMPILER_VERSION, tolerance: 1e-4 },
  /** Age in years and the two gender probabilities: a thousandth of a year is far inside the age margin. */
  age_gender: { compile: compileAgeGenderNet, compiler: AGE_GENDER_COMPILER_VERSION, tolerance: 1e-3 },
} as const satisfies Record<string, { compile: () => BuiltModel; compiler: string; tolerance: number }>;

export type CompiledFaceNet = keyof typeof COMPILED_FACE_NETS;

/** The equivalence verdict of a compiled network. */
export interface FaceNetReport {
  verified: boolean;
  images: number;
  maxAbsDiff: number;
  tolerance: number;
  modelSha256: string;
  onnxruntime: string;
  tfjs: string;
  at: string;
}

/** A compiled network with its verdict (`bytes`: the model as read and hashed, to open without reading it again). */
export interface FaceNetModel { net: CompiledFaceNet; file: string; bytes: Uint8Array; sha256: string; source: string; report: FaceNetReport }

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** Where a network's compiled model and verdict live in the cache, and its source name. */
function cachePaths(net: CompiledFaceNet, cacheDir?: string | null): { file: string; verdictFile: string; source: string; dir: string } {
  const dir = cacheDir ?? DEFAULT_MODEL_CACHE;
  const source = `@vladmandic/face-api@${faceApiPackage().version}/${net}`;
  const key = createHash('sha256').update(`${source} compiler ${COMPILED_FACE_NETS[net].compiler}`).digest('hex').slice(0, 16);
  const file = path.join(dir, `face-api-${net}-${key}.onnx`);
  return { file, verdictFile: `${file}.verified.json`, source, dir };
}

/**
 * The cached compiled network when it is there with a verdict that stands for its bytes, tolerance and the installed
 * onnxruntime and TF.js (verified or not); null when it must be compiled or checked again.
 */
export async function cachedFaceNet(net: CompiledFaceNet, cacheDir?: string | null): Promise<FaceNetModel | null> {
  const { file, verdictFile, source } = cachePaths(net, cacheDir);
  const bytes: Uint8Array | null = await readFile(file).catch(() => null);
  if (!bytes) return null;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const cached = await readFile(verdictFile, 'utf8').then((t) => JSON.parse(t) as FaceNetReport).catch(() => null);
  const standing = cached && cached.modelSha256 === sha256 && cached.onnxruntime === (ort.env.versions.common ?? 'unknown') &&
    cached.tfjs === tf.version_core && cached.tolerance === COMPILED_FACE_NETS[net].tolerance;
  return standing ? { net, file, bytes, sha256, source, report: cached } : null;
}

/**
 * A compiled network and its verdict: from the cache when both are there and the verdict stands, else compiled
 * (well under a second) and verified now with `verify`.
 * @param opts.verify runs the equivalence images through TF.js and the given ONNX bytes; resolves the image count and
 *        the largest output difference.
 * @throws Error when compiling fails or `verify` throws (onnxruntime cannot open the model, say).
 */
export async function ensureCompiledFaceNet(net: CompiledFaceNet, opts: {
  cacheDir?: string | null;
  verify: (bytes: Uint8Array) => Promise<{ images: number; maxAbsDiff: number }>;
}): Promise<FaceNetModel> {
  const spec = COMPILED_FACE_NETS[net];
  const cached = await cachedFaceNet(net, opts.cacheDir);
  if (cached) return cached;
  const { file, verdictFile, source, dir } = cachePaths(net, opts.cacheDir);
  await mkdir(dir, { recursive: true });
  let bytes: Uint8Array | null = await readFile(file).catch(() => null);
  if (!bytes) {
    bytes = spec.compile().bytes;
    await writeAtomic(file, bytes);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const versions = { onnxruntime: ort.env.versions.common ?? 'unknown', tfjs: tf.version_core };
  const { images, maxAbsDiff } = await opts.verify(bytes);
  const report: FaceNetReport = {
    verified: images > 0 && maxAbsDiff <= spec.tolerance, images, maxAbsDiff, tolerance: spec.tolerance,
    modelSha256: sha256, ...versions, at: new Date().toISOString(),
  };
  await writeAtomic(verdictFile, `${JSON.stringify(report, null, 2)}\n`);
  return { net, file, bytes, sha256, source, report };
}
