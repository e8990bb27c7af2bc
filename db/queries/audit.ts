/**
 * The audit log (`actions`) as a hash chain: every entry carries the SHA-256 of the entry before it and of its own
 * content, so changing, removing or reordering any entry breaks every hash after it. Appends take a transaction-
 * scoped advisory lock, so chain order is commit order even across processes; verification recomputes every hash
 * in TypeScript (never trusting a database function a tamperer could have replaced).
 */
import { createHash } from 'node:crypto';
import { and, desc, eq, gt, gte, lte, sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { actions, users } from '../schema.ts';

export type ActionInsert = typeof actions.$inferInsert;

/** Advisory-lock key that serialises appends to the chain (an arbitrary constant: "warden audit"). */
const AUDIT_LOCK = 0x77617264656e;
/** `prevHash` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level (a canonical form to hash). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj).filter((k) => obj[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** The fields an entry's hash covers (everything but its database id and the hashes themselves). */
interface Hashed {
  chainSeq: number; action: string; actorType: string; actorId: string; subjectType: string; subjectId: string;
  broadcastId: string | null; userId: string | null; caseId: string | null; ruleId: string | null; policyVersion: string | null;
  shadow: boolean; idempotencyKey: string | null; details: unknown; createdAt: Date;
}

/** SHA-256 (hex) of the previous hash, a newline and the entry's canonical content (only the {@link Hashed} fields). */
export function entryHash(prevHash: string, e: Hashed): string {
  const content = canonicalJson({
    chainSeq: e.chainSeq, action: e.action, actorType: e.actorType, actorId: e.actorId, subjectType: e.subjectType, subjectId: e.subjectId,
    broadcastId: e.broadcastId, userId: e.userId, caseId: e.caseId, ruleId: e.ruleId, policyVersion: e.policyVersion, shadow: e.shadow,
    idempotencyKey: e.idempotencyKey, details: JSON.parse(JSON.stringify(e.details ?? {})), createdAt: e.createdAt.toISOString(),
  });
  return createHash('sha256').update(`${prevHash}\n${content}`, 'utf8').digest('hex');
}

/**
 * Appends an action to the audit log, chained to the entry before it. With an idempotency key, a second call
 * with the same key writes nothing. Runs in a (nested) transaction holding the chain lock until the outermost
 * transaction commits.
 * @returns the new row's id, or null when the key was already recorded.
 */
export async function appendAction(db: Tx, a: ActionInsert): Promise<number | null> {
  return db.transaction(async (tx) => {
    // one round trip: take the chain lock, then (under it) read whether the key is recorded and the chain's head
    await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_LOCK})`);
    const [head] = await tx.execute<{ dup: boolean; seq: string | null; hash: string | null }>(sql`select
      ${a.idempotencyKey ? sql`exists (select 1 from ${actions} where idempotency_key = ${a.idempotencyKey})` : sql`false`} as dup,
      h.chain_seq as seq, h.hash from (select 1) one left join lateral
      (select chain_seq, hash from ${actions} where chain_seq is not null order by chain_seq desc limit 1) h on true`);
    if (head?.dup) return null;
    const e: Hashed = {
      chainSeq: Number(head?.seq ?? 0) + 1, action: a.action, actorType: a.actorType, actorId: a.actorId, subjectType: a.subjectType,
      subjectId: a.subjectId, broadcastId: a.broadcastId ?? null, userId: a.userId ?? null, caseId: a.caseId ?? null, ruleId: a.ruleId ?? null,
      policyVersion: a.policyVersion ?? null, shadow: a.shadow ?? false, idempotencyKey: a.idempotencyKey ?? null,
      details: JSON.parse(JSON.stringify(a.details ?? {})), createdAt: new Date(),
    };
    const prevHash = head?.hash ?? GENESIS_HASH;
    const [row] = await tx.insert(actions).values({ ...e, actorType: a.actorType, prevHash, hash: entryHash(prevHash, e) }).returning({ id: actions.id });
    return row!.id;
  });
}

/** The outcome of checking the chain. `firstBroken` names the first entry that does not verify. */
export interface AuditVerification {
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string } | null;
  /** Entries from before the chain existed (no position): not verifiable, counted. */
  unchained: number;
  firstBroken?: { id: number; seq: number; problem: 'hash mismatch' | 'prev_hash mismatch' | 'gap in sequence' };
}

/** Walks the whole chain in order, `pageSize` rows at a time, recomputing every hash. */
export async function verifyAuditChain(db: Tx, pageSize = 1000): Promise<AuditVerification> {
  const [{ n: unchained }] = await db.select({ n: sql<number>`count(*)::int` }).from(actions).where(sql`${actions.chainSeq} is null`) as [{ n: number }];
  let prev = GENESIS_HASH;
  let expected = 1;
  let entries = 0;
  for (;;) {
    const rows = await db.select().from(actions).where(and(sql`${actions.chainSeq} is not null`, gte(actions.chainSeq, expected)))
      .orderBy(actions.chainSeq).limit(pageSize);
    for (const r of rows) {
      const seq = r.chainSeq!;
      if (seq !== expected) return { ok: false, entries, head: null, unchained, firstBroken: { id: r.id, seq, problem: 'gap in sequence' } };
      if (r.prevHash !== prev) return { ok: false, entries, head: null, unchained, firstBroken: { id: r.id, seq, problem: 'prev_hash mismatch' } };
      const h = entryHash(prev, { ...r, chainSeq: seq });
      if (h !== r.hash) return { ok: false, entries, head: null, unchained, firstBroken: { id: r.id, seq, problem: 'hash mismatch' } };
      prev = h;
      expected = seq + 1;
      entries++;
    }
    if (rows.length < pageSize) break;
  }
  return { ok: true, entries, head: entries ? { seq: expected - 1, hash: prev } : null, unchained };
}

/** An audit-log entry as the API shows it. */
export interface AuditEntry {
  id: number; seq: number | null; action: string; actorType: string; actorId: string; actorHandle: string | null;
  subjectType: string; subjectId: string; broadcastId: string | null; userId: string | null; caseId: string | null;
  ruleId: string | null; policyVersion: string | null; shadow: boolean; details: unknown; createdAt: string; hash: string | null; prevHash: string | null;
}

/** Filters of the audit log; `page` from 1. */
export interface AuditFilter {
  action?: string; actorId?: string; subjectId?: string; userId?: string; caseId?: string; since?: Date; until?: Date;
  page: number; perPage: number;
}

/** One page of the audit log, newest first, with the actor's handle for moderators and users. */
export async function listAudit(db: Tx, f: AuditFilter): Promise<{ data: AuditEntry[]; total: number }> {
  const conds: SQL[] = [];
  if (f.action) conds.push(eq(actions.action, f.action));
  if (f.actorId) conds.push(eq(actions.actorId, f.actorId));
  if (f.subjectId) conds.push(eq(actions.subjectId, f.subjectId));
  if (f.userId) conds.push(eq(actions.userId, f.userId));
  if (f.caseId) conds.push(eq(actions.caseId, f.caseId));
  if (f.since) conds.push(gt(actions.createdAt, f.since));
  if (f.until) conds.push(lte(actions.createdAt, f.until));
  const where = conds.length ? and(...conds) : undefined;
  const [rows, [total]] = await Promise.all([
    db.select({ a: actions, handle: users.handle }).from(actions)
      .leftJoin(users, sql`${actions.actorType} in ('moderator', 'user') and ${users.id}::text = ${actions.actorId}`)
      .where(where).orderBy(desc(actions.id)).limit(f.perPage).offset((f.page - 1) * f.perPage),
    db.select({ n: sql<number>`count(*)::int` }).from(actions).where(where),
  ]);
  return {
    total: total?.n ?? 0,
    data: rows.map(({ a, handle }) => ({
      id: a.id, seq: a.chainSeq, action: a.action, actorType: a.actorType, actorId: a.actorId, actorHandle: handle, subjectType: a.subjectType,
      subjectId: a.subjectId, broadcastId: a.broadcastId, userId: a.userId, caseId: a.caseId, ruleId: a.ruleId, policyVersion: a.policyVersion,
      shadow: a.shadow, details: a.details, createdAt: a.createdAt.toISOString(), hash: a.hash, prevHash: a.prevHash,
    })),
  };
}
