import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { samplePhotos } from '../bin/demo-media.ts';
import { dHash, hammingDistance } from './phash.ts';

describe('dHash', () => {
  const photos = samplePhotos().map((p) => readFileSync(p));

  it('is 16 hex digits and stable for the same bytes', async () => {
    const h = await dHash(photos[0]!);
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    expect(await dHash(photos[0]!)).toBe(h);
  });

  it('keeps a photo re-encoded and rescaled within distance 4', async () => {
    for (const photo of photos) {
      const original = await dHash(photo);
      const small = await sharp(photo).resize({ height: 480 }).jpeg({ quality: 60 }).toBuffer();
      const webp = await sharp(photo).resize({ width: 320 }).webp({ quality: 50 }).toBuffer();
      expect(hammingDistance(original, await dHash(small))).toBeLessThanOrEqual(4);
      expect(hammingDistance(original, await dHash(webp))).toBeLessThanOrEqual(4);
    }
  });

  it('puts different photos more than 10 bits apart', async () => {
    const hashes = await Promise.all(photos.map((p) => dHash(p)));
    for (let i = 0; i < hashes.length; i++) {
      for (let j = i + 1; j < hashes.length; j++) {
        expect(hammingDistance(hashes[i]!, hashes[j]!), `sample${i + 1} vs sample${j + 1}`).toBeGreaterThan(10);
      }
    }
  });

  it('rejects bytes that are not an image', async () => {
    await expect(dHash(Buffer.from('not an image'))).rejects.toThrow();
  });
});

describe('hammingDistance', () => {
  it('counts differing bits', () => {
    expect(hammingDistance('0000000000000000', '0000000000000000')).toBe(0);
    expect(hammingDistance('ffffffffffffffff', '0000000000000000')).toBe(64);
    expect(hammingDistance('8000000000000001', '0000000000000000')).toBe(2);
  });

  it('rejects hashes of different lengths or non-hex', () => {
    expect(() => hammingDistance('ff', 'fff')).toThrow();
    expect(() => hammingDistance('zz', 'ff')).toThrow();
  });
});
