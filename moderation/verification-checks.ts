/**
 * The pure parts of age/ID verification (moderation/verification.ts): what a submission's images must be (format
 * by content, byte and pixel limits, decodable to the end), the face-descriptor distance, the provider webhook's
 * signature (Stripe's `t=…,v1=…` convention), and the shapes of the checks stored with a verification.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import sharp, { type Metadata } from 'sharp';
import { WardenError, errorText } from '../core/errors.ts';

/** The case reason of a verification waiting for review. */
export const VERIFICATION_CASE_REASON = 'verification.review';
/** The two images of a submission. */
export const VERIFICATION_IMAGES = ['document', 'selfie'] as const;
export type VerificationImage = (typeof VERIFICATION_IMAGES)[number];
/** Image formats accepted, by what the bytes are (never by file name or declared type). */
export const VERIFICATION_FORMATS = ['jpeg', 'png', 'webp'] as const;
/** The content type served for each accepted format. */
export const CONTENT_TYPES: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };
/** Seconds a provider webhook's timestamp may be away from now (replay protection). */
export const WEBHOOK_TOLERANCE_S = 300;

/** The AES-GCM context string of a verification's image or descriptor. */
export const sealContext = (verificationId: string, what: VerificationImage | 'descriptor') => `verification:${verificationId}:${what}`;

/** Anything that finds faces in an image (analyzer/faces FaceThread in the API; tests may pass another). */
export interface FaceFinder {
  analyze(image: Buffer): Promise<{ faces: { box: { x: number; y: number; width: number; height: number }; score: number; age: number; descriptor: Float32Array }[]; ms: number }>;
}

/** What the checks found about one image. `face`: the largest face (pixels of the analysed, upright image). */
export interface ImageCheck {
  format: string; width: number; height: number; bytes: number; faces: number;
  /** Bytes after the end of the image in the upload (a phone's trailer, a polyglot's payload): not stored. */
  trailingBytes?: number;
  face?: { box: { x: number; y: number; width: number; height: number }; score: number; estimatedAge: number };
}

/** The `checks` column: what the automatic checks found. `checkedOn` is the UTC date the age was computed on. */
export interface VerificationChecks {
  checkedOn: string;
  ageYears: number | null;
  adult: boolean | null;
  document?: ImageCheck;
  selfie?: ImageCheck;
  /** Euclidean distance of the two largest faces' descriptors, the threshold in force, and distance ≤ threshold. */
  match?: { distance: number; threshold: number; same: boolean };
  model?: string;
  /** Milliseconds the face models took for both images. */
  modelMs?: number;
  provider?: { name: string; reference: string; reason: string | null };
}

// ---- pure helpers ----

/**
 * Checks one uploaded image by its content: JPEG, PNG or WebP (what sharp reads in the bytes), at most
 * `maxBytes`, at most `maxPixels` (width × height; sharp's `limitInputPixels` refuses a decompression bomb
 * before decoding it), one frame, and decodable to the end (a truncated file is refused). Bytes after the end of
 * the image ({@link imageLength}) are counted in `trailingBytes`; the caller stores the image without them.
 * @param field the form field, named in every error.
 * @throws WardenError 413 too large (bytes or pixels), 415 not an accepted image format, 400 empty, truncated or corrupt.
 */
export async function inspectImage(field: string, bytes: Uint8Array, limits: { maxBytes: number; maxPixels: number }): Promise<Omit<ImageCheck, 'faces' | 'face'>> {
  if (bytes.byteLength === 0) throw new WardenError('bad_request', `${field}: the file is empty`);
  if (bytes.byteLength > limits.maxBytes) throw new WardenError('payload_too_large', `${field}: ${bytes.byteLength} bytes is more than the ${limits.maxBytes} allowed`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let meta: Metadata;
  try {
    // the header only (nothing decoded yet): the size is checked below, then the decode runs under limitInputPixels
    meta = await sharp(buf, { limitInputPixels: false }).metadata();
  } catch {
    throw new WardenError('unsupported_media_type', `${field}: not an image (send a JPEG, PNG or WebP photo)`);
  }
  if (!(VERIFICATION_FORMATS as readonly string[]).includes(meta.format ?? '')) {
    throw new WardenError('unsupported_media_type', `${field}: ${meta.format ?? 'unknown'} images are not accepted (send a JPEG, PNG or WebP photo)`);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (!width || !height) throw new WardenError('bad_request', `${field}: the image has no size`);
  if (width * height > limits.maxPixels) throw new WardenError('payload_too_large', `${field}: ${width}×${height} is more than the ${limits.maxPixels} pixels allowed`);
  if ((meta.pages ?? 1) > 1) throw new WardenError('bad_request', `${field}: an animated image is not accepted (send a still photo)`);
  try {
    // decode it all (shrink-on-load keeps this small): a truncated or corrupt file fails here
    await sharp(buf, { limitInputPixels: limits.maxPixels, failOn: 'truncated' }).resize(64, 64, { fit: 'inside' }).raw().toBuffer();
  } catch (err) {
    throw new WardenError('bad_request', `${field}: the image is truncated or corrupt (${errorText(err).split('\n')[0]})`);
  }
  const trailing = bytes.byteLength - imageLength(meta.format!, buf);
  return { format: meta.format!, width, height, bytes: bytes.byteLength, ...(trailing > 0 ? { trailingBytes: trailing } : {}) };
}

/**
 * The length, in bytes, of the image proper at the start of `buf`; whatever follows it (a phone's maker trailer, a
 * motion photo's video, the HTML or ZIP of a polyglot file) is not part of the picture. JPEG: its segments are walked
 * and each scan's entropy-coded data read past stuffed bytes (FF 00), fill bytes and restart markers, up to the EOI
 * marker (ITU-T T.81, B.1.1: so an EXIF thumbnail's own EOI, inside its APP1 segment, is skipped with it). PNG: its
 * chunks up to IEND's CRC (PNG specification, 5.3). WebP: the RIFF header's size (RIFF container, padded to even).
 * @param format sharp's name of the format ('jpeg', 'png', 'webp'; anything else: `buf.length`).
 * @returns between 1 and `buf.length`; `buf.length` when the structure cannot be walked to its end (then nothing is cut:
 *   the decoder has already accepted the file).
 */
export function imageLength(format: string, buf: Uint8Array): number {
  const n = buf.length;
  if (format === 'png') {
    for (let i = 8; i + 12 <= n;) {
      const len = ((buf[i]! << 24) >>> 0) + (buf[i + 1]! << 16) + (buf[i + 2]! << 8) + buf[i + 3]!;
      const next = i + 12 + len;
      if (next > n) return n;
      if (buf[i + 4] === 0x49 && buf[i + 5] === 0x45 && buf[i + 6] === 0x4e && buf[i + 7] === 0x44) return next; // IEND
      i = next;
    }
    return n;
  }
  if (format === 'webp') {
    if (n < 12) return n;
    const size = buf[4]! + (buf[5]! << 8) + (buf[6]! << 16) + ((buf[7]! << 24) >>> 0);
    return Math.min(n, 8 + size + (size & 1));
  }
  if (format !== 'jpeg' || buf[0] !== 0xff || buf[1] !== 0xd8) return n;
  let i = 2;
  while (i + 1 < n) {
    if (buf[i] !== 0xff) return n;
    const m = buf[i + 1]!;
    if (m === 0xff) { i++; continue; } // fill byte before a marker
    if (m === 0xd9) return i + 2; // EOI
    if ((m >= 0xd0 && m <= 0xd7) || m === 0x01) { i += 2; continue; } // markers without a length
    if (i + 3 >= n) return n;
    const len = (buf[i + 2]! << 8) + buf[i + 3]!;
    if (len < 2) return n;
    i += 2 + len;
    if (m !== 0xda) continue;
    // SOS: entropy-coded data up to the next marker that is not FF 00, a restart or fill
    while (i + 1 < n) {
      if (buf[i] !== 0xff) { i++; continue; }
      const x = buf[i + 1]!;
      if (x === 0x00 || (x >= 0xd0 && x <= 0xd7)) i += 2;
      else if (x === 0xff) i++;
      else break;
    }
  }
  return n;
}

/** Why a provider webhook's signature was refused: 400 malformed or missing, 401 wrong or stale. */
export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; status: 400 | 401; message: string };

/**
 * Checks a provider webhook's `Warden-Verification-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]` header:
 * `v1` is the hex HMAC-SHA256 of `<t>.<raw body>` under one of `secrets` (two during a rotation; any `v1`
 * matching any secret passes), compared in constant time; `t` must be within `toleranceS` of `nowS`.
 */
export function verifyProviderSignature(header: string | undefined, rawBody: Uint8Array, secrets: readonly string[], nowS: number, toleranceS = WEBHOOK_TOLERANCE_S): SignatureCheck {
  if (!header) return { ok: false, status: 400, message: 'missing Warden-Verification-Signature header' };
  let t: number | null = null;
  const sigs: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't') {
      if (t !== null || !/^\d{1,12}$/.test(v)) return { ok: false, status: 400, message: 'Warden-Verification-Signature: t= must appear once, as unix seconds' };
      t = Number(v);
    } else if (k === 'v1' && /^[0-9a-fA-F]{64}$/.test(v)) sigs.push(Buffer.from(v, 'hex'));
  }
  if (t === null || sigs.length === 0) return { ok: false, status: 400, message: 'Warden-Verification-Signature needs t=<unix seconds> and v1=<hex HMAC-SHA256>' };
  if (Math.abs(nowS - t) > toleranceS) return { ok: false, status: 401, message: `the signature's timestamp is more than ${toleranceS} s from now (stale or replayed)` };
  const matches = secrets.some((secret) => {
    const expected = createHmac('sha256', secret).update(`${t}.`, 'utf8').update(rawBody).digest();
    // every v1 compared (no early exit on the first mismatch)
    return sigs.map((s) => timingSafeEqual(s, expected)).includes(true);
  });
  return matches ? { ok: true, timestamp: t } : { ok: false, status: 401, message: 'the signature does not match' };
}

/** The largest face of a result (several faces on an image: the biggest box is the subject's). */
export function largest<F extends { box: { width: number; height: number } }>(faces: F[]): F | undefined {
  return [...faces].sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];
}

/** Euclidean distance between two face descriptors (face-api's measure). */
export function descriptorDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) { const d = a[i]! - b[i]!; s += d * d; }
  return Math.sqrt(s);
}
