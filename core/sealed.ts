/**
 * Authenticated encryption at rest (AES-256-GCM, NIST SP 800-38D) for verification images and face descriptors.
 * A sealed blob is `version (1 byte = 1) | nonce (12 bytes, random) | ciphertext | tag (16 bytes)`. The
 * `context` string is bound as additional authenticated data, so a blob copied onto another record (another
 * verification, another field) does not open. Keys are 32 bytes, given as 64 hex digits (config.dataKey, DATA_KEY).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Thrown when a blob does not open: wrong key, wrong context, truncated or altered. */
export class SealError extends Error {
  override name = 'SealError';
}

function keyOf(hexKey: string): Buffer {
  const key = Buffer.from(hexKey, 'hex');
  if (key.length !== 32) throw new SealError('the key must be 32 bytes (64 hex digits)');
  return key;
}

/**
 * Encrypts `plain` under `hexKey`, bound to `context` (e.g. `verification:<id>:document`).
 * @returns the sealed blob (29 bytes longer than `plain`).
 */
export function seal(hexKey: string, plain: Uint8Array, context: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyOf(hexKey), nonce);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), nonce, body, cipher.getAuthTag()]);
}

/**
 * Decrypts a blob made by {@link seal} with the same key and context.
 * @throws SealError when the blob is malformed or does not authenticate.
 */
export function unseal(hexKey: string, blob: Uint8Array, context: string): Buffer {
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (b.length < 1 + NONCE_BYTES + TAG_BYTES || b[0] !== VERSION) throw new SealError('not a sealed blob (bad length or version)');
  const decipher = createDecipheriv('aes-256-gcm', keyOf(hexKey), b.subarray(1, 1 + NONCE_BYTES));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(b.subarray(b.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(b.subarray(1 + NONCE_BYTES, b.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealError('the blob does not authenticate (wrong key or context, or altered)');
  }
}

/** Seals a face descriptor (128 float32s) as base64 text for a database column. */
export function sealDescriptor(hexKey: string, descriptor: Float32Array, context: string): string {
  return seal(hexKey, new Uint8Array(descriptor.buffer, descriptor.byteOffset, descriptor.byteLength), context).toString('base64');
}

/** Opens a descriptor sealed by {@link sealDescriptor}. @throws SealError as {@link unseal}. */
export function unsealDescriptor(hexKey: string, sealed: string, context: string): Float32Array {
  const plain = unseal(hexKey, Buffer.from(sealed, 'base64'), context);
  if (plain.length % 4 !== 0) throw new SealError('a descriptor is a whole number of float32s');
  return new Float32Array(plain.buffer.slice(plain.byteOffset, plain.byteOffset + plain.length));
}
