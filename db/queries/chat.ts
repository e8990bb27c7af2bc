/** Chat: rooms (a performer's chat across broadcasts), room settings and terms, messages. */
import { and, desc, eq, gt, gte, isNull, or, sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { bans, broadcasts, chatMessages, roomSettings, roomTerms } from '../schema.ts';

/** The room of a broadcast: its performer (room owner) and whether it is live. */
export async function roomOfBroadcast(db: Tx, broadcastId: string): Promise<{ ownerId: string; live: boolean } | undefined> {
  const [row] = await db.select({ ownerId: broadcasts.userId, status: broadcasts.status }).from(broadcasts).where(eq(broadcasts.id, broadcastId)).limit(1);
  return row && { ownerId: row.ownerId, live: row.status === 'live' };
}

/** A room's settings and terms (defaults when the performer set none). */
export async function roomConfig(db: Tx, ownerId: string): Promise<{ slowModeS: number; terms: { term: string; action: 'flag' | 'hold' | 'block' }[] }> {
  const [settings] = await db.select().from(roomSettings).where(eq(roomSettings.ownerId, ownerId)).limit(1);
  const terms = await db.select({ term: roomTerms.term, action: roomTerms.action }).from(roomTerms).where(eq(roomTerms.ownerId, ownerId));
  return { slowModeS: settings?.slowModeS ?? 0, terms };
}

/** Sets a room's slow mode (seconds between two messages of one viewer; 0 = off). */
export async function setSlowMode(db: Tx, ownerId: string, seconds: number): Promise<void> {
  await db.insert(roomSettings).values({ ownerId, slowModeS: seconds })
    .onConflictDoUpdate({ target: roomSettings.ownerId, set: { slowModeS: seconds, updatedAt: sql`now()` } });
}

/** Adds (or changes the action of) a term in a room's list. */
export async function upsertRoomTerm(db: Tx, ownerId: string, term: string, action: 'flag' | 'hold' | 'block'): Promise<{ id: string }> {
  const [row] = await db.execute<{ id: string }>(sql`insert into ${roomTerms} (owner_id, term, action) values (${ownerId}, ${term}, ${action})
    on conflict (owner_id, lower(term)) do update set action = excluded.action returning id`);
  return { id: row!.id };
}

/** Removes a term from a room's list. @returns whether it was there. */
export async function deleteRoomTerm(db: Tx, ownerId: string, termId: string): Promise<boolean> {
  const rows = await db.delete(roomTerms).where(and(eq(roomTerms.ownerId, ownerId), eq(roomTerms.id, termId))).returning({ id: roomTerms.id });
  return rows.length > 0;
}

/** A room's terms with ids. */
export async function listRoomTerms(db: Tx, ownerId: string) {
  return db.select().from(roomTerms).where(eq(roomTerms.ownerId, ownerId)).orderBy(roomTerms.createdAt);
}

export type ChatMessageInsert = typeof chatMessages.$inferInsert;

/** Stores a chat message with its verdict. */
export async function insertChatMessage(db: Tx, m: ChatMessageInsert): Promise<{ id: string; createdAt: Date }> {
  const [row] = await db.insert(chatMessages).values(m).returning({ id: chatMessages.id, createdAt: chatMessages.createdAt });
  return row!;
}

/** The last messages of a broadcast's chat before a time (context for a held message), oldest first. */
export async function chatContext(db: Tx, broadcastId: string, before: Date, limit = 10) {
  const rows = await db.select({ id: chatMessages.id, userId: chatMessages.userId, body: chatMessages.body, verdict: chatMessages.verdict, createdAt: chatMessages.createdAt })
    .from(chatMessages).where(and(eq(chatMessages.broadcastId, broadcastId), sql`${chatMessages.createdAt} <= ${before.toISOString()}`))
    .orderBy(desc(chatMessages.createdAt)).limit(limit);
  return rows.reverse();
}

/** A user's messages since a time (verdicts and categories), for follow-ups. */
export async function userMessagesSince(db: Tx, userId: string, since: Date): Promise<{ verdict: 'allow' | 'flag' | 'hold' | 'block'; categories: string[]; at: number }[]> {
  const rows = await db.select({ verdict: chatMessages.verdict, details: chatMessages.details, createdAt: chatMessages.createdAt })
    .from(chatMessages).where(and(eq(chatMessages.userId, userId), gte(chatMessages.createdAt, since)));
  return rows.map((r) => ({ verdict: r.verdict, categories: ((r.details as { categories?: string[] }).categories ?? []), at: r.createdAt.getTime() }));
}

/** Active bans, suspensions, timeouts and mutes of a user, platform-wide or in one room. */
export async function activeChatRestrictions(db: Tx, userId: string, ownerId: string) {
  return db.select({ kind: bans.kind, scope: bans.scope, reason: bans.reason, expiresAt: bans.expiresAt }).from(bans).where(and(
    eq(bans.userId, userId), isNull(bans.liftedAt), sql`${bans.startsAt} <= now()`,
    or(isNull(bans.expiresAt), gt(bans.expiresAt, sql`now()`)),
    or(eq(bans.scope, 'platform'), eq(bans.scope, `room:${ownerId}`))));
}
