/**
 * Shared ffmpeg plumbing for ingest: where the binary is, spawning it with an argument array (never a
 * shell string), collecting its stderr, and reading a child's CPU time from /proc for the benchmark.
 *
 * The binary is the static build shipped by `@ffmpeg-installer/ffmpeg` (ffmpeg 4.1, 2018, with libx264
 * and the native AAC encoder). Features newer than 4.1 (`-fps_mode`, `-stats_period`, …) are unavailable.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';

/** Absolute path of the ffmpeg binary shipped by `@ffmpeg-installer/ffmpeg`. */
export function ffmpegPath(): string {
  return ffmpegInstaller.path;
}

/**
 * Spawns ffmpeg with `args` (no shell; each argument is passed verbatim, so no quoting or escaping is
 * needed for paths or URLs). stdin is ignored unless `options.stdio` says otherwise.
 * @returns the child process; listen for 'error' (binary missing) and 'close'.
 */
export function spawnFfmpeg(args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(ffmpegPath(), [...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

/** The outcome of {@link runFfmpeg}. `stderr` is the child's whole stderr as text. */
export interface FfmpegResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs ffmpeg to completion, discarding stdout.
 * @throws Error with the tail of stderr when ffmpeg exits non-zero or is killed, or cannot be spawned.
 */
export async function runFfmpeg(args: readonly string[]): Promise<FfmpegResult> {
  const child = spawnFfmpeg(args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    stderr += s;
    if (stderr.length > 64_000) stderr = stderr.slice(-32_000);
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
  });
  if (code !== 0) {
    const tail = stderr.trim().split('\n').slice(-8).join('\n');
    throw new Error(`ffmpeg exited with ${signal ?? code}: ${tail}`);
  }
  return { code, signal, stderr };
}

/**
 * Calls `onLine` for each complete line of a text stream (the trailing partial line is flushed at end).
 * Empty lines are skipped.
 */
export function forEachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split(/\r?\n|\r/);
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') onLine(line);
  });
  stream.on('end', () => {
    if (partial.trim() !== '') onLine(partial);
    partial = '';
  });
}

/** Clock ticks per second for /proc/<pid>/stat times. 100 on every Linux platform Node supports. */
const CLK_TCK = 100;

/**
 * CPU time used so far by a live (or not yet reaped) process, from fields 14 and 15 (utime, stime) of
 * `/proc/<pid>/stat`; covers all of the process's threads.
 * @returns CPU seconds, or null when the process is gone or /proc is unavailable (non-Linux).
 */
export function processCpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (field 14) is fields[11] and stime (field 15) fields[12].
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return (utime + stime) / CLK_TCK;
}

/**
 * Samples a child's CPU time every `intervalMs` until it exits, plus once more when its stdout ends
 * (usually just before the exit is reaped), so the figure misses at most the final teardown.
 * @returns a function giving the largest CPU-seconds value seen so far (0 if none could be read).
 */
export function trackCpuSeconds(child: ChildProcess, intervalMs = 100): () => number {
  let max = 0;
  const sample = (): void => {
    if (child.pid === undefined) return;
    const s = processCpuSeconds(child.pid);
    if (s !== null && s > max) max = s;
  };
  const timer = setInterval(sample, intervalMs);
  child.stdout?.once('end', sample);
  child.stderr?.once('end', sample);
  child.once('exit', () => {
    sample();
    clearInterval(timer);
  });
  return () => max;
}
