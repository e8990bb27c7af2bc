/**
 * The tap's run-time sampling interval (adaptive sampling, ingest/sampling.ts): ffmpeg samples at the base interval,
 * and this keeps about one frame per effective interval out of what it delivers, without restarting ffmpeg.
 */

/**
 * Keeps a frame when it arrives no earlier than a quarter of a base interval before the next one is due, then schedules
 * the next one an effective interval after that due time (after the frame's own arrival when the stream had a gap).
 * Frames arrive about a base interval apart (give or take jitter), so the kept ones average one per effective interval
 * (3 s at a 2 s base: gaps of 4 and 2 s). At the base interval every frame is kept.
 */
export class FrameThinner {
  private intervalMs: number;
  private nextDueAt: number | undefined;

  /** @param baseMs the interval ffmpeg samples at (ms, > 0). */
  constructor(private readonly baseMs: number) {
    this.intervalMs = baseMs;
  }

  /** The effective interval in force (ms). */
  get effectiveMs(): number {
    return this.intervalMs;
  }

  /**
   * Sets the effective interval (ms; raised to the base one). Shortening it brings the next due time forward.
   * @returns whether it changed.
   */
  setInterval(ms: number, now = Date.now()): boolean {
    const next = Math.max(this.baseMs, Math.round(ms));
    if (next === this.intervalMs) return false;
    this.intervalMs = next;
    if (this.nextDueAt !== undefined) this.nextDueAt = Math.min(this.nextDueAt, now + next);
    return true;
  }

  /** Forgets the schedule (timestamps jumped): the next frame is kept. */
  reset(): void {
    this.nextDueAt = undefined;
  }

  /** Whether to keep a frame that arrived at `now` (ms); a kept frame schedules the next. */
  keep(now: number): boolean {
    const eff = this.intervalMs;
    if (eff > this.baseMs && this.nextDueAt !== undefined && now < this.nextDueAt - this.baseMs / 4) return false;
    this.nextDueAt = this.nextDueAt !== undefined && now - this.nextDueAt < eff ? this.nextDueAt + eff : now + eff;
    return true;
  }
}
