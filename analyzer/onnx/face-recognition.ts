/**
 * face-api's face recognition network (the 128-d descriptor, a ResNet-34-like network after dlib's) compiled to
 * ONNX from the weights shipped in @vladmandic/face-api, offline. face-api's code still extracts and aligns the face
 * and prepares the 150×150 batch (centred pad to square, bilinear resize, mean subtraction, ÷255); only the
 * network moves to onnxruntime.
 *
 * The network, as face-api's FaceRecognitionNet builds it (src/faceRecognitionNet/FaceRecognitionNet.ts,
 * residualLayer.ts, scaleLayer.ts):
 * - every convolution is conv + bias, then a per-channel scale layer (`x·w + b`), here folded into the convolution
 *   (W′ = W·w, B′ = bias·w + b);
 * - conv32_down: 7×7 stride 2 'valid', ReLU; max-pool 3×3 stride 2 'valid';
 * - a residual block: 3×3 'same' + ReLU, 3×3 'same', + its input, ReLU;
 * - a down block: 3×3 stride 2 'valid' + ReLU, 3×3 'same'; the shortcut is a 2×2/2 'valid' average pool of the
 *   input, zero-padded to twice the channels where the block doubles them; where the pool's map is one larger than
 *   the convolution's, the convolution's gets a zero row at the bottom and a zero column at the right;
 * - 32 (down, ×3), 64 (down, ×3), 128 (down, ×2), 256 (down, ×2, down_out), the mean over the map, × fc [256,128].
 *
 * ONNX (opset 13): input NHWC `[N,150,150,3]` float32, output `[N,128]`.
 */
import { faceApiPackage, loadFaceApiWeights } from './face-detector.ts';
import { GraphBuilder, toOihw, type BuiltModel } from './graph.ts';

/** Bumped when the compiler changes what it writes (part of the cache key). */
export const FACE_RECOGNITION_COMPILER_VERSION = '1';

/** The network's input side (face-api's FaceRecognitionNet resizes faces to it). */
export const FACE_RECOGNITION_INPUT = 150;

/** The compiled network: ONNX bytes, their SHA-256 and where the weights came from. */
export interface CompiledFaceRecognition extends BuiltModel { source: string }

/**
 * Compiles the recognition network to ONNX bytes.
 * @throws Error when a weight is missing or has an unexpected shape (another face-api release).
 */
export function compileFaceRecognitionNet(): CompiledFaceRecognition {
  const weights = loadFaceApiWeights('face_recognition_model');
  const source = `@vladmandic/face-api@${faceApiPackage().version}/face_recognition`;
  const g = new GraphBuilder();
  const weight = weights.get;
  /** Spatial size and channels of the current value. */
  type V = { name: string; size: number; channels: number };
  /** conv + bias + scale layer (folded), optionally ReLU. */
  const conv = (x: V, layer: string, stride: number, padding: 'same' | 'valid', relu: boolean): V => {
    const k = toOihw(weight(`${layer}/conv/filters`, 4));
    const bias = weight(`${layer}/conv/bias`, 1).values;
    const sw = weight(`${layer}/scale/weights`, 1).values;
    const sb = weight(`${layer}/scale/biases`, 1).values;
    const perOut = k.W.length / k.outC;
    const B = new Float32Array(k.outC);
    for (let o = 0; o < k.outC; o++) {
      for (let q = 0; q < perOut; q++) k.W[o * perOut + q]! *= sw[o]!;
      B[o] = bias[o]! * sw[o]! + sb[o]!;
    }
    const kh = k.dims[2];
    // stride 1 'same' with an odd kernel: (k−1)/2 on every side; 'valid': none
    const p = padding === 'same' ? (kh - 1) / 2 : 0;
    if (padding === 'same' && stride !== 1) throw new Error(`${layer}: 'same' with stride ${stride} not needed by this network`);
    let out = g.node('Conv', [x.name, g.init(`${layer}/W`, k.dims, k.W), g.init(`${layer}/B`, [k.outC], B)], `${layer}/conv`, [
      g.ints('kernel_shape', [kh, kh]), g.ints('strides', [stride, stride]), g.ints('pads', [p, p, p, p]),
    ]);
    if (relu) out = g.node('Relu', [out], `${layer}/relu`);
    return { name: out, size: Math.floor((x.size + 2 * p - kh) / stride) + 1, channels: k.outC };
  };
  const residual = (x: V, layer: string): V => {
    const a = conv(x, `${layer}/conv1`, 1, 'same', true);
    const b = conv(a, `${layer}/conv2`, 1, 'same', false);
    return { ...b, name: g.node('Relu', [g.node('Add', [b.name, x.name], `${layer}/add`)], `${layer}/relu`) };
  };
  const down = (x: V, layer: string): V => {
    const a = conv(x, `${layer}/conv1`, 2, 'valid', true);
    let b = conv(a, `${layer}/conv2`, 1, 'same', false);
    let r: V = { name: g.node('AveragePool', [x.name], `${layer}/pool`, [g.ints('kernel_shape', [2, 2]), g.ints('strides', [2, 2])]), size: Math.floor((x.size - 2) / 2) + 1, channels: x.channels };
    if (r.size !== b.size) {
      if (r.size !== b.size + 1) throw new Error(`${layer}: shortcut ${r.size} against ${b.size}`);
      b = { ...b, size: r.size, name: g.node('Pad', [b.name, g.initInt64(`${layer}/spatial_pads`, [0, 0, 0, 0, 0, 0, 1, 1])], `${layer}/spatial_pad`) };
    }
    if (r.channels !== b.channels) {
      r = { ...r, channels: b.channels, name: g.node('Pad', [r.name, g.initInt64(`${layer}/channel_pads`, [0, 0, 0, 0, 0, b.channels - r.channels, 0, 0])], `${layer}/channel_pad`) };
    }
    return { ...b, name: g.node('Relu', [g.node('Add', [r.name, b.name], `${layer}/add`)], `${layer}/relu`) };
  };

  let x: V = { name: g.node('Transpose', ['input'], 'nchw', [g.ints('perm', [0, 3, 1, 2])]), size: FACE_RECOGNITION_INPUT, channels: 3 };
  x = conv(x, 'conv32_down', 2, 'valid', true);
  x = { ...x, size: Math.floor((x.size - 3) / 2) + 1, name: g.node('MaxPool', [x.name], 'pool', [g.ints('kernel_shape', [3, 3]), g.ints('strides', [2, 2])]) };
  for (const l of ['conv32_1', 'conv32_2', 'conv32_3']) x = residual(x, l);
  x = down(x, 'conv64_down');
  for (const l of ['conv64_1', 'conv64_2', 'conv64_3']) x = residual(x, l);
  x = down(x, 'conv128_down');
  for (const l of ['conv128_1', 'conv128_2']) x = residual(x, l);
  x = down(x, 'conv256_down');
  for (const l of ['conv256_1', 'conv256_2']) x = residual(x, l);
  x = down(x, 'conv256_down_out');
  const mean = g.node('ReduceMean', [x.name], 'mean', [g.ints('axes', [2, 3]), g.int('keepdims', 0)]);
  const fc = weight('fc', 2);
  g.node('MatMul', [mean, g.init('fc', fc.shape, fc.values)], 'descriptor');
  const built = g.build({
    name: 'face_recognition', producerVersion: FACE_RECOGNITION_COMPILER_VERSION,
    doc: `${source}, compiled by analyzer/onnx/face-recognition.ts: input NHWC float32 150×150 as face-api preprocesses it, output the 128-d descriptor`,
    inputs: [['input', ['N', FACE_RECOGNITION_INPUT, FACE_RECOGNITION_INPUT, 3]]], outputs: [['descriptor', ['N', fc.shape[1]!]]],
  });
  return { ...built, source };
}
