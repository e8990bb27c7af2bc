/**
 * The tap against real ffmpeg and a real 720p30 H.264 video read in real time (-re), as a live stream is, or fed as
 * FLV tags at their own pace, as node-media-server hands a live broadcast to the tap in-process.
 * RTMP end to end is the e2e tests'; here the input is a file.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { beforeAll, describe, it } from 'vitest';
import { dHash, hammingDistance } from '../ingest/phash.ts';
import { StreamTap, classifyTag, type AudioChunk, type TapAudioOptions, type TapFrame, type TapMode, type TapSource } from '../ingest/tap.ts';
import { execFileSync } from 'node:child_process';
import { ffmpegPath, runFfmpeg } from '../ingest/ffmpeg.ts';
import { flvTagsOf } from '../ingest/test-flv.ts';
import { buildDemoVideo, samplePhotos } from '../bin/demo-media.ts';
import { IN_PROCESS, SpawnHelper, type ChildSpawner } from '../core/commands.ts';

const MEDIA_DIR = join(tmpdir(), 'warden-media');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A source replaying FLV tags at their own pace, as node-media-server hands a live broadcast's tags to a tap. */
function replaySource(tags: { data: Buffer; ts: number }[], counters = { opens: 0, bytes: 0, openedAt: 0 }): TapSource & { counters: typeof counters } {
  return {
    counters,
    open(sink) {
      counters.opens++;
      const t0 = Date.now();
      counters.openedAt = t0;
      let i = 0;
      const timer = setInterval(() => {
        while (i < tags.length && tags[i]!.ts <= Date.now() - t0) {
          counters.bytes += tags[i]!.data.length;
          sink(tags[i++]!.data);
        }
      }, 10);
      return () => clearInterval(timer);
    },
  };
}

/** A tap on `input` that records frames, mode changes, warnings and exit. */
function recordingTap(input: string, extra: { maxHeight?: number; audio?: Omit<TapAudioOptions, 'onChunk'>; source?: TapSource; spawner?: ChildSpawner } = {}) {
  const chunks: AudioChunk[] = [];
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
    source: extra.source,
    spawner: extra.spawner,
    sampleIntervalMs: 2000,
    realtime: !extra.source,
    logger,
    maxHeight: extra.maxHeight,
    audio: extra.audio && { ...extra.audio, onChunk: (c) => void chunks.push(c) },
    onFrame: (f) => void frames.push(f),
    onModeChange: (mode, note) => void modes.push({ mode, note, at: Date.now() }),
    onExit: (info) => void exits.push(info),
  });
  return { tap, frames, modes, warnings, exits, chunks };
}

/** Per-100 ms RMS envelope of s16le PCM at 16 kHz. */
function envelope(pcm: Buffer): number[] {
  const out: number[] = [];
  for (let o = 0; o + 3200 <= pcm.length; o += 3200) {
    let sum = 0;
    for (let i = o; i < o + 3200; i += 2) sum += pcm.readInt16LE(i) ** 2;
    out.push(Math.sqrt(sum / 1600));
  }
  return out;
}

/** Pearson correlation of two equally long series. */
function correlation(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  const ma = a.slice(0, n).reduce((s, x) => s + x, 0) / n;
  const mb = b.slice(0, n).reduce((s, x) => s + x, 0) / n;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
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

  it.concurrent('reads the keyframes and timing of FLV tags: only keyframes, headers and audio go to ffmpeg', async ({ expect }) => {
    const tags = await flvTagsOf(video);
    const total = tags.reduce((n, t) => n + t.data.length, 0);
    const verdicts = tags.map((t) => classifyTag(t.data, 'keyframes'));
    const packets = verdicts.flatMap((v) => (v.packet ? [v.packet] : []));
    expect(packets.filter((p) => p.key).map((p) => Math.round(p.dts))).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    expect(packets.length).toBeGreaterThan(470); // 30 frames a second for 16 s
    for (const p of packets) expect(p.pts).toBeGreaterThanOrEqual(p.dts); // B-frames: composition times are read
    const forwarded = tags.filter((_, i) => verdicts[i]!.forward);
    expect(forwarded[0]!.data.subarray(0, 3).toString()).toBe('FLV');
    // what is left out is exactly the coded video frames that are not keyframes
    expect(verdicts.filter((v) => !v.forward).length).toBe(packets.filter((p) => !p.key).length);
    expect(verdicts.every((v) => !v.forward || !v.packet || v.packet.key)).toBe(true);
    const bytes = forwarded.reduce((n, t) => n + t.data.length, 0);
    console.log(`keyframes mode forwards ${(100 * bytes / total).toFixed(0)}% of the stream's bytes`);
    expect(bytes / total).toBeLessThan(0.4);
    expect(tags.every((t) => classifyTag(t.data, 'interval').forward)).toBe(true);
  });

  it.concurrent('fed in-process from FLV tags: one keyframe per interval, and the fallback when keyframes are 8 s apart', async ({ expect }) => {
    const fed = recordingTap(video, { maxHeight: 360, source: replaySource(await flvTagsOf(video)) });
    const sparseSource = replaySource(await flvTagsOf(sparse));
    const slow = recordingTap(sparse, { source: sparseSource });
    fed.tap.start();
    slow.tap.start();
    await waitFor(() => fed.frames.length > 0, 10_000, 'first frame');
    const first = fed.frames[0]!.capturedAt.getTime();
    await waitFor(() => slow.modes.some((m) => m.mode === 'interval'), 30_000, "mode 'interval'");
    await sleep(Math.max(0, first + 10_500 - Date.now()));
    await fed.tap.stop();
    const inWindow = fed.frames.filter((f) => f.capturedAt.getTime() - first <= 10_500);
    expect(inWindow.length).toBeGreaterThanOrEqual(5);
    expect(inWindow.length).toBeLessThanOrEqual(7);
    expect(fed.tap.mode).toBe('keyframes');
    expect(fed.warnings.filter((w) => w.includes('"ffmpeg"'))).toEqual([]);
    expect(slow.modes.find((m) => m.mode === 'interval')!.note).toMatch(/^(keyframes every [78]\.\d s|no keyframe for 1\d\.\d s) > 2\.0 s sampling interval/);
    // the switch reopens the feed with every frame; frames keep coming
    const before = slow.frames.length;
    await waitFor(() => slow.frames.length > before, 10_000, 'a frame in interval mode');
    expect(sparseSource.counters.opens).toBe(2);
    await slow.tap.stop();
    expect(slow.tap.restarts).toBe(0);
  });

  it.concurrent('fed in-process: each keyframe comes out as it is fed (B-pyramid stream), and a stretched interval decodes fewer', async ({ expect }) => {
    // the clip is x264 veryfast with B-pyramid: its SPS says 2 pictures may be reordered, which held each keyframe
    // back until two more had been decoded (4 s at this 2 s GOP); the feed rewrites that for its keyframes-only stream
    const source = replaySource(await flvTagsOf(video));
    const fed = recordingTap(video, { maxHeight: 360, source });
    fed.tap.start();
    await waitFor(() => fed.frames.length >= 3, 10_000, 'three frames');
    expect(fed.tap.sampledBeforeDecoding).toBe(true);
    const lateMs = fed.frames.slice(0, 3).map((f, n) => f.capturedAt.getTime() - source.counters.openedAt - 2000 * n);
    console.log(`in-process tap: keyframes out ${lateMs.map((ms) => ms.toFixed(0)).join(', ')} ms after they were fed`);
    // without the rewrite each is about 4,000 ms late; the first also waits for ffmpeg to start and probe 0.5 s
    expect(lateMs[0]).toBeLessThan(2500);
    for (const ms of lateMs.slice(1)) expect(ms).toBeLessThan(1000);
    // adaptive sampling stretches the interval to 6 s: two keyframes in three are left out before the decoder
    const fedBefore = fed.tap.keyframesFed;
    const framesBefore = fed.frames.length;
    fed.tap.setSampleInterval(6000);
    await sleep(12_500);
    await fed.tap.stop();
    const fedDuring = fed.tap.keyframesFed - fedBefore;
    expect(fedDuring).toBeGreaterThanOrEqual(1);
    expect(fedDuring).toBeLessThanOrEqual(3); // 6 keyframes arrived
    // every keyframe fed came out as a frame (but one fed just before stop() may still have been in ffmpeg)
    expect(fed.frames.length - framesBefore).toBeGreaterThanOrEqual(fedDuring - 1);
    expect(fed.frames.length - framesBefore).toBeLessThanOrEqual(fedDuring);
    expect(fed.tap.framesThinned).toBeGreaterThanOrEqual(3);
    expect(fed.warnings.filter((w) => w.includes('"ffmpeg"') || w.includes('after decoding'))).toEqual([]);
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

  it.concurrent('started by the spawn helper, its pipes handed over: fed in-process, frames and audio as before; killed, it restarts', async ({ expect }) => {
    const spawner = new SpawnHelper();
    try {
      const fed = recordingTap(video, { maxHeight: 360, source: replaySource(await flvTagsOf(video)), spawner, audio: { chunkMs: 4000, overlapMs: 1000 } });
      fed.tap.start();
      await waitFor(() => fed.frames.length >= 2 && fed.chunks.length >= 1, 15_000, 'frames and an audio chunk');
      expect(fed.tap.sampledBeforeDecoding).toBe(true);
      const pid = fed.tap.pid!;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])).toBe(spawner.pid); // ffmpeg's parent: the helper
      expect(spawner.pid).not.toBe(process.pid);
      process.kill(pid, 'SIGKILL');
      await waitFor(() => fed.tap.restarts === 1 && fed.tap.pid !== undefined && fed.tap.pid !== pid, 5_000, 'restart');
      const before = fed.frames.length;
      await waitFor(() => fed.frames.length >= before + 2, 10_000, 'frames after the restart');
      await fed.tap.stop();
      expect(fed.tap.pid).toBeUndefined();
      expect(fed.frames.map((f) => f.seq)).toEqual(fed.frames.map((_, i) => i));
      expect(fed.chunks[0]!.pcm.length).toBe(4 * 16_000 * 2);
      expect(fed.warnings.filter((w) => w.includes('"ffmpeg"'))).toEqual([]);
      expect(fed.exits).toEqual([expect.objectContaining({ reason: 'stopped', restarts: 1 })]);
    } finally {
      await spawner.stop();
    }
  });

  it.concurrent('taps the audio track as overlapping 16 kHz mono chunks that match the source, speech detected', async ({ expect }) => {
    const { tap, frames, chunks } = recordingTap(video, { audio: { chunkMs: 4000, overlapMs: 1000 } });
    tap.start();
    await waitFor(() => chunks.length >= 3, 20_000, 'three audio chunks');
    await tap.stop();
    expect(frames.length).toBeGreaterThan(0); // video sampling goes on beside the audio
    expect(tap.audioMissing).toBe(false);
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
    expect(chunks.map((c) => c.overlapMs)).toEqual(chunks.map((_, i) => (i === 0 ? 0 : 1000)));
    for (const c of chunks.slice(0, 3)) {
      expect(c.durationMs).toBe(4000);
      expect(c.pcm.length).toBe(4 * 16_000 * 2);
      expect(c.activity.speech).toBe(true); // LibriVox speech throughout
    }
    // consecutive chunks share their overlap exactly; chunk starts are 3 s apart in wall time
    expect(chunks[1]!.pcm.subarray(0, 32_000).equals(chunks[0]!.pcm.subarray(-32_000))).toBe(true);
    const gap = chunks[2]!.startedAt.getTime() - chunks[1]!.startedAt.getTime();
    expect(gap).toBeGreaterThan(2000);
    expect(gap).toBeLessThan(4000);
    // the first 11 s the tap heard are the file's audio: same loudness contour as ffmpeg decoding it directly
    const reference = execFileSync(ffmpegPath(), ['-v', 'error', '-i', video, '-t', '11', '-ac', '1', '-ar', '16000', '-f', 's16le', 'pipe:1'], { maxBuffer: 1 << 24 });
    const heard = Buffer.concat(chunks.slice(0, 3).map((c, i) => (i === 0 ? c.pcm : c.pcm.subarray(32_000))));
    expect(correlation(envelope(heard), envelope(reference))).toBeGreaterThan(0.9);
  });

  it.concurrent('fed in-process with audio: ffmpeg is written about once a second and once per keyframe, and stop() right after the last tag still hears the end', async ({ expect }) => {
    // 6.5 s: the last keyframe (6 s) was written at once, the half second of audio after it is still gathered at the end
    const tags = (await flvTagsOf(video)).filter((t, i) => i === 0 || t.ts <= 6500);
    const total = tags.reduce((n, t) => n + t.data.length, 0);
    const lastAudioMs = Math.max(...tags.filter((t, i) => i > 0 && t.data[0] === 8).map((t) => t.ts));
    const source = replaySource(tags);
    // each batch the feed writes is one cork … uncork on ffmpeg's stdin
    const batches: number[] = [];
    const spawner: ChildSpawner = {
      spawn(cmd, args, o) {
        const child = IN_PROCESS.spawn(cmd, args, o);
        const stdin = child.stdin!;
        const uncork = stdin.uncork.bind(stdin);
        stdin.uncork = () => { batches.push(Date.now()); uncork(); };
        return child;
      },
    };
    const { tap, frames, chunks } = recordingTap(video, { source, spawner, audio: { chunkMs: 4000, overlapMs: 1000 } });
    tap.start();
    await waitFor(() => source.counters.bytes === total, 20_000, 'every tag replayed');
    await tap.stop(); // at once: the feed still holds the last half second of audio
    expect(frames.length).toBeGreaterThanOrEqual(3); // keyframes at 0, 2, 4, 6 s
    expect(tap.keyframesFed).toBeGreaterThanOrEqual(4);
    // 6.5 s of stream: an audio batch a second and a write per keyframe (a batch every 50 ms would be 130)
    expect(batches.length).toBeGreaterThanOrEqual(6);
    expect(batches.length).toBeLessThanOrEqual(15);
    // every bit of audio fed was heard: the chunks (overlap taken out) reach the last audio tag
    const heardMs = chunks.reduce((ms, c) => ms + c.durationMs - c.overlapMs, 0);
    expect(heardMs).toBeGreaterThanOrEqual(lastAudioMs - 100);
    expect(heardMs).toBeLessThanOrEqual(lastAudioMs + 200);
  });

  it.concurrent('runs on without audio when the stream has no audio track', async ({ expect }) => {
    const silentVideo = join(MEDIA_DIR, 'no-audio-12s.mp4');
    await runFfmpeg(['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=12', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p', silentVideo]);
    const { tap, frames, chunks, warnings } = recordingTap(silentVideo, { audio: { chunkMs: 4000, overlapMs: 1000 } });
    tap.start();
    await waitFor(() => frames.length >= 3, 15_000, 'three frames');
    await tap.stop();
    expect(tap.audioMissing).toBe(true);
    expect(tap.restarts).toBe(0); // not a failure
    expect(chunks).toEqual([]);
    expect(warnings.filter((w) => w.includes('restarting'))).toEqual([]);
  });
});
