/**
 * face-api's age and gender network compiled to ONNX from the weights shipped in @vladmandic/face-api, offline. The age
 * estimate is what the possible-minor check reads. face-api's code still extracts the aligned face and prepares the
 * 112×112 batch (centred pad to square, bilinear resize, mean subtraction, ÷255); only the network moves to onnxruntime.
 *
 * The network, as face-api builds it (src/xception/TinyXception.ts with two middle blocks, src/ageGenderNet/
 * AgeGenderNet.ts): every separable convolution is depthwise 3×3 + pointwise 1×1 + bias, 'same', stride 1;
 * - conv_in: 3×3 stride 2 'same' + bias, ReLU;
 * - a reduction block: [ReLU unless first] separable, ReLU, separable, max-pool 3×3/2 'same', + a 1×1 stride-2
 *   convolution (+ bias) of the block's input;
 * - a main block: (ReLU, separable) three times, + its input;
 * - entry: two reduction blocks (the first without the leading ReLU); middle: two main blocks; exit: a reduction
 *   block, then ReLU(separable) to 512 channels on a 7×7 map;
 * - 7×7 average pool, then fully connected: age (512→1) and gender (512→2, softmax).
 *
 * ONNX (opset 13): input NHWC `[N,112,112,3]` float32, output `[N,3]`: age in years, then the male and female
 * probabilities (face-api's order: the first is "male").
 */
import { faceApiPackage, loadFaceApiWeights } from './face-detector.ts';
import { GraphBuilder, separableConv, toOihw, type BuiltModel } from './graph.ts';

/** Bumped when the compiler changes what it writes (part of the cache key). */
export const AGE_GENDER_COMPILER_VERSION = '1';

/** The network's input side (face-api's TinyXception resizes faces to it). */
export const AGE_GENDER_INPUT = 112;

/** The compiled network: ONNX bytes, their SHA-256 and where the weights came from. */
export interface CompiledAgeGender extends BuiltModel { source: string }

/**
 * Compiles the age and gender network to ONNX bytes.
 * @throws Error when a weight is missing or has an unexpected shape (another face-api release).
 */
export function compileAgeGenderNet(): CompiledAgeGender {
  const weights = loadFaceApiWeights('age_gender_model');
  const source = `@vladmandic/face-api@${faceApiPackage().version}/age_gender`;
  const g = new GraphBuilder();
  const weight = weights.get;
  const relu = (x: string, name: string) => g.node('Relu', [x], `${name}/relu`);
  const separable = (x: string, layer: string) => separableConv(g, weight, x, layer);
  /** A convolution + bias with TensorFlow's 'same' padding at stride 2 (the extra pixel at the end: SAME_UPPER). */
  const convSame2 = (x: string, layer: string) => {
    const k = toOihw(weight(`${layer}/filters`, 4));
    return g.node('Conv', [x, g.init(`${layer}/W`, k.dims, k.W), g.init(`${layer}/B`, [k.outC], weight(`${layer}/bias`, 1).values)], `${layer}/conv`, [
      g.ints('kernel_shape', k.dims.slice(2)), g.ints('strides', [2, 2]), g.str('auto_pad', 'SAME_UPPER'),
    ]);
  };
  const reduction = (x: string, layer: string, leadingRelu: boolean) => {
    let r = separable(leadingRelu ? relu(x, `${layer}/in`) : x, `${layer}/separable_conv0`);
    r = separable(relu(r, `${layer}/separable_conv0`), `${layer}/separable_conv1`);
    r = g.node('MaxPool', [r], `${layer}/pool`, [g.ints('kernel_shape', [3, 3]), g.ints('strides', [2, 2]), g.str('auto_pad', 'SAME_UPPER')]);
    return g.node('Add', [r, convSame2(x, `${layer}/expansion_conv`)], `${layer}/add`);
  };
  const main = (x: string, layer: string) => {
    let r = x;
    for (const c of ['separable_conv0', 'separable_conv1', 'separable_conv2']) r = separable(relu(r, `${layer}/${c}/in`), `${layer}/${c}`);
    return g.node('Add', [r, x], `${layer}/add`);
  };

  let x = g.node('Transpose', ['input'], 'nchw', [g.ints('perm', [0, 3, 1, 2])]);
  x = relu(convSame2(x, 'entry_flow/conv_in'), 'entry_flow/conv_in');
  x = reduction(x, 'entry_flow/reduction_block_0', false);
  x = reduction(x, 'entry_flow/reduction_block_1', true);
  for (const b of ['main_block_0', 'main_block_1']) x = main(x, `middle_flow/${b}`);
  x = reduction(x, 'exit_flow/reduction_block', true);
  x = relu(separable(x, 'exit_flow/separable_conv'), 'exit_flow/separable_conv');
  const pooled = g.node('AveragePool', [x], 'pool', [g.ints('kernel_shape', [7, 7]), g.ints('strides', [2, 2])]);
  const flat = g.node('Flatten', [pooled], 'flat', [g.int('axis', 1)]);
  const fc = (name: string, out: number) => {
    const w = weight(`fc/${name}/weights`, 2);
    if (w.shape[1] !== out) throw new Error(`age_gender_model: fc/${name} has ${w.shape[1]} outputs, expected ${out}`);
    return g.node('Gemm', [flat, g.init(`fc/${name}/W`, w.shape, w.values), g.init(`fc/${name}/B`, [out], weight(`fc/${name}/bias`, 1).values)], `fc/${name}`);
  };
  const gender = g.node('Softmax', [fc('gender', 2)], 'gender', [g.int('axis', 1)]);
  g.node('Concat', [fc('age', 1), gender], 'age_gender', [g.int('axis', 1)]);
  const built = g.build({
    name: 'age_gender', producerVersion: AGE_GENDER_COMPILER_VERSION,
    doc: `${source}, compiled by analyzer/onnx/age-gender.ts: input NHWC float32 112×112 as face-api preprocesses it, output [age, p(male), p(female)]`,
    inputs: [['input', ['N', AGE_GENDER_INPUT, AGE_GENDER_INPUT, 3]]], outputs: [['age_gender', ['N', 3]]],
  });
  return { ...built, source };
}
