/**
 * The tap's hand-over of sampled frames to its consumer (ingest/tap.ts): one at a time, in order, numbered 0, 1, 2, …
 * with no gaps. While the consumer works, at most `max` frames wait; a newer frame pushes the oldest waiting one out,
 * so a slow consumer sees the newest frames and never stalls ffmpeg.
 */
import type { TapFrame } from './tap-types.ts';

export interface FrameQueueOptions {
  /** Frames that may wait (at least 1). */
  max: number;
  /** The consumer, awaited; a throw or rejection goes to `onError` and delivery goes on. */
  deliver: (f: TapFrame) => Promise<void> | void;
  /** Told each time a waiting frame is dropped for a newer one, with the total dropped so far. */
  onDrop: (dropped: number) => void;
  onError: (err: unknown, seq: number) => void;
}

/** See the module comment. */
export class FrameQueue {
  private readonly waiting: Omit<TapFrame, 'seq'>[] = [];
  private delivering = false;
  private closed = false;
  private _emitted = 0;
  private _dropped = 0;

  constructor(private readonly opts: FrameQueueOptions) {}

  /** Frames handed to the consumer so far (the next one's seq). */
  get emitted(): number { return this._emitted; }
  /** Frames dropped for newer ones so far. */
  get dropped(): number { return this._dropped; }

  /** Queues a frame, dropping the oldest waiting one when `max` wait, and delivers. Ignored once closed. */
  push(f: Omit<TapFrame, 'seq'>): void {
    if (this.closed) return;
    if (this.waiting.length >= Math.max(1, this.opts.max)) {
      this.waiting.shift();
      this.opts.onDrop(++this._dropped);
    }
    this.waiting.push(f);
    void this.drain();
  }

  /** Drops what waits and delivers nothing more (a delivery already running is not awaited). */
  close(): void {
    this.closed = true;
    this.waiting.length = 0;
  }

  private async drain(): Promise<void> {
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.waiting.length > 0 && !this.closed) {
        const frame: TapFrame = { seq: this._emitted++, ...this.waiting.shift()! };
        try {
          await this.opts.deliver(frame);
        } catch (err) {
          this.opts.onError(err, frame.seq);
        }
      }
    } finally {
      this.delivering = false;
    }
  }
}
