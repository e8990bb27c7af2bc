/**
 * Compiles nsfwjs's bundled Keras layers model (MobileNetV2, as shipped in the npm package: a JSON topology and
 * uint8-quantised weights) into an equivalent ONNX model (opset 13) for onnxruntime-node. Offline, from the
 * package's own files; nothing converted is committed (the result is cached, see analyzer/onnx/cache.ts).
 *
 * What the conversion does, layer by layer (Keras → ONNX):
 * - weights: dequantised as TF.js does (`q × scale + min`, tfjs-core io/io_utils `decodeWeights`);
 * - input: the graph takes NHWC `[N,224,224,3]` float32 already scaled ÷255 (the classifier's own
 *   preprocessing, identical to nsfwjs's), then transposes to NCHW once;
 * - Conv2D: kernel HWIO → OIHW; DepthwiseConv2D: kernel `[kh,kw,C,M]` → `[C×M,1,kh,kw]` with `group = C`;
 * - 'same' padding with TensorFlow's rule (total = max((⌈in/s⌉−1)·s + (k−1)·d + 1 − in, 0); the extra pixel at
 *   the end), written as explicit pads; a ZeroPadding2D feeding a 'valid' convolution is folded into its pads;
 * - BatchNormalization folded into the convolution before it (W′ = W·γ/√(σ²+ε), b′ = β + (b − μ)·γ/√(σ²+ε));
 * - ReLU with max_value 6 → Clip(0, 6); Add → Add; AveragePooling2D → AveragePool; Flatten of a 1×1 map →
 *   Flatten; Dense → Gemm (+ Relu or Softmax as its activation); Dropout removed (inference).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { decodeWeightGroup, type WeightSpec } from './graph.ts';

const { onnx } = onnxProto; // a CommonJS module: its namespace comes through the default export

const require = createRequire(import.meta.url);

/** What a compilation produced: the model bytes, their SHA-256, and where the weights came from. */
export interface CompiledModel {
  bytes: Uint8Array;
  sha256: string;
  /** `nsfwjs@<version>/mobilenet_v2`. */
  source: string;
  nodes: number;
  /** Graph input (NHWC, ÷255) and output (softmax probabilities, nsfwjs class order) names. */
  input: string;
  output: string;
}

/** The bump when the compiler changes what it writes (part of the cache key). */
export const COMPILER_VERSION = '1';

interface KerasLayer { name: string; class_name: string; config: Record<string, any>; inbound_nodes: [string, number, number, object][][] } // eslint-disable-line @typescript-eslint/no-explicit-any
interface ModelJson { modelTopology: { model_config: { config: { layers: KerasLayer[]; input_layers: [string, number, number][]; output_layers: [string, number, number][] } } }; weightsManifest: { paths: string[]; weights: WeightSpec[] }[] }

/** The nsfwjs package directory and version. */
export function nsfwjsPackage(): { dir: string; version: string } {
  let dir = path.dirname(require.resolve('nsfwjs'));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = require(path.join(dir, 'package.json')) as { name?: string; version?: string };
      if (pkg.name === 'nsfwjs') return { dir, version: pkg.version ?? 'unknown' };
    } catch { /* keep walking up */ }
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the nsfwjs package directory');
}

/** Reads the bundled MobileNetV2 topology and its dequantised weights by name. */
export function loadBundledModel(): { json: ModelJson; weights: Map<string, { shape: number[]; values: Float32Array }>; source: string } {
  const { dir, version } = nsfwjsPackage();
  const modelDir = path.join(dir, 'dist', 'models', 'mobilenet_v2');
  const json = require(path.join(modelDir, 'model.min.js')) as ModelJson;
  const weights = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const group of json.weightsManifest) {
    const bytes = Buffer.concat(group.paths.map((p) => Buffer.from(require(path.join(modelDir, `${p}.min.js`)) as string, 'base64')));
    decodeWeightGroup(group.weights, bytes, weights, 'nsfwjs');
  }
  return { json, weights, source: `nsfwjs@${version}/mobilenet_v2` };
}

/** A tensor in the graph being built: its ONNX name and NCHW shape without the batch ([C,H,W] or [F]). */
interface Value { name: string; shape: number[]; pad?: [number, number, number, number] }

/** TensorFlow's 'same' padding along one axis: [begin, end]. */
export function samePadding(size: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

/**
 * Compiles the bundled model to ONNX bytes.
 * @throws Error naming the layer for any layer type or configuration the compiler does not support.
 */
export function compileNsfwMobileNetV2(): CompiledModel {
  const { json, weights, source } = loadBundledModel();
  const { layers, input_layers: inputs, output_layers: outputs } = json.modelTopology.model_config.config;
  const byName = new Map(layers.map((l) => [l.name, l]));
  const consumers = new Map<string, string[]>();
  for (const l of layers) for (const [src] of l.inbound_nodes[0] ?? []) consumers.set(src, [...(consumers.get(src) ?? []), l.name]);

  const nodes: Onnx.INodeProto[] = [];
  const initializers: Onnx.ITensorProto[] = [];
  const values = new Map<string, Value>();
  const weight = (name: string) => {
    const w = weights.get(name);
    if (!w) throw new Error(`missing weight ${name}`);
    return w;
  };
  const init = (name: string, dims: number[], data: Float32Array) => {
    initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  };
  const node = (opType: string, input: string[], output: string, attrs: Onnx.IAttributeProto[] = []) => {
    nodes.push({ opType, input, output: [output], name: output, attribute: attrs });
    return output;
  };
  const ints = (name: string, v: number[]): Onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const int = (name: string, v: number): Onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });
  const inputOf = (l: KerasLayer, i = 0): Value => {
    const src = l.inbound_nodes[0]?.[i]?.[0];
    const v = src === undefined ? undefined : values.get(src);
    if (!v) throw new Error(`layer ${l.name}: input ${src} not built`);
    return v;
  };
  const materialise = (v: Value, at: string): Value => {
    if (!v.pad) return v;
    const [t, b, le, r] = v.pad;
    const pads = `${at}/pads`;
    initializers.push({ name: pads, dims: [8], dataType: onnx.TensorProto.DataType.INT64, int64Data: [0, 0, t, le, 0, 0, b, r] });
    return { name: node('Pad', [v.name, pads], `${at}/padded`), shape: v.shape };
  };

  if (inputs.length !== 1 || outputs.length !== 1) throw new Error('expected one input and one output');
  const inputName = 'input';
  let outputName = '';

  for (const l of layers) {
    const cfg = l.config;
    switch (l.class_name) {
      case 'InputLayer': {
        const [, h, w, c] = cfg.batch_input_shape as [null, number, number, number];
        values.set(l.name, { name: node('Transpose', [inputName], `${l.name}/nchw`, [ints('perm', [0, 3, 1, 2])]), shape: [c, h, w] });
        break;
      }
      case 'ZeroPadding2D': {
        const v = inputOf(l);
        if (cfg.data_format !== 'channels_last') throw new Error(`${l.name}: data_format ${cfg.data_format}`);
        const [[t, b], [le, r]] = cfg.padding as [[number, number], [number, number]];
        const [c, h, w] = v.shape as [number, number, number];
        values.set(l.name, { name: v.name, shape: [c, h + t + b, w + le + r], pad: [t, b, le, r] });
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const depthwise = l.class_name === 'DepthwiseConv2D';
        const src = inputOf(l);
        const [c, h, w] = src.shape as [number, number, number];
        const [kh, kw] = cfg.kernel_size as [number, number];
        const [sh, sw] = cfg.strides as [number, number];
        const [dh, dw] = (cfg.dilation_rate ?? [1, 1]) as [number, number];
        if (cfg.activation !== 'linear') throw new Error(`${l.name}: activation ${cfg.activation} not supported`);
        // pads [top, left, bottom, right]: a pending ZeroPadding2D, plus TF's 'same' rule on the padded size
        const zp = src.pad ?? [0, 0, 0, 0];
        const [ph0, ph1] = cfg.padding === 'same' ? samePadding(h, kh, sh, dh) : [0, 0];
        const [pw0, pw1] = cfg.padding === 'same' ? samePadding(w, kw, sw, dw) : [0, 0];
        if (cfg.padding !== 'same' && cfg.padding !== 'valid') throw new Error(`${l.name}: padding ${cfg.padding}`);
        const pads = [zp[0] + ph0, zp[2] + pw0, zp[1] + ph1, zp[3] + pw1];
        const hIn = h - zp[0] - zp[1];
        const wIn = w - zp[2] - zp[3];
        const outH = Math.floor((hIn + pads[0]! + pads[2]! - ((kh - 1) * dh + 1)) / sh) + 1;
        const outW = Math.floor((wIn + pads[1]! + pads[3]! - ((kw - 1) * dw + 1)) / sw) + 1;
        // kernel to OIHW (depthwise: [C×M,1,kh,kw], group C)
        const k = weight(`${l.name}/${depthwise ? 'depthwise_kernel' : 'kernel'}`);
        const [, , kin, kout] = k.shape as [number, number, number, number];
        const outC = depthwise ? kin * kout : kout;
        const perOut = depthwise ? kh * kw : kin * kh * kw;
        const W = new Float32Array(outC * perOut);
        for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let ci = 0; ci < kin; ci++) for (let o = 0; o < kout; o++) {
          const v = k.values[((i * kw + j) * kin + ci) * kout + o]!;
          if (depthwise) W[(ci * kout + o) * perOut + i * kw + j] = v;
          else W[o * perOut + (ci * kh + i) * kw + j] = v;
        }
        const B = new Float32Array(outC);
        if (cfg.use_bias) B.set(weight(`${l.name}/bias`).values);
        // fold the BatchNormalization that is this convolution's only consumer
        let outKeras = l.name;
        const next = consumers.get(l.name);
        const bn = next?.length === 1 ? byName.get(next[0]!) : undefined;
        if (bn?.class_name === 'BatchNormalization') {
          const eps = bn.config.epsilon as number;
          const gamma = bn.config.scale ? weight(`${bn.name}/gamma`).values : new Float32Array(outC).fill(1);
          const beta = bn.config.center ? weight(`${bn.name}/beta`).values : new Float32Array(outC);
          const mean = weight(`${bn.name}/moving_mean`).values;
          const variance = weight(`${bn.name}/moving_variance`).values;
          for (let o = 0; o < outC; o++) {
            const s = gamma[o]! / Math.sqrt(variance[o]! + eps);
            for (let q = 0; q < perOut; q++) W[o * perOut + q]! *= s;
            B[o] = beta[o]! + (B[o]! - mean[o]!) * s;
          }
          outKeras = bn.name;
        }
        const wName = init(`${l.name}/W`, [outC, depthwise ? 1 : kin, kh, kw], W);
        const bName = init(`${l.name}/B`, [outC], B);
        const attrs = [ints('kernel_shape', [kh, kw]), ints('strides', [sh, sw]), ints('dilations', [dh, dw]), ints('pads', pads)];
        if (depthwise) attrs.push(int('group', c));
        const out = node('Conv', [src.name, wName, bName], `${l.name}/conv`, attrs);
        values.set(outKeras, { name: out, shape: [outC, outH, outW] });
        if (outKeras !== l.name) values.set(l.name, { name: out, shape: [outC, outH, outW] });
        break;
      }
      case 'BatchNormalization': {
        if (!values.has(l.name)) throw new Error(`${l.name}: a BatchNormalization not after a convolution is not supported`);
        break; // folded into its convolution
      }
      case 'ReLU': {
        const v = materialise(inputOf(l), l.name);
        if (cfg.negative_slope || cfg.threshold) throw new Error(`${l.name}: leaky or thresholded ReLU not supported`);
        const out = cfg.max_value === null || cfg.max_value === undefined
          ? node('Relu', [v.name], `${l.name}/relu`)
          : node('Clip', [v.name, init(`${l.name}/min`, [], new Float32Array([0])), init(`${l.name}/max`, [], new Float32Array([cfg.max_value as number]))], `${l.name}/clip`);
        values.set(l.name, { name: out, shape: v.shape });
        break;
      }
      case 'Add': {
        const ins = (l.inbound_nodes[0] ?? []).map((_, i) => materialise(inputOf(l, i), `${l.name}/${i}`));
        if (ins.length !== 2) throw new Error(`${l.name}: Add of ${ins.length} inputs`);
        values.set(l.name, { name: node('Add', ins.map((v) => v.name), `${l.name}/add`), shape: ins[0]!.shape });
        break;
      }
      case 'AveragePooling2D': {
        const v = materialise(inputOf(l), l.name);
        const [c, h, w] = v.shape as [number, number, number];
        const [ph, pw] = cfg.pool_size as [number, number];
        const [sh, sw] = (cfg.strides ?? cfg.pool_size) as [number, number];
        if (cfg.padding !== 'valid') throw new Error(`${l.name}: padding ${cfg.padding}`);
        const out = node('AveragePool', [v.name], `${l.name}/pool`, [ints('kernel_shape', [ph, pw]), ints('strides', [sh, sw])]);
        values.set(l.name, { name: out, shape: [c, Math.floor((h - ph) / sh) + 1, Math.floor((w - pw) / sw) + 1] });
        break;
      }
      case 'Flatten': {
        const v = materialise(inputOf(l), l.name);
        const [c, h, w] = v.shape as [number, number, number];
        // Keras flattens channels-last (H, W, C); for a 1×1 map that is the same order as NCHW
        if (h !== 1 || w !== 1) throw new Error(`${l.name}: Flatten of a ${h}×${w} map needs a transpose (not supported)`);
        values.set(l.name, { name: node('Flatten', [v.name], `${l.name}/flat`, [int('axis', 1)]), shape: [c] });
        break;
      }
      case 'Dense': {
        const v = inputOf(l);
        const kernel = weight(`${l.name}/kernel`);
        const [fin, fout] = kernel.shape as [number, number];
        if (v.shape[0] !== fin || v.shape.length !== 1) throw new Error(`${l.name}: input shape [${v.shape}] for a ${fin}→${fout} kernel`);
        const bias = cfg.use_bias ? weight(`${l.name}/bias`).values : new Float32Array(fout);
        let out = node('Gemm', [v.name, init(`${l.name}/W`, [fin, fout], kernel.values), init(`${l.name}/B`, [fout], bias)], `${l.name}/gemm`);
        if (cfg.activation === 'relu') out = node('Relu', [out], `${l.name}/relu`);
        else if (cfg.activation === 'softmax') out = node('Softmax', [out], `${l.name}/softmax`, [int('axis', 1)]);
        else if (cfg.activation !== 'linear') throw new Error(`${l.name}: activation ${cfg.activation} not supported`);
        values.set(l.name, { name: out, shape: [fout] });
        break;
      }
      case 'Dropout': {
        values.set(l.name, inputOf(l)); // inference: the identity
        break;
      }
      default:
        throw new Error(`${l.name}: layer type ${l.class_name} not supported`);
    }
    if (l.name === outputs[0]![0]) outputName = values.get(l.name)!.name;
  }
  if (!outputName) throw new Error('the output layer was not built');
  // name the graph output plainly
  nodes.push({ opType: 'Identity', input: [outputName], output: ['scores'], name: 'scores' });
  const [inputLayer] = inputs[0]!;
  const [, h, w, c] = byName.get(inputLayer)!.config.batch_input_shape as [null, number, number, number];
  const valueInfo = (name: string, dims: (number | string)[]): Onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  const model: Onnx.IModelProto = {
    irVersion: 8,
    producerName: 'warden',
    producerVersion: COMPILER_VERSION,
    docString: `${source}, compiled by analyzer/onnx/compile.ts: input NHWC float32 scaled ÷255 (nsfwjs preprocessing), output softmax over Drawing, Hentai, Neutral, Porn, Sexy`,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'nsfwjs_mobilenet_v2',
      node: nodes,
      initializer: initializers,
      input: [valueInfo(inputName, ['N', h, w, c])],
      output: [valueInfo('scores', ['N', (values.get(outputs[0]![0])!.shape[0]) as number])],
    },
  };
  const bytes = onnx.ModelProto.encode(model).finish();
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), source, nodes: nodes.length, input: inputName, output: 'scores' };
}
