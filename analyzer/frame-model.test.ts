import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFrameClassifier, MODEL_INPUT_SIZE, resizeToModelInput, type RawImage } from './frame-model.ts';

function randomImage(width: number, height: number, channels: 3 | 4, seed: number): RawImage {
  const data = new Uint8Array(width * height * channels);
  let x = seed;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return { data, width, height, channels };
}

/** What nsfwjs's infer() does to a decoded image before the model. */
function nsfwjsPreprocess(img: RawImage): Float32Array {
  return tf.tidy(() => {
    let t = tf.tensor3d(Int32Array.from(img.data), [img.height, img.width, img.channels], 'int32');
    if (img.channels === 4) t = t.slice([0, 0, 0], [img.height, img.width, 3]);
    const normalized = t.toFloat().div(tf.scalar(255));
    const resized =
      img.height !== MODEL_INPUT_SIZE || img.width !== MODEL_INPUT_SIZE
        ? tf.image.resizeBilinear(normalized as tf.Tensor3D, [MODEL_INPUT_SIZE, MODEL_INPUT_SIZE], true)
        : normalized;
    return resized.dataSync() as Float32Array;
  });
}

describe('resizeToModelInput', () => {
  // the reference kernel on the plain JS backend (importing the wasm backend registers it with higher priority)
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each([
    [1920, 1080, 3],
    [301, 517, 3],
    [224, 224, 3],
    [100, 40, 3],
    [1, 1, 3],
    [640, 360, 4],
  ] as const)('equals tf.image.resizeBilinear(alignCorners) ÷255 for %ix%i×%i', (w, h, c) => {
    const img = randomImage(w, h, c, w * 31 + h);
    const ours = resizeToModelInput(img);
    const ref = nsfwjsPreprocess(img);
    expect(ours).toHaveLength(MODEL_INPUT_SIZE * MODEL_INPUT_SIZE * 3);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - ref[i]!));
    expect(worst).toBeLessThan(1e-5);
  });

  it('rejects a buffer that does not match its shape', () => {
    expect(() => resizeToModelInput({ data: new Uint8Array(10), width: 4, height: 4, channels: 3 })).toThrow(/expected 48/);
    expect(() => resizeToModelInput({ data: new Uint8Array(0), width: 0, height: 0, channels: 3 })).toThrow(/bad image shape/);
  });
});

describe('createFrameClassifier', () => {
  const require = createRequire(import.meta.url);
  let tfjsNodeInstalled = true;
  try {
    require.resolve('@tensorflow/tfjs-node');
  } catch {
    tfjsNodeInstalled = false;
  }

  it.skipIf(tfjsNodeInstalled)("throws a clear error when 'tfjs-node' is requested but not installed", async () => {
    await expect(createFrameClassifier({ backend: 'tfjs-node' })).rejects.toThrow(/tfjs-node.*unavailable.*FRAME_BACKEND=wasm/s);
  });
});
