/**
 * Perceptual hashing of frames, so near-identical frames (a static scene, a re-encoded copy of a known
 * image) can be recognised cheaply.
 */
import sharp from 'sharp';

/**
 * 64-bit difference hash ("dHash") of an image, as described by Neal Krawetz, "Kind of Like That"
 * (The Hacker Factor Blog, 21 January 2013, hackerfactor.com/blog/index.php?/archives/529-Kind-of-Like-That.html):
 * shrink to 9×8 greyscale pixels ignoring aspect ratio, then for each of the 8 rows set one bit per pair of
 * horizontally adjacent pixels: 1 when the left pixel is brighter than the right one. Robust to rescaling,
 * re-encoding and small brightness or colour changes; not to crops, rotations or mirroring.
 * @param image encoded image bytes in any format sharp reads (JPEG, PNG, WebP, …).
 * @returns 16 lower-case hex digits; bit 63 (the first hex digit's high bit) is row 0's leftmost pair.
 * @throws Error from sharp when the bytes are not a decodable image.
 */
export async function dHash(image: Buffer): Promise<string> {
  const pixels = await sharp(image)
    .greyscale()
    // No JPEG shrink-on-load: libjpeg's DCT downscaling shifts the 9×8 averages enough to flip several
    // bits between an original and its rescaled copy (measured: up to 9 bits; 3 without it).
    .resize(9, 8, { fit: 'fill', kernel: 'lanczos3', fastShrinkOnLoad: false })
    .raw()
    .toBuffer();
  if (pixels.length !== 72) throw new Error(`dHash: expected 72 grey pixels, got ${pixels.length}`);
  let hash = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const left = pixels[y * 9 + x]!;
      const right = pixels[y * 9 + x + 1]!;
      hash = (hash << 1n) | (left > right ? 1n : 0n);
    }
  }
  return hash.toString(16).padStart(16, '0');
}

/**
 * Number of differing bits between two hashes of equal length (e.g. two {@link dHash} results).
 * 0 means identical; for dHash, ≤ 4 is the same picture (rescaled or re-encoded) and > 10 a different one.
 * @throws Error when the strings differ in length or are not hex.
 */
export function hammingDistance(a: string, b: string): number {
  if (a.length !== b.length) throw new Error(`hammingDistance: length ${a.length} ≠ ${b.length}`);
  if (!/^[0-9a-f]*$/i.test(a) || !/^[0-9a-f]*$/i.test(b)) throw new Error('hammingDistance: not hex');
  let x = BigInt(`0x${a || '0'}`) ^ BigInt(`0x${b || '0'}`);
  let bits = 0;
  while (x > 0n) {
    bits += Number(x & 1n);
    x >>= 1n;
  }
  return bits;
}
