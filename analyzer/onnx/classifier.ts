/**
 * The frame classifier on onnxruntime-node: the compiled nsfwjs MobileNetV2 (analyzer/onnx/compile.ts) in one
 * ONNX Runtime session per process, with the same preprocessing as the TF.js classifier (sharp decode, nsfwjs's
 * exact bilinear align-corners resize, ÷255; analyzer/frame-model.ts) and the same batching contract. The session
 * runs on `threads` intra-op threads (default 1: Warden runs one analyzer process per core).
 */
import * as ort from 'onnxruntime-node';
import { decodeToModelInput, resizeToModelInput, runBatch, MODEL_INPUT_SIZE, NSFW_LABELS, type FrameClassifier, type FrameResult, type ModelInput, type NsfwScores, type RawImage } from '../frame-model.ts';

/** The backend name recorded with every signal the ONNX classifier writes. */
export const ONNX_BACKEND = 'onnxruntime';

/** Options of {@link OnnxFrameClassifier.create}. */
export interface OnnxClassifierOptions {
  /** The compiled model (bytes or a file path). */
  model: Uint8Array | string;
  /** nsfwjs version the weights came from. */
  modelVersion: string;
  /** Intra-op threads of the session (default 1). */
  threads?: number;
}

export class OnnxFrameClassifier implements FrameClassifier {
  readonly backend = ONNX_BACKEND;
  readonly model = 'nsfwjs/MobileNetV2';
  private disposed = false;

  private constructor(private readonly session: ort.InferenceSession, readonly modelVersion: string) {}

  /**
   * Opens the session and warms it up with one frame.
   * @throws Error when onnxruntime-node cannot load or the model does not open.
   */
  static async create(opts: OnnxClassifierOptions): Promise<OnnxFrameClassifier> {
    const threads = opts.threads ?? 1;
    const session = await ort.InferenceSession.create(opts.model as Uint8Array, {
      intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
      executionProviders: ['cpu'],
    });
    const c = new OnnxFrameClassifier(session, opts.modelVersion);
    await c.predict([new Float32Array(MODEL_INPUT_SIZE * MODEL_INPUT_SIZE * 3)]);
    return c;
  }

  async classify(images: Buffer[]): Promise<FrameResult[]> {
    this.assertLive();
    return this.runBatch(await Promise.all(images.map((img) => decodeToModelInput(img))));
  }

  async classifyPixels(images: RawImage[]): Promise<FrameResult[]> {
    this.assertLive();
    return this.runBatch(images.map((img) => {
      try {
        return resizeToModelInput(img);
      } catch (e) {
        return { error: e instanceof Error ? e.message : String(e) };
      }
    }));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.session.release().catch(() => {});
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('frame classifier has been disposed');
  }

  private runBatch(items: ModelInput[]): Promise<FrameResult[]> {
    return runBatch(items, (good) => this.predict(good));
  }

  /** One session run over N prepared NHWC inputs (÷255). */
  private async predict(inputs: Float32Array[]): Promise<NsfwScores[]> {
    const n = inputs.length;
    const plane = MODEL_INPUT_SIZE * MODEL_INPUT_SIZE * 3;
    const batch = n === 1 ? inputs[0]! : new Float32Array(n * plane);
    if (n > 1) inputs.forEach((x, i) => batch.set(x, i * plane));
    const input = new ort.Tensor('float32', batch, [n, MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, 3]);
    const out = await this.session.run({ input });
    const y = out.scores;
    try {
      if (!y || y.dims.length !== 2 || y.dims[0] !== n || y.dims[1] !== NSFW_LABELS.length) throw new Error(`unexpected model output shape [${y?.dims.join(',')}]`);
      const values = y.data as Float32Array;
      const k = NSFW_LABELS.length;
      return Array.from({ length: n }, (_, i) => {
        const row = {} as NsfwScores;
        NSFW_LABELS.forEach((label, j) => (row[label] = values[i * k + j] ?? Number.NaN));
        return row;
      });
    } finally {
      input.dispose();
      y?.dispose();
    }
  }
}
