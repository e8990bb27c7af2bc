import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { encodeWav, readWavInfo, sliceWav } from './wav.ts';

const ffmpeg = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav';

/** A ramp: sample i = i mod 30000, so any slice shows where it came from. */
function ramp(samples: number): Buffer {
  const b = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) b.writeInt16LE(i % 30_000, i * 2);
  return b;
}

describe('wav', () => {
  it('round-trips PCM through encodeWav and readWavInfo', () => {
    const pcm = ramp(16_000 * 3);
    const wav = encodeWav(pcm);
    const info = readWavInfo(wav);
    expect(info).toEqual({ sampleRate: 16_000, channels: 1, bitsPerSample: 16, dataOffset: 44, dataBytes: pcm.length, durationS: 3 });
    expect(wav.subarray(44).equals(pcm)).toBe(true);
  });

  it('writes a file ffmpeg decodes to the same samples', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wav-'));
    try {
      const pcm = ramp(8_000);
      const file = path.join(dir, 'a.wav');
      execFileSync('node', ['-e', `require('fs').writeFileSync(${JSON.stringify(file)}, Buffer.from(${JSON.stringify(encodeWav(pcm).toString('base64'))}, 'base64'))`]);
      const decoded = execFileSync(ffmpeg, ['-v', 'error', '-i', file, '-f', 's16le', '-c:a', 'pcm_s16le', 'pipe:1']);
      expect(decoded.equals(pcm)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a real recording and finds data past extra chunks', () => {
    const info = readWavInfo(readFileSync(LIBRIVOX));
    expect(info.sampleRate).toBe(16_000);
    expect(info.channels).toBe(1);
    expect(info.durationS).toBeGreaterThan(1);
    // a LIST chunk (odd length, padded) before data, as ffmpeg and editors write
    const pcm = ramp(100);
    const canonical = encodeWav(pcm);
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc'), Buffer.from([0])]);
    const withList = Buffer.concat([canonical.subarray(0, 36), list, canonical.subarray(36)]);
    withList.writeUInt32LE(withList.length - 8, 4);
    const read = readWavInfo(withList);
    expect(read.dataOffset).toBe(56);
    expect(withList.subarray(read.dataOffset).equals(pcm)).toBe(true);
  });

  it('reads a header from the first bytes only when partial', () => {
    const wav = encodeWav(ramp(16_000));
    expect(readWavInfo(wav.subarray(0, 64), { partial: true }).dataBytes).toBe(32_000);
    expect(readWavInfo(wav.subarray(0, 64)).dataBytes).toBe(20);
  });

  it('rejects what is not 16-bit PCM WAV with a clear message', () => {
    expect(() => readWavInfo(Buffer.from('ID3 not a wav at all'))).toThrow(/not a WAV file/);
    const float = encodeWav(ramp(10));
    float.writeUInt16LE(3, 20);
    expect(() => readWavInfo(float)).toThrow(/format 3 is not PCM/);
    const eight = encodeWav(ramp(10));
    eight.writeUInt16LE(8, 34);
    expect(() => readWavInfo(eight)).toThrow(/8-bit/);
    expect(() => readWavInfo(encodeWav(ramp(10)).subarray(0, 30))).toThrow(/fmt chunk is truncated|no fmt/);
  });

  it('slices a time span, clamped and frame-aligned', () => {
    const wav = encodeWav(ramp(16_000 * 4));
    const cut = sliceWav(wav, 1.5, 2.25);
    const info = readWavInfo(cut);
    expect(info.durationS).toBeCloseTo(0.75, 6);
    expect(cut.readInt16LE(44)).toBe(24_000);
    const tail = sliceWav(wav, 3.5, 99);
    expect(readWavInfo(tail).durationS).toBeCloseTo(0.5, 6);
    expect(readWavInfo(sliceWav(wav, -5, 0.1)).durationS).toBeCloseTo(0.1, 6);
    expect(() => sliceWav(wav, 2, 1)).toThrow(RangeError);
    expect(() => sliceWav(wav, 10, 12)).toThrow(/outside the 4.00 s/);
    expect(() => sliceWav(wav, Number.NaN, 1)).toThrow(RangeError);
  });
});
