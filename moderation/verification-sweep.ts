/** The periodic verification sweep (expired approvals end live broadcasts; images deleted after retention). */
import type { VerificationService } from './verification.ts';

/**
 * Runs {@link VerificationService.sweep} every `intervalMs` (default one minute) and once at start. Safe with
 * several nodes running it (see the service's methods).
 */
export class VerificationSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private destroyed = false;

  constructor(private readonly service: VerificationService, private readonly intervalMs = 60_000) {}

  start(): void {
    if (this.timer || this.destroyed) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.running || this.destroyed) return;
    this.running = this.service.sweep().finally(() => { this.running = null; });
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    this.destroyed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
