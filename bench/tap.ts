/**
 * Benchmark: the tap's ffmpeg CPU cost per minute of a 720p30 H.264 stream, decoding keyframes only
 * against decoding every frame, with the same input, sampling interval and output (480p JPEGs).
 *
 * Each mode runs the tap's exact ffmpeg arguments ({@link buildTapArgs}, minus -re) as fast as possible
 * over a 60 s demo video; the child's CPU time (utime + stime of all threads, /proc/<pid>/stat) is divided
 * by the stream's length in minutes. Runnable alone: `npx tsx bench/tap.ts`.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnFfmpeg, trackCpuSeconds } from '../ingest/ffmpeg.ts';
import { buildTapArgs, JpegSplitter, type TapMode } from '../ingest/tap.ts';
import { buildDemoVideo } from '../bin/demo-media.ts';

/** Options of {@link benchTap}. */
export interface BenchTapOptions {
  /** Stream length in seconds (default 60). */
  seconds?: number;
  /** Sampling interval in ms (default 2000). */
  sampleIntervalMs?: number;
  /** Keyframe interval of the test stream in seconds (default 2). */
  keyframeIntervalS?: number;
  /** Where the demo video is cached (default `$TMPDIR/warden-media`). */
  mediaDir?: string;
  /** Print result lines to stdout (default true). */
  print?: boolean;
}

/** Result of {@link benchTap}: CPU seconds per minute of stream, and allFrames / keyframes. */
export interface BenchTapResult {
  keyframesCpuSPerMin: number;
  allFramesCpuSPerMin: number;
  ratio: number;
  /** JPEGs produced by each mode (they should be equal: same sampling). */
  keyframesFrames: number;
  allFramesFrames: number;
}

async function runMode(
  input: string,
  mode: TapMode,
  sampleIntervalMs: number,
): Promise<{ cpuS: number; frames: number; wallS: number }> {
  const args = buildTapArgs({ input, mode, sampleIntervalMs, maxHeight: 480, realtime: false });
  const started = Date.now();
  const child = spawnFfmpeg(args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const cpu = trackCpuSeconds(child, 50);
  const splitter = new JpegSplitter();
  let frames = 0;
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (frames += splitter.push(c).length));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  (child.stdio[3] as NodeJS.ReadableStream | null)?.resume(); // packet timings: drain, unused here
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`ffmpeg (${mode}) exited ${code}: ${stderr.trim().slice(-500)}`);
  return { cpuS: cpu(), frames, wallS: (Date.now() - started) / 1000 };
}

/**
 * Measures the tap's ffmpeg CPU seconds per minute of a 720p30 stream in both modes, in one run.
 * Builds (or reuses) the demo video first.
 * @throws Error when ffmpeg fails or /proc is unavailable (CPU time reads as 0).
 */
export async function benchTap(opts: BenchTapOptions = {}): Promise<BenchTapResult> {
  const seconds = opts.seconds ?? 60;
  const interval = opts.sampleIntervalMs ?? 2000;
  const input = await buildDemoVideo({
    dir: opts.mediaDir ?? join(tmpdir(), 'warden-media'),
    seconds,
    keyframeIntervalS: opts.keyframeIntervalS ?? 2,
  });
  const minutes = seconds / 60;
  const key = await runMode(input, 'keyframes', interval);
  const all = await runMode(input, 'interval', interval);
  if (key.cpuS <= 0 || all.cpuS <= 0) throw new Error('benchTap: could not read CPU time from /proc');
  const result: BenchTapResult = {
    keyframesCpuSPerMin: key.cpuS / minutes,
    allFramesCpuSPerMin: all.cpuS / minutes,
    ratio: all.cpuS / key.cpuS,
    keyframesFrames: key.frames,
    allFramesFrames: all.frames,
  };
  if (opts.print ?? true) {
    console.log(
      `tap  720p30 H.264, ${seconds} s, one 480p JPEG per ${(interval / 1000).toFixed(1)} s ` +
        `(${key.frames} vs ${all.frames} frames)`,
    );
    console.log(
      `tap  keyframes-only ${result.keyframesCpuSPerMin.toFixed(2)} CPU s/min  ` +
        `every frame ${result.allFramesCpuSPerMin.toFixed(2)} CPU s/min  ratio ${result.ratio.toFixed(1)}x`,
    );
    console.log(
      `tap  ≈ ${Math.floor(60 / result.keyframesCpuSPerMin)} keyframe-only streams per core ` +
        `(${Math.floor(60 / result.allFramesCpuSPerMin)} decoding every frame); ` +
        `wall ${key.wallS.toFixed(1)} s vs ${all.wallS.toFixed(1)} s`,
    );
  }
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchTap().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
