/**
 * Account security: sign-up with accepted guidelines, the TOTP second factor (sealed secret, enabled time, last
 * accepted step), the session list, one-use password-reset tokens and the mail outbox they write to.
 * Secrets and tokens arrive here already sealed or hashed; nothing in this file sees a plaintext secret.
 */
import { and, asc, desc, eq, gt, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { anyOf } from './arrays.ts';
import { mailOutbox, passwordResets, sessions, users, type Role } from '../schema.ts';

/**
 * Creates a signed-up account: e-mail (lower-cased), handle, role, argon2id hash and the guidelines version
 * accepted now.
 * @returns the new user's id, or null when the e-mail or the handle (in any case) is taken (nothing written).
 */
export async function createSignedUpAccount(db: Tx, a: { email: string; handle: string; role: Role; passwordHash: string; guidelinesVersion: string }): Promise<{ id: string } | null> {
  // handles differing only in case would let one account pass for another
  const [clash] = await db.select({ id: users.id }).from(users).where(sql`lower(${users.handle}) = lower(${a.handle})`).limit(1);
  if (clash) return null;
  const rows = await db.insert(users).values({
    email: a.email.trim().toLowerCase(), handle: a.handle, role: a.role, passwordHash: a.passwordHash,
    guidelinesVersion: a.guidelinesVersion, guidelinesAcceptedAt: sql`now()`,
  }).onConflictDoNothing().returning({ id: users.id });
  return rows[0] ?? null;
}

/** What the security settings and sign-in need to know about an account's second factor and guidelines. */
export interface AccountSecurity {
  id: string; email: string | null; handle: string; role: Role; permissions: string[]; disabled: boolean;
  /** Sealed base64 (core/totp.ts); set during enrolment before `totpEnabledAt`. */
  totpSecret: string | null;
  totpEnabledAt: Date | null;
  totpLastStep: number | null;
  guidelinesVersion: string | null;
  guidelinesAcceptedAt: Date | null;
}

/** An account's security fields. @returns undefined for an unknown user. */
export async function accountSecurity(db: Tx, userId: string): Promise<AccountSecurity | undefined> {
  const [row] = await db.select({
    id: users.id, email: users.email, handle: users.handle, role: users.role, permissions: users.permissions, disabledAt: users.disabledAt,
    totpSecret: users.totpSecret, totpEnabledAt: users.totpEnabledAt, totpLastStep: users.totpLastStep,
    guidelinesVersion: users.guidelinesVersion, guidelinesAcceptedAt: users.guidelinesAcceptedAt,
  }).from(users).where(eq(users.id, userId)).limit(1);
  if (!row) return undefined;
  const { disabledAt, ...rest } = row;
  return { ...rest, disabled: disabledAt !== null };
}

/**
 * Stores a new pending TOTP secret (enrolment started, not yet confirmed), replacing an earlier pending one.
 * @returns false when two-factor sign-in is already on (nothing changed).
 */
export async function setPendingTotpSecret(db: Tx, userId: string, sealedSecret: string): Promise<boolean> {
  const rows = await db.update(users).set({ totpSecret: sealedSecret, totpLastStep: null })
    .where(and(eq(users.id, userId), isNull(users.totpEnabledAt))).returning({ id: users.id });
  return rows.length === 1;
}

/**
 * Records an accepted TOTP step, only if it is later than the last one (a code is never accepted twice, even by
 * two requests at once), and, with `enable`, turns two-factor sign-in on (only while it is off).
 * @returns false when the step is not later than the last accepted one (a replay), or `enable` found it already on.
 */
export async function acceptTotpStep(db: Tx, userId: string, step: number, opts: { enable?: boolean } = {}): Promise<boolean> {
  const rows = await db.update(users).set({ totpLastStep: step, ...(opts.enable ? { totpEnabledAt: sql`now()` } : {}) })
    .where(and(eq(users.id, userId), or(isNull(users.totpLastStep), lt(users.totpLastStep, step)), opts.enable ? isNull(users.totpEnabledAt) : sql`true`))
    .returning({ id: users.id });
  return rows.length === 1;
}

/** Turns two-factor sign-in off and forgets the secret. @returns whether the account had a secret. */
export async function clearTotp(db: Tx, userId: string): Promise<boolean> {
  const rows = await db.update(users).set({ totpSecret: null, totpEnabledAt: null, totpLastStep: null })
    .where(and(eq(users.id, userId), sql`${users.totpSecret} is not null`)).returning({ id: users.id });
  return rows.length === 1;
}

/** A live session as its owner sees it (never the token). */
export interface SessionRow { id: string; createdAt: Date; lastSeenAt: Date; expiresAt: Date; ip: string | null; userAgent: string | null }

/** A user's live sessions (not revoked, not past their absolute expiry), most recently used first. */
export async function listUserSessions(db: Tx, userId: string): Promise<SessionRow[]> {
  return db.select({ id: sessions.id, createdAt: sessions.createdAt, lastSeenAt: sessions.lastSeenAt, expiresAt: sessions.expiresAt, ip: sessions.ip, userAgent: sessions.userAgent })
    .from(sessions).where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`)))
    .orderBy(desc(sessions.lastSeenAt), desc(sessions.createdAt));
}

/**
 * Revokes one of a user's own live sessions.
 * @returns its token hash (to drop it from the Redis session copy), or undefined when no such live session of theirs.
 */
export async function revokeOwnSession(db: Tx, userId: string, sessionId: string): Promise<{ tokenHash: string } | undefined> {
  const [row] = await db.update(sessions).set({ revokedAt: sql`now()` })
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt))).returning({ tokenHash: sessions.tokenHash });
  return row;
}

/** Revokes every live session of a user. @returns their token hashes (for the Redis session copy). */
export async function revokeAllSessions(db: Tx, userId: string): Promise<string[]> {
  const rows = await db.update(sessions).set({ revokedAt: sql`now()` })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt))).returning({ tokenHash: sessions.tokenHash });
  return rows.map((r) => r.tokenHash);
}

/** An account a password reset can go to: active, with an e-mail and a password. */
export async function resettableAccount(db: Tx, email: string): Promise<{ id: string; email: string; handle: string } | undefined> {
  const [row] = await db.select({ id: users.id, email: users.email, handle: users.handle }).from(users)
    .where(and(eq(users.email, email.trim().toLowerCase()), isNull(users.disabledAt), sql`${users.passwordHash} is not null`)).limit(1);
  return row ? { id: row.id, email: row.email!, handle: row.handle } : undefined;
}

/** Stores a password-reset token's SHA-256 with its expiry. */
export async function insertPasswordReset(db: Tx, r: { userId: string; tokenHash: string; expiresAt: Date; ip: string | null }): Promise<{ id: string }> {
  const [row] = await db.insert(passwordResets).values(r).returning({ id: passwordResets.id });
  return row!;
}

/** The account a live (unused, unexpired) reset token belongs to, without using it. */
export async function pendingPasswordReset(db: Tx, tokenHash: string): Promise<{ resetId: string; userId: string; email: string | null; handle: string } | undefined> {
  const [row] = await db.select({ resetId: passwordResets.id, userId: users.id, email: users.email, handle: users.handle })
    .from(passwordResets).innerJoin(users, eq(users.id, passwordResets.userId))
    .where(and(eq(passwordResets.tokenHash, tokenHash), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, sql`now()`), isNull(users.disabledAt))).limit(1);
  return row;
}

/**
 * Uses a reset token: marks it used if it is still live (one request wins even when two arrive at once), and
 * every other unused token of the same user with it (an older link stops working once one was used).
 * @returns the user id, or undefined when the token is unknown, used or expired.
 */
export async function usePasswordReset(db: Tx, tokenHash: string): Promise<{ userId: string } | undefined> {
  const [row] = await db.update(passwordResets).set({ usedAt: sql`now()` })
    .where(and(eq(passwordResets.tokenHash, tokenHash), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, sql`now()`)))
    .returning({ userId: passwordResets.userId });
  if (!row) return undefined;
  await db.update(passwordResets).set({ usedAt: sql`now()` }).where(and(eq(passwordResets.userId, row.userId), isNull(passwordResets.usedAt)));
  return row;
}

/** Replaces a user's password hash by id. */
export async function setPasswordHashById(db: Tx, userId: string, passwordHash: string): Promise<void> {
  await db.update(users).set({ passwordHash }).where(eq(users.id, userId));
}

/** Queues an e-mail in the outbox (in the caller's transaction, with what it tells). */
export async function enqueueMail(db: Tx, m: { toAddress: string; subject: string; body: string; kind: string }): Promise<{ id: string }> {
  const [row] = await db.insert(mailOutbox).values(m).returning({ id: mailOutbox.id });
  return row!;
}

/** An outbox row to send. */
export interface OutboxMail { id: string; toAddress: string; subject: string; body: string; kind: string; attempts: number; createdAt: Date }

/**
 * Locks the oldest unsent e-mail no other sender holds (`for update skip locked`), with fewer than `maxAttempts`
 * attempts and not backing off (`next_attempt_at` passed). Call inside a transaction and record the
 * outcome with {@link markMailSent} or {@link markMailFailed} in the same one.
 */
export async function claimMail(db: Tx, opts: { maxAttempts: number }): Promise<OutboxMail | undefined> {
  const [row] = await db.select({ id: mailOutbox.id, toAddress: mailOutbox.toAddress, subject: mailOutbox.subject, body: mailOutbox.body, kind: mailOutbox.kind, attempts: mailOutbox.attempts, createdAt: mailOutbox.createdAt })
    .from(mailOutbox)
    .where(and(isNull(mailOutbox.sentAt), lt(mailOutbox.attempts, opts.maxAttempts), or(isNull(mailOutbox.nextAttemptAt), lte(mailOutbox.nextAttemptAt, sql`now()`))))
    .orderBy(asc(mailOutbox.createdAt)).limit(1).for('update', { skipLocked: true });
  return row;
}

/** Records a delivered e-mail. */
export async function markMailSent(db: Tx, id: string): Promise<void> {
  await db.update(mailOutbox).set({ sentAt: sql`now()`, attempts: sql`${mailOutbox.attempts} + 1`, lastError: null }).where(eq(mailOutbox.id, id));
}

/**
 * Records a failed attempt, its error (a short text, no message body) and when to try again (`retryInMs` from now,
 * on the database's clock): no node claims the row before then, and a restart keeps the backoff.
 */
export async function markMailFailed(db: Tx, id: string, error: string, retryInMs: number): Promise<void> {
  await db.update(mailOutbox).set({
    attempts: sql`${mailOutbox.attempts} + 1`, lastError: error.slice(0, 500),
    nextAttemptAt: sql`now() + make_interval(secs => ${retryInMs / 1000})`,
  }).where(eq(mailOutbox.id, id));
}

/** How many e-mails wait unsent (and have attempts left). */
export async function unsentMailCount(db: Tx, maxAttempts: number): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(mailOutbox).where(and(isNull(mailOutbox.sentAt), lt(mailOutbox.attempts, maxAttempts)));
  return row?.n ?? 0;
}

/** Outbox rows by id (tests and the CLI). */
export async function outboxMails(db: Tx, ids: string[]) {
  return ids.length ? db.select().from(mailOutbox).where(anyOf(mailOutbox.id, ids, 'uuid')) : [];
}
