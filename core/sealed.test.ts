import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SealError, seal, sealDescriptor, unseal, unsealDescriptor } from './sealed.ts';

const key = randomBytes(32).toString('hex');

describe('sealed blobs (AES-256-GCM)', () => {
  it('opens with the same key and context, and hides the plaintext', () => {
    const plain = Buffer.from('a passport scan, or any bytes at all');
    const blob = seal(key, plain, 'verification:1:document');
    expect(blob.length).toBe(plain.length + 29);
    expect(blob.includes(plain)).toBe(false);
    expect(unseal(key, blob, 'verification:1:document')).toEqual(plain);
    expect(seal(key, plain, 'verification:1:document')).not.toEqual(blob); // a fresh nonce every time
  });

  it('refuses another key, another context, an altered or truncated blob', () => {
    const blob = seal(key, Buffer.from('selfie'), 'verification:1:selfie');
    expect(() => unseal(randomBytes(32).toString('hex'), blob, 'verification:1:selfie')).toThrow(SealError);
    expect(() => unseal(key, blob, 'verification:2:selfie')).toThrow(SealError);
    const altered = Buffer.from(blob); altered[20]! ^= 1;
    expect(() => unseal(key, altered, 'verification:1:selfie')).toThrow(SealError);
    expect(() => unseal(key, blob.subarray(0, 20), 'verification:1:selfie')).toThrow(SealError);
    expect(() => seal('abcd', Buffer.from('x'), 'c')).toThrow(/32 bytes/);
  });

  it('round-trips a face descriptor through base64 text', () => {
    const d = Float32Array.from({ length: 128 }, (_, i) => Math.sin(i) / 3);
    const text = sealDescriptor(key, d, 'descriptor:u1');
    expect(unsealDescriptor(key, text, 'descriptor:u1')).toEqual(d);
    expect(() => unsealDescriptor(key, text, 'descriptor:u2')).toThrow(SealError);
  });
});
