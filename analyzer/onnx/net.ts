/**
 * A compiled network in an onnxruntime-node session with one float32 input and one output (the face-api networks
 * of analyzer/onnx/face-detector.ts and face-recognition.ts). One intra-op thread: Warden runs one analyzer
 * process per core.
 */
import * as ort from 'onnxruntime-node';

export class OnnxNet {
  private constructor(private readonly session: ort.InferenceSession) {}

  /** Opens a session on compiled bytes or a file. @throws Error when onnxruntime cannot open the model. */
  static async create(model: Uint8Array | string): Promise<OnnxNet> {
    const session = await ort.InferenceSession.create(model as Uint8Array, {
      intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', executionProviders: ['cpu'],
    });
    return new OnnxNet(session);
  }

  /**
   * Runs the network.
   * @param input float32 values of the graph's input, row-major, with its `dims`.
   * @returns the first output's values and dims.
   */
  async run(input: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: number[] }> {
    const out = await this.session.run({ [this.session.inputNames[0]!]: new ort.Tensor('float32', input, dims) });
    const t = out[this.session.outputNames[0]!]!;
    return { data: t.data as Float32Array, dims: [...t.dims] };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
