// imageLength and inspectImage on real photos (face-api's demo samples) in each accepted format, as uploaded and with
// bytes appended after the image the way phones and polyglot files append them.
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { samplePhotos } from '../bin/demo-media.ts';
import { imageLength, inspectImage } from './verification-checks.ts';

const photo = readFileSync(samplePhotos()[0]!);
const limits = { maxBytes: 8 * 1024 * 1024, maxPixels: 40_000_000 };
const html = Buffer.from('<html><script>alert(document.cookie)</script></html>');
const zip = Buffer.concat([Buffer.from('504b0304140000000000', 'hex'), Buffer.alloc(200, 7)]);

/** An APP15 segment whose payload holds an EOI and an SOI (as an EXIF thumbnail's does), put right after the SOI. */
function withEmbeddedJpegMarkers(jpeg: Buffer): Buffer {
  const payload = Buffer.from([0xff, 0xd8, 0x00, 0x01, 0xff, 0xd9, 0xff, 0xd9]);
  const seg = Buffer.concat([Buffer.from([0xff, 0xef, 0, payload.length + 2]), payload]);
  return Buffer.concat([jpeg.subarray(0, 2), seg, jpeg.subarray(2)]);
}

/** The photo re-encoded: baseline and progressive JPEG (several scans, tables between them), PNG, WebP. */
async function encodings(): Promise<[string, string, Buffer][]> {
  const img = sharp(photo).resize(320);
  return [
    ['jpeg', 'as shipped', photo],
    ['jpeg', 'progressive', await img.clone().jpeg({ progressive: true, quality: 90 }).toBuffer()],
    ['jpeg', 'with EXIF', await img.clone().jpeg().withMetadata({ exif: { IFD0: { Make: 'Warden', Model: 'test' } } }).toBuffer()],
    ['jpeg', 'EOI inside a segment', withEmbeddedJpegMarkers(photo)],
    ['png', 'png', await img.clone().png().toBuffer()],
    ['webp', 'webp', await img.clone().webp().toBuffer()],
  ];
}

describe('imageLength', () => {
  it('is the whole file for a clean image and the image alone when bytes follow it', async () => {
    for (const [format, label, bytes] of await encodings()) {
      expect(imageLength(format, bytes), `${label}: clean`).toBe(bytes.length);
      for (const tail of [html, zip, Buffer.from([0xff, 0xd9, 0xff, 0xd8]), bytes.subarray(0, 500)]) {
        expect(imageLength(format, Buffer.concat([bytes, tail])), `${label} + ${tail.length} bytes`).toBe(bytes.length);
      }
    }
  });

  it('cuts nothing when the structure cannot be walked to its end', async () => {
    expect(imageLength('jpeg', photo.subarray(0, 1000))).toBe(1000); // truncated inside the scan: no EOI
    expect(imageLength('png', Buffer.from('89504e470d0a1a0a0000', 'hex'))).toBe(10);
    expect(imageLength('gif', Buffer.concat([photo, html]))).toBe(photo.length + html.length);
    const jpegNoSoi = Buffer.concat([Buffer.from([0, 0]), photo]);
    expect(imageLength('jpeg', jpegNoSoi)).toBe(jpegNoSoi.length);
  });
});

describe('inspectImage', () => {
  it('counts the bytes after the image as trailing (they are not stored); a clean image has none', async () => {
    const clean = await inspectImage('document', photo, limits);
    expect(clean).toEqual({ format: 'jpeg', width: expect.any(Number), height: expect.any(Number), bytes: photo.length });
    const polyglot = await inspectImage('document', Buffer.concat([photo, html]), limits);
    expect(polyglot).toMatchObject({ format: 'jpeg', bytes: photo.length + html.length, trailingBytes: html.length });
  });
});
