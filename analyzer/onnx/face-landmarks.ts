/**
 * face-api's 68-point face landmark network compiled to ONNX from the weights shipped in @vladmandic/face-api, offline.
 * The landmarks align each face before the recognition and age networks see it. face-api's code still extracts the
 * face and prepares the 112×112 batch (centred pad to square, bilinear resize, mean subtraction, ÷255); only the
 * network moves to onnxruntime, and the output is mapped back to the face's own coordinates as face-api does.
 *
 * The network, as face-api builds it (src/faceFeatureExtractor/FaceFeatureExtractor.ts, denseBlock.ts,
 * src/faceProcessor/FaceProcessor.ts): four dense blocks, then a 7×7 stride-2 average pool and a fully connected layer
 * (256 → 136: x, y of 68 points, relative to the padded 112×112 input). A dense block:
 * - out1 = ReLU(first block: 3×3 convolution, stride 2 'same', + bias; else separable(stride 2));
 * - out2 = separable(out1); out3 = separable(ReLU(out1 + out2)); out4 = separable(ReLU(out1 + out2 + out3));
 * - ReLU(out1 + out2 + out3 + out4);
 * where separable is depthwise 3×3 + pointwise 1×1 + bias, TensorFlow's 'same' padding (at stride 2 on an even side:
 * the extra row and column at the end, ONNX SAME_UPPER).
 *
 * ONNX (opset 13): input NHWC `[N,112,112,3]` float32, output `[N,136]`.
 */
import { faceApiPackage, loadFaceApiWeights } from './face-detector.ts';
import { GraphBuilder, separableConv, toOihw, type BuiltModel } from './graph.ts';

/** Bumped when the compiler changes what it writes (part of the cache key). */
export const FACE_LANDMARKS_COMPILER_VERSION = '2';

/** The network's input side (face-api resizes faces to it). */
export const FACE_LANDMARKS_INPUT = 112;

/** The compiled network: ONNX bytes, their SHA-256 and where the weights came from. */
export interface CompiledFaceLandmarks extends BuiltModel { source: string }

/**
 * Compiles the 68-point landmark network to ONNX bytes.
 * @throws Error when a weight is missing or has an unexpected shape (another face-api release).
 */
export function compileFaceLandmark68Net(): CompiledFaceLandmarks {
  const weights = loadFaceApiWeights('face_landmark_68_model');
  const source = `@vladmandic/face-api@${faceApiPackage().version}/face_landmark_68`;
  const g = new GraphBuilder();
  const weight = weights.get;
  const relu = (x: string, name: string) => g.node('Relu', [x], `${name}/relu`);
  const add = (a: string, b: string, name: string) => g.node('Add', [a, b], name);
  const separable = (x: string, layer: string, stride: 1 | 2) => separableConv(g, weight, x, layer, stride);
  const denseBlock = (x: string, block: string, first: boolean) => {
    let c0: string;
    if (first) {
      const k = toOihw(weight(`${block}/conv0/filters`, 4));
      c0 = g.node('Conv', [x, g.init(`${block}/conv0/W`, k.dims, k.W), g.init(`${block}/conv0/B`, [k.outC], weight(`${block}/conv0/bias`, 1).values)], `${block}/conv0/conv`, [
        g.ints('kernel_shape', k.dims.slice(2)), g.ints('strides', [2, 2]), g.str('auto_pad', 'SAME_UPPER'),
      ]);
    } else c0 = separable(x, `${block}/conv0`, 2);
    const out1 = relu(c0, `${block}/out1`);
    const out2 = separable(out1, `${block}/conv1`, 1);
    const s12 = add(out1, out2, `${block}/s12`);
    const out3 = separable(relu(s12, `${block}/in3`), `${block}/conv2`, 1);
    const s123 = add(s12, out3, `${block}/s123`);
    const out4 = separable(relu(s123, `${block}/in4`), `${block}/conv3`, 1);
    return relu(add(s123, out4, `${block}/s1234`), `${block}/out`);
  };

  let x = g.node('Transpose', ['input'], 'nchw', [g.ints('perm', [0, 3, 1, 2])]);
  x = denseBlock(x, 'dense0', true);
  for (const b of ['dense1', 'dense2', 'dense3']) x = denseBlock(x, b, false);
  const pooled = g.node('AveragePool', [x], 'pool', [g.ints('kernel_shape', [7, 7]), g.ints('strides', [2, 2])]);
  const flat = g.node('Flatten', [pooled], 'flat', [g.int('axis', 1)]);
  const w = weight('fc/weights', 2);
  if (w.shape[1] !== 136) throw new Error(`face_landmark_68_model: fc has ${w.shape[1]} outputs, expected 136`);
  g.node('Gemm', [flat, g.init('fc/W', w.shape, w.values), g.init('fc/B', [136], weight('fc/bias', 1).values)], 'landmarks');
  const built = g.build({
    name: 'face_landmark_68', producerVersion: FACE_LANDMARKS_COMPILER_VERSION,
    doc: `${source}, compiled by analyzer/onnx/face-landmarks.ts: input NHWC float32 112×112 as face-api preprocesses it, output 68 (x, y) relative to it`,
    inputs: [['input', ['N', FACE_LANDMARKS_INPUT, FACE_LANDMARKS_INPUT, 3]]], outputs: [['landmarks', ['N', 136]]],
  });
  return { ...built, source };
}
