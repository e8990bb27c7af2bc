/**
 * Writes the ingest node must not lose when PostgreSQL or Redis is briefly away: a sample's row and its analysis
 * job, a broadcast's end. Each write is tried at once; while one fails because a store is unavailable it is kept,
 * in order, in a lane per broadcast, and retried with back-off (250 ms, doubling to 5 s) until it lands. Later
 * writes of the same lane wait behind it, so a sample's row always lands before a later sample that refers to it,
 * and a broadcast's end after its last samples. Lanes are independent: one broadcast's backlog never delays another.
 *
 * Bounded: a lane holds at most `maxPerLane` writes (default 1,000: over half an hour of samples at the default
 * intervals); past that the oldest waiting one is dropped (`onDrop`, logged). A write that fails for another reason
 * (a bug, a refused statement) is tried 3 times and then dropped with an error log, so it cannot block its lane.
 * Pending writes live in this process's memory: a crash of the ingest node loses them (its broadcasts end with it).
 */
import type { Logger } from '../core/logger.ts';
import { errorText, isDatabaseUnavailable, isRedisUnavailable } from '../core/errors.ts';

/** One write: a label for logs and the idempotent function that performs it (it may run more than once). */
interface PendingWrite { label: string; run: () => Promise<void>; failures: number; done: (landed: boolean) => void }

interface Lane { writes: PendingWrite[]; running: boolean; delayMs: number; timer?: NodeJS.Timeout }

/** Tries of a write that fails for a reason other than an unavailable store. */
const MAX_OTHER_FAILURES = 3;

export interface RetryWriterOptions {
  logger: Logger;
  /** Most writes waiting in one lane (default 1000). */
  maxPerLane?: number;
  /** First retry delay, doubled after each failure up to `maxDelayMs` (defaults 250 and 5000). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Told about each write dropped (lane full, or failing for another reason). */
  onDrop?: (label: string, why: 'full' | 'failed') => void;
}

export class RetryWriter {
  private readonly lanes = new Map<string, Lane>();
  private readonly maxPerLane: number;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private stopped = false;
  private outageLoggedAt = 0;

  constructor(private readonly opts: RetryWriterOptions) {
    this.maxPerLane = opts.maxPerLane ?? 1000;
    this.minDelayMs = opts.minDelayMs ?? 250;
    this.maxDelayMs = opts.maxDelayMs ?? 5000;
  }

  /** Writes waiting or running, over every lane. */
  get pending(): number {
    let n = 0;
    for (const l of this.lanes.values()) n += l.writes.length;
    return n;
  }

  /**
   * Runs `run` in `lane` after the writes submitted to it before; never throws (failures are retried or logged).
   * `run` must be idempotent: it may have landed before its failure was seen.
   * @returns resolves true once the write landed, false when it was dropped (never rejects; may be ignored).
   */
  submit(lane: string, label: string, run: () => Promise<void>): Promise<boolean> {
    let l = this.lanes.get(lane);
    if (!l) {
      l = { writes: [], running: false, delayMs: this.minDelayMs };
      this.lanes.set(lane, l);
    }
    if (l.writes.length >= this.maxPerLane) {
      // the head may be running; drop the oldest of those waiting behind it
      const [dropped] = l.writes.splice(l.running ? 1 : 0, 1);
      if (dropped) {
        this.opts.logger.error({ lane, label: dropped.label, pending: l.writes.length }, 'write buffer full: oldest pending write dropped');
        this.opts.onDrop?.(dropped.label, 'full');
        dropped.done(false);
      }
    }
    const landed = new Promise<boolean>((resolve) => l.writes.push({ label, run, failures: 0, done: resolve }));
    if (!l.running && !l.timer) void this.drain(lane, l);
    return landed;
  }

  private async drain(lane: string, l: Lane): Promise<void> {
    l.running = true;
    l.timer = undefined;
    try {
      while (l.writes.length > 0) {
        const w = l.writes[0]!;
        try {
          await w.run();
        } catch (err) {
          const outage = isDatabaseUnavailable(err) || isRedisUnavailable(err);
          w.failures++;
          if (!outage && w.failures >= MAX_OTHER_FAILURES) {
            this.opts.logger.error({ lane, label: w.label, err: errorText(err) }, 'write failed; dropped');
            this.opts.onDrop?.(w.label, 'failed');
            l.writes.shift();
            w.done(false);
            continue;
          }
          if (this.stopped) return;
          if (outage && Date.now() - this.outageLoggedAt > 5000) {
            this.outageLoggedAt = Date.now();
            this.opts.logger.warn({ lane, label: w.label, pending: this.pending, err: errorText(err) }, 'store unavailable: writes kept and retried');
          }
          // try again later; later writes of this lane wait behind this one
          const delay = l.delayMs;
          l.delayMs = Math.min(l.delayMs * 2, this.maxDelayMs);
          l.timer = setTimeout(() => void this.drain(lane, l), delay);
          return;
        }
        l.writes.shift();
        l.delayMs = this.minDelayMs;
        w.done(true);
      }
      this.lanes.delete(lane);
    } finally {
      l.running = false;
    }
  }

  /**
   * Waits until every pending write has landed or `timeoutMs` passed (retrying at once rather than waiting out a
   * back-off), then stops retrying. @returns how many writes are still pending (lost when the process exits).
   */
  async flush(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending > 0 && Date.now() < deadline) {
      for (const [lane, l] of this.lanes) {
        if (!l.running && l.timer) {
          clearTimeout(l.timer);
          void this.drain(lane, l);
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    this.stopped = true;
    for (const l of this.lanes.values()) clearTimeout(l.timer);
    return this.pending;
  }
}
