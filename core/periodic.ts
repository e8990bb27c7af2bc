/** A background task run on a timer (sweeps, retention). */

/**
 * Runs `task` once at {@link start} and then every `intervalMs`, never two runs at once (a tick while one runs is
 * skipped). The timer does not keep the process alive. A task should catch and log its own errors; one that rejects
 * anyway is ignored here, so the next tick runs.
 */
export class Periodic {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private destroyed = false;

  constructor(private readonly task: () => Promise<unknown>, private readonly intervalMs: number) {}

  /** Runs the task now and then on the interval. Idempotent; does nothing after {@link stop}. */
  start(): void {
    if (this.timer || this.destroyed) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.running || this.destroyed) return;
    this.running = this.task().catch(() => {}).finally(() => { this.running = null; });
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.destroyed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
