/**
 * A small ONNX (opset 13) graph builder for the face-api networks Warden compiles (analyzer/onnx/face-detector.ts,
 * face-recognition.ts): nodes, float initializers, attributes, TF.js HWIO kernels turned OIHW, and the model's bytes.
 * Tensors are NCHW inside the graph; inputs and outputs are named by the caller.
 */
import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

const { onnx } = onnxProto; // a CommonJS module: its namespace comes through the default export

/** A weight as TF.js stores it: shape and values (row-major). */
export interface Weight { shape: number[]; values: Float32Array }

/** A TF.js weights-manifest entry (tfjs-core io `WeightsManifestEntry`). */
export interface WeightSpec { name: string; shape: number[]; dtype: string; quantization?: { min: number; scale: number; dtype: string } }

/**
 * Decodes one weights group as TF.js does (tfjs-core io/io_utils `decodeWeights`): uint8-quantised values as
 * `q × scale + min`, float32 as stored. Adds each weight to `into` by name.
 * @param what names the model in errors.
 * @throws Error for any other storage, or when the group's bytes are not exactly its weights.
 */
export function decodeWeightGroup(specs: WeightSpec[], bytes: Buffer, into: Map<string, Weight>, what: string): void {
  let offset = 0;
  for (const w of specs) {
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
      throw new Error(`${what} weight ${w.name}: unsupported storage ${w.dtype}/${q?.dtype ?? 'none'}`);
    }
    into.set(w.name, { shape: w.shape, values });
  }
  if (offset !== bytes.length) throw new Error(`${what} weights: read ${offset} of ${bytes.length} bytes`);
}

/** An ONNX model's bytes and their SHA-256. */
export interface BuiltModel { bytes: Uint8Array; sha256: string; nodes: number }

export class GraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];

  node(opType: string, input: string[], output: string, attrs: Onnx.IAttributeProto[] = []): string {
    this.nodes.push({ opType, input, output: [output], name: output, attribute: attrs });
    return output;
  }

  /** A float32 initializer. */
  init(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** An int64 initializer (Pad's pads, say). */
  initInt64(name: string, values: number[]): string {
    this.initializers.push({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values });
    return name;
  }

  ints(name: string, v: number[]): Onnx.IAttributeProto {
    return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v };
  }

  int(name: string, v: number): Onnx.IAttributeProto {
    return { name, type: onnx.AttributeProto.AttributeType.INT, i: v };
  }

  float(name: string, v: number): Onnx.IAttributeProto {
    return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v };
  }

  str(name: string, v: string): Onnx.IAttributeProto {
    return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) };
  }

  /**
   * The model's bytes: one graph, float32 inputs and outputs with the given dims (a string is a symbolic dim).
   */
  build(o: { name: string; doc: string; producerVersion: string; inputs: [string, (number | string)[]][]; outputs: [string, (number | string)[]][] }): BuiltModel {
    const valueInfo = (name: string, dims: (number | string)[]): Onnx.IValueInfoProto => ({
      name,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
    });
    const model: Onnx.IModelProto = {
      irVersion: 8, producerName: 'warden', producerVersion: o.producerVersion, docString: o.doc,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: o.name, node: this.nodes, initializer: this.initializers,
        input: o.inputs.map(([n, d]) => valueInfo(n, d)), output: o.outputs.map(([n, d]) => valueInfo(n, d)),
      },
    };
    const bytes = onnx.ModelProto.encode(model).finish();
    return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), nodes: this.nodes.length };
  }
}

/**
 * A TF.js HWIO kernel `[kh,kw,I,O]` as ONNX OIHW `[O,I,kh,kw]`; with `depthwise`, a `[kh,kw,C,1]` kernel as
 * `[C,1,kh,kw]` (one group per channel).
 * @throws Error for a depthwise kernel with a channel multiplier other than 1.
 */
export function toOihw(k: Weight, depthwise = false): { W: Float32Array; dims: [number, number, number, number]; outC: number } {
  const [kh, kw, ci, co] = k.shape as [number, number, number, number];
  if (depthwise && co !== 1) throw new Error('depthwise channel multiplier other than 1 is not supported');
  const outC = depthwise ? ci : co;
  const perOut = depthwise ? kh * kw : ci * kh * kw;
  const W = new Float32Array(outC * perOut);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) {
    const v = k.values[((i * kw + j) * ci + c) * co + o]!;
    if (depthwise) W[c * perOut + i * kw + j] = v;
    else W[o * perOut + (c * kh + i) * kw + j] = v;
  }
  return { W, dims: [outC, depthwise ? 1 : ci, kh, kw], outC };
}

/**
 * Appends a separable convolution as face-api's `depthwiseSeparableConv` computes it (src/common/
 * depthwiseSeparableConv.ts): depthwise 3×3 + pointwise 1×1 + bias, TensorFlow 'same' padding — written as explicit
 * pads of 1 at stride 1, and as SAME_UPPER at stride 2 (the extra row and column at the end on an even side).
 * Weights `${layer}/depthwise_filter`, `pointwise_filter`, `bias`. @returns the output's name.
 */
export function separableConv(g: GraphBuilder, weight: (name: string, rank: number) => Weight, x: string, layer: string, stride: 1 | 2 = 1): string {
  const d = toOihw(weight(`${layer}/depthwise_filter`, 4), true);
  const dw = g.node('Conv', [x, g.init(`${layer}/DW`, d.dims, d.W)], `${layer}/depthwise`, [
    g.ints('kernel_shape', [3, 3]), stride === 1 ? g.ints('pads', [1, 1, 1, 1]) : g.str('auto_pad', 'SAME_UPPER'), g.ints('strides', [stride, stride]), g.int('group', d.outC),
  ]);
  const p = toOihw(weight(`${layer}/pointwise_filter`, 4));
  return g.node('Conv', [dw, g.init(`${layer}/PW`, p.dims, p.W), g.init(`${layer}/B`, [p.outC], weight(`${layer}/bias`, 1).values)], `${layer}/pointwise`, [
    g.ints('kernel_shape', [1, 1]), g.ints('strides', [1, 1]),
  ]);
}
