/** Chat: rooms (a performer's chat across broadcasts), room settings and terms, messages. */
import { and, desc, eq, gt, gte, isNull, or, sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { bans, broadcasts, chatMessages, roomSettings, roomTerms, roomTrustedUsers, users } from '../schema.ts';

/** The room of a broadcast: its performer (room owner) and whether it is live. */
export async function roomOfBroadcast(db: Tx, broadcastId: string): Promise<{ ownerId: string; live: boolean } | undefined> {
  const [row] = await db.select({ ownerId: broadcasts.userId, status: broadcasts.status }).from(broadcasts).where(eq(broadcasts.id, broadcastId)).limit(1);
  return row && { ownerId: row.ownerId, live: row.status === 'live' };
}

/** The panic protections a room may save as its default (moderation/alerts.ts `PROTECTIONS`). */
export type PanicProtection = 'none' | 'freeze_chat' | 'hide_stream' | 'end_broadcast';

/** A room's settings (defaults when the performer set none). `slowModeS` in seconds (0: off). */
export interface RoomSettings { slowModeS: number; trustedOnly: boolean; panicProtection: PanicProtection }

/** A room's settings, defaults when the performer saved none. */
export async function roomSettingsOf(db: Tx, ownerId: string): Promise<RoomSettings> {
  const [s] = await db.select().from(roomSettings).where(eq(roomSettings.ownerId, ownerId)).limit(1);
  return { slowModeS: s?.slowModeS ?? 0, trustedOnly: s?.trustedOnly ?? false, panicProtection: (s?.panicProtection ?? 'none') as PanicProtection };
}

/**
 * A room's settings and terms (defaults when the performer set none), as the chat gateway caches them.
 * `trusted`: the ids of the room's trusted users, loaded only while the room is trusted-only (empty otherwise).
 */
export async function roomConfig(db: Tx, ownerId: string): Promise<RoomSettings & { terms: { term: string; action: 'flag' | 'hold' | 'block' }[]; trusted: string[] }> {
  const settings = await roomSettingsOf(db, ownerId);
  const terms = await db.select({ term: roomTerms.term, action: roomTerms.action }).from(roomTerms).where(eq(roomTerms.ownerId, ownerId));
  const trusted = settings.trustedOnly
    ? (await db.select({ userId: roomTrustedUsers.userId }).from(roomTrustedUsers).where(eq(roomTrustedUsers.ownerId, ownerId))).map((r) => r.userId)
    : [];
  return { ...settings, terms, trusted };
}

/** Saves some of a room's settings (the others keep their value, or their default for a new row). */
export async function updateRoomSettings(db: Tx, ownerId: string, change: Partial<RoomSettings>): Promise<RoomSettings> {
  const set = { ...change, updatedAt: sql`now()` };
  const [row] = await db.insert(roomSettings).values({ ownerId, ...change })
    .onConflictDoUpdate({ target: roomSettings.ownerId, set }).returning();
  return { slowModeS: row!.slowModeS, trustedOnly: row!.trustedOnly, panicProtection: row!.panicProtection as PanicProtection };
}

/** Adds a trusted user to a room. @returns false when they already were. */
export async function addTrustedUser(db: Tx, ownerId: string, userId: string): Promise<boolean> {
  const rows = await db.insert(roomTrustedUsers).values({ ownerId, userId }).onConflictDoNothing().returning({ userId: roomTrustedUsers.userId });
  return rows.length > 0;
}

/** Removes a trusted user from a room. @returns whether they were there. */
export async function removeTrustedUser(db: Tx, ownerId: string, userId: string): Promise<boolean> {
  const rows = await db.delete(roomTrustedUsers).where(and(eq(roomTrustedUsers.ownerId, ownerId), eq(roomTrustedUsers.userId, userId))).returning({ userId: roomTrustedUsers.userId });
  return rows.length > 0;
}

/** A room's trusted users with their handles, newest first. */
export async function listTrustedUsers(db: Tx, ownerId: string): Promise<{ userId: string; handle: string; createdAt: Date }[]> {
  return db.select({ userId: roomTrustedUsers.userId, handle: users.handle, createdAt: roomTrustedUsers.createdAt })
    .from(roomTrustedUsers).innerJoin(users, eq(users.id, roomTrustedUsers.userId))
    .where(eq(roomTrustedUsers.ownerId, ownerId)).orderBy(desc(roomTrustedUsers.createdAt));
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

/**
 * Stores a chat message that needs nothing else written with it (no case, no action) in one statement whose commit
 * does not wait for the WAL flush (`synchronous_commit` off for this statement's own transaction only, set with
 * `set_config(…, true)` inside it): one round trip instead of four (begin, set local, insert, commit), and no fsync
 * wait. A crash could lose the last fraction of a second of such rows (PostgreSQL docs, "Asynchronous Commit"),
 * never one that carries a moderation action. `id` and `createdAt` are kept when given (a replay).
 */
export async function insertChatMessageAsync(db: Tx, m: ChatMessageInsert): Promise<{ id: string; createdAt: Date }> {
  const rows = await db.execute<{ id: string; created_at: string }>(sql`
    insert into ${chatMessages} (id, broadcast_id, user_id, body, verdict, case_id, details, created_at)
    select coalesce(${m.id ?? null}::uuid, gen_random_uuid()), ${m.broadcastId}, ${m.userId ?? null}, ${m.body}, ${m.verdict},
      ${m.caseId ?? null}::uuid, ${JSON.stringify(m.details ?? {})}::jsonb, coalesce(${m.createdAt?.toISOString() ?? null}::timestamptz, now())
    from (select set_config('synchronous_commit', 'off', true)) async_commit
    returning id, created_at`);
  const row = rows[0]!;
  return { id: row.id, createdAt: new Date(row.created_at) };
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

/**
 * Deletes up to `limit` chat messages sent before `sentBefore`, oldest first, that no case still needs: a case a
 * message joined (`case_id`) or that is about it (subject `message`) keeps it while unresolved and until
 * `caseResolvedBefore` after it was resolved. Rows other nodes are deleting are skipped (`skip locked`).
 * @returns how many were deleted.
 */
export async function deleteExpiredChatMessages(db: Tx, sentBefore: Date, caseResolvedBefore: Date, limit: number): Promise<number> {
  const needed = sql`(c.status <> 'resolved' or c.resolved_at is null or c.resolved_at >= ${caseResolvedBefore.toISOString()})`;
  const rows = await db.execute<{ id: string }>(sql`
    with doomed as (
      select m.id from ${chatMessages} m
      where m.created_at < ${sentBefore.toISOString()}
        and not exists (select 1 from cases c where c.id = m.case_id and ${needed})
        and not exists (select 1 from cases c where c.subject_type = 'message' and c.subject_id = m.id::text and ${needed})
      order by m.created_at
      limit ${limit}
      for update of m skip locked
    )
    delete from ${chatMessages} where id in (select id from doomed) returning id`);
  return rows.length;
}
