/**
 * The SPS rewrite against real encoder output: x264 streams with B-pyramid, plain B-frames, none, custom scaling
 * matrices and HRD parameters (each changes what has to be parsed to reach the VUI's reorder field), decoded by ffmpeg
 * before and after the rewrite.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ffmpegPath } from './ffmpeg.ts';
import { findReorderField, fromRbsp, spsWithoutReorder, toRbsp } from './h264-sps.ts';

/** NAL units of an Annex B byte stream. */
function nalUnits(annexB: Buffer): Buffer[] {
  const starts: number[] = [];
  for (let i = 0; i + 2 < annexB.length; i++) if (annexB[i] === 0 && annexB[i + 1] === 0 && annexB[i + 2] === 1) { starts.push(i + 3); i += 2; }
  return starts.map((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1]! - 3 : annexB.length;
    while (end > s && annexB[end - 1] === 0) end--; // a 4-byte start code's leading zero
    return annexB.subarray(s, end);
  });
}

/** Ten frames of a test pattern encoded by x264 with these settings and an IDR every third frame, as Annex B. */
function encode(x264: string, profile = 'high'): Buffer {
  return execFileSync(ffmpegPath(), [
    '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30:duration=0.34', '-pix_fmt', 'yuv420p',
    '-c:v', 'libx264', '-profile:v', profile, '-preset', 'veryfast', '-x264-params', `keyint=3:min-keyint=3:scenecut=0:${x264}`, '-f', 'h264', 'pipe:1',
  ], { maxBuffer: 1 << 24 });
}

/** ffmpeg's checksums of the keyframes it decodes from an Annex B stream (the tap decodes keyframes only). */
function decodedKeyframeCrcs(annexB: Buffer): string[] {
  const out = execFileSync(ffmpegPath(), ['-v', 'error', '-skip_frame', 'nokey', '-f', 'h264', '-i', 'pipe:0', '-f', 'framecrc', 'pipe:1'], { input: annexB, maxBuffer: 1 << 24 });
  return out.toString().split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim());
}

const startCode = Buffer.from([0, 0, 0, 1]);

describe('H.264 SPS rewrite', () => {
  const cases: { name: string; x264: string; profile?: string; reorder: number | null }[] = [
    { name: 'B-pyramid (x264 default)', x264: 'bframes=3:b-pyramid=normal', reorder: 2 },
    { name: 'B-frames without pyramid', x264: 'bframes=2:b-pyramid=none', reorder: 1 },
    { name: 'custom scaling matrices', x264: 'bframes=3:cqm=jvt', reorder: 2 },
    { name: 'HRD parameters', x264: 'bframes=3:nal-hrd=vbr:vbv-maxrate=800:vbv-bufsize=800', reorder: 2 },
    { name: 'no B-frames', x264: 'bframes=0', reorder: 0 },
    { name: 'baseline profile', x264: 'bframes=0', profile: 'baseline', reorder: 0 },
  ];

  for (const c of cases) {
    it(`${c.name}: reorder ${c.reorder} read, rewritten to 0, keyframes decode to the same pictures`, () => {
      const stream = encode(c.x264, c.profile);
      const nals = nalUnits(stream);
      const sps = nals.find((n) => (n[0]! & 0x1f) === 7)!;
      expect(findReorderField(toRbsp(sps))?.value ?? null).toBe(c.reorder);
      const rewritten = spsWithoutReorder(sps);
      if (!c.reorder) {
        expect(rewritten).toBeNull();
        return;
      }
      expect(findReorderField(toRbsp(rewritten!))!.value).toBe(0);
      // every bit before the field is the same
      const before = findReorderField(toRbsp(sps))!;
      const a = toRbsp(sps);
      const b = toRbsp(rewritten!);
      for (let p = 0; p < before.start; p++) expect((b[p >> 3]! >> (7 - (p & 7))) & 1).toBe((a[p >> 3]! >> (7 - (p & 7))) & 1);
      const patched = Buffer.concat(nals.flatMap((n) => [startCode, n === sps ? rewritten! : n]));
      const keyframes = decodedKeyframeCrcs(stream);
      expect(keyframes).toHaveLength(4);
      expect(decodedKeyframeCrcs(patched)).toEqual(keyframes);
    });
  }

  it('keeps emulation prevention: bytes that would form a start code are escaped again', () => {
    const rbsp = Buffer.from([0x67, 0, 0, 1, 0, 0, 0, 0, 0, 3, 0xff]);
    const nal = fromRbsp(rbsp);
    expect(nal.toString('hex')).toBe('67000003010000030000030003ff');
    expect(toRbsp(nal).equals(rbsp)).toBe(true);
  });

  it('refuses a truncated SPS and what is not an SPS', () => {
    const sps = nalUnits(encode('bframes=3')).find((n) => (n[0]! & 0x1f) === 7)!;
    expect(() => findReorderField(toRbsp(sps.subarray(0, 8)))).toThrow(RangeError);
    expect(() => findReorderField(Buffer.from([0x68, 0xee, 0x3c, 0x80]))).toThrow(/not a sequence parameter set/);
  });
});
