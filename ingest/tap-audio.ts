/**
 * The tap's audio side: ffmpeg's second output (16 kHz mono s16le PCM on a pipe) is cut into overlapping
 * chunks by {@link AudioChunker} and handed, in order, to the consumer. Nothing is decoded twice: the same
 * ffmpeg process that samples keyframes resamples the audio track, which costs little next to the decoder.
 */
import type { Logger } from 'pino';
import { AudioChunker, type AudioChunk } from './audio-chunker.ts';

export type { AudioChunk } from './audio-chunker.ts';

/** Audio options of a tap. */
export interface TapAudioOptions {
  /** Chunk length in ms (default 10000). */
  chunkMs?: number;
  /** How much of each chunk repeats the end of the previous one, in ms (default 2000). */
  overlapMs?: number;
  /**
   * Receives each chunk, one at a time, in order (awaited). Chunks wait while it runs; past
   * {@link MAX_QUEUED_CHUNKS} the oldest waiting one is dropped with a warning. A throw is logged.
   */
  onChunk: (c: AudioChunk) => Promise<void> | void;
}

/** Chunks that may wait for a slow consumer (a minute of audio at the defaults) before the oldest is dropped. */
export const MAX_QUEUED_CHUNKS = 8;

/** The ffmpeg output section for the audio tap: the first audio track, if any, as 16 kHz mono PCM on `pipe:N`. */
export function audioOutputArgs(fd: number): string[] {
  // aresample=async=1 pads or trims to keep sample count in step with timestamps, so byte counts are stream time
  return ['-map', '0:a:0?', '-vn', '-sn', '-dn', '-ac', '1', '-ar', '16000', '-af', 'aresample=async=1', '-c:a', 'pcm_s16le', '-f', 's16le', `pipe:${fd}`];
}

/** ffmpeg's complaint when the input has no audio track for the optional audio output. */
export const NO_AUDIO_STREAM = /Output file #\d+ does not contain any stream/;

/**
 * Chunks the PCM of successive ffmpeg runs of one tap. Each run is contiguous; a new run (a restart) starts
 * without overlap. Delivery is serial and ordered; {@link TapAudio.close} flushes the tail and waits.
 */
export class TapAudio {
  private readonly chunker: AudioChunker;
  private readonly queue: AudioChunk[] = [];
  private delivering: Promise<void> | undefined;
  private dropped = 0;
  private closed = false;

  constructor(private readonly opts: TapAudioOptions, private readonly log: Logger) {
    this.chunker = new AudioChunker({ chunkMs: opts.chunkMs ?? 10_000, overlapMs: opts.overlapMs ?? 2_000 });
  }

  /** Chunks delivered and dropped so far. */
  get stats(): { dropped: number } {
    return { dropped: this.dropped };
  }

  /** Reads one ffmpeg run's PCM pipe until it ends. */
  attach(pipe: NodeJS.ReadableStream): void {
    pipe.on('data', (buf: Buffer) => {
      if (!this.closed) for (const c of this.chunker.push(buf)) this.enqueue(c);
    });
    pipe.on('error', (err) => this.log.warn({ err: String(err) }, 'audio pipe error'));
  }

  /** The run ended (ffmpeg exited): what is held becomes a last, shorter chunk; the next run is not contiguous. */
  runEnded(): void {
    if (this.closed) return;
    const tail = this.chunker.discontinuity();
    if (tail) this.enqueue(tail);
  }

  /** Flushes the tail and resolves when every chunk has been delivered. Idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.runEnded();
      this.closed = true;
    }
    while (this.delivering) await this.delivering;
  }

  private enqueue(c: AudioChunk): void {
    if (this.queue.length >= MAX_QUEUED_CHUNKS) {
      this.queue.shift();
      this.dropped++;
      this.log.warn({ dropped: this.dropped }, 'audio chunks arrive faster than they are stored: dropping the oldest');
    }
    this.queue.push(c);
    this.kick();
  }

  private kick(): void {
    if (this.delivering) return;
    // a chunk queued between drain's last check and this finally is picked up by the re-kick
    this.delivering = this.drain().finally(() => {
      this.delivering = undefined;
      if (this.queue.length) this.kick();
    });
  }

  private async drain(): Promise<void> {
    for (let c = this.queue.shift(); c; c = this.queue.shift()) {
      try {
        await this.opts.onChunk(c);
      } catch (err) {
        this.log.error({ err: String(err), seq: c.seq }, 'onChunk failed');
      }
    }
  }
}
