/**
 * Account events in the audit log (sign-in, failed sign-in, sign-out, accounts created or changed from the
 * CLI), so moderation/ stays the one writer of the audit log. Never records a password or a session token.
 */
import { appendAction, type Tx } from '../db/index.ts';

/** Who did it: the user themself, or the system (`auth` for sign-in checks, `cli` for `warden users`). */
export type AccountActor = { type: 'user'; id: string } | { type: 'system'; id: 'auth' | 'cli' };

/**
 * Appends an account event. `subject` is the user (or, for a failed sign-in to an unknown e-mail, a short hash
 * of the address, subjectType `email`).
 */
export async function auditAccountEvent(db: Tx, e: { action: string; actor: AccountActor; userId: string | null; subject?: { type: string; id: string }; details: Record<string, unknown> }): Promise<void> {
  await appendAction(db, {
    action: e.action, actorType: e.actor.type, actorId: e.actor.id, subjectType: e.subject?.type ?? 'user', subjectId: e.subject?.id ?? e.userId!,
    userId: e.userId, details: e.details,
  });
}
