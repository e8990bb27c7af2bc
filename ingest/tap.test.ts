import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { samplePhotos } from '../bin/demo-media.ts';
import { pino } from 'pino';
import { buildTapArgs, FramecrcParser, JpegSplitter, redactInput, StreamTap, type TapExitInfo } from './tap.ts';

function chunked(data: Buffer, sizes: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; ) {
    const n = Math.max(1, sizes());
    out.push(Buffer.from(data.subarray(i, i + n)));
    i += n;
  }
  return out;
}

describe('JpegSplitter', () => {
  // Real camera JPEGs (with EXIF segments) and sharp-made ones with restart markers.
  const photos = samplePhotos().slice(0, 3).map((p) => readFileSync(p));

  it('cuts concatenated JPEGs out of arbitrary chunks, with their sizes', async () => {
    const small = await sharp(photos[0]!).resize({ height: 120 }).jpeg({ quality: 90 }).toBuffer();
    const images = [...photos, small, small];
    const stream = Buffer.concat([Buffer.from('junk\xff\x00'), ...images.flatMap((j) => [j, Buffer.from([0, 0xff])])]);
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 5000) + 1;
    for (const sizes of [() => 1, () => 2, rand, () => 65536]) {
      const splitter = new JpegSplitter();
      const got = chunked(stream, sizes).flatMap((c) => splitter.push(c));
      expect(got.map((g) => g.jpeg.length)).toEqual(images.map((j) => j.length));
      got.forEach((g, k) => expect(g.jpeg.equals(images[k]!)).toBe(true));
      const metas = await Promise.all(images.map((j) => sharp(j).metadata()));
      expect(got.map((g) => [g.width, g.height])).toEqual(metas.map((m) => [m.width, m.height]));
    }
  });

  it('drops a truncated image and recovers at the next one', () => {
    const a = photos[0]!;
    const b = photos[1]!;
    const splitter = new JpegSplitter();
    const got = splitter.push(Buffer.concat([a.subarray(0, 5000), b]));
    expect(got).toHaveLength(1);
    expect(got[0]!.jpeg.equals(b)).toBe(true);
  });
});

describe('buildTapArgs', () => {
  const base = { input: 'rtmp://127.0.0.1:1935/live/k?sign=1', sampleIntervalMs: 2000, maxHeight: 480 };

  it('decodes keyframes only in keyframes mode, every frame in interval mode', () => {
    const k = buildTapArgs({ ...base, mode: 'keyframes' });
    expect(k.slice(k.indexOf('-skip_frame'), k.indexOf('-skip_frame') + 2)).toEqual(['-skip_frame', 'nokey']);
    expect(k.indexOf('-skip_frame')).toBeLessThan(k.indexOf('-i'));
    expect(buildTapArgs({ ...base, mode: 'interval' })).not.toContain('-skip_frame');
  });

  it('samples, scales and writes MJPEG to stdout quietly', () => {
    const a = buildTapArgs({ ...base, mode: 'interval', realtime: true });
    expect(a).toEqual(expect.arrayContaining(['-re', '-an', '-nostats', 'image2pipe', 'pipe:1', 'mjpeg']));
    expect(a[a.indexOf('-loglevel') + 1]).toBe('error');
    expect(a[a.indexOf('-vsync') + 1]).toBe('vfr');
    const vf = a[a.indexOf('-vf') + 1]!;
    expect(vf).toContain('prev_selected_t\\,1.999');
    expect(vf).toContain("scale=-2:'min(ih\\,480)'");
    expect(a[a.indexOf('-i') + 1]).toBe(base.input);
  });
});

describe('redactInput', () => {
  it('hides stream keys and signatures but keeps the app', () => {
    expect(redactInput('rtmp://127.0.0.1:1935/live/SECRET?sign=123-abc')).toBe('rtmp://127.0.0.1:1935/live/***');
    expect(redactInput('/tmp/a.mp4')).toBe('/tmp/a.mp4');
  });
});

describe('FramecrcParser', () => {
  it('reads packet times in seconds and the keyframe flag', () => {
    const p = new FramecrcParser();
    expect(p.line('0,      -1024,          0,      512,    54380, 0xb9d661b6')).toBeNull(); // before #tb
    expect(p.line('#tb 0: 1/15360')).toBeNull();
    expect(p.line('0,      29696,      30720,      512,   215172, 0xdddb2171')).toEqual({ dts: 29696 / 15360, pts: 2, key: true });
    expect(p.line('0,       -512,       2048,      512,      196, 0x67c95f21, F=0x0')?.key).toBe(false);
    expect(p.line('garbage')).toBeNull();
  });
});

describe('StreamTap restarts', () => {
  it('gives up after repeated quick failures and reports it once', async () => {
    const exits: TapExitInfo[] = [];
    const tap = new StreamTap({
      input: '/nonexistent/warden-tap-input.mp4',
      sampleIntervalMs: 2000,
      restartDelayMs: 10,
      maxQuickFailures: 3,
      logger: pino({ level: 'silent' }),
      onFrame: () => {},
      onExit: (info) => void exits.push(info),
    });
    tap.start();
    for (let i = 0; i < 200 && exits.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(exits).toEqual([expect.objectContaining({ reason: 'gave-up', restarts: 2, code: 1 })]);
    await tap.stop();
    expect(exits).toHaveLength(1);
    expect(tap.framesEmitted).toBe(0);
  });
});
