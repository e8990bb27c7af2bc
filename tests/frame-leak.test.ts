/**
 * No tensor leaks: tf.memory() must return exactly to its warm-up level after every call, over thousands of
 * classifications of good, corrupt and mixed batches (servers running nsfwjs die of leaked tensors after days).
 *
 * The model costs ≈90–140 ms per image on one core of this machine whatever the input size (every image is
 * resized to 224×224), so the model sees ~500 images here (≈70 s) and the corrupt inputs make up the rest: a leak is
 * per call, and 200+ model calls would show even one leaked tensor per call.
 */
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFrameClassifier, type FrameClassifier, type RawImage } from '../analyzer/frame-model.ts';

const ROUNDS = 50; // each: 6 good images, a mixed batch (2 good + 6 bad), an all-bad batch of 8, a pixel batch
const BAD_ONLY = 2000; // corrupt inputs in batches of 8 (no model call: must not leak either)

let classifier: FrameClassifier;
let good: Buffer[];
let bad: Buffer[];

/** Deterministic pseudo-random bytes (xorshift32). */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

beforeAll(async () => {
  classifier = await createFrameClassifier({ backend: 'auto' });
  const formats = ['jpeg', 'png', 'webp'] as const;
  good = await Promise.all(
    Array.from({ length: 12 }, (_, i) => {
      const [w, h] = [48 + i * 8, 32 + i * 4];
      const img = sharp(noise(w * h * 3, i + 1), { raw: { width: w, height: h, channels: 3 } });
      return img.toFormat(formats[i % 3]!).toBuffer();
    }),
  );
  const jpeg = good[0]!;
  bad = [
    Buffer.from('definitely not an image'),
    Buffer.alloc(0),
    jpeg.subarray(0, Math.floor(jpeg.length / 2)), // truncated JPEG
    Buffer.concat([jpeg.subarray(0, 20), noise(500, 7)]), // JPEG header, garbage body
    noise(4096, 99),
  ];
});

afterAll(() => classifier?.dispose());

function memory(): { numTensors: number; numBytes: number } {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
}

describe('frame classifier memory', () => {
  it('keeps tf.memory() exactly flat over thousands of classifications', { timeout: 240_000 }, async () => {
    const pixels: RawImage[] = [
      { data: new Uint8Array(noise(224 * 224 * 3, 5)), width: 224, height: 224, channels: 3 },
      { data: new Uint8Array(noise(31 * 17 * 4, 6)), width: 31, height: 17, channels: 4 },
      { data: new Uint8Array(10), width: 224, height: 224, channels: 3 }, // malformed
    ];
    const round = async (r: number) => {
      const pick = (k: number) => good[(r * 7 + k) % good.length]!;
      const a = await classifier.classify([0, 1, 2, 3, 4, 5].map(pick));
      const b = await classifier.classify([bad[r % bad.length]!, pick(6), ...bad, pick(7)]);
      const c = await classifier.classify([...bad, ...bad.slice(0, 3)]);
      const d = await classifier.classifyPixels(pixels);
      return [a, b, c, d];
    };

    await round(0); // warm-up: kernels and backend caches are created on first use
    await round(1);
    const baseline = memory();
    let classified = 0;

    for (let r = 0; r < ROUNDS; r++) {
      const [a, b, c, d] = await round(r);
      expect(a!.every((x) => x.ok)).toBe(true);
      expect(b!.map((x) => x.ok)).toEqual([false, true, false, false, false, false, false, true]);
      expect(c!.some((x) => x.ok)).toBe(false);
      expect(d!.map((x) => x.ok)).toEqual([true, true, false]);
      classified += a!.length + b!.length + c!.length + d!.length;
      expect(memory()).toEqual(baseline);
    }
    for (let i = 0; i < BAD_ONLY; i += 8) {
      const batch = Array.from({ length: 8 }, (_, k) => bad[(i + k) % bad.length]!);
      const res = await classifier.classify(batch);
      expect(res.every((x) => !x.ok)).toBe(true);
      classified += batch.length;
    }
    expect(memory()).toEqual(baseline);
    expect(classified).toBeGreaterThan(3000);
  });

  it('releases the model on dispose()', async () => {
    const extra = await createFrameClassifier({ backend: 'auto' });
    const before = memory().numTensors;
    extra.dispose();
    extra.dispose(); // idempotent
    expect(memory().numTensors).toBeLessThan(before);
    await expect(extra.classify([good[0]!])).rejects.toThrow(/disposed/);
  });
});
