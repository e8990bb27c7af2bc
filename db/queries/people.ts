/**
 * What moderation records about people: strikes, statements of reasons, notifications, reports, appeals,
 * lifting bans, and a user's standing and history for the console.
 */
import { and, desc, eq, gt, ilike, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { appeals, bans, notifications, reports, statements, strikes, users, type Role } from '../schema.ts';

const activeBan = and(isNull(bans.liftedAt), sql`${bans.startsAt} <= now()`, or(isNull(bans.expiresAt), gt(bans.expiresAt, sql`now()`)));
const activeStrike = and(isNull(strikes.removedAt), gt(strikes.expiresAt, sql`now()`));

// ---- strikes ----

/** Records a strike. */
export async function insertStrike(db: Tx, s: typeof strikes.$inferInsert): Promise<void> {
  await db.insert(strikes).values(s);
}

/** Sum of a user's active (unexpired, not removed) strike weights. */
export async function strikePoints(db: Tx, userId: string): Promise<number> {
  const [row] = await db.select({ n: sql<number>`coalesce(sum(${strikes.weight}), 0)::int` }).from(strikes).where(and(eq(strikes.userId, userId), activeStrike));
  return row?.n ?? 0;
}

/** Removes the strikes a case gave (its decision was undone or overturned). */
export async function removeStrikesOfCase(db: Tx, caseId: string): Promise<number> {
  const rows = await db.update(strikes).set({ removedAt: sql`now()` }).where(and(eq(strikes.caseId, caseId), isNull(strikes.removedAt))).returning({ id: strikes.id });
  return rows.length;
}

// ---- bans ----

/**
 * Lifts bans: those a case created (`caseId`), or every active ban and suspension of a user (`userId`).
 * @returns the lifted rows (kind, scope).
 */
export async function liftBans(db: Tx, by: { caseId: string } | { userId: string }, liftedBy: string): Promise<{ id: string; userId: string; kind: string; scope: string }[]> {
  const which = 'caseId' in by ? eq(bans.caseId, by.caseId) : and(eq(bans.userId, by.userId), sql`${bans.kind} in ('ban', 'suspension')`);
  return db.update(bans).set({ liftedAt: sql`now()`, liftedBy }).where(and(which, activeBan))
    .returning({ id: bans.id, userId: bans.userId, kind: bans.kind, scope: bans.scope });
}

/** A user's active restrictions in a scope, most severe first (for the Redis mirror after a lift). */
export async function activeRestrictions(db: Tx, userId: string, scope = 'platform') {
  return db.select({ kind: bans.kind, reason: bans.reason, expiresAt: bans.expiresAt }).from(bans)
    .where(and(eq(bans.userId, userId), eq(bans.scope, scope), activeBan))
    .orderBy(sql`array_position(array['ban','suspension','timeout','mute']::text[], ${bans.kind})`);
}

// ---- statements of reasons ----

export type StatementRow = typeof statements.$inferSelect;

/** Stores a statement of reasons. @returns its id. */
export async function insertStatement(db: Tx, s: typeof statements.$inferInsert): Promise<string> {
  const [row] = await db.insert(statements).values(s).returning({ id: statements.id });
  return row!.id;
}

/** Withdraws the statements of a case (undone or overturned). */
export async function withdrawStatements(db: Tx, caseId: string, reason: string): Promise<void> {
  await db.update(statements).set({ withdrawnAt: sql`now()`, withdrawnReason: reason }).where(and(eq(statements.caseId, caseId), isNull(statements.withdrawnAt)));
}

export async function getStatement(db: Tx, id: string): Promise<StatementRow | undefined> {
  const [row] = await db.select().from(statements).where(eq(statements.id, id)).limit(1);
  return row;
}

/** A user's statements, newest first. */
export async function userStatements(db: Tx, userId: string, limit = 50): Promise<StatementRow[]> {
  return db.select().from(statements).where(eq(statements.userId, userId)).orderBy(desc(statements.createdAt)).limit(limit);
}

/** The statement a case's decision produced (the newest, withdrawn or not). */
export async function caseStatement(db: Tx, caseId: string): Promise<StatementRow | undefined> {
  const [row] = await db.select().from(statements).where(eq(statements.caseId, caseId)).orderBy(desc(statements.createdAt)).limit(1);
  return row;
}

// ---- notifications ----

export async function insertNotification(db: Tx, n: typeof notifications.$inferInsert): Promise<void> {
  await db.insert(notifications).values(n);
}

/** Deletes the notifications a case's decision sent (the decision was undone within its window). */
export async function deleteCaseNotifications(db: Tx, caseId: string): Promise<void> {
  await db.delete(notifications).where(sql`${notifications.body}->>'caseId' = ${caseId}`);
}

export async function userNotifications(db: Tx, userId: string, limit = 50) {
  return db.select().from(notifications).where(eq(notifications.userId, userId)).orderBy(desc(notifications.createdAt)).limit(limit);
}

// ---- reports ----

/** Stores a report. @returns its id, or null when this reporter already reported into this case. */
export async function insertReport(db: Tx, r: typeof reports.$inferInsert): Promise<string | null> {
  const rows = await db.insert(reports).values(r).onConflictDoNothing().returning({ id: reports.id });
  return rows[0]?.id ?? null;
}

/** Distinct reporters of a case. */
export async function reportCount(db: Tx, caseId: string): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(distinct ${reports.reporterId})::int` }).from(reports).where(eq(reports.caseId, caseId));
  return row?.n ?? 0;
}

/** Sets the outcome of a case's reports. @returns the reporters to tell. */
export async function setReportOutcome(db: Tx, caseId: string, outcome: string | null): Promise<{ id: string; reporterId: string }[]> {
  return db.update(reports).set({ outcome }).where(eq(reports.caseId, caseId)).returning({ id: reports.id, reporterId: reports.reporterId });
}

export async function userReports(db: Tx, reporterId: string, limit = 50) {
  return db.select({ id: reports.id, subjectType: reports.subjectType, subjectId: reports.subjectId, category: reports.category, caseId: reports.caseId, outcome: reports.outcome, createdAt: reports.createdAt })
    .from(reports).where(eq(reports.reporterId, reporterId)).orderBy(desc(reports.createdAt)).limit(limit);
}

// ---- appeals ----

export type AppealRow = typeof appeals.$inferSelect;

/** Stores an appeal. @returns its id, or null when the statement was already appealed. */
export async function insertAppeal(db: Tx, a: typeof appeals.$inferInsert): Promise<string | null> {
  const rows = await db.insert(appeals).values(a).onConflictDoNothing().returning({ id: appeals.id });
  return rows[0]?.id ?? null;
}

export async function setAppealCase(db: Tx, id: string, caseId: string): Promise<void> {
  await db.update(appeals).set({ caseId }).where(eq(appeals.id, id));
}

export async function getAppeal(db: Tx, id: string): Promise<AppealRow | undefined> {
  const [row] = await db.select().from(appeals).where(eq(appeals.id, id)).limit(1);
  return row;
}

/** Records an appeal's outcome (once). @returns false when it was already decided. */
export async function decideAppeal(db: Tx, id: string, d: { status: 'upheld' | 'overturned'; decidedBy: string; note: string | null }): Promise<boolean> {
  const rows = await db.update(appeals).set({ status: d.status, decidedBy: d.decidedBy, decisionNote: d.note, decidedAt: sql`now()` })
    .where(and(eq(appeals.id, id), eq(appeals.status, 'open'))).returning({ id: appeals.id });
  return rows.length > 0;
}

/** Reopens an appeal whose decision was undone. */
export async function reopenAppeal(db: Tx, id: string): Promise<void> {
  await db.update(appeals).set({ status: 'open', decidedBy: null, decisionNote: null, decidedAt: null }).where(eq(appeals.id, id));
}

export async function listAppeals(db: Tx, f: { status?: 'open' | 'upheld' | 'overturned'; page: number; perPage: number }) {
  const where = f.status ? eq(appeals.status, f.status) : undefined;
  const [rows, [total]] = await Promise.all([
    db.select({ appeal: appeals, handle: users.handle }).from(appeals).innerJoin(users, eq(users.id, appeals.userId)).where(where)
      .orderBy(desc(appeals.createdAt)).limit(f.perPage).offset((f.page - 1) * f.perPage),
    db.select({ n: sql<number>`count(*)::int` }).from(appeals).where(where),
  ]);
  return { rows, total: total?.n ?? 0 };
}

// ---- users ----

export async function getUser(db: Tx, id: string) {
  const [row] = await db.select({ id: users.id, handle: users.handle, email: users.email, role: users.role, permissions: users.permissions, disabledAt: users.disabledAt, createdAt: users.createdAt })
    .from(users).where(eq(users.id, id)).limit(1);
  return row;
}

/** Users matching a search (handle or email, case-insensitive), with strike points and their most severe restriction. */
export async function listUsers(db: Tx, f: { q?: string; role?: Role; page: number; perPage: number }) {
  const conds: SQL[] = [];
  if (f.q) {
    const like = `%${f.q.replace(/[\\%_]/g, '\\$&')}%`;
    conds.push(or(ilike(users.handle, like), ilike(users.email, like))!);
  }
  if (f.role) conds.push(eq(users.role, f.role));
  const where = conds.length ? and(...conds) : undefined;
  // the subqueries name users.id by hand: drizzle leaves a lone table's columns unqualified, and inside them
  // a bare "id" would be the subquery's own
  const [rows, [total]] = await Promise.all([
    db.select({
      id: users.id, handle: users.handle, email: users.email, role: users.role, createdAt: users.createdAt,
      strikePoints: sql<number>`(select coalesce(sum(s.weight), 0)::int from ${strikes} s where s.user_id = users.id and s.removed_at is null and s.expires_at > now())`,
      restriction: sql<{ kind: string; until: string | null; reason: string } | null>`(select json_build_object('kind', b.kind, 'until', b.expires_at, 'reason', b.reason) from ${bans} b
        where b.user_id = users.id and b.scope = 'platform' and b.lifted_at is null and b.starts_at <= now() and (b.expires_at is null or b.expires_at > now())
        order by array_position(array['ban','suspension','timeout','mute']::text[], b.kind) limit 1)`,
    }).from(users).where(where).orderBy(users.handle).limit(f.perPage).offset((f.page - 1) * f.perPage),
    db.select({ n: sql<number>`count(*)::int` }).from(users).where(where),
  ]);
  return { rows, total: total?.n ?? 0 };
}

/** A user's strikes and bans (all, newest first), for the history panel. */
export async function userStanding(db: Tx, userId: string) {
  const [strikeRows, banRows, points] = await Promise.all([
    db.select().from(strikes).where(eq(strikes.userId, userId)).orderBy(desc(strikes.createdAt)).limit(100),
    db.select().from(bans).where(eq(bans.userId, userId)).orderBy(desc(bans.createdAt)).limit(100),
    strikePoints(db, userId),
  ]);
  return {
    strikePoints: points,
    strikes: strikeRows.map((s) => ({ ...s, active: s.removedAt === null && s.expiresAt > new Date() })),
    bans: banRows.map((b) => ({ ...b, active: b.liftedAt === null && b.startsAt <= new Date() && (b.expiresAt === null || b.expiresAt > new Date()) })),
  };
}
