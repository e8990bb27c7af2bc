/**
 * face-api's Tiny Face Detector on onnxruntime-node: the network compiled to ONNX from the weights shipped in
 * @vladmandic/face-api (offline, nothing downloaded or committed), and a session that runs it.
 *
 * The network, as face-api's TinyYolov2 `runMobilenet` builds it for this model (`isFirstLayerConv2d`,
 * `withSeparableConvs`; face-api src/tinyYolov2/TinyYolov2Base.ts):
 * conv0 3×3 'valid' + bias, leaky ReLU (α 0.1) → max-pool 2×2/2 'same' → five blocks of [zero pad 1, depthwise 3×3,
 * pointwise 1×1, + bias, leaky ReLU], each but the last followed by max-pool 2×2/2 'same' and the last by 2×2/1
 * 'same' → conv8 1×1 + bias: per cell, 5 anchors × (x, y, w, h, score) logits. face-api's own code still does the
 * preprocessing (pad to square, bilinear resize, mean subtraction, ÷255) and the box decoding and non-maximum
 * suppression, so only the convolutions move to onnxruntime.
 *
 * ONNX (opset 13): the graph takes that preprocessed NHWC batch `[N,S,S,3]` (S a multiple of 32) and returns the
 * NHWC grid `[N,S/32,S/32,25]` face-api decodes. Weights are dequantised as TF.js does (`q × scale + min`);
 * kernels HWIO → OIHW; leaky ReLU as LeakyRelu(0.1) (face-api computes `relu(x − 0.1x) + 0.1x`, the same function);
 * TF's 'same' max pooling as `auto_pad: SAME_UPPER` (the extra cell at the end, padding never chosen as a max).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

const { onnx } = onnxProto;
const require = createRequire(import.meta.url);

/** Bumped when the compiler changes what it writes (part of the cache key). */
export const FACE_DETECTOR_COMPILER_VERSION = '1';

/** Anchor boxes × (x, y, w, h, score): the detector's output channels. */
export const FACE_DETECTOR_CHANNELS = 25;

interface WeightSpec { name: string; shape: number[]; dtype: string; quantization?: { min: number; scale: number; dtype: string } }

/** The face-api package directory and version. */
export function faceApiPackage(): { dir: string; version: string } {
  const pkgFile = require.resolve('@vladmandic/face-api/package.json');
  return { dir: path.dirname(pkgFile), version: (require(pkgFile) as { version: string }).version };
}

/** Reads a face-api model's dequantised weights by name (its `*-weights_manifest.json` and `.bin`). */
export function loadFaceApiWeights(model: string): Map<string, { shape: number[]; values: Float32Array }> {
  const dir = path.join(faceApiPackage().dir, 'model');
  const manifest = JSON.parse(readFileSync(path.join(dir, `${model}-weights_manifest.json`), 'utf8')) as { paths: string[]; weights: WeightSpec[] }[];
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const group of manifest) {
    const bytes = Buffer.concat(group.paths.map((p) => readFileSync(path.join(dir, p))));
    let offset = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(n);
      const q = w.quantization;
      if (q?.dtype === 'uint8') {
        for (let i = 0; i < n; i++) values[i] = bytes[offset + i]! * q.scale + q.min;
        offset += n;
      } else if (!q && w.dtype === 'float32') {
        values.set(new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + n * 4)));
        offset += n * 4;
      } else {
        throw new Error(`${model} weight ${w.name}: unsupported storage ${w.dtype}/${q?.dtype ?? 'none'}`);
      }
      out.set(w.name, { shape: w.shape, values });
    }
    if (offset !== bytes.length) throw new Error(`${model} weights: read ${offset} of ${bytes.length} bytes`);
  }
  return out;
}

/** The compiled detector: ONNX bytes, their SHA-256 and where the weights came from. */
export interface CompiledFaceDetector { bytes: Uint8Array; sha256: string; source: string; nodes: number }

/**
 * Compiles the Tiny Face Detector to ONNX bytes.
 * @throws Error when a weight is missing or has an unexpected shape (another face-api release).
 */
export function compileTinyFaceDetector(): CompiledFaceDetector {
  const weights = loadFaceApiWeights('tiny_face_detector_model');
  const { version } = faceApiPackage();
  const source = `@vladmandic/face-api@${version}/tiny_face_detector`;
  const nodes: Onnx.INodeProto[] = [];
  const initializers: Onnx.ITensorProto[] = [];
  const ints = (name: string, v: number[]): Onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const int = (name: string, v: number): Onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });
  const float = (name: string, v: number): Onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v });
  const str = (name: string, v: string): Onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) });
  const node = (opType: string, input: string[], output: string, attrs: Onnx.IAttributeProto[] = []) => {
    nodes.push({ opType, input, output: [output], name: output, attribute: attrs });
    return output;
  };
  const weight = (name: string, rank: number) => {
    const w = weights.get(name);
    if (!w || w.shape.length !== rank) throw new Error(`tiny face detector: weight ${name} missing or not of rank ${rank}`);
    return w;
  };
  const init = (name: string, dims: number[], data: Float32Array) => {
    initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  };
  /** A TF.js HWIO kernel `[kh,kw,I,O]` as ONNX OIHW; depthwise `[kh,kw,C,1]` as `[C,1,kh,kw]`. */
  const oihw = (k: { shape: number[]; values: Float32Array }, depthwise: boolean) => {
    const [kh, kw, ci, co] = k.shape as [number, number, number, number];
    if (depthwise && co !== 1) throw new Error('tiny face detector: depthwise channel multiplier is not 1');
    const outC = depthwise ? ci : co;
    const perOut = depthwise ? kh * kw : ci * kh * kw;
    const W = new Float32Array(outC * perOut);
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) {
      const v = k.values[((i * kw + j) * ci + c) * co + o]!;
      if (depthwise) W[c * perOut + i * kw + j] = v;
      else W[o * perOut + (c * kh + i) * kw + j] = v;
    }
    return { W, dims: [outC, depthwise ? 1 : ci, kh, kw], outC };
  };
  const conv = (x: string, layer: string, kernelName: string, pads: number[], act: boolean) => {
    const k = oihw(weight(`${layer}/${kernelName}`, 4), false);
    const out = node('Conv', [x, init(`${layer}/W`, k.dims, k.W), init(`${layer}/B`, [k.outC], weight(`${layer}/bias`, 1).values)], `${layer}/conv`, [
      ints('kernel_shape', k.dims.slice(2)), ints('pads', pads), ints('strides', [1, 1]),
    ]);
    return act ? node('LeakyRelu', [out], `${layer}/leaky`, [float('alpha', 0.10000000149011612)]) : out;
  };
  const separable = (x: string, layer: string) => {
    const d = oihw(weight(`${layer}/depthwise_filter`, 4), true);
    const dw = node('Conv', [x, init(`${layer}/DW`, d.dims, d.W)], `${layer}/depthwise`, [
      ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1]), ints('strides', [1, 1]), int('group', d.outC),
    ]);
    return conv(dw, layer, 'pointwise_filter', [0, 0, 0, 0], true);
  };
  const maxPool = (x: string, name: string, stride: number) =>
    node('MaxPool', [x], name, [ints('kernel_shape', [2, 2]), ints('strides', [stride, stride]), str('auto_pad', 'SAME_UPPER')]);

  let x = node('Transpose', ['input'], 'nchw', [ints('perm', [0, 3, 1, 2])]);
  x = conv(x, 'conv0', 'filters', [0, 0, 0, 0], true);
  x = maxPool(x, 'pool0', 2);
  for (let i = 1; i <= 5; i++) {
    x = separable(x, `conv${i}`);
    x = maxPool(x, `pool${i}`, i < 5 ? 2 : 1);
  }
  for (const extra of ['conv6', 'conv7']) if (weights.has(`${extra}/depthwise_filter`)) x = separable(x, extra);
  x = conv(x, 'conv8', 'filters', [0, 0, 0, 0], false);
  node('Transpose', [x], 'grid', [ints('perm', [0, 2, 3, 1])]);
  const valueInfo = (name: string, dims: (number | string)[]): Onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  const model: Onnx.IModelProto = {
    irVersion: 8,
    producerName: 'warden',
    producerVersion: FACE_DETECTOR_COMPILER_VERSION,
    docString: `${source}, compiled by analyzer/onnx/face-detector.ts: input NHWC float32 as face-api preprocesses it, output face-api's NHWC grid`,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny_face_detector',
      node: nodes,
      initializer: initializers,
      input: [valueInfo('input', ['N', 'S', 'S', 3])],
      output: [valueInfo('grid', ['N', 'G', 'G', FACE_DETECTOR_CHANNELS])],
    },
  };
  const bytes = onnx.ModelProto.encode(model).finish();
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), source, nodes: nodes.length };
}

/** The compiled detector in an onnxruntime session (one intra-op thread: one analyzer process per core). */
export class OnnxFaceDetector {
  private constructor(private readonly session: ort.InferenceSession) {}

  /** Opens a session on the compiled bytes or file. @throws Error when onnxruntime cannot open it. */
  static async create(model: Uint8Array | string): Promise<OnnxFaceDetector> {
    const session = await ort.InferenceSession.create(model as Uint8Array, {
      intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', executionProviders: ['cpu'],
    });
    return new OnnxFaceDetector(session);
  }

  /**
   * Runs the network on a preprocessed batch.
   * @param batch NHWC float32 `[n,size,size,3]`, as face-api's `forwardInput` prepares it.
   * @returns the NHWC grid `[n,size/32,size/32,25]` and its dims.
   */
  async run(batch: Float32Array, n: number, size: number): Promise<{ data: Float32Array; dims: [number, number, number, number] }> {
    const out = await this.session.run({ input: new ort.Tensor('float32', batch, [n, size, size, 3]) });
    const grid = out.grid!;
    const dims = grid.dims as [number, number, number, number];
    const data = grid.data as Float32Array;
    return { data, dims };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
