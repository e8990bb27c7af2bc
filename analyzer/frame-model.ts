/**
 * Frame classifier: nsfwjs's bundled MobileNetV2 on TensorFlow.js, with sharp decoding and batched inference.
 *
 * Preprocessing is numerically equivalent to `nsfwjs.classify(tensor3d)` on the same decoded pixels: sharp
 * decodes (EXIF auto-orient, sRGB, alpha removed) to 8-bit RGB, then the image is resized to 224×224 with the
 * exact bilinear, align-corners sampling that nsfwjs applies through `tf.image.resizeBilinear` (aspect not
 * kept), and scaled ÷255. The resize runs in JavaScript on the 8-bit pixels (224×224 outputs, four taps each)
 * so that full-size frames never become tensors. sharp's own (anti-aliased) resize is deliberately NOT used:
 * on real photos it moves the scores by up to ~0.5 against nsfwjs's reference, so it would silently change
 * what every policy threshold means.
 *
 * One classifier per process: TensorFlow.js keeps its backend in global state, so every classifier in a
 * process shares one backend; asking for a different backend while a classifier is live throws. Use worker
 * processes for more cores.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as nsfwjs from 'nsfwjs';
import sharp from 'sharp';
import type { Logger } from '../core/logger.ts';

/** The five classes of the nsfwjs models, in the model's output order. */
export const NSFW_LABELS = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] as const;

/** One nsfwjs class name. */
export type NsfwLabel = (typeof NSFW_LABELS)[number];

/** Softmax probabilities per class, each in [0, 1], summing to ≈1 (float32 rounding). */
export type NsfwScores = Record<NsfwLabel, number>;

/** The outcome for one image: scores, or why this image could not be classified (decode failure, bad input). */
export type FrameResult = { ok: true; scores: NsfwScores } | { ok: false; error: string };

/** Side of the square model input, in pixels. */
export const MODEL_INPUT_SIZE = 224;

/**
 * Decoded 8-bit pixels, row-major, interleaved RGB (`channels` 3) or RGBA (4, alpha ignored).
 * `data.length` must equal `width * height * channels`.
 */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** Which TensorFlow.js backend runs the model; `auto` prefers tfjs-node when it is installed, else wasm. */
export type FrameBackendChoice = 'auto' | 'tfjs-node' | 'wasm';

/**
 * A loaded NSFW classifier. Not thread-safe across processes, but concurrent `classify` calls in one process
 * are fine (each is one model call).
 */
export interface FrameClassifier {
  /**
   * Backend in use: 'onnxruntime' (the compiled model, analyzer/onnx), 'tfjs-node' (tf.getBackend() reports
   * 'tensorflow') or 'wasm'.
   */
  readonly backend: 'onnxruntime' | 'tfjs-node' | 'wasm';
  /** Model identity, e.g. 'nsfwjs/MobileNetV2'. */
  readonly model: string;
  /** nsfwjs package version the weights came from, e.g. '4.3.0'. */
  readonly modelVersion: string;
  /**
   * Classifies encoded images (JPEG, PNG, WebP, GIF first frame, …), one result per input, in input order.
   * All images that decode go through ONE model call on a [N,224,224,3] tensor. A corrupt, truncated or
   * non-image input yields `{ ok: false, error }` for that item only; bad input never throws.
   * @throws Error only if the classifier is disposed or the model itself fails (a system fault, not input).
   */
  classify(images: Buffer[]): Promise<FrameResult[]>;
  /**
   * Same as {@link classify} for already-decoded pixels (skips sharp). 224×224 inputs skip the resize, so
   * this is also the "model only" path for benchmarks. Malformed pixel buffers give `{ ok: false }`.
   */
  classifyPixels(images: RawImage[]): Promise<FrameResult[]>;
  /** Releases the model's weights. Idempotent; later `classify` calls throw. */
  dispose(): void;
}

/** Options for {@link createFrameClassifier}. */
export interface FrameClassifierOptions {
  /** Backend choice; 'tfjs-node' throws if `@tensorflow/tfjs-node` cannot be loaded. */
  backend: FrameBackendChoice;
  /** Where to log which backend was chosen (and why a fallback happened). */
  logger?: Logger;
}

const MODEL_NAME = 'MobileNetV2';
const TFJS_NODE = '@tensorflow/tfjs-node';
/** tf.getBackend() name for each of our backends. */
const TF_BACKEND_NAME = { 'tfjs-node': 'tensorflow', wasm: 'wasm' } as const;

/** Live classifiers and the backend they hold (TensorFlow.js backend state is per process). */
let liveBackend: 'tfjs-node' | 'wasm' | null = null;
let liveCount = 0;

/**
 * Loads nsfwjs's bundled MobileNetV2 (no network: weights ship inside the npm package) on the chosen backend
 * and warms it up. Takes ≈1 s on wasm.
 * @throws Error if `backend` is 'tfjs-node' and it cannot be loaded, if a live classifier holds another
 *   backend, or if the backend or model fails to initialise.
 */
export async function createFrameClassifier(opts: FrameClassifierOptions): Promise<FrameClassifier> {
  const log = opts.logger;
  const backend = await selectBackend(opts.backend, log);
  if (liveCount > 0 && liveBackend !== backend) {
    throw new Error(
      `a frame classifier on backend '${liveBackend}' is already live in this process; ` +
        `TensorFlow.js has one global backend, so '${backend}' cannot be used alongside it`,
    );
  }
  const started = Date.now();
  const net = await loadQuietly();
  const version = nsfwjsVersion();
  liveBackend = backend;
  liveCount += 1;
  log?.info({ backend, model: `nsfwjs/${MODEL_NAME}@${version}`, ms: Date.now() - started }, 'frame model loaded');
  return new NsfwjsClassifier(net, backend, version);
}

class NsfwjsClassifier implements FrameClassifier {
  readonly model = `nsfwjs/${MODEL_NAME}`;
  private disposed = false;

  constructor(
    private readonly net: nsfwjs.NSFWJS,
    readonly backend: 'tfjs-node' | 'wasm',
    readonly modelVersion: string,
  ) {}

  async classify(images: Buffer[]): Promise<FrameResult[]> {
    this.assertLive();
    const decoded = await Promise.all(images.map((img) => decodeToModelInput(img)));
    return this.runBatch(decoded);
  }

  async classifyPixels(images: RawImage[]): Promise<FrameResult[]> {
    this.assertLive();
    return this.runBatch(
      images.map((img) => {
        try {
          return resizeToModelInput(img);
        } catch (e) {
          return { error: errorMessage(e) };
        }
      }),
    );
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.net.dispose();
    liveCount -= 1;
    if (liveCount === 0) liveBackend = null;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('frame classifier has been disposed');
  }

  private runBatch(items: ModelInput[]): Promise<FrameResult[]> {
    return runBatch(items, (good) => this.predict(good));
  }

  /** Runs the model on N prepared 224×224×3 inputs (already ÷255); every tensor is disposed. */
  private async predict(inputs: Float32Array[]): Promise<NsfwScores[]> {
    const n = inputs.length;
    const plane = MODEL_INPUT_SIZE * MODEL_INPUT_SIZE * 3;
    const batch = new Float32Array(n * plane);
    inputs.forEach((x, i) => batch.set(x, i * plane));
    const out = tf.tidy(() => {
      const x = tf.tensor4d(batch, [n, MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, 3], 'float32');
      const y = this.net.model.predict(x);
      if (Array.isArray(y)) throw new Error('nsfwjs model returned several outputs');
      return y as tf.Tensor;
    });
    let values: Float32Array | Int32Array | Uint8Array;
    try {
      if (out.shape.length !== 2 || out.shape[0] !== n || out.shape[1] !== NSFW_LABELS.length) {
        throw new Error(`unexpected model output shape [${out.shape.join(',')}]`);
      }
      values = await out.data();
    } finally {
      out.dispose();
    }
    const k = NSFW_LABELS.length;
    return Array.from({ length: n }, (_, i) => {
      const row = {} as NsfwScores;
      NSFW_LABELS.forEach((label, j) => (row[label] = values[i * k + j] ?? Number.NaN));
      return row;
    });
  }
}

/** A prepared model input (224×224×3, ÷255), or why an image could not become one. */
export type ModelInput = Float32Array | { error: string };

/**
 * One model call (`predict`) over every item that has pixels; items that failed to decode pass through in place
 * as `{ ok: false, error }`. Shared by the TF.js and ONNX classifiers.
 * @throws Error when the model returns fewer rows than it was given.
 */
export async function runBatch(items: ModelInput[], predict: (inputs: Float32Array[]) => Promise<NsfwScores[]>): Promise<FrameResult[]> {
  const good = items.filter((x): x is Float32Array => x instanceof Float32Array);
  const scores = good.length > 0 ? await predict(good) : [];
  let next = 0;
  return items.map((item): FrameResult => {
    if (!(item instanceof Float32Array)) return { ok: false, error: item.error };
    const s = scores[next++];
    if (!s) throw new Error('model returned fewer rows than inputs');
    return { ok: true, scores: s };
  });
}

/** sharp decode (auto-orient, sRGB, no alpha) then the nsfwjs-equivalent resize; errors become values. */
export async function decodeToModelInput(image: Buffer): Promise<ModelInput> {
  if (!Buffer.isBuffer(image) || image.length === 0) return { error: 'empty or non-buffer input' };
  try {
    const { data, info } = await sharp(image)
      .autoOrient()
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) return { error: `decoded to ${info.channels} channels, expected 3` };
    return resizeToModelInput({ data, width: info.width, height: info.height, channels: 3 });
  } catch (e) {
    return { error: `cannot decode image: ${errorMessage(e)}` };
  }
}

/**
 * Resizes 8-bit pixels to 224×224×3 float32 in [0, 1] exactly as nsfwjs does (`toFloat().div(255)` then
 * `tf.image.resizeBilinear(x, [224, 224], alignCorners = true)`; a 224×224 input is passed through).
 * @throws Error if the buffer does not match its declared shape.
 */
export function resizeToModelInput(img: RawImage): Float32Array {
  const { data, width: w, height: h, channels: c } = img;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1 || (c !== 3 && c !== 4)) {
    throw new Error(`bad image shape ${w}x${h}x${c}`);
  }
  if (data.length !== w * h * c) throw new Error(`pixel buffer has ${data.length} bytes, expected ${w * h * c}`);
  const S = MODEL_INPUT_SIZE;
  const out = new Float32Array(S * S * 3);
  // tf.image.resizeBilinear, alignCorners=true, halfPixelCenters=false: src = dst * (in - 1) / (out - 1).
  const sy = (h - 1) / (S - 1);
  const sx = (w - 1) / (S - 1);
  const x0 = new Int32Array(S);
  const x1 = new Int32Array(S);
  const fx = new Float64Array(S);
  for (let x = 0; x < S; x++) {
    const src = x * sx;
    const lo = Math.floor(src);
    x0[x] = lo * c;
    x1[x] = Math.min(w - 1, Math.ceil(src)) * c;
    fx[x] = src - lo;
  }
  let o = 0;
  for (let y = 0; y < S; y++) {
    const src = y * sy;
    const top = Math.floor(src);
    const bottom = Math.min(h - 1, Math.ceil(src));
    const fy = src - top;
    const rowT = top * w * c;
    const rowB = bottom * w * c;
    for (let x = 0; x < S; x++) {
      const l = x0[x]!;
      const r = x1[x]!;
      const f = fx[x]!;
      for (let ch = 0; ch < 3; ch++) {
        const tl = data[rowT + l + ch]!;
        const tr = data[rowT + r + ch]!;
        const bl = data[rowB + l + ch]!;
        const br = data[rowB + r + ch]!;
        const t = tl + (tr - tl) * f;
        const b = bl + (br - bl) * f;
        out[o++] = (t + (b - t) * fy) / 255;
      }
    }
  }
  return out;
}

/** Picks and initialises the TensorFlow.js backend; returns which one is active. */
async function selectBackend(choice: FrameBackendChoice, log?: Logger): Promise<'tfjs-node' | 'wasm'> {
  if (choice === 'tfjs-node' || choice === 'auto') {
    const loadError = await tryLoadTfjsNode();
    if (loadError === null) {
      await activate('tfjs-node');
      log?.info({ backend: 'tfjs-node', requested: choice }, 'frame backend selected');
      return 'tfjs-node';
    }
    if (choice === 'tfjs-node') {
      throw new Error(
        `frame backend 'tfjs-node' requested but ${TFJS_NODE} is unavailable (${loadError}); ` +
          `install it (its install downloads libtensorflow) or use FRAME_BACKEND=wasm or auto`,
      );
    }
    log?.info({ backend: 'wasm', requested: choice, reason: loadError }, 'tfjs-node unavailable, using wasm');
  }
  await activate('wasm');
  if (choice === 'wasm') log?.info({ backend: 'wasm', requested: choice }, 'frame backend selected');
  return 'wasm';
}

/** Imports the optional tfjs-node package; returns null on success, else why it failed. */
async function tryLoadTfjsNode(): Promise<string | null> {
  try {
    const spec: string = TFJS_NODE; // a variable, so TypeScript does not require the optional package
    await import(spec);
  } catch (e) {
    return errorMessage(e).split('\n')[0] ?? 'import failed';
  }
  // tfjs-node registers 'tensorflow' on the tfjs-core it resolves; a second copy of tfjs-core would not be ours.
  if (!tf.findBackendFactory(TF_BACKEND_NAME['tfjs-node'])) {
    return `${TFJS_NODE} loaded but registered no 'tensorflow' backend with this @tensorflow/tfjs (version mismatch?)`;
  }
  return null;
}

async function activate(backend: 'tfjs-node' | 'wasm'): Promise<void> {
  const name = TF_BACKEND_NAME[backend];
  if (backend === 'wasm' && !tf.findBackend('wasm')) {
    // Local .wasm binaries from the installed package: nothing is fetched over the network.
    const require = createRequire(import.meta.url);
    setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + path.sep + 'dist' + path.sep);
  }
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`could not initialise TensorFlow.js backend '${name}' (active: ${tf.getBackend()})`);
  }
}

/** nsfwjs.load prints an advert with console.info (stdout); keep stdout clean for CLI JSON output. */
async function loadQuietly(): Promise<nsfwjs.NSFWJS> {
  const info = console.info;
  console.info = () => {};
  try {
    return await nsfwjs.load(MODEL_NAME);
  } finally {
    console.info = info;
  }
}

/** The installed nsfwjs version (its package.json is not exported, so walk up from its entry point). */
function nsfwjsVersion(): string {
  const require = createRequire(import.meta.url);
  let dir = path.dirname(require.resolve('nsfwjs'));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'nsfwjs' && pkg.version) return pkg.version;
    } catch {
      // no package.json at this level
    }
    const parent = path.dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
