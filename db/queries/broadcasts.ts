/** Broadcasts: opened by an accepted publish, closed with the reason they ended. */
import { and, eq, sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { broadcasts } from '../schema.ts';

/**
 * Opens a broadcast for an accepted publish. A broadcast still marked live for the same key (its node died
 * without closing it) is closed first as 'superseded', so one key has at most one live broadcast.
 */
export async function openBroadcast(db: Tx, b: { userId: string; streamKeyId: string; ingestNode: string }): Promise<{ id: string; startedAt: Date }> {
  await db.update(broadcasts).set({ status: 'ended', endedAt: sql`now()`, endReason: 'superseded by a new publish' })
    .where(and(eq(broadcasts.streamKeyId, b.streamKeyId), eq(broadcasts.status, 'live')));
  const [row] = await db.insert(broadcasts).values({ userId: b.userId, streamKeyId: b.streamKeyId, ingestNode: b.ingestNode })
    .returning({ id: broadcasts.id, startedAt: broadcasts.startedAt });
  return row!;
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
