/**
 * Sign-in sessions and accounts. A session token is a random secret held by the client; only its SHA-256 is
 * stored. A session ends at its absolute expiry, after the idle time without a request, when revoked (logout,
 * role change, account disabled) or when its user is disabled.
 */
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { sessions, users, type Role } from '../schema.ts';

/** Stores a session (token hashed by the caller). `expiresAt` is the absolute expiry. */
export async function insertSession(db: Tx, s: { userId: string; tokenHash: string; expiresAt: Date; ip?: string | null; userAgent?: string | null }): Promise<{ id: string }> {
  const [row] = await db.insert(sessions).values({ ...s, userAgent: s.userAgent?.slice(0, 300) ?? null }).returning({ id: sessions.id });
  return row!;
}

/** The signed-in user of a session. */
export interface SessionUser { sessionId: string; userId: string; handle: string; role: Role; permissions: string[]; expiresAt: Date }

/**
 * The user of a live session: not revoked, not past its absolute expiry, not idle longer than `idleMs` (when
 * given), and the user not disabled. Renews `last_seen_at` at most once a minute (a cheap write on a hot path),
 * or every quarter of `idleMs` when that is shorter, so an active session never idles out between renewals.
 * @param tokenHash SHA-256 hex of the session token (core/tokens.ts `hashToken`).
 * @returns undefined for an unknown, revoked, expired or idle session, or a disabled user.
 */
export async function sessionUser(db: Tx, tokenHash: string, idleMs?: number): Promise<SessionUser | undefined> {
  const idle = idleMs === undefined ? sql`true` : sql`${sessions.lastSeenAt} > now() - ${`${Math.round(idleMs)} milliseconds`}::interval`;
  const renewMs = Math.max(1, Math.round(Math.min(60_000, (idleMs ?? Infinity) / 4)));
  const [row] = await db.select({
    sessionId: sessions.id, userId: users.id, handle: users.handle, role: users.role, permissions: users.permissions, expiresAt: sessions.expiresAt,
    stale: sql<boolean>`${sessions.lastSeenAt} < now() - ${`${renewMs} milliseconds`}::interval`,
  }).from(sessions).innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.tokenHash, tokenHash), isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`), isNull(users.disabledAt), idle)).limit(1);
  if (!row) return undefined;
  if (row.stale) await db.update(sessions).set({ lastSeenAt: sql`now()` }).where(eq(sessions.id, row.sessionId));
  const { stale: _stale, ...user } = row;
  return user;
}

/** Revokes one session. */
export async function revokeSession(db: Tx, sessionId: string): Promise<void> {
  await db.update(sessions).set({ revokedAt: sql`now()` }).where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}

/** Revokes every live session of a user (role changed, account disabled). @returns how many. */
export async function revokeUserSessions(db: Tx, userId: string): Promise<number> {
  const rows = await db.update(sessions).set({ revokedAt: sql`now()` }).where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt))).returning({ id: sessions.id });
  return rows.length;
}

/** An account as sign-in sees it. */
export async function findAccountByEmail(db: Tx, email: string) {
  const [row] = await db.select({ id: users.id, handle: users.handle, email: users.email, role: users.role, permissions: users.permissions, passwordHash: users.passwordHash, disabledAt: users.disabledAt })
    .from(users).where(eq(users.email, email.trim().toLowerCase())).limit(1);
  return row;
}

/**
 * Creates an account with a password hash. E-mail is stored lower-cased.
 * @returns the new user, or null when the e-mail or handle is taken.
 */
export async function createAccount(db: Tx, a: { email: string; handle: string; role: Role; passwordHash: string }): Promise<{ id: string } | null> {
  const rows = await db.insert(users).values({ email: a.email.trim().toLowerCase(), handle: a.handle, role: a.role, passwordHash: a.passwordHash })
    .onConflictDoNothing().returning({ id: users.id });
  return rows[0] ?? null;
}

/** Changes a user's role. @returns the user id, or undefined when no such e-mail. */
export async function setRoleByEmail(db: Tx, email: string, role: Role): Promise<string | undefined> {
  const [row] = await db.update(users).set({ role }).where(eq(users.email, email.trim().toLowerCase())).returning({ id: users.id });
  return row?.id;
}

/** Adds or removes a permission (e.g. `queue:minor_safety`). @returns the new permissions, or undefined when no such e-mail. */
export async function changePermission(db: Tx, email: string, permission: string, grant: boolean): Promise<{ id: string; permissions: string[] } | undefined> {
  const [row] = await db.update(users).set({
    permissions: grant ? sql`array(select distinct unnest(${users.permissions} || array[${permission}]::text[]) order by 1)` : sql`array_remove(${users.permissions}, ${permission})`,
  }).where(eq(users.email, email.trim().toLowerCase())).returning({ id: users.id, permissions: users.permissions });
  return row;
}

/** Disables (or re-enables) an account. @returns the user id, or undefined when no such e-mail. */
export async function setDisabled(db: Tx, email: string, disabled: boolean): Promise<string | undefined> {
  const [row] = await db.update(users).set({ disabledAt: disabled ? sql`now()` : null }).where(eq(users.email, email.trim().toLowerCase())).returning({ id: users.id });
  return row?.id;
}

/** Accounts with an e-mail (staff and signed-up users), for `warden users list`. */
export async function listAccounts(db: Tx) {
  return db.select({ id: users.id, email: users.email, handle: users.handle, role: users.role, permissions: users.permissions, disabledAt: users.disabledAt })
    .from(users).where(sql`${users.email} is not null`).orderBy(users.email);
}

/** Replaces a user's password hash. @returns the user id, or undefined when no such e-mail. */
export async function setPasswordHash(db: Tx, email: string, passwordHash: string): Promise<string | undefined> {
  const [row] = await db.update(users).set({ passwordHash }).where(eq(users.email, email.trim().toLowerCase())).returning({ id: users.id });
  return row?.id;
}

/**
 * Deletes up to `limit` sessions that ended (expired, or revoked) before `endedBefore`: their token hash, address and
 * user agent are no longer needed once the session can neither work nor be shown as a device. Rows other nodes are
 * deleting are skipped. @returns how many were deleted.
 */
export async function deleteEndedSessions(db: Tx, endedBefore: Date, limit: number): Promise<number> {
  const rows = await db.execute<{ id: string }>(sql`
    delete from ${sessions} where id in (
      select id from ${sessions} where least(revoked_at, expires_at) < ${endedBefore.toISOString()} limit ${limit} for update skip locked
    ) returning id`);
  return rows.length;
}
