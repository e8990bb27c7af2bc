/** The periodic verification sweep (expired approvals end live broadcasts; images deleted after retention). */
import { Periodic } from '../core/periodic.ts';
import type { VerificationService } from './verification.ts';

/**
 * Runs {@link VerificationService.sweep} every `intervalMs` (default one minute) and once at start. Safe with
 * several nodes running it (see the service's methods).
 */
export class VerificationSweeper extends Periodic {
  constructor(service: VerificationService, intervalMs = 60_000) {
    super(() => service.sweep(), intervalMs);
  }
}
