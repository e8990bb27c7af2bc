/**
 * Faces on camera with `@vladmandic/face-api` (its models ship in the npm package; nothing is downloaded), on the
 * TensorFlow.js backend the frame model already set up in this process. A cascade: the cheap Tiny Face Detector
 * runs on every frame given; the landmark, recognition (128-d descriptor) and age/gender models run only on the
 * faces it found. Ages are the model's point estimates (face-api's age regressor is trained on UTKFace; its mean
 * absolute error is several years), which is why the policy compares them with a margin above 18.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { installCompiledNets, type FaceNetBackends } from './compiled-nets.ts';
import { analyzeCroppedFaces, type FaceNets } from './face-crops.ts';

const require = createRequire(import.meta.url);
type FaceApi = typeof import('@vladmandic/face-api');

/** One face found in an image: box in pixels, detector score, estimated age (years), 128-d descriptor. */
export interface Face { box: { x: number; y: number; width: number; height: number }; score: number; age: number; descriptor: Float32Array }

/** The result for one image, with the milliseconds the models took. */
export interface FaceResult { faces: Face[]; ms: number }

/** Options of {@link FaceAnalyzer}. */
export interface FaceAnalyzerOptions {
  /** Tiny Face Detector input size (multiple of 32; larger finds smaller faces, slower). Default 416. */
  inputSize?: number;
  /** Detector score threshold (0–1). Default 0.5. */
  minScore?: number;
  /**
   * 'onnx' (default): run the detector, landmark, recognition and age networks on onnxruntime, each once its compiled model has been
   * shown equal to face-api's (analyzer/faces/compiled-nets.ts), falling back to TF.js otherwise; 'tfjs': face-api's
   * own throughout.
   */
  networks?: 'onnx' | 'tfjs';
  /** Where compiled models are cached (MODEL_CACHE_DIR; default node_modules/.cache/warden-models). */
  modelCacheDir?: string | null;
}

/** The face models, loaded once per process. */
export class FaceAnalyzer {
  /** Which backend runs the detector, the landmark, the recognition and the age networks. */
  backends: FaceNetBackends = { detector: 'tfjs', landmarks: 'tfjs', recognition: 'tfjs', age: 'tfjs' };
  /** Why a network is not on onnxruntime although 'onnx' was asked for (empty: none). */
  notes: string[] = [];

  /** The landmark, recognition and age sessions when all three are compiled: faces are then cut out without TF.js. */
  private perFace: FaceNets | null = null;

  private constructor(private readonly api: FaceApi, private readonly opts: { inputSize: number; minScore: number }) {}

  /** Model name and version recorded with every face signal. */
  readonly model = 'face-api';
  get modelVersion(): string { return (this.api as unknown as { version?: string }).version ?? '1.7'; }

  /**
   * Loads face-api's node-wasm build and its detector, landmark, recognition and age models from the package.
   * Shares the TensorFlow.js backend already chosen in this process (the frame model's); where none was chosen
   * (the API process), it activates the wasm backend from the installed package. Takes about 250 ms.
   */
  static async load(opts: FaceAnalyzerOptions = {}): Promise<FaceAnalyzer> {
    const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    const models = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
    if (!['wasm', 'tensorflow'].includes(tf.engine().backendName ?? '')) {
      // local .wasm binaries from the installed package: nothing is fetched
      setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + path.sep + 'dist' + path.sep);
      if (!(await tf.setBackend('wasm'))) throw new Error(`could not initialise the TensorFlow.js wasm backend (active: ${tf.getBackend()})`);
    }
    await tf.ready();
    await Promise.all([
      api.nets.tinyFaceDetector.loadFromDisk(models),
      api.nets.faceLandmark68Net.loadFromDisk(models),
      api.nets.faceRecognitionNet.loadFromDisk(models),
      api.nets.ageGenderNet.loadFromDisk(models),
    ]);
    const analyzer = new FaceAnalyzer(api, { inputSize: opts.inputSize ?? 416, minScore: opts.minScore ?? 0.5 });
    const installed = await installCompiledNets(api, { use: (opts.networks ?? 'onnx') === 'onnx', inputSize: analyzer.opts.inputSize, cacheDir: opts.modelCacheDir });
    analyzer.backends = installed.backends;
    analyzer.notes = installed.notes;
    analyzer.perFace = installed.perFace;
    return analyzer;
  }

  /**
   * Faces in an image (JPEG, PNG or WebP bytes). The detector runs on the whole image; landmarks, age and (unless
   * `descriptors: false`) the 128-d descriptor run only on the faces it found. Every tensor made here is disposed.
   * @param opts.descriptors compute descriptors (default true); false skips the recognition model, the costliest
   *        step, when there is nobody to match against (faces then carry an empty descriptor).
   * @throws Error when the image cannot be decoded.
   */
  async analyze(image: Buffer, opts: { descriptors?: boolean } = {}): Promise<FaceResult> {
    const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const started = performance.now();
    const input = tf.tensor3d(new Uint8Array(data.buffer, data.byteOffset, data.length), [info.height, info.width, 3], 'int32');
    try {
      const detector = new this.api.TinyFaceDetectorOptions({ inputSize: this.opts.inputSize, scoreThreshold: this.opts.minScore });
      const box = (f: { detection: { box: { x: number; y: number; width: number; height: number } } }) => ({
        x: Math.round(f.detection.box.x), y: Math.round(f.detection.box.y), width: Math.round(f.detection.box.width), height: Math.round(f.detection.box.height),
      });
      let faces: Face[];
      if (this.perFace) {
        // the per-face networks in one batch each, the faces cut from the decoded bytes (analyzer/faces/face-crops.ts)
        const detections = await this.api.detectAllFaces(input as never, detector);
        const found = await analyzeCroppedFaces(this.api, this.perFace, data, info.width, info.height, detections, opts.descriptors !== false);
        faces = found.map((f) => ({ box: box(f), score: f.detection.score, age: f.age, descriptor: f.descriptor ?? new Float32Array(0) }));
      } else if (opts.descriptors === false) {
        const found = await this.api.detectAllFaces(input as never, detector).withFaceLandmarks().withAgeAndGender();
        faces = found.map((f) => ({ box: box(f), score: f.detection.score, age: f.age, descriptor: new Float32Array(0) }));
      } else {
        const found = await this.api.detectAllFaces(input as never, detector).withFaceLandmarks().withFaceDescriptors().withAgeAndGender();
        faces = found.map((f) => ({ box: box(f), score: f.detection.score, age: f.age, descriptor: f.descriptor }));
      }
      return { faces, ms: performance.now() - started };
    } finally {
      input.dispose();
    }
  }

  /** Euclidean distance between two face descriptors (face-api's measure; same person is typically under 0.5). */
  static distance(a: Float32Array, b: Float32Array): number {
    let s = 0;
    for (let i = 0; i < a.length; i++) { const d = a[i]! - b[i]!; s += d * d; }
    return Math.sqrt(s);
  }
}

/**
 * Descriptor distance at or under which two faces are the same person. face-api's own guidance is 0.6 for its
 * recognition net; measured on its sample photos here (a face re-encoded, rescaled and rotated 4° → 0.34–0.38;
 * different people ≥ 0.56), 0.5 separates them with margin on both sides. The configured value
 * (FACE_MATCH_MAX_DISTANCE) is what Warden uses; this is its default.
 */
export const SAME_FACE_MAX_DISTANCE = 0.5;

/** The performer's face on record (from their verification) and the distance that counts as them. */
export interface FaceReference { descriptor: Float32Array; maxDistance: number }

/**
 * The face signals of one frame: `{ label: score }`, scores in 0..1 as rules expect.
 * - `face_present` / `no_face`: 1 or 0; `face_count`: faces (capped at 10) ÷ 10; `youngest_age`: years ÷ 100.
 * - `under_age_margin`: 1 when the youngest face is estimated under `ageMargin` years (a possible minor).
 * - with a `reference` (the verified performer's descriptor): `performer_on_camera` 1 when some face is within
 *   the reference's distance, and `unmatched_face` 1 when some face is not (someone unverified on camera).
 */
export function faceSignals(r: FaceResult, ageMargin: number, reference?: FaceReference | null): Record<string, number> {
  const youngest = r.faces.length ? Math.min(...r.faces.map((f) => f.age)) : null;
  const out: Record<string, number> = {
    face_present: r.faces.length > 0 ? 1 : 0,
    no_face: r.faces.length === 0 ? 1 : 0,
    under_age_margin: youngest !== null && youngest < ageMargin ? 1 : 0,
    face_count: Math.min(10, r.faces.length) / 10,
  };
  if (youngest !== null) out.youngest_age = Math.min(1, youngest / 100);
  if (reference) {
    const matches = r.faces.filter((f) => f.descriptor.length > 0).map((f) => FaceAnalyzer.distance(f.descriptor, reference.descriptor) <= reference.maxDistance);
    out.performer_on_camera = matches.some(Boolean) ? 1 : 0;
    out.unmatched_face = matches.some((m) => !m) ? 1 : 0;
  }
  return out;
}
