/**
 * The tap against real ffmpeg and a real 720p30 H.264 video read in real time (-re), as a live stream is.
 * RTMP end to end is the lead's e2e test; here the input is a file.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { beforeAll, describe, it } from 'vitest';
import { dHash, hammingDistance } from '../ingest/phash.ts';
import { StreamTap, type TapFrame, type TapMode } from '../ingest/tap.ts';
import { buildDemoVideo, samplePhotos } from '../bin/demo-media.ts';

const MEDIA_DIR = join(tmpdir(), 'warden-media');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A tap on `input` that records frames, mode changes, warnings and exit. */
function recordingTap(input: string, extra: { maxHeight?: number } = {}) {
  const frames: TapFrame[] = [];
  const modes: { mode: TapMode; note: string; at: number }[] = [];
  const warnings: string[] = [];
  const exits: unknown[] = [];
  const logger = pino(
    { level: 'warn' },
    { write: (line: string) => void warnings.push(line) },
  );
  const tap = new StreamTap({
    input,
    sampleIntervalMs: 2000,
    realtime: true,
    logger,
    ...extra,
    onFrame: (f) => void frames.push(f),
    onModeChange: (mode, note) => void modes.push({ mode, note, at: Date.now() }),
    onExit: (info) => void exits.push(info),
  });
  return { tap, frames, modes, warnings, exits };
}

describe('StreamTap on a real-time 720p30 H.264 stream', () => {
  let video: string; // 16 s, keyframe every 2 s
  let sparse: string; // 26 s, keyframe every 8 s

  beforeAll(async () => {
    [video, sparse] = await Promise.all([
      buildDemoVideo({ dir: MEDIA_DIR, seconds: 16 }),
      buildDemoVideo({ dir: MEDIA_DIR, seconds: 26, keyframeIntervalS: 8 }),
    ]);
  });

  it.concurrent('emits one scaled keyframe per 2 s interval as valid JPEGs', async ({ expect }) => {
    const { tap, frames, modes, warnings } = recordingTap(video, { maxHeight: 360 });
    tap.start();
    await waitFor(() => frames.length > 0, 10_000, 'first frame');
    const first = frames[0]!.capturedAt.getTime();
    await sleep(10_500);
    await tap.stop();
    const inWindow = frames.filter((f) => f.capturedAt.getTime() - first <= 10_500);
    // Keyframes at 0, 2, 4, 6, 8, 10 s of stream time.
    expect(inWindow.length).toBeGreaterThanOrEqual(5);
    expect(inWindow.length).toBeLessThanOrEqual(7);
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
    expect(tap.mode).toBe('keyframes');
    expect(modes.map((m) => m.mode)).toEqual(['keyframes']);
    expect(tap.restarts).toBe(0);
    for (const f of frames) {
      const meta = await sharp(f.jpeg).metadata();
      expect(meta.format).toBe('jpeg');
      expect([meta.width, meta.height]).toEqual([f.width, f.height]);
      expect(f.height).toBeLessThanOrEqual(360);
      expect(f.width).toBe(640); // 16:9 at 360 px
    }
    // Frame 0 is sample1 letterboxed into the 16:9 picture.
    const reference = await sharp(readFileSync(samplePhotos()[0]!))
      .resize(640, 360, { fit: 'contain', background: '#000' })
      .jpeg()
      .toBuffer();
    expect(hammingDistance(await dHash(frames[0]!.jpeg), await dHash(reference))).toBeLessThanOrEqual(8);
    expect(warnings.filter((w) => w.includes('"ffmpeg"'))).toEqual([]);
  });

  it.concurrent('falls back to decoding every frame when keyframes are 8 s apart', async ({ expect }) => {
    const { tap, frames, modes } = recordingTap(sparse);
    tap.start();
    await waitFor(() => modes.some((m) => m.mode === 'interval'), 30_000, "mode 'interval'");
    const switchedAt = modes.find((m) => m.mode === 'interval')!;
    expect(switchedAt.note).toMatch(/^keyframes every [78]\.\d s > 2\.0 s sampling interval: decoding all frames/);
    expect(tap.mode).toBe('interval');
    const before = frames.length;
    await waitFor(() => frames.length > before, 10_000, 'first interval-mode frame');
    const first = frames[before]!.capturedAt.getTime();
    await sleep(6_500);
    await tap.stop();
    const inWindow = frames.slice(before).filter((f) => f.capturedAt.getTime() - first <= 6_500);
    expect(inWindow.length).toBeGreaterThanOrEqual(3); // 0, 2, 4, 6 s
    expect(inWindow.length).toBeLessThanOrEqual(5);
    expect(tap.restarts).toBe(0); // the mode switch is not a failure
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
  });

  it.concurrent('restarts ffmpeg after it is killed, and stop() ends it for good', async ({ expect }) => {
    const { tap, frames, exits, warnings } = recordingTap(video);
    tap.start();
    await waitFor(() => frames.length >= 2, 10_000, 'two frames');
    const firstPid = tap.pid!;
    process.kill(firstPid, 'SIGKILL');
    await waitFor(() => tap.restarts === 1 && tap.pid !== undefined, 5_000, 'restart');
    expect(tap.pid).not.toBe(firstPid);
    const before = frames.length;
    await waitFor(() => frames.length >= before + 2, 10_000, 'frames after the restart');
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
    expect(warnings.some((w) => w.includes('restarting'))).toBe(true);

    const secondPid = tap.pid!;
    await tap.stop();
    expect(tap.pid).toBeUndefined();
    expect(() => process.kill(secondPid, 0)).toThrow(/ESRCH/);
    const after = frames.length;
    await sleep(2_500);
    expect(frames.length).toBe(after);
    expect(tap.framesEmitted).toBe(after);
    expect(exits).toEqual([expect.objectContaining({ reason: 'stopped', restarts: 1 })]);
  });
});
