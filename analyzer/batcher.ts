/**
 * A generic micro-batcher: single items pushed at about the same time are run together in one call.
 * Built for the frame model, where one call on N images costs less than N calls on one.
 */

/** Options for {@link MicroBatcher}. */
export interface MicroBatcherOptions<I, O> {
  /** Largest number of items given to one `run` call (≥ 1). A full batch runs at once. */
  maxBatch: number;
  /** Longest time, in milliseconds, the first item of a batch waits for company before the batch runs (≥ 0). */
  maxWaitMs: number;
  /**
   * Processes one batch; must resolve to exactly one output per input, in the same order. If it throws (or
   * returns the wrong number of outputs), every item of that batch rejects with that error.
   */
  run: (items: I[]) => Promise<O[]>;
}

interface Pending<I, O> {
  item: I;
  /** performance.now() when pushed. */
  at: number;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

/**
 * Collects items into batches of up to `maxBatch`, or whatever arrived within `maxWaitMs` of the batch's
 * first item, and runs them with one `run` call. Batches run one at a time (the model is CPU-bound, so
 * overlapping calls would only compete for the same core); items that arrive meanwhile form the next batch,
 * which starts as soon as the current one ends if it is full or its first item has waited `maxWaitMs`.
 */
export class MicroBatcher<I, O> {
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;
  private readonly runBatch: (items: I[]) => Promise<O[]>;
  private queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(opts: MicroBatcherOptions<I, O>) {
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new RangeError('maxBatch must be an integer ≥ 1');
    if (!(opts.maxWaitMs >= 0) || !Number.isFinite(opts.maxWaitMs)) throw new RangeError('maxWaitMs must be finite and ≥ 0');
    this.maxBatch = opts.maxBatch;
    this.maxWaitMs = opts.maxWaitMs;
    this.runBatch = opts.run;
  }

  /** Items waiting for a batch (not counting the batch currently running). */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Adds one item; resolves with its output once its batch has run.
   * @throws (rejects) with the batch's error if `run` fails, or an Error if the batcher is closed.
   */
  push(item: I): Promise<O> {
    if (this.closed) return Promise.reject(new Error('MicroBatcher is closed'));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, at: performance.now(), resolve, reject });
      this.maybeRun();
    });
  }

  /**
   * Stops accepting items and runs everything still queued without waiting; resolves when every batch
   * (including the one running) has finished. Idempotent.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    this.maybeRun();
    while (this.running) await this.running;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private maybeRun(): void {
    if (this.running) return; // re-checked when the running batch ends
    const first = this.queue[0];
    if (!first) return this.clearTimer();
    const waitLeft = first.at + this.maxWaitMs - performance.now();
    if (!this.closed && this.queue.length < this.maxBatch && waitLeft > 0) {
      if (!this.timer) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.maybeRun();
        }, Math.ceil(waitLeft));
      }
      return;
    }
    this.clearTimer();
    const batch = this.queue.splice(0, this.maxBatch);
    this.running = this.execute(batch).finally(() => {
      this.running = null;
      this.maybeRun();
    });
  }

  private async execute(batch: Pending<I, O>[]): Promise<void> {
    let outputs: O[];
    try {
      outputs = await this.runBatch(batch.map((p) => p.item));
      if (!Array.isArray(outputs) || outputs.length !== batch.length) {
        throw new Error(`MicroBatcher run returned ${Array.isArray(outputs) ? outputs.length : typeof outputs} outputs for ${batch.length} items`);
      }
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    batch.forEach((p, i) => p.resolve(outputs[i] as O));
  }
}
