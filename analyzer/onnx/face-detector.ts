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
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { GraphBuilder, decodeWeightGroup, toOihw, type BuiltModel, type Weight, type WeightSpec } from './graph.ts';

const require = createRequire(import.meta.url);

/** Bumped when the compiler changes what it writes (part of the cache key). */
export const FACE_DETECTOR_COMPILER_VERSION = '1';

/** Anchor boxes × (x, y, w, h, score): the detector's output channels. */
export const FACE_DETECTOR_CHANNELS = 25;


/** The face-api package directory and version. */
export function faceApiPackage(): { dir: string; version: string } {
  const pkgFile = require.resolve('@vladmandic/face-api/package.json');
  return { dir: path.dirname(pkgFile), version: (require(pkgFile) as { version: string }).version };
}

/** A face-api model's weights by name: `get` checks the rank. */
export interface FaceApiWeights {
  has(name: string): boolean;
  /** @throws Error naming the model when the weight is missing or not of `rank` (another face-api release). */
  get(name: string, rank: number): Weight;
}

/** Reads a face-api model's dequantised weights (its `*-weights_manifest.json` and `.bin`). */
export function loadFaceApiWeights(model: string): FaceApiWeights {
  const dir = path.join(faceApiPackage().dir, 'model');
  const manifest = JSON.parse(readFileSync(path.join(dir, `${model}-weights_manifest.json`), 'utf8')) as { paths: string[]; weights: WeightSpec[] }[];
  const out = new Map<string, Weight>();
  for (const group of manifest) decodeWeightGroup(group.weights, Buffer.concat(group.paths.map((p) => readFileSync(path.join(dir, p)))), out, model);
  return {
    has: (name) => out.has(name),
    get: (name, rank) => {
      const w = out.get(name);
      if (!w || w.shape.length !== rank) throw new Error(`${model}: weight ${name} missing or not of rank ${rank}`);
      return w;
    },
  };
}

/** The compiled detector: ONNX bytes, their SHA-256 and where the weights came from. */
export interface CompiledFaceDetector extends BuiltModel { source: string }

/**
 * Compiles the Tiny Face Detector to ONNX bytes.
 * @throws Error when a weight is missing or has an unexpected shape (another face-api release).
 */
export function compileTinyFaceDetector(): CompiledFaceDetector {
  const weights = loadFaceApiWeights('tiny_face_detector_model');
  const source = `@vladmandic/face-api@${faceApiPackage().version}/tiny_face_detector`;
  const g = new GraphBuilder();
  const weight = weights.get;
  const conv = (x: string, layer: string, kernelName: string, act: boolean) => {
    const k = toOihw(weight(`${layer}/${kernelName}`, 4));
    const out = g.node('Conv', [x, g.init(`${layer}/W`, k.dims, k.W), g.init(`${layer}/B`, [k.outC], weight(`${layer}/bias`, 1).values)], `${layer}/conv`, [
      g.ints('kernel_shape', k.dims.slice(2)), g.ints('pads', [0, 0, 0, 0]), g.ints('strides', [1, 1]),
    ]);
    return act ? g.node('LeakyRelu', [out], `${layer}/leaky`, [g.float('alpha', 0.10000000149011612)]) : out;
  };
  const separable = (x: string, layer: string) => {
    const d = toOihw(weight(`${layer}/depthwise_filter`, 4), true);
    const dw = g.node('Conv', [x, g.init(`${layer}/DW`, d.dims, d.W)], `${layer}/depthwise`, [
      g.ints('kernel_shape', [3, 3]), g.ints('pads', [1, 1, 1, 1]), g.ints('strides', [1, 1]), g.int('group', d.outC),
    ]);
    return conv(dw, layer, 'pointwise_filter', true);
  };
  const maxPool = (x: string, name: string, stride: number) =>
    g.node('MaxPool', [x], name, [g.ints('kernel_shape', [2, 2]), g.ints('strides', [stride, stride]), g.str('auto_pad', 'SAME_UPPER')]);

  let x = g.node('Transpose', ['input'], 'nchw', [g.ints('perm', [0, 3, 1, 2])]);
  x = conv(x, 'conv0', 'filters', true);
  x = maxPool(x, 'pool0', 2);
  for (let i = 1; i <= 5; i++) {
    x = separable(x, `conv${i}`);
    x = maxPool(x, `pool${i}`, i < 5 ? 2 : 1);
  }
  for (const extra of ['conv6', 'conv7']) if (weights.has(`${extra}/depthwise_filter`)) x = separable(x, extra);
  x = conv(x, 'conv8', 'filters', false);
  g.node('Transpose', [x], 'grid', [g.ints('perm', [0, 2, 3, 1])]);
  const built = g.build({
    name: 'tiny_face_detector', producerVersion: FACE_DETECTOR_COMPILER_VERSION,
    doc: `${source}, compiled by analyzer/onnx/face-detector.ts: input NHWC float32 as face-api preprocesses it, output face-api's NHWC grid`,
    inputs: [['input', ['N', 'S', 'S', 3]]], outputs: [['grid', ['N', 'G', 'G', FACE_DETECTOR_CHANNELS]]],
  });
  return { ...built, source };
}
