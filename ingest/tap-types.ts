/**
 * The tap's public shapes (ingest/tap.ts): a sampled frame, the sampling mode, how a tap ended, and its options.
 */
import type { Logger } from 'pino';
import type { TapAudioOptions } from './tap-audio.ts';
import type { TapSource } from './tap-feed.ts';
import type { ChildSpawner } from '../core/commands.ts';

/** One sampled frame. */
export interface TapFrame {
  /** 0, 1, 2, … for the life of the tap (continues across ffmpeg restarts); no gaps. */
  seq: number;
  /** When the frame's bytes arrived from ffmpeg (wall clock), not the stream timestamp. */
  capturedAt: Date;
  /** A complete baseline JPEG (SOI … EOI). */
  jpeg: Buffer;
  /** Pixel size of the JPEG. */
  width: number;
  height: number;
}

/** 'keyframes': decode keyframes only; 'interval': decode every frame, keep one per interval. */
export type TapMode = 'keyframes' | 'interval';

/** How a tap ended for good (see {@link TapOptions.onExit}). */
export interface TapExitInfo {
  /** The last ffmpeg child's exit code and signal. */
  code: number | null;
  signal: string | null;
  /** Unplanned restarts over the tap's life (same as `StreamTap.restarts`). */
  restarts: number;
  /** 'stopped' after `StreamTap.stop()`; 'gave-up' after too many quick failures in a row. */
  reason: 'stopped' | 'gave-up';
}

/** Options of `StreamTap` (ingest/tap.ts). */
export interface TapOptions {
  /**
   * URL or file path ffmpeg reads, e.g. `rtmp://127.0.0.1:1935/live/KEY?sign=…` (never logged verbatim). With a
   * `source`, only a name for logs.
   */
  input: string;
  /**
   * The broadcast's FLV tags from this process (ingest/tap-feed.ts): written to ffmpeg's stdin, in keyframes mode
   * only the audio, the headers and the keyframes (for H.264, only those that will be sampled, with the SPS saying
   * nothing is reordered: {@link KeyframeFeed}); packet timing read from the tags. Without it ffmpeg reads `input`.
   */
  source?: TapSource;
  /** At most one frame per this many milliseconds (default 2000). */
  sampleIntervalMs: number;
  /** Frames taller than this are scaled down to it, keeping aspect (default 480); smaller ones are kept. */
  maxHeight?: number;
  /** Read the input at its native rate (`-re`); for file inputs in tests and demos. Live inputs need not. */
  realtime?: boolean;
  /** Niceness of the ffmpeg process (0–19; default 0): sampling yields the CPU to the ingest and API process. */
  nice?: number;
  /**
   * What starts ffmpeg (core/commands.ts): a serving process passes its SpawnHelper (a spawn here blocks this
   * process's event loop 15–30 ms; the pipes still end here). Default: spawned here.
   */
  spawner?: ChildSpawner;
  /**
   * Receives each frame, one at a time (awaited). While it runs, ffmpeg's output keeps being read: at most
   * {@link TapOptions.maxQueuedFrames} frames wait, older ones are dropped (counted in `framesDropped`), so a
   * slow consumer sees the newest frames and never stalls ffmpeg. A throw or rejection is logged at error.
   */
  onFrame: (f: TapFrame) => Promise<void> | void;
  /** Called with 'keyframes' when the first frame arrives, and with 'interval' on the fallback (note says why). */
  onModeChange?: (mode: TapMode, note: string) => void;
  /** Called once when the tap has ended for good: after stop(), or when it gave up restarting ffmpeg. */
  onExit?: (info: TapExitInfo) => void;
  /** Receives ffmpeg's error lines at warn, and the tap's own events. */
  logger: Logger;
  /** Delay before restarting a dead ffmpeg, doubled after each quick failure up to 10 s (default 1000). */
  restartDelayMs?: number;
  /** Give up when this many ffmpeg runs in a row fail quickly (each lived < 30 s) (default 10). */
  maxQuickFailures?: number;
  /** Mode to start in (default 'keyframes'); 'interval' skips keyframe sampling altogether. */
  mode?: TapMode;
  /** Frames that may wait while onFrame runs (default 2). */
  maxQueuedFrames?: number;
  /** Also tap the audio as overlapping 16 kHz mono chunks (see {@link TapAudioOptions}); off when absent. */
  audio?: TapAudioOptions;
  /**
   * Called for each frame not handed to onFrame: 'interval' when the effective interval was stretched past the base
   * one (`StreamTap.setSampleInterval`), 'behind' when onFrame was too slow and the oldest waiting frame was dropped.
   */
  onShed?: (reason: 'interval' | 'behind') => void;
}
