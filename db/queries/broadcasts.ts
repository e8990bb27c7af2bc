/** Broadcasts: opened by an accepted publish, closed with the reason they ended. */
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { broadcasts, cases, samples, users, verifications } from '../schema.ts';

/**
 * Opens a broadcast for an accepted publish, in one transaction. A broadcast still marked live for the same key
 * (its node died without closing it, or the performer's encoder reconnected to another ingest node before the
 * first noticed) is closed first as 'superseded by a new publish', so one key has at most one live broadcast, and
 * the new one records it as the broadcast it continues (`continuesId`): a reconnect that lands on another node is a
 * second broadcast, linked to the first.
 * @returns the new broadcast, the one it continues (null: a fresh start) and the superseded ones with the node that
 *   held each (its publisher is to be cut; at most one, as the partial unique index allows one live per key).
 */
export async function openBroadcast(db: Tx, b: { userId: string; streamKeyId: string; ingestNode: string }): Promise<{
  id: string; startedAt: Date; continuesId: string | null; superseded: { id: string; ingestNode: string }[];
}> {
  return db.transaction(async (tx) => {
    const superseded = await tx.update(broadcasts).set({ status: 'ended', endedAt: sql`now()`, endReason: 'superseded by a new publish' })
      .where(and(eq(broadcasts.streamKeyId, b.streamKeyId), eq(broadcasts.status, 'live')))
      .returning({ id: broadcasts.id, ingestNode: broadcasts.ingestNode });
    const continuesId = superseded[0]?.id ?? null; // at most one: broadcasts_one_live_per_key
    const [row] = await tx.insert(broadcasts).values({ userId: b.userId, streamKeyId: b.streamKeyId, ingestNode: b.ingestNode, continuesId })
      .returning({ id: broadcasts.id, startedAt: broadcasts.startedAt });
    return { ...row!, continuesId, superseded };
  });
}

/** Closes a live broadcast with its end reason; a no-op when already ended. */
export async function endBroadcast(db: Tx, id: string, reason: string): Promise<void> {
  await db.update(broadcasts).set({ status: 'ended', endedAt: sql`now()`, endReason: reason })
    .where(and(eq(broadcasts.id, id), eq(broadcasts.status, 'live')));
}

/** Records how the tap samples this broadcast and why ('keyframes' or 'interval'). */
export async function setTapMode(db: Tx, id: string, mode: string, note: string): Promise<void> {
  await db.update(broadcasts).set({ tapMode: mode, tapNote: note }).where(eq(broadcasts.id, id));
}

/** Adds to the count of duplicate frames the tap did not send for analysis. */
export async function addDuplicateFrames(db: Tx, id: string, n = 1): Promise<void> {
  await db.update(broadcasts).set({ duplicateFrames: sql`${broadcasts.duplicateFrames} + ${n}` }).where(eq(broadcasts.id, id));
}

/** A broadcast row by id. */
export async function getBroadcast(db: Tx, id: string) {
  const [row] = await db.select().from(broadcasts).where(eq(broadcasts.id, id)).limit(1);
  return row;
}

/** Ends every broadcast a node left live (start-up after a crash). Returns how many. */
export async function endOrphanedBroadcasts(db: Tx, ingestNode: string, reason: string): Promise<number> {
  const rows = await db.update(broadcasts).set({ status: 'ended', endedAt: sql`now()`, endReason: reason })
    .where(and(eq(broadcasts.ingestNode, ingestNode), eq(broadcasts.status, 'live'))).returning({ id: broadcasts.id });
  return rows.length;
}

/**
 * Broadcasts for the console, newest first: the performer's handle, the latest analysed frame (thumbnail), the
 * count of unresolved cases, and the links of a reconnect on another node (the broadcast this one continues, and the
 * one that continued it).
 */
export async function listBroadcasts(db: Tx, f: { status?: 'live' | 'ended'; userId?: string; page: number; perPage: number }) {
  const conds = [f.status ? eq(broadcasts.status, f.status) : undefined, f.userId ? eq(broadcasts.userId, f.userId) : undefined].filter(Boolean);
  const where = conds.length ? and(...conds) : undefined;
  const [rows, [total]] = await Promise.all([
    db.select({
      id: broadcasts.id, userId: broadcasts.userId, handle: users.handle, status: broadcasts.status, startedAt: broadcasts.startedAt,
      endedAt: broadcasts.endedAt, endReason: broadcasts.endReason, continuesId: broadcasts.continuesId,
      continuedById: sql<string | null>`(select n.id from ${broadcasts} n where n.continues_broadcast_id = ${broadcasts.id} order by n.started_at desc limit 1)`,
      latestFrame: sql<{ sampleId: string; capturedAt: string } | null>`(select json_build_object('sampleId', s.id, 'capturedAt', s.captured_at) from ${samples} s
        where s.broadcast_id = ${broadcasts.id} and s.kind = 'frame' and s.status = 'analysed' order by s.seq desc limit 1)`,
      openCases: sql<number>`(select count(*)::int from ${cases} c where c.broadcast_id = ${broadcasts.id} and c.status <> 'resolved')`,
    }).from(broadcasts).innerJoin(users, eq(users.id, broadcasts.userId)).where(where)
      .orderBy(desc(broadcasts.startedAt)).limit(f.perPage).offset((f.page - 1) * f.perPage),
    db.select({ n: sql<number>`count(*)::int` }).from(broadcasts).where(where),
  ]);
  return { rows, total: total?.n ?? 0 };
}

/**
 * The sealed face descriptor of a broadcast's performer, from their newest approved, unexpired verification
 * that kept one (a seeded or provider verification has none). Null when there is none. The caller opens it with
 * the context `verification:<verificationId>:descriptor`.
 */
export async function performerFaceReference(db: Tx, broadcastId: string): Promise<{ verificationId: string; sealed: string } | null> {
  const [row] = await db.select({ verificationId: verifications.id, sealed: verifications.faceDescriptor })
    .from(broadcasts).innerJoin(verifications, eq(verifications.userId, broadcasts.userId))
    .where(and(eq(broadcasts.id, broadcastId), eq(verifications.status, 'approved'), sql`${verifications.faceDescriptor} is not null`,
      sql`(${verifications.expiresAt} is null or ${verifications.expiresAt} > now())`))
    .orderBy(desc(verifications.decidedAt)).limit(1);
  return row?.sealed ? { verificationId: row.verificationId, sealed: row.sealed } : null;
}

/** The id of a user's live broadcast (the newest, should a dead node have left another marked live), or null. */
export async function liveBroadcastOfUser(db: Tx, userId: string): Promise<string | null> {
  const [row] = await db.select({ id: broadcasts.id }).from(broadcasts)
    .where(and(eq(broadcasts.userId, userId), eq(broadcasts.status, 'live'))).orderBy(desc(broadcasts.startedAt)).limit(1);
  return row?.id ?? null;
}
