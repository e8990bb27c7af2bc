/**
 * Age/ID verifications: a performer's submission (encrypted image files named here, checks, the sealed face
 * descriptor), a moderator's or provider's decision, revocation, expiry and the retention sweep. Only
 * moderation/verification.ts and moderation/review.ts call the writes.
 */
import { and, desc, eq, inArray, isNotNull, isNull, lte, or, sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { broadcasts, verifications } from '../schema.ts';

export type VerificationRow = typeof verifications.$inferSelect;
export type VerificationStatus = VerificationRow['status'];

/** The unique index that allows one pending verification per performer. */
const ONE_PENDING = 'verifications_one_pending';

/** Whether a thrown database error is a unique violation of `index`. */
function violates(err: unknown, index: string): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    const pg = e as { code?: string; constraint_name?: string; constraint?: string };
    if (pg.code === '23505' && (pg.constraint_name ?? pg.constraint) === index) return true;
  }
  return false;
}

/**
 * Stores a performer's submission as pending, with the id the caller chose (the sealed files and descriptor are
 * bound to it). Runs in its own savepoint, so a refusal leaves the caller's transaction usable.
 * @returns false when the performer already has a pending verification (nothing stored).
 */
export async function insertSubmittedVerification(db: Tx, v: {
  id: string; userId: string; dateOfBirth: string; documentFile: string; selfieFile: string; checks: unknown;
  faceDistance: number; faceThreshold: number; faceDescriptor: string;
}): Promise<boolean> {
  try {
    await db.transaction(async (sp) => {
      await sp.insert(verifications).values({ ...v, status: 'pending', method: 'document' });
    });
    return true;
  } catch (err) {
    if (violates(err, ONE_PENDING)) return false;
    throw err;
  }
}

/** Links a verification to the review case it opened. */
export async function setVerificationCase(db: Tx, id: string, caseId: string): Promise<void> {
  await db.update(verifications).set({ caseId }).where(eq(verifications.id, id));
}

/** One verification, or undefined. */
export async function getVerification(db: Tx, id: string): Promise<VerificationRow | undefined> {
  const [row] = await db.select().from(verifications).where(eq(verifications.id, id)).limit(1);
  return row;
}

/** Whether the user has a verification waiting for a moderator. */
export async function hasPendingVerification(db: Tx, userId: string): Promise<boolean> {
  const [row] = await db.select({ id: verifications.id }).from(verifications)
    .where(and(eq(verifications.userId, userId), eq(verifications.status, 'pending'))).limit(1);
  return !!row;
}

/** Whether the user holds an approved verification that has not expired (now, by the database clock). */
export async function hasValidVerification(db: Tx, userId: string): Promise<boolean> {
  const [row] = await db.select({ id: verifications.id }).from(verifications)
    .where(and(eq(verifications.userId, userId), eq(verifications.status, 'approved'), sql`(${verifications.expiresAt} is null or ${verifications.expiresAt} > now())`)).limit(1);
  return !!row;
}

/** A user's verifications, newest first (no image file names, no descriptor). */
export async function listUserVerifications(db: Tx, userId: string) {
  return db.select({
    id: verifications.id, status: verifications.status, method: verifications.method, checks: verifications.checks,
    faceDistance: verifications.faceDistance, faceThreshold: verifications.faceThreshold, decisionReason: verifications.decisionReason,
    decidedAt: verifications.decidedAt, expiresAt: verifications.expiresAt, createdAt: verifications.createdAt, imagesDeletedAt: verifications.imagesDeletedAt,
  }).from(verifications).where(eq(verifications.userId, userId)).orderBy(desc(verifications.createdAt)).limit(100);
}

/**
 * Decides a pending verification: approved (valid until `expiresAt`) or rejected, by whom, with the reason.
 * @returns the row after the change, or undefined when it was not pending.
 */
export async function decideVerification(db: Tx, id: string, d: { status: 'approved' | 'rejected'; decidedBy: string; reason: string; expiresAt: Date | null }): Promise<VerificationRow | undefined> {
  const [row] = await db.update(verifications).set({
    status: d.status, decidedBy: d.decidedBy, decisionReason: d.reason, decidedAt: sql`now()`, expiresAt: d.status === 'approved' ? d.expiresAt : null,
  }).where(and(eq(verifications.id, id), eq(verifications.status, 'pending'))).returning();
  return row;
}

/**
 * Puts a decided verification back to pending (a moderator undid the decision within the undo window).
 * @returns false when it is no longer in the state the decision left (revoked since) or another is now pending.
 */
export async function reopenVerification(db: Tx, id: string, from: 'approved' | 'rejected'): Promise<boolean> {
  try {
    const rows = await db.transaction((sp) => sp.update(verifications).set({ status: 'pending', decidedBy: null, decisionReason: null, decidedAt: null, expiresAt: null })
      .where(and(eq(verifications.id, id), eq(verifications.status, from))).returning({ id: verifications.id }));
    return rows.length > 0;
  } catch (err) {
    if (violates(err, ONE_PENDING)) return false;
    throw err;
  }
}

/** Revokes an approved verification. @returns the row after the change, or undefined when it was not approved. */
export async function revokeVerification(db: Tx, id: string, d: { by: string; reason: string }): Promise<VerificationRow | undefined> {
  const [row] = await db.update(verifications).set({ status: 'revoked', decisionReason: d.reason, decidedBy: d.by })
    .where(and(eq(verifications.id, id), eq(verifications.status, 'approved'))).returning();
  return row;
}

/**
 * Stores a provider's result, once per (method, provider reference): a repeated webhook inserts nothing.
 * @returns the stored row and whether this call stored it (false: it was already there, unchanged).
 */
export async function insertProviderVerification(db: Tx, v: {
  userId: string; method: string; providerRef: string; status: 'approved' | 'rejected'; dateOfBirth: string | null;
  expiresAt: Date | null; reason: string | null; checks: unknown;
}): Promise<{ row: VerificationRow; created: boolean }> {
  const [row] = await db.insert(verifications).values({
    userId: v.userId, method: v.method, providerRef: v.providerRef, status: v.status, dateOfBirth: v.dateOfBirth, decidedAt: sql`now()`,
    decidedBy: v.method, decisionReason: v.reason, expiresAt: v.status === 'approved' ? v.expiresAt : null, checks: v.checks,
  }).onConflictDoNothing({ target: [verifications.method, verifications.providerRef] }).returning();
  if (row) return { row, created: true };
  const [existing] = await db.select().from(verifications)
    .where(and(eq(verifications.method, v.method), eq(verifications.providerRef, v.providerRef))).limit(1);
  return { row: existing!, created: false };
}

/** The broadcasts live now of a user (to end when their verification is revoked). */
export async function liveBroadcastsOf(db: Tx, userId: string): Promise<string[]> {
  const rows = await db.select({ id: broadcasts.id }).from(broadcasts).where(and(eq(broadcasts.userId, userId), eq(broadcasts.status, 'live')));
  return rows.map((r) => r.id);
}

/**
 * Live broadcasts whose performer's approval has expired: they hold an approved verification whose expiry has
 * passed and none that is still valid (revocations end the broadcast when they happen).
 */
export async function liveBroadcastsWithExpiredApproval(db: Tx, limit = 100): Promise<{ broadcastId: string; userId: string; verificationId: string; expiredAt: Date }[]> {
  const rows = await db.execute<{ broadcast_id: string; user_id: string; verification_id: string; expired_at: string | Date }>(sql`
    select b.id as broadcast_id, b.user_id, x.id as verification_id, x.expires_at as expired_at
    from ${broadcasts} b
    join lateral (select v.id, v.expires_at from ${verifications} v
      where v.user_id = b.user_id and v.status = 'approved' and v.expires_at <= now() order by v.expires_at desc limit 1) x on true
    where b.status = 'live'
      and not exists (select 1 from ${verifications} w where w.user_id = b.user_id and w.status = 'approved' and (w.expires_at is null or w.expires_at > now()))
    limit ${limit}`);
  return rows.map((r) => ({ broadcastId: r.broadcast_id, userId: r.user_id, verificationId: r.verification_id, expiredAt: new Date(r.expired_at) }));
}

/**
 * Verifications decided before `decidedBefore` whose images are still stored, locked for this transaction
 * (`FOR UPDATE SKIP LOCKED`: several nodes sweeping at once each take different rows).
 */
export async function lockVerificationsWithExpiredImages(db: Tx, decidedBefore: Date, limit = 50) {
  return db.select({ id: verifications.id, userId: verifications.userId, status: verifications.status, caseId: verifications.caseId, documentFile: verifications.documentFile, selfieFile: verifications.selfieFile })
    .from(verifications)
    .where(and(
      inArray(verifications.status, ['approved', 'rejected', 'revoked']), isNotNull(verifications.decidedAt), lte(verifications.decidedAt, decidedBefore),
      isNull(verifications.imagesDeletedAt), or(isNotNull(verifications.documentFile), isNotNull(verifications.selfieFile)),
    ))
    .orderBy(verifications.decidedAt).limit(limit).for('update', { skipLocked: true });
}

/**
 * Records that a verification's images are deleted: file names nulled, `images_deleted_at` set. The face
 * descriptor is kept only while the verification is approved (the live face check needs it); otherwise it goes too.
 */
export async function markVerificationImagesDeleted(db: Tx, id: string): Promise<void> {
  await db.update(verifications).set({
    documentFile: null, selfieFile: null, imagesDeletedAt: sql`now()`,
    faceDescriptor: sql`case when ${verifications.status} = 'approved' then ${verifications.faceDescriptor} end`,
  }).where(eq(verifications.id, id));
}
