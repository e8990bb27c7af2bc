/**
 * The tap's keyframe-spacing watch (ingest/tap.ts): decoding keyframes only samples a stream at its keyframe
 * interval, so a stream whose keyframes are further apart than the sampling interval must be decoded in full
 * ('interval' mode). Spacing is measured in stream time (packet timestamps), never wall-clock time, so a network
 * stall never looks like sparse keyframes.
 */
import type { PacketTime } from './tap-parsers.ts';

/**
 * Watches one ffmpeg run's video packets. {@link observe} says when keyframes-only sampling cannot keep the
 * interval: one keyframe gap over 3× the interval, two consecutive gaps over 1.5×, or packets for max(4× the
 * interval, 10 s) with no keyframe. A gap that goes backwards (a timestamp discontinuity) starts the count afresh.
 */
export class KeyframeSpacing {
  private firstPacketS: number | undefined;
  private lastKeyS: number | undefined;
  private longGaps = 0;

  /** @param intervalMs the sampling interval the keyframes must keep up with. */
  constructor(private readonly intervalMs: number) {}

  /**
   * Takes the next video packet (timestamps in seconds).
   * @returns why keyframes are too sparse (for the tap's note, e.g. "keyframes every 7.0 s"), or null while they are not.
   */
  observe(p: PacketTime): string | null {
    const intervalS = this.intervalMs / 1000;
    this.firstPacketS ??= p.dts;
    if (p.key) {
      if (this.lastKeyS !== undefined) {
        const gap = p.pts - this.lastKeyS;
        if (gap <= 0) {
          this.longGaps = 0; // timestamps jumped back (discontinuity): start measuring afresh
        } else {
          this.longGaps = gap > 1.5 * intervalS ? this.longGaps + 1 : 0;
          if (gap > 3 * intervalS || this.longGaps >= 2) return `keyframes every ${gap.toFixed(1)} s`;
        }
      }
      this.lastKeyS = p.pts;
      return null;
    }
    const since = p.dts - (this.lastKeyS ?? this.firstPacketS);
    return since > Math.max(4 * intervalS, 10) ? `no keyframe for ${since.toFixed(1)} s` : null;
  }
}
