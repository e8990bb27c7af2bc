/**
 * Account events in the audit log (sign-in, failed sign-in, sign-out, accounts created or changed from the
 * CLI, an attested date of birth, sign-up, two-factor changes, sessions revoked, password resets), so moderation/
 * stays the one writer of the audit log. Never records a password, a session or reset token, a TOTP secret or
 * code, or a date of birth. The account-security flows themselves live in {@link AccountService}.
 */
import { createHash } from 'node:crypto';
import {
  acceptTotpStep, accountSecurity, appendAction, clearTotp, createSignedUpAccount, enqueueMail, insertPasswordReset, pendingPasswordReset, recordBirthDate,
  resettableAccount, revokeAllSessions, revokeOwnSession, setPasswordHashById, setPendingTotpSecret, usePasswordReset,
  type AccountSecurity, type Db, type Role, type Tx,
} from '../db/index.ts';
import { ADULT_AGE, ageOn, utcDay } from '../core/age.ts';
import { WardenError } from '../core/errors.ts';
import { hashPassword, MAX_PASSWORD_LENGTH } from '../core/passwords.ts';
import { SealError } from '../core/sealed.ts';
import { hashToken, randomToken } from '../core/tokens.ts';
import { checkTotp, generateTotpSecret, otpauthUrl, sealTotpSecret, unsealTotpSecret, type TotpCheck } from '../core/totp.ts';

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

// ---- two-factor sign-in (TOTP) ----

/** Roles that must sign in with a second factor. */
export const STAFF_ROLES: readonly Role[] = ['moderator', 'senior_moderator', 'admin'];
export const isStaff = (role: Role): boolean => STAFF_ROLES.includes(role);

/** Opens a user's sealed secret. @throws 503 without a data key or when the secret does not open with it. */
function openSecret(dataKey: string | null, userId: string, sealed: string): string {
  try {
    return unsealTotpSecret(dataKey, userId, sealed);
  } catch (err) {
    if (err instanceof SealError) throw new WardenError('unavailable', 'the two-factor secret of this account does not open with the server\'s data key (was DATA_KEY changed?); an admin can reset it with `warden users totp-reset`');
    throw err;
  }
}

/**
 * Starts (or restarts) TOTP enrolment: a new random secret, sealed under the data key and stored as pending
 * (not yet required at sign-in). The secret is returned once, for the QR code; it is never shown again.
 * @param label what authenticator apps show beside "Warden" (the e-mail, else the handle).
 * @throws 503 `unavailable` without a data key; 409 `conflict` when two-factor sign-in is already on; 404 for an unknown user.
 */
export async function startTotpEnrolment(db: Db, dataKey: string | null, userId: string): Promise<{ secret: string; otpauthUrl: string }> {
  const account = await accountSecurity(db, userId);
  if (!account) throw new WardenError('not_found', 'no such account');
  if (account.totpEnabledAt) throw new WardenError('conflict', 'two-factor sign-in is already on; turn it off first to set up another device');
  const secret = generateTotpSecret();
  if (!(await setPendingTotpSecret(db, userId, sealTotpSecret(dataKey, userId, secret)))) throw new WardenError('conflict', 'two-factor sign-in is already on');
  return { secret, otpauthUrl: otpauthUrl(secret, account.email ?? account.handle) };
}

/**
 * Confirms enrolment with a code from the app: two-factor sign-in is on from now (the code's step counts as used),
 * audited `totp_enabled` (with `via`), in one transaction.
 * @returns the check: `invalid` (not this secret's code now) or `replayed` (step already used); ok when enabled.
 * @throws 400 when no enrolment was started; 409 when already on; 503 as {@link startTotpEnrolment}.
 */
export async function enableTotp(db: Db, dataKey: string | null, userId: string, code: string, via: 'settings' | 'enrolment'): Promise<TotpCheck> {
  const account = await accountSecurity(db, userId);
  if (!account) throw new WardenError('not_found', 'no such account');
  if (account.totpEnabledAt) throw new WardenError('conflict', 'two-factor sign-in is already on');
  if (!account.totpSecret) throw new WardenError('bad_request', 'start the set-up first (POST /api/auth/totp/setup)');
  const check = checkTotp(openSecret(dataKey, userId, account.totpSecret), code, account.totpLastStep);
  if (!check.ok) return check;
  return db.transaction(async (tx) => {
    if (!(await acceptTotpStep(tx, userId, check.step, { enable: true }))) return { ok: false, reason: 'replayed' } as const;
    await auditAccountEvent(tx, { action: 'totp_enabled', actor: { type: 'user', id: userId }, userId, details: { via } });
    return check;
  });
}

/**
 * Checks a sign-in (or settings) code of an account with two-factor sign-in on, and uses its step: a code is
 * accepted at most once, even by two requests at once.
 * @throws 503 as {@link startTotpEnrolment}; 400 when two-factor sign-in is off.
 */
export async function useTotpCode(db: Tx, dataKey: string | null, account: Pick<AccountSecurity, 'id' | 'totpSecret' | 'totpEnabledAt' | 'totpLastStep'>, code: string): Promise<TotpCheck> {
  if (!account.totpSecret || !account.totpEnabledAt) throw new WardenError('bad_request', 'two-factor sign-in is not on for this account');
  const check = checkTotp(openSecret(dataKey, account.id, account.totpSecret), code, account.totpLastStep);
  if (!check.ok) return check;
  return (await acceptTotpStep(db, account.id, check.step)) ? check : { ok: false, reason: 'replayed' };
}

/**
 * Turns two-factor sign-in off with a current code (audited `totp_disabled`). Staff accounts cannot.
 * @throws 403 for staff; 400 when it is off; 503 as above.
 */
export async function disableTotp(db: Db, dataKey: string | null, userId: string, code: string): Promise<TotpCheck> {
  const account = await accountSecurity(db, userId);
  if (!account) throw new WardenError('not_found', 'no such account');
  if (isStaff(account.role)) throw new WardenError('forbidden', 'staff accounts must keep two-factor sign-in on');
  const check = await useTotpCode(db, dataKey, account, code);
  if (!check.ok) return check;
  await db.transaction(async (tx) => {
    await clearTotp(tx, userId);
    await auditAccountEvent(tx, { action: 'totp_disabled', actor: { type: 'user', id: userId }, userId, details: {} });
  });
  return check;
}

/**
 * An admin's reset of a lost device (`warden users totp-reset`): the secret is forgotten, two-factor sign-in is
 * off (staff must enrol again at their next sign-in) and every session of the account ends; audited
 * `totp_reset`. @returns whether the account had a secret, and the ended sessions' token hashes.
 */
export async function resetTotp(db: Db, userId: string, actor: AccountActor): Promise<{ hadSecret: boolean; sessionTokenHashes: string[] }> {
  return db.transaction(async (tx) => {
    const hadSecret = await clearTotp(tx, userId);
    const sessionTokenHashes = await revokeAllSessions(tx, userId);
    await auditAccountEvent(tx, { action: 'totp_reset', actor, userId, details: { hadSecret, sessionsRevoked: sessionTokenHashes.length } });
    return { hadSecret, sessionTokenHashes };
  });
}

// ---- sessions ----

/** Ends one of the user's own sessions (audited `session_revoked`). @returns its token hash, or undefined when not theirs or not live. */
export async function revokeOwnSessionAudited(db: Db, userId: string, sessionId: string, current: boolean): Promise<string | undefined> {
  return db.transaction(async (tx) => {
    const row = await revokeOwnSession(tx, userId, sessionId);
    if (!row) return undefined;
    await auditAccountEvent(tx, { action: 'session_revoked', actor: { type: 'user', id: userId }, userId, details: { sessionId, current } });
    return row.tokenHash;
  });
}

// ---- password reset ----

/** How long a reset link works. */
export const PASSWORD_RESET_TTL_MS = 30 * 60_000;

/** The reset e-mail's text. */
function resetMail(handle: string, link: string): { subject: string; body: string } {
  return {
    subject: 'Reset your Warden password',
    body: [
      `Hello @${handle},`, '',
      'Someone (we hope you) asked to reset the password of your Warden account. To choose a new password, open this link within 30 minutes:', '',
      link, '',
      'The link works once. If you did not ask for this, ignore this e-mail: your password stays as it is, and nobody can use the link without access to your mailbox.', '',
      '— Warden',
    ].join('\n'),
  };
}

/**
 * A password-reset request. For an active account with this address: a random one-use token (32 bytes; only its
 * SHA-256 is stored, expiring after {@link PASSWORD_RESET_TTL_MS}) and the e-mail with the link
 * `<publicUrl>/studio/reset?token=…` in the outbox, audited `password_reset_requested`, all in one transaction.
 * For any other address the same kind of work is done (a token hashed, an audit entry with a short hash of the
 * address in one transaction) and nothing is sent, so neither the answer nor its time tells the two apart.
 * @returns whether a mail was queued (for the caller's logs only; never for the answer).
 */
export async function requestPasswordReset(db: Db, r: { email: string; ip: string; publicUrl: string }): Promise<{ queued: boolean }> {
  const token = randomToken();
  const tokenHash = hashToken(token);
  const account = await resettableAccount(db, r.email);
  return db.transaction(async (tx) => {
    if (!account) {
      await auditAccountEvent(tx, {
        action: 'password_reset_requested', actor: { type: 'system', id: 'auth' }, userId: null,
        subject: { type: 'email', id: createHash('sha256').update(r.email).digest('hex').slice(0, 16) }, details: { ip: r.ip, known: false },
      });
      return { queued: false };
    }
    const reset = await insertPasswordReset(tx, { userId: account.id, tokenHash, expiresAt: new Date(Date.now() + PASSWORD_RESET_TTL_MS), ip: r.ip });
    const link = `${r.publicUrl}/studio/reset?token=${encodeURIComponent(token)}`;
    await enqueueMail(tx, { toAddress: account.email, kind: 'password_reset', ...resetMail(account.handle, link) });
    await auditAccountEvent(tx, { action: 'password_reset_requested', actor: { type: 'system', id: 'auth' }, userId: account.id, details: { ip: r.ip, known: true, resetId: reset.id } });
    return { queued: true };
  });
}

/** The message for a reset token that is unknown, used or expired (one message for all three). */
export const RESET_LINK_INVALID = 'this reset link is not valid any more (used, expired or mistyped); ask for a new one';

/**
 * Sets a new password with a reset token: the token (and any other unused one of the account) is marked used,
 * the password replaced (argon2id), every session of the account revoked and `password_reset` audited, in one
 * transaction. Two-factor sign-in stays as it was.
 * @returns the user id and the revoked sessions' token hashes (for the Redis session copy).
 * @throws 400 with {@link RESET_LINK_INVALID}, or naming the password problem (accountPasswordProblem).
 */
export async function confirmPasswordReset(db: Db, r: { token: string; password: string; ip: string }): Promise<{ userId: string; sessionTokenHashes: string[] }> {
  const tokenHash = hashToken(r.token);
  const pending = await pendingPasswordReset(db, tokenHash);
  if (!pending) throw new WardenError('bad_request', RESET_LINK_INVALID);
  const problem = accountPasswordProblem(r.password, pending);
  if (problem) throw new WardenError('bad_request', `password: ${problem}`);
  const passwordHash = await hashPassword(r.password);
  return db.transaction(async (tx) => {
    const used = await usePasswordReset(tx, tokenHash);
    if (!used) throw new WardenError('bad_request', RESET_LINK_INVALID); // another request used it meanwhile
    await setPasswordHashById(tx, used.userId, passwordHash);
    const sessionTokenHashes = await revokeAllSessions(tx, used.userId);
    await auditAccountEvent(tx, { action: 'password_reset', actor: { type: 'user', id: used.userId }, userId: used.userId, details: { ip: r.ip, sessionsRevoked: sessionTokenHashes.length } });
    return { userId: used.userId, sessionTokenHashes };
  });
}
