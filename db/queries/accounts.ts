/** Users, verifications and stream keys. */
import { eq, sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { bans, streamKeys, users, verifications, type Role } from '../schema.ts';

/** Creates a user, or returns the existing one with that handle (seeding is idempotent). */
export async function upsertUser(db: Tx, u: { handle: string; role: Role; email?: string }): Promise<{ id: string }> {
  const [row] = await db.insert(users).values({ handle: u.handle, role: u.role, email: u.email ?? null })
    .onConflictDoUpdate({ target: users.handle, set: { role: u.role } })
    .returning({ id: users.id });
  return row!;
}

/** Records a verification decision for a user (e.g. an approval valid until `expiresAt`). */
export async function insertVerification(db: Tx, v: { userId: string; status: 'pending' | 'approved' | 'rejected' | 'revoked'; expiresAt?: Date | null; method?: string }): Promise<{ id: string }> {
  const [row] = await db.insert(verifications).values({
    userId: v.userId, status: v.status, method: v.method ?? 'document',
    decidedAt: v.status === 'pending' ? null : new Date(), expiresAt: v.expiresAt ?? null,
  }).returning({ id: verifications.id });
  return row!;
}

/** Stores a stream key's hash; the plaintext key never reaches the database. */
export async function insertStreamKey(db: Tx, k: { userId: string; keyHash: string; keyPrefix: string; label?: string }): Promise<{ id: string }> {
  const [row] = await db.insert(streamKeys).values({ userId: k.userId, keyHash: k.keyHash, keyPrefix: k.keyPrefix, label: k.label ?? null })
    .returning({ id: streamKeys.id });
  return row!;
}

/** Everything the publish gate needs about one stream key, in one round trip. Undefined: no such key. */
export interface KeyStanding {
  streamKeyId: string;
  userId: string;
  handle: string;
  role: Role;
  revoked: boolean;
  verified: boolean;
  /** Reason of the active ban or suspension, if any. */
  banReason: string | null;
}

/** Looks a stream key up by its SHA-256 hash, with its owner's role, verification and ban standing now. */
export async function keyStanding(db: Tx, keyHash: string): Promise<KeyStanding | undefined> {
  const now = sql`now()`;
  const [row] = await db.select({
    streamKeyId: streamKeys.id,
    userId: users.id,
    handle: users.handle,
    role: users.role,
    revokedAt: streamKeys.revokedAt,
    verified: sql<boolean>`exists (select 1 from ${verifications} v where v.user_id = ${users.id} and v.status = 'approved' and (v.expires_at is null or v.expires_at > ${now}))`,
    banReason: sql<string | null>`(select b.reason from ${bans} b where b.user_id = ${users.id} and b.lifted_at is null and b.starts_at <= ${now} and (b.expires_at is null or b.expires_at > ${now}) limit 1)`,
  }).from(streamKeys).innerJoin(users, eq(users.id, streamKeys.userId)).where(eq(streamKeys.keyHash, keyHash)).limit(1);
  if (!row) return undefined;
  return { streamKeyId: row.streamKeyId, userId: row.userId, handle: row.handle, role: row.role, revoked: row.revokedAt !== null, verified: row.verified, banReason: row.banReason };
}

/** Revokes every live stream key of a user (a permanent ban). @returns the revoked keys' prefixes. */
export async function revokeUserStreamKeys(db: Tx, userId: string): Promise<string[]> {
  const rows = await db.update(streamKeys).set({ revokedAt: sql`now()` })
    .where(sql`${streamKeys.userId} = ${userId} and ${streamKeys.revokedAt} is null`).returning({ prefix: streamKeys.keyPrefix });
  return rows.map((r) => r.prefix);
}

/** A user's stream keys (never the key itself), newest first, each with whether a broadcast is live on it. */
export async function listStreamKeys(db: Tx, userId: string) {
  return db.select({
    id: streamKeys.id, prefix: streamKeys.keyPrefix, label: streamKeys.label, createdAt: streamKeys.createdAt, revokedAt: streamKeys.revokedAt,
    // qualified by hand: drizzle renders a lone table's columns unqualified, and inside the subquery "id" would be b.id
    liveBroadcastId: sql<string | null>`(select b.id from broadcasts b where b.stream_key_id = stream_keys.id and b.status = 'live' limit 1)`,
  }).from(streamKeys).where(eq(streamKeys.userId, userId)).orderBy(sql`${streamKeys.createdAt} desc`);
}

/** Revokes one of a user's keys. @returns the live broadcast on it (to end), or undefined when no such live key of theirs. */
export async function revokeStreamKey(db: Tx, userId: string, keyId: string): Promise<{ prefix: string; liveBroadcastId: string | null } | undefined> {
  const [row] = await db.update(streamKeys).set({ revokedAt: sql`now()` })
    .where(sql`${streamKeys.id} = ${keyId} and ${streamKeys.userId} = ${userId} and ${streamKeys.revokedAt} is null`)
    .returning({ prefix: streamKeys.keyPrefix, liveBroadcastId: sql<string | null>`(select b.id from broadcasts b where b.stream_key_id = ${keyId} and b.status = 'live' limit 1)` });
  return row;
}

/** Whether a user may hold stream keys: a performer with an approved, unexpired verification and no active ban. */
export async function mayHoldStreamKeys(db: Tx, userId: string): Promise<{ ok: boolean; why: string | null }> {
  const [row] = await db.select({
    role: users.role,
    // the user id as a parameter: inside the subqueries an unqualified "id" would be the subquery's own
    verified: sql<boolean>`exists (select 1 from ${verifications} v where v.user_id = ${userId} and v.status = 'approved' and (v.expires_at is null or v.expires_at > now()))`,
    banned: sql<boolean>`exists (select 1 from ${bans} b where b.user_id = ${userId} and b.kind in ('ban', 'suspension') and b.lifted_at is null and b.starts_at <= now() and (b.expires_at is null or b.expires_at > now()))`,
  }).from(users).where(eq(users.id, userId)).limit(1);
  if (!row || row.role !== 'performer') return { ok: false, why: 'only performers have stream keys' };
  if (row.banned) return { ok: false, why: 'your account is banned or suspended' };
  if (!row.verified) return { ok: false, why: 'stream keys need an approved age/ID verification' };
  return { ok: true, why: null };
}
