/**
 * The performer studio's reads and the room-ban writes behind a performer's own blocks: their live broadcast and
 * its health, their room blocks, their alerts and appeals, and users found by handle.
 */
import { aliasedTable, and, desc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { alerts, appeals, bans, broadcasts, cases, samples, users, type Role } from '../schema.ts';

/** A user by handle (case-insensitive), or undefined. */
export async function userByHandle(db: Tx, handle: string): Promise<{ id: string; handle: string; role: Role } | undefined> {
  const [row] = await db.select({ id: users.id, handle: users.handle, role: users.role }).from(users)
    .where(sql`lower(${users.handle}) = lower(${handle})`).limit(1);
  return row;
}

/** A user's live broadcast (the newest, should a dead node have left another marked live), or undefined. */
export async function performerLiveBroadcast(db: Tx, userId: string) {
  const [row] = await db.select().from(broadcasts)
    .where(and(eq(broadcasts.userId, userId), eq(broadcasts.status, 'live'))).orderBy(desc(broadcasts.startedAt)).limit(1);
  return row;
}

/** How a broadcast's sampling is going over a recent window. Times are Dates; counts are samples. */
export interface BroadcastHealth {
  /** Frames the tap sampled since `since` (analysed, queued, duplicate or failed). */
  framesSampled: number;
  /** Of those, frames the analyzer has scored. */
  framesAnalysed: number;
  /** Of those, frames whose analysis failed. */
  framesFailed: number;
  /** Audio chunks since `since` (with speech or silent). */
  audioChunks: number;
  /** The capture time of the newest sample of any kind (null: none yet). */
  lastSampleAt: Date | null;
  /** Cases opened on the broadcast, ever, and those still unresolved. */
  casesOpened: number;
  casesOpen: number;
}

/** The health figures of a broadcast since `since` (one round trip). */
export async function broadcastHealth(db: Tx, broadcastId: string, since: Date): Promise<BroadcastHealth> {
  const s = since.toISOString();
  const [row] = await db.execute<{
    frames_sampled: number; frames_analysed: number; frames_failed: number; audio_chunks: number; last_sample_at: string | null; cases_opened: number; cases_open: number;
  }>(sql`select
      (select count(*)::int from ${samples} where broadcast_id = ${broadcastId} and kind = 'frame' and captured_at >= ${s}) as frames_sampled,
      (select count(*)::int from ${samples} where broadcast_id = ${broadcastId} and kind = 'frame' and status = 'analysed' and captured_at >= ${s}) as frames_analysed,
      (select count(*)::int from ${samples} where broadcast_id = ${broadcastId} and kind = 'frame' and status = 'failed' and captured_at >= ${s}) as frames_failed,
      (select count(*)::int from ${samples} where broadcast_id = ${broadcastId} and kind = 'audio' and captured_at >= ${s}) as audio_chunks,
      (select max(captured_at) from ${samples} where broadcast_id = ${broadcastId}) as last_sample_at,
      (select count(*)::int from ${cases} where broadcast_id = ${broadcastId}) as cases_opened,
      (select count(*)::int from ${cases} where broadcast_id = ${broadcastId} and status <> 'resolved') as cases_open`);
  return {
    framesSampled: row?.frames_sampled ?? 0, framesAnalysed: row?.frames_analysed ?? 0, framesFailed: row?.frames_failed ?? 0,
    audioChunks: row?.audio_chunks ?? 0, lastSampleAt: row?.last_sample_at ? new Date(row.last_sample_at) : null,
    casesOpened: row?.cases_opened ?? 0, casesOpen: row?.cases_open ?? 0,
  };
}

const activeBan = and(isNull(bans.liftedAt), sql`${bans.startsAt} <= now()`, or(isNull(bans.expiresAt), gt(bans.expiresAt, sql`now()`)));

/** The scope of a ban from one performer's room. */
export const roomScope = (ownerId: string) => `room:${ownerId}`;

/** The viewers a performer blocked from their room (active room bans), newest first, with handles. */
export async function listRoomBlocks(db: Tx, ownerId: string): Promise<{ banId: string; userId: string; handle: string; reason: string; createdAt: Date; expiresAt: Date | null }[]> {
  return db.select({ banId: bans.id, userId: bans.userId, handle: users.handle, reason: bans.reason, createdAt: bans.createdAt, expiresAt: bans.expiresAt })
    .from(bans).innerJoin(users, eq(users.id, bans.userId))
    .where(and(eq(bans.scope, roomScope(ownerId)), eq(bans.kind, 'ban'), activeBan)).orderBy(desc(bans.createdAt));
}

/** A user's active ban from a performer's room, or undefined. */
export async function activeRoomBan(db: Tx, ownerId: string, userId: string): Promise<{ id: string; createdAt: Date } | undefined> {
  const [row] = await db.select({ id: bans.id, createdAt: bans.createdAt }).from(bans)
    .where(and(eq(bans.userId, userId), eq(bans.scope, roomScope(ownerId)), eq(bans.kind, 'ban'), activeBan)).limit(1);
  return row;
}

/** Lifts a user's active bans from a performer's room. @returns the lifted ban ids. */
export async function liftRoomBans(db: Tx, ownerId: string, userId: string, liftedBy: string): Promise<string[]> {
  const rows = await db.update(bans).set({ liftedAt: sql`now()`, liftedBy })
    .where(and(eq(bans.userId, userId), eq(bans.scope, roomScope(ownerId)), eq(bans.kind, 'ban'), activeBan)).returning({ id: bans.id });
  return rows.map((r) => r.id);
}

/** A performer's own alerts, newest first, with who acknowledged and resolved them. */
export async function userAlerts(db: Tx, userId: string, limit = 20) {
  const acker = aliasedTable(users, 'acker');
  const resolver = aliasedTable(users, 'resolver');
  return db.select({
    id: alerts.id, broadcastId: alerts.broadcastId, status: alerts.status, protection: alerts.protection, message: alerts.message,
    raisedAt: alerts.raisedAt, escalations: alerts.escalations, acknowledgedAt: alerts.acknowledgedAt, resolvedAt: alerts.resolvedAt,
    acknowledgedBy: alerts.acknowledgedBy, acknowledgedByHandle: acker.handle, resolvedBy: alerts.resolvedBy, resolvedByHandle: resolver.handle,
  }).from(alerts).leftJoin(acker, eq(acker.id, alerts.acknowledgedBy)).leftJoin(resolver, eq(resolver.id, alerts.resolvedBy))
    .where(eq(alerts.userId, userId)).orderBy(desc(alerts.raisedAt)).limit(limit);
}

/** A user's own appeals, newest first. */
export async function userAppeals(db: Tx, userId: string, limit = 50) {
  return db.select({
    id: appeals.id, statementId: appeals.statementId, body: appeals.body, status: appeals.status, decidedAt: appeals.decidedAt,
    decisionNote: appeals.decisionNote, createdAt: appeals.createdAt,
  }).from(appeals).where(eq(appeals.userId, userId)).orderBy(desc(appeals.createdAt)).limit(limit);
}
