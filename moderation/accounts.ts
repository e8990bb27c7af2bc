/**
 * Account events in the audit log (sign-in, failed sign-in, sign-out, accounts created or changed from the
 * CLI, an attested date of birth), so moderation/ stays the one writer of the audit log. Never records a
 * password, a session token or a date of birth.
 */
import { appendAction, recordBirthDate, type Db, type Tx } from '../db/index.ts';
import { ADULT_AGE, ageOn, utcDay } from '../core/age.ts';

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

/** What an attestation came to: accepted (an adult), refused as a minor (kept), or refused as a second attempt. */
export type AttestationResult = { ok: true } | { ok: false; reason: 'underage' | 'already_given' };

/**
 * A signed-in account attests its date of birth, once. 18 or older on the day (UTC date of `now`): the date and
 * the time of attesting are stored. Younger: the date is stored with no attestation time, so the account stays
 * unattested and cannot try another date. A second attestation of any kind changes nothing. Stored and audited
 * (`attest_birth_date`, with whether it showed an adult, never the date) in one transaction.
 * @param birthDate `YYYY-MM-DD`, a real calendar date (the caller validates it).
 */
export async function attestBirthDate(db: Db, userId: string, birthDate: string, now = new Date()): Promise<AttestationResult> {
  const adult = ageOn(birthDate, utcDay(now)) >= ADULT_AGE;
  return db.transaction(async (tx) => {
    if (!(await recordBirthDate(tx, userId, birthDate, adult ? now : null))) {
      await auditAccountEvent(tx, { action: 'attest_birth_date_refused', actor: { type: 'user', id: userId }, userId, details: { reason: 'already_given' } });
      return { ok: false, reason: 'already_given' } as const;
    }
    await auditAccountEvent(tx, { action: 'attest_birth_date', actor: { type: 'user', id: userId }, userId, details: { adult } });
    return adult ? { ok: true } as const : { ok: false, reason: 'underage' } as const;
  });
}
