/**
 * The face crops cut in plain loops against face-api's own TF.js steps (slice, centred pad to square, bilinear resize,
 * mean and ÷255) on a real photograph: tall, wide, square, odd and even differences, at the frame's edges, both sizes.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { samplePhotos } from '../../bin/demo-media.ts';
import { FaceAnalyzer } from './face-model.ts';
import { FACE_NET_MEAN_RGB, writeFaceInput, type PixelBox } from './face-crops.ts';

const require = createRequire(import.meta.url);
type FaceApi = typeof import('@vladmandic/face-api');

describe('face crops without TF.js', () => {
  let api: FaceApi;
  let rgb: Buffer;
  let width: number;
  let height: number;
  beforeAll(async () => {
    await FaceAnalyzer.load({ networks: 'tfjs' }); // TF.js's wasm backend, as face-api uses it
    api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    const { data, info } = await sharp(readFileSync(samplePhotos()[0]!)).resize({ width: 640 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    [rgb, width, height] = [data, info.width, info.height];
  });

  const boxes: PixelBox[] = [
    { x: 100, y: 50, width: 77, height: 91 }, // tall, even difference
    { x: 10, y: 20, width: 120, height: 75 }, // wide, odd difference
    { x: 200, y: 100, width: 64, height: 64 }, // square
    { x: 0, y: 0, width: 33, height: 150 }, // at the top-left corner, very tall
  ];

  it('gives face-api\'s network input within float rounding', async () => {
    boxes.push({ x: width - 50, y: height - 41, width: 50, height: 41 }); // at the bottom-right corner
    const image = tf.tensor3d(new Uint8Array(rgb), [height, width, 3], 'int32');
    try {
      for (const box of boxes) {
        for (const size of [112, 150]) {
          const face = tf.slice3d(image, [box.y, box.x, 0], [box.height, box.width, 3]);
          const input = (await api.toNetInput(face as never)) as unknown as { toBatchTensor(s: number, c: boolean): tf.Tensor4D };
          const refT = tf.tidy(() => tf.cast(input.toBatchTensor(size, true), 'float32').sub(tf.tensor1d([...FACE_NET_MEAN_RGB])).div(255));
          const ref = await refT.data();
          refT.dispose();
          face.dispose();
          const mine = new Float32Array(3 + size * size * 3);
          writeFaceInput(rgb, width, height, box, size, mine, 3); // at an offset, as in a batch
          let max = 0;
          for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(mine[3 + i]! - ref[i]!));
          expect(max, `${JSON.stringify(box)} at ${size}`).toBeLessThan(1e-5);
          expect(mine.subarray(0, 3)).toEqual(new Float32Array(3));
        }
      }
    } finally {
      image.dispose();
    }
  });

  it('refuses a box outside the frame', () => {
    const out = new Float32Array(112 * 112 * 3);
    expect(() => writeFaceInput(rgb, width, height, { x: width - 10, y: 0, width: 20, height: 20 }, 112, out, 0)).toThrow(RangeError);
    expect(() => writeFaceInput(rgb, width, height, { x: 0, y: 0, width: 0, height: 20 }, 112, out, 0)).toThrow(RangeError);
  });
});
