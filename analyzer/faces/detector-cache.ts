/**
 * The compiled Tiny Face Detector on disk (analyzer/onnx/face-detector.ts) and the proof that it computes what
 * face-api's TF.js network computes. Compiled once per (face-api version, compiler version) into the model cache
 * (`MODEL_CACHE_DIR`, default node_modules/.cache/warden-models, as the frame model), then checked: the caller's
 * `verify` runs the equivalence images through both and reports the largest difference of the raw output grid
 * (logits); within {@link FACE_DETECTOR_TOLERANCE} on every image, or the ONNX path is not used. The verdict is
 * written beside the model and trusted while the model's SHA-256 and the onnxruntime and TF.js versions match.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_MODEL_CACHE } from '../onnx/cache.ts';
import { compileTinyFaceDetector, faceApiPackage, FACE_DETECTOR_COMPILER_VERSION } from '../onnx/face-detector.ts';

/** Largest |Δ| allowed between the two networks' output logits (their magnitude reaches about 50). */
export const FACE_DETECTOR_TOLERANCE = 1e-3;

/** The equivalence verdict of a compiled detector. */
export interface FaceDetectorReport {
  verified: boolean;
  images: number;
  maxAbsDiff: number;
  tolerance: number;
  modelSha256: string;
  onnxruntime: string;
  tfjs: string;
  at: string;
}

/** A compiled detector with its verdict (`bytes`: the model as read and hashed, to open without reading it again). */
export interface FaceDetectorModel { file: string; bytes: Uint8Array; sha256: string; source: string; report: FaceDetectorReport }

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/**
 * The compiled detector and its verdict: from the cache when both are there and the verdict stands, else compiled
 * (tens of ms) and verified now with `verify` (about a second).
 * @param opts.verify runs the equivalence images through TF.js and the given ONNX bytes; resolves the image count and
 *        the largest output difference.
 * @throws Error when compiling fails or `verify` throws (onnxruntime cannot open the model, say).
 */
export async function ensureFaceDetectorModel(opts: {
  cacheDir?: string | null;
  verify: (bytes: Uint8Array) => Promise<{ images: number; maxAbsDiff: number }>;
}): Promise<FaceDetectorModel> {
  const dir = opts.cacheDir ?? DEFAULT_MODEL_CACHE;
  const { version } = faceApiPackage();
  const source = `@vladmandic/face-api@${version}/tiny_face_detector`;
  const key = createHash('sha256').update(`${source} compiler ${FACE_DETECTOR_COMPILER_VERSION}`).digest('hex').slice(0, 16);
  const file = path.join(dir, `face-api-tiny_face_detector-${key}.onnx`);
  const verdictFile = `${file}.verified.json`;
  await mkdir(dir, { recursive: true });
  let bytes: Uint8Array | null = await readFile(file).catch(() => null);
  if (!bytes) {
    bytes = compileTinyFaceDetector().bytes;
    await writeAtomic(file, bytes);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const versions = { onnxruntime: ort.env.versions.common ?? 'unknown', tfjs: tf.version_core };
  const cached = await readFile(verdictFile, 'utf8').then((t) => JSON.parse(t) as FaceDetectorReport).catch(() => null);
  if (cached && cached.modelSha256 === sha256 && cached.onnxruntime === versions.onnxruntime && cached.tfjs === versions.tfjs && cached.tolerance === FACE_DETECTOR_TOLERANCE) {
    return { file, bytes, sha256, source, report: cached };
  }
  const { images, maxAbsDiff } = await opts.verify(bytes);
  const report: FaceDetectorReport = {
    verified: images > 0 && maxAbsDiff <= FACE_DETECTOR_TOLERANCE, images, maxAbsDiff, tolerance: FACE_DETECTOR_TOLERANCE,
    modelSha256: sha256, ...versions, at: new Date().toISOString(),
  };
  await writeAtomic(verdictFile, `${JSON.stringify(report, null, 2)}\n`);
  return { file, bytes, sha256, source, report };
}
