/**
 * Account events in the audit log (sign-in, failed sign-in, sign-out, accounts created or changed from the
 * CLI, an attested date of birth, sign-up, two-factor changes, sessions revoked, password resets), so moderation/
 * stays the one writer of the audit log. Never records a password, a session or reset token, a TOTP secret or
 * code, or a date of birth. The account-security flows themselves live in {@link AccountService}.
 */
import { appendAction, createSignedUpAccount, recordBirthDate, type Db, type Role, type Tx } from '../db/index.ts';
import { ADULT_AGE, ageOn, utcDay } from '../core/age.ts';
import { hashPassword, MAX_PASSWORD_LENGTH } from '../core/passwords.ts';

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

// ---- sign-up ----

/** Sign-up's password minimum (NIST SP 800-63B §3.1.1.2: length, no composition rules; 8 is its floor, 10 here). */
export const MIN_ACCOUNT_PASSWORD_LENGTH = 10;

/** Handles: 3–30 letters, digits, `_` or `-`. */
export const HANDLE_PATTERN = /^[A-Za-z0-9_-]{3,30}$/;

/**
 * A few of the most common passwords long enough to pass the length rule (NIST SP 800-63B asks to refuse
 * commonly used and expected values); lower-cased.
 */
const COMMON_PASSWORDS = new Set([
  '1234567890', '0123456789', '12345678910', '1234567891', '0987654321', 'qwertyuiop', 'password12', 'password123', 'password1234',
  'iloveyou12', 'qwerty1234', 'qwerty12345', '1q2w3e4r5t', '1qaz2wsx3edc', 'asdfghjkl1', 'abcdefghij', 'passw0rd123', 'letmein123',
  'welcome123', 'administrator', 'changeme123', 'qwertyuiop123', 'zxcvbnm123', '11111111111', 'aaaaaaaaaa',
]);

/**
 * Why a new password for an account is refused (a sentence for the user), or null: 10–256 characters (Unicode
 * code points, any characters, no composition rules), not one of the most common passwords, not a single
 * repeated character, and not the account's own e-mail address, its local part or its handle (any case).
 */
export function accountPasswordProblem(password: string, account: { email?: string | null; handle?: string | null }): string | null {
  const length = [...password].length;
  if (length < MIN_ACCOUNT_PASSWORD_LENGTH) return `a password needs at least ${MIN_ACCOUNT_PASSWORD_LENGTH} characters`;
  if (length > MAX_PASSWORD_LENGTH) return `a password has at most ${MAX_PASSWORD_LENGTH} characters`;
  const p = password.trim().toLowerCase();
  const own = [account.email, account.email?.split('@')[0], account.handle].filter((v): v is string => !!v).map((v) => v.trim().toLowerCase());
  if (own.includes(p)) return 'a password cannot be your e-mail address or handle';
  if (COMMON_PASSWORDS.has(p) || /^(.)\1*$/u.test(p)) return 'this password is too common; choose another (a few unrelated words make a good one)';
  return null;
}

/** What sign-up stores: the account, its role (performer or viewer) and the guidelines version it accepted. */
export interface SignUpInput { email: string; handle: string; role: Extract<Role, 'performer' | 'viewer'>; password: string; guidelinesVersion: string; ip: string }

/**
 * Creates an account (argon2id hash) with the accepted guidelines version and time, and audits `signup` (with the
 * role, guidelines version and IP; never the password), in one transaction. The hash is computed before looking
 * at the database, so a taken e-mail or handle costs the same time as a new account.
 * @returns the new user id, or null when the e-mail or handle is taken (nothing written).
 */
export async function signUp(db: Db, a: SignUpInput): Promise<{ userId: string } | null> {
  const passwordHash = await hashPassword(a.password);
  return db.transaction(async (tx) => {
    const created = await createSignedUpAccount(tx, { email: a.email, handle: a.handle, role: a.role, passwordHash, guidelinesVersion: a.guidelinesVersion });
    if (!created) return null;
    await auditAccountEvent(tx, { action: 'signup', actor: { type: 'user', id: created.id }, userId: created.id, details: { role: a.role, guidelinesVersion: a.guidelinesVersion, ip: a.ip } });
    return { userId: created.id };
  });
}
