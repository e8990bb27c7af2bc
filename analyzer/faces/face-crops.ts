/**
 * The per-face half of face-api's cascade without TensorFlow.js: once the landmark, recognition and age networks all
 * run on onnxruntime, each face found is cut out of the decoded frame, padded and resized here, in plain loops over
 * the RGB bytes, and the faces go through each network in one batch. face-api itself ran the same steps as TF.js
 * operations on the whole frame as an int32 tensor, three times per face (landmarks, then the aligned face for the
 * descriptor and again for the age), which cost more than the networks.
 *
 * Every step is face-api's (@vladmandic/face-api 1.7 src/): the face box clipped at the image borders and floored
 * (`Box.clipAtImageBorders`, `extractFaceTensors`); the crop padded to a square with zeros, centred (`padToSquare`:
 * round(difference ÷ 2) after, the rest before); resized with TensorFlow's bilinear resize (`resizeBilinear`, no
 * corner alignment, no half-pixel centres); the mean RGB subtracted and ÷255; landmarks mapped back to the face as
 * `FaceLandmark68NetBase.postProcess` does, aligned with face-api's own `extendWithFaceLandmarks` (the age network's
 * face) and `align(null, { useDlibAlignment: true })` (the recognition network's, as ComputeAllFaceDescriptorsTask). The face-api classes
 * (FaceDetection, Box, FaceLandmarks68) are used as they are. Tests compare the results with face-api on TF.js.
 */
import type { OnnxNet } from '../onnx/net.ts';
import { AGE_GENDER_INPUT } from '../onnx/age-gender.ts';
import { FACE_LANDMARKS_INPUT } from '../onnx/face-landmarks.ts';
import { FACE_RECOGNITION_INPUT } from '../onnx/face-recognition.ts';

type FaceApi = typeof import('@vladmandic/face-api');
type FaceDetection = import('@vladmandic/face-api').FaceDetection;

/** A whole-pixel box in the frame. */
export interface PixelBox { x: number; y: number; width: number; height: number }

/** The mean RGB face-api's landmark, recognition and age networks subtract before ÷255. */
export const FACE_NET_MEAN_RGB: readonly [number, number, number] = [122.782, 117.001, 104.298];

/**
 * Writes one face's network input, NHWC float32, at `offset` of `out` (size × size × 3 values): the box cut from the
 * RGB frame (`rgb`: width × height × 3 bytes), zero-padded to a centred square, resized to `size` × `size` with
 * TensorFlow's bilinear resize, the mean subtracted and ÷255.
 * @throws RangeError when the box is empty or outside the frame.
 */
export function writeFaceInput(rgb: Uint8Array, width: number, height: number, box: PixelBox, size: number, out: Float32Array, offset: number): void {
  const { x, y, width: w, height: h } = box;
  if (w <= 0 || h <= 0 || x < 0 || y < 0 || x + w > width || y + h > height) throw new RangeError(`face box ${JSON.stringify(box)} outside the ${width}×${height} frame`);
  const side = Math.max(w, h);
  const diff = Math.abs(h - w);
  const before = diff - Math.round(diff * 0.5);
  // the square's pixel (r, c) is the crop's (r − padTop, c − padLeft), or zero
  const padTop = h < w ? before : 0;
  const padLeft = w < h ? before : 0;
  const [mr, mg, mb] = FACE_NET_MEAN_RGB;
  const scale = side / size;
  // the two source rows of each output row and the two source columns of each output column, as byte offsets into
  // `rgb` (-1: in the zero padding), with the fractions: the same values face-api's resize computes per sample, found
  // once per row and column instead of once per sample and channel (this loop was a fifth of a face check's CPU)
  const { rows0, rows1, fys, cols0, cols1, fxs } = taps(size);
  for (let i = 0; i < size; i++) {
    const s = i * scale;
    const a = Math.floor(s);
    const b = Math.min(side - 1, Math.ceil(s));
    const ra = a - padTop;
    const rb = b - padTop;
    rows0[i] = ra < 0 || ra >= h ? -1 : (y + ra) * width * 3;
    rows1[i] = rb < 0 || rb >= h ? -1 : (y + rb) * width * 3;
    fys[i] = s - a;
    const ca = a - padLeft;
    const cb = b - padLeft;
    cols0[i] = ca < 0 || ca >= w ? -1 : (x + ca) * 3;
    cols1[i] = cb < 0 || cb >= w ? -1 : (x + cb) * 3;
    fxs[i] = s - a;
  }
  let o = offset;
  for (let r = 0; r < size; r++) {
    const r0 = rows0[r]!;
    const r1 = rows1[r]!;
    const fy = fys[r]!;
    for (let c = 0; c < size; c++) {
      const c0 = cols0[c]!;
      const c1 = cols1[c]!;
      const fx = fxs[c]!;
      // each corner's first byte, or -1 in the zero padding
      const tl = r0 < 0 || c0 < 0 ? -1 : r0 + c0;
      const tr = r0 < 0 || c1 < 0 ? -1 : r0 + c1;
      const bl = r1 < 0 || c0 < 0 ? -1 : r1 + c0;
      const br = r1 < 0 || c1 < 0 ? -1 : r1 + c1;
      for (let ch = 0; ch < 3; ch++) {
        const vtl = tl < 0 ? 0 : rgb[tl + ch]!;
        const vtr = tr < 0 ? 0 : rgb[tr + ch]!;
        const vbl = bl < 0 ? 0 : rgb[bl + ch]!;
        const vbr = br < 0 ? 0 : rgb[br + ch]!;
        const top = vtl + (vtr - vtl) * fx;
        const bottom = vbl + (vbr - vbl) * fx;
        out[o++] = (top + (bottom - top) * fy - (ch === 0 ? mr : ch === 1 ? mg : mb)) / 255;
      }
    }
  }
}

/** Scratch arrays of {@link writeFaceInput} per output size (the networks' inputs: 112, 150), reused across calls. */
const tapsBySize = new Map<number, { rows0: Int32Array; rows1: Int32Array; fys: Float64Array; cols0: Int32Array; cols1: Int32Array; fxs: Float64Array }>();
function taps(size: number) {
  let t = tapsBySize.get(size);
  if (!t) {
    t = { rows0: new Int32Array(size), rows1: new Int32Array(size), fys: new Float64Array(size), cols0: new Int32Array(size), cols1: new Int32Array(size), fxs: new Float64Array(size) };
    tapsBySize.set(size, t);
  }
  return t;
}

/**
 * The landmark network's output (x, y of 68 points as fractions of the centred, padded 112×112 input) as fractions of
 * each face's own width and height, in place: face-api's FaceLandmark68NetBase.postProcess.
 * @param dims [height, width] of each face in the batch, in order.
 */
export function landmarksToFace(out: Float32Array, dims: readonly (readonly number[])[]): Float32Array {
  dims.forEach(([height, width], b) => {
    const scale = FACE_LANDMARKS_INPUT / Math.max(height!, width!);
    const w = width! * scale;
    const h = height! * scale;
    const padX = w < h ? Math.abs(w - h) / 2 : 0;
    const padY = h < w ? Math.abs(w - h) / 2 : 0;
    for (let i = 0; i < 136; i += 2) {
      const k = b * 136 + i;
      out[k] = (out[k]! * FACE_LANDMARKS_INPUT - padX) / w;
      out[k + 1] = (out[k + 1]! * FACE_LANDMARKS_INPUT - padY) / h;
    }
  });
  return out;
}

/** The compiled per-face networks. */
export interface FaceNets { landmarks: OnnxNet; recognition: OnnxNet; age: OnnxNet }

/** One face as the cascade leaves it: face-api's detection, landmarks-aligned rectangle, age and descriptor. */
export interface CroppedFace { detection: FaceDetection; age: number; descriptor: Float32Array | null }

/** All faces' inputs for one network, in one batch. */
async function runBatch(net: OnnxNet, rgb: Uint8Array, width: number, height: number, boxes: PixelBox[], size: number): Promise<Float32Array> {
  const per = size * size * 3;
  const input = new Float32Array(boxes.length * per);
  boxes.forEach((b, i) => writeFaceInput(rgb, width, height, b, size, input, i * per));
  return (await net.run(input, [boxes.length, size, size, 3])).data;
}

type Box = import('@vladmandic/face-api').Box;

/** face-api's extractFaceTensors box: a detection at the frame's size (or a box as it is), clipped at its borders, floored. */
function faceBox(d: FaceDetection | Box, width: number, height: number): PixelBox {
  const b = ('forSize' in d ? d.forSize(width, height).box : d).clipAtImageBorders(width, height);
  return { x: b.x, y: b.y, width: b.width, height: b.height };
}

/**
 * The landmark, age and (with `descriptors`) recognition networks on the faces face-api's detector found, each in one
 * batch. Faces whose box is empty once clipped are left out (face-api cannot crop them either).
 */
export async function analyzeCroppedFaces(api: FaceApi, nets: FaceNets, rgb: Uint8Array, width: number, height: number, detections: FaceDetection[], descriptors: boolean): Promise<CroppedFace[]> {
  const found = detections.map((d) => ({ d, box: faceBox(d, width, height) })).filter((f) => f.box.width > 0 && f.box.height > 0);
  if (found.length === 0) return [];
  const marks = await runBatch(nets.landmarks, rgb, width, height, found.map((f) => f.box), FACE_LANDMARKS_INPUT);
  landmarksToFace(marks, found.map((f) => [f.box.height, f.box.width]));
  const aligned = found.map((f, i) => {
    const { width: w, height: h } = f.box;
    const points = Array.from({ length: 68 }, (_, p) => new api.Point(marks[i * 136 + 2 * p]!, marks[i * 136 + 2 * p + 1]!));
    const withLandmarks = api.extendWithFaceLandmarks({ detection: f.d }, new api.FaceLandmarks68(points, { width: w, height: h }));
    return {
      detection: f.d,
      // the age network sees the aligned rectangle (PredictAllAgeAndGenderWithFaceAlignmentTask), the recognition
      // network dlib's alignment of the landmarks (ComputeAllFaceDescriptorsTask)
      box: faceBox(withLandmarks.alignedRect, width, height),
      dlib: faceBox(withLandmarks.landmarks.align(null, { useDlibAlignment: true }), width, height),
    };
  });
  const usable = aligned.filter((a) => a.box.width > 0 && a.box.height > 0 && a.dlib.width > 0 && a.dlib.height > 0);
  if (usable.length === 0) return [];
  const ages = await runBatch(nets.age, rgb, width, height, usable.map((a) => a.box), AGE_GENDER_INPUT);
  const desc = descriptors ? await runBatch(nets.recognition, rgb, width, height, usable.map((a) => a.dlib), FACE_RECOGNITION_INPUT) : null;
  return usable.map((a, i) => ({
    detection: a.detection,
    age: ages[i * 3]!,
    descriptor: desc ? desc.slice(i * 128, (i + 1) * 128) : null,
  }));
}
