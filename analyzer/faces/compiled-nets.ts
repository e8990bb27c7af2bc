/**
 * Puts face-api's networks on onnxruntime: the Tiny Face Detector (run on every face check), and the 68-point landmark
 * network, the recognition network (the 128-d descriptor) and the age and gender network (run per face found), each
 * compiled from the package's weights
 * (analyzer/onnx/) and used only once shown equal to face-api's TF.js network on the equivalence images
 * (analyzer/faces/compiled-cache.ts). face-api keeps doing everything around them — preprocessing, box decoding,
 * non-maximum suppression, face alignment and extraction — so results are face-api's.
 *
 * face-api's networks are module-level singletons: installing replaces their forward step for the whole process
 * (the original TF.js step is kept on the net object, and every install starts from it).
 */
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { errorText } from '../../core/errors.ts';
import { equivalenceImages } from '../onnx/cache.ts';
import { FACE_RECOGNITION_INPUT } from '../onnx/face-recognition.ts';
import { AGE_GENDER_INPUT } from '../onnx/age-gender.ts';
import { FACE_LANDMARKS_INPUT } from '../onnx/face-landmarks.ts';
import { OnnxNet } from '../onnx/net.ts';
import { ensureCompiledFaceNet, type CompiledFaceNet } from './compiled-cache.ts';
import { FACE_NET_MEAN_RGB, landmarksToFace, type FaceNets } from './face-crops.ts';

type FaceApi = typeof import('@vladmandic/face-api');

/** face-api's NetInput, as far as the networks' forward steps use it. */
interface NetInput {
  isBatchInput: boolean;
  /** [height, width] of each input, before padding and resizing. */
  inputDimensions: number[][];
  getInputHeight(batchIdx: number): number;
  getInputWidth(batchIdx: number): number;
  toBatchTensor(size: number, isCenterInputs: boolean): tf.Tensor4D;
}
/** face-api's FaceLandmark68Net: `forwardInput` is synchronous, `detectLandmarks` is not. */
interface LandmarkNet {
  forwardInput(input: NetInput): tf.Tensor2D;
  detectLandmarks(input: unknown): Promise<unknown>;
  wardenTfjs?: (input: unknown) => Promise<unknown>;
}
/** face-api's TinyFaceDetector: `detect` awaits `forwardInput`, so it may be asynchronous. */
interface TinyNet {
  config: { meanRgb?: [number, number, number] };
  forwardInput(input: NetInput, size: number): tf.Tensor4D | Promise<tf.Tensor4D>;
  wardenTfjs?: (input: NetInput, size: number) => tf.Tensor4D;
}
/** face-api's FaceRecognitionNet: `forwardInput` is synchronous (run inside tidy), `computeFaceDescriptor` is not. */
interface RecognitionNet {
  forwardInput(input: NetInput): tf.Tensor2D;
  computeFaceDescriptor(input: unknown): Promise<Float32Array | Float32Array[]>;
  wardenTfjs?: (input: unknown) => Promise<Float32Array | Float32Array[]>;
}

/** face-api's AgeGenderNet: `forwardInput` is synchronous, `predictAgeAndGender` is not. */
interface AgeGenderNet {
  forwardInput(input: NetInput): { age: tf.Tensor1D; gender: tf.Tensor2D };
  predictAgeAndGender(input: unknown): Promise<AgeGender | AgeGender[]>;
  wardenTfjs?: (input: unknown) => Promise<AgeGender | AgeGender[]>;
}
interface AgeGender { age: number; gender: 'male' | 'female'; genderProbability: number }

/** The mean RGB face-api's FaceRecognitionNet and TinyXception subtract before ÷255. */
const RECOGNITION_MEAN_RGB: [number, number, number] = [...FACE_NET_MEAN_RGB];
const DESCRIPTOR_LENGTH = 128;

/** Which backend runs each network. */
export interface FaceNetBackends {
  detector: 'onnxruntime' | 'tfjs'; landmarks: 'onnxruntime' | 'tfjs'; recognition: 'onnxruntime' | 'tfjs'; age: 'onnxruntime' | 'tfjs';
}

/**
 * Restores face-api's own networks, then (with `use`) installs each compiled one that is verified equal.
 * @param o.inputSize the detector input size comparisons run at.
 * @returns the backend of each network; for any left on TF.js although asked for, why; and, when the landmark,
 *          recognition and age networks are all compiled, their sessions (analyzer/faces/face-crops.ts runs them).
 */
export async function installCompiledNets(api: FaceApi, o: { use: boolean; inputSize: number; cacheDir?: string | null }): Promise<{ backends: FaceNetBackends; notes: string[]; perFace: FaceNets | null }> {
  const detector = api.nets.tinyFaceDetector as unknown as TinyNet;
  const recognition = api.nets.faceRecognitionNet as unknown as RecognitionNet;
  const ageGender = api.nets.ageGenderNet as unknown as AgeGenderNet;
  const landmarks = api.nets.faceLandmark68Net as unknown as LandmarkNet;
  landmarks.wardenTfjs ??= landmarks.detectLandmarks.bind(landmarks);
  landmarks.detectLandmarks = landmarks.wardenTfjs;
  detector.wardenTfjs ??= detector.forwardInput.bind(detector) as (input: NetInput, size: number) => tf.Tensor4D;
  recognition.wardenTfjs ??= recognition.computeFaceDescriptor.bind(recognition);
  ageGender.wardenTfjs ??= ageGender.predictAgeAndGender.bind(ageGender);
  detector.forwardInput = detector.wardenTfjs;
  recognition.computeFaceDescriptor = recognition.wardenTfjs;
  ageGender.predictAgeAndGender = ageGender.wardenTfjs;
  const backends: FaceNetBackends = { detector: 'tfjs', landmarks: 'tfjs', recognition: 'tfjs', age: 'tfjs' };
  const notes: string[] = [];
  if (!o.use) return { backends, notes, perFace: null };
  const perFace: Partial<FaceNets> = {};
  const nets: [CompiledFaceNet, (bytes: Uint8Array) => Promise<{ images: number; maxAbsDiff: number }>, (net: OnnxNet) => void][] = [
    ['tiny_face_detector', (bytes) => compare(api, bytes, (x) => detector.wardenTfjs!(x, o.inputSize), (net) => (x) => detectorStep(detector, net)(x, o.inputSize)), (net) => {
      detector.forwardInput = detectorStep(detector, net);
      backends.detector = 'onnxruntime';
    }],
    ['face_landmark_68', (bytes) => compare(api, bytes, (x) => landmarks.forwardInput(x), (net) => async (x) => {
      const out = await runCentred(net, x, FACE_LANDMARKS_INPUT);
      return tf.tensor2d(landmarksToFace(out.data, x.inputDimensions), out.dims as [number, number]);
    }), (net) => {
      landmarks.detectLandmarks = landmarksStep(api, net);
      backends.landmarks = 'onnxruntime';
      perFace.landmarks = net;
    }],
    ['face_recognition', (bytes) => compare(api, bytes, (x) => recognition.forwardInput(x), (net) => (x) => centredForward(net, x, FACE_RECOGNITION_INPUT)), (net) => {
      recognition.computeFaceDescriptor = recognitionStep(api, net);
      backends.recognition = 'onnxruntime';
      perFace.recognition = net;
    }],
    ['age_gender', (bytes) => compare(api, bytes, (x) => tf.tidy(() => {
      const r = ageGender.forwardInput(x);
      return tf.concat([r.age.expandDims(1), r.gender], 1);
    }), (net) => (x) => centredForward(net, x, AGE_GENDER_INPUT)), (net) => {
      ageGender.predictAgeAndGender = ageGenderStep(api, net);
      backends.age = 'onnxruntime';
      perFace.age = net;
    }],
  ];
  for (const [name, verify, install] of nets) {
    try {
      const model = await ensureCompiledFaceNet(name, { cacheDir: o.cacheDir, verify });
      if (model.report.verified) install(await OnnxNet.create(model.bytes));
      else notes.push(`${name}: the compiled network differs from face-api's by ${model.report.maxAbsDiff} (tolerance ${model.report.tolerance}): TF.js kept`);
    } catch (err) {
      notes.push(`${name}: onnxruntime unavailable: ${errorText(err)}`);
    }
  }
  const { landmarks: l, recognition: r, age: a } = perFace;
  return { backends, notes, perFace: l && r && a ? { landmarks: l, recognition: r, age: a } : null };
}

/** The detector's forward step on a compiled network: face-api's preprocessing, then onnxruntime. */
function detectorStep(net: TinyNet, onnx: OnnxNet): (input: NetInput, size: number) => Promise<tf.Tensor4D> {
  const meanRgb = net.config.meanRgb;
  return async (input, size) => {
    const batch = tf.tidy(() => {
      const n = tf.cast(input.toBatchTensor(size, false), 'float32');
      return (meanRgb ? tf.sub(n, tf.tensor1d(meanRgb)) : n).div(255) as tf.Tensor4D;
    });
    const out = await runOn(onnx, batch);
    return tf.tensor4d(out.data, out.dims as [number, number, number, number]);
  };
}

/**
 * A face network's forward pass on a compiled network, as face-api's FaceRecognitionNet and TinyXception prepare their
 * input: centred pad to square, resize to `size`, the mean RGB subtracted, ÷255. @returns the raw `[N,k]` output.
 */
async function centredForward(onnx: OnnxNet, input: NetInput, size: number): Promise<tf.Tensor2D> {
  const out = await runCentred(onnx, input, size);
  return tf.tensor2d(out.data, out.dims as [number, number]);
}

async function runCentred(onnx: OnnxNet, input: NetInput, size: number): Promise<{ data: Float32Array; dims: number[] }> {
  const batch = tf.tidy(() => tf.sub(tf.cast(input.toBatchTensor(size, true), 'float32'), tf.tensor1d(RECOGNITION_MEAN_RGB)).div(255) as tf.Tensor4D);
  return runOn(onnx, batch);
}

/** face-api's `predictAgeAndGender` on a compiled network: the same result objects, in the same order. */
function ageGenderStep(api: FaceApi, onnx: OnnxNet): (input: unknown) => Promise<AgeGender | AgeGender[]> {
  return async (input) => {
    const netInput = (await api.toNetInput(input as never)) as unknown as NetInput;
    const out = await runCentred(onnx, netInput, AGE_GENDER_INPUT);
    const results = Array.from({ length: out.dims[0]! }, (_, i): AgeGender => {
      const male = out.data[i * 3 + 1]!;
      return { age: out.data[i * 3]!, gender: male > 0.5 ? 'male' : 'female', genderProbability: male > 0.5 ? male : 1 - male };
    });
    return netInput.isBatchInput ? results : results[0]!;
  };
}

/** face-api's `detectLandmarks` on a compiled network: the same FaceLandmarks68 objects, in the same order. */
function landmarksStep(api: FaceApi, onnx: OnnxNet): (input: unknown) => Promise<unknown> {
  return async (input) => {
    const netInput = (await api.toNetInput(input as never)) as unknown as NetInput;
    const out = await runCentred(onnx, netInput, FACE_LANDMARKS_INPUT);
    const rel = landmarksToFace(out.data, netInput.inputDimensions);
    const results = Array.from({ length: out.dims[0]! }, (_, b) => new api.FaceLandmarks68(
      Array.from({ length: 68 }, (_, i) => new api.Point(rel[b * 136 + 2 * i]!, rel[b * 136 + 2 * i + 1]!)),
      { height: netInput.getInputHeight(b), width: netInput.getInputWidth(b) },
    ));
    return netInput.isBatchInput ? results : results[0]!;
  };
}

/** face-api's `computeFaceDescriptor` on a compiled network: one descriptor per face, as face-api returns them. */
function recognitionStep(api: FaceApi, onnx: OnnxNet): (input: unknown) => Promise<Float32Array | Float32Array[]> {
  return async (input) => {
    // face-api answers an empty face (a zero-size box) with a zero descriptor
    if ((input as { shape?: number[] } | null)?.shape?.some((d) => d <= 0)) return new Float32Array(DESCRIPTOR_LENGTH);
    const netInput = (await api.toNetInput(input as never)) as unknown as NetInput;
    const out = await runCentred(onnx, netInput, FACE_RECOGNITION_INPUT);
    const n = out.dims[0]!;
    const descriptors = Array.from({ length: n }, (_, i) => out.data.slice(i * DESCRIPTOR_LENGTH, (i + 1) * DESCRIPTOR_LENGTH));
    return netInput.isBatchInput ? descriptors : descriptors[0]!;
  };
}

/** Runs a network on a TF.js batch (disposed here). */
async function runOn(onnx: OnnxNet, batch: tf.Tensor4D): Promise<{ data: Float32Array; dims: number[] }> {
  let data: Float32Array;
  try {
    data = (await batch.data()) as Float32Array;
  } finally {
    batch.dispose();
  }
  return onnx.run(data, batch.shape);
}

/**
 * Runs the equivalence images (analyzer/onnx/cache.ts: face-api's sample photos and generated frames) through a
 * TF.js forward pass and the compiled one made from `bytes`.
 * @returns the images compared and the largest difference of any output value (∞ when shapes differ).
 */
async function compare(
  api: FaceApi, bytes: Uint8Array, tfjs: (input: NetInput) => tf.Tensor, compiled: (net: OnnxNet) => (input: NetInput) => Promise<tf.Tensor>,
): Promise<{ images: number; maxAbsDiff: number }> {
  const onnx = await OnnxNet.create(bytes);
  const images = await equivalenceImages();
  let maxAbsDiff = 0;
  try {
    const run = compiled(onnx);
    for (const img of images) {
      const { data, info } = await sharp(img.jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const input = tf.tensor3d(new Uint8Array(data.buffer, data.byteOffset, data.length), [info.height, info.width, 3], 'int32');
      try {
        const netInput = (await api.toNetInput(input as never)) as unknown as NetInput;
        const a = tfjs(netInput);
        const b = await run(netInput);
        const [x, y] = [await a.data(), await b.data()];
        a.dispose();
        b.dispose();
        if (x.length !== y.length) return { images: images.length, maxAbsDiff: Number.POSITIVE_INFINITY };
        for (let i = 0; i < x.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(x[i]! - y[i]!));
      } finally {
        input.dispose();
      }
    }
  } finally {
    await onnx.dispose();
  }
  return { images: images.length, maxAbsDiff };
}
