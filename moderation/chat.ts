/**
 * Chat moderation writes: every message with its verdict, blocked messages in the audit log, held (and
 * self-harm) messages as cases with the surrounding chat, and restrictions (timeouts, bans) — recorded in
 * Postgres and mirrored in Redis so every node refuses the user's next post at once.
 *
 * While Postgres is unavailable chat goes on: the verdict is the gateway's (text analysis, the policy, the room's
 * cached terms, restrictions and rate limits in Redis), so it is given as usual — allowed messages are delivered,
 * blocked ones refused with the reason, held ones held — and the record (the message with its id and time, and for a
 * block or hold its audit entry and case) waits in a Redis list that every API node drains every 2 s once Postgres
 * answers, each exactly once (a replay that finds its message stored is dropped). Only when Redis cannot take the
 * record either is the message refused (`unavailable`, not sent): no message is ever delivered without a record.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import { errorText, isDatabaseUnavailable } from '../core/errors.ts';
import {
  addEvidence, appendAction, chatContext, insertBan, insertChatMessage, insertChatMessageAsync, openOrJoinCase, type Db, type Priority,
} from '../db/index.ts';
import type { ChatVerdict, VerdictReason } from '../rules/index.ts';
import { defaultSlaMinutes, enforcementChannel, type EnforcementMessage } from './enforcer.ts';

/** A restriction as the chat gateway checks it (mirrored in Redis). `until` null = permanent. */
export interface Restriction { kind: 'ban' | 'suspension' | 'timeout' | 'mute' | 'freeze'; until: string | null; reason: string }

/** The Redis key of a user's restriction in a scope ('platform' or 'room:<owner id>'). */
export const restrictionKey = (prefix: string, scope: string, userId: string) => `${prefix}:restrict:${scope}:${userId}`;

/** A message as analysed, ready to record. */
export interface ChatMessageRecord {
  broadcastId: string;
  ownerId: string;
  userId: string;
  body: string;
  verdict: ChatVerdict;
  categories: string[];
  matches: { category: string; severity: string; start: number; end: number; rule: string }[];
  reasons: VerdictReason[];
  policyVersion: string;
}

/** Case priority for a held or flagged message by its most urgent category (a possible minor is critical). */
function casePriority(categories: string[]): Priority {
  if (categories.includes('minor_disclosure')) return 'critical';
  if (categories.includes('self_harm') || categories.includes('threat')) return 'urgent';
  return 'high';
}

/** A message record waiting in Redis for Postgres, with the id and time it was given when its verdict was. */
interface PendingRecord { m: ChatMessageRecord; id: string; createdAt: string }

/** Unique violation: a replayed record whose message is already stored. */
const UNIQUE_VIOLATION = '23505';

export class ChatModeration {
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<number> | undefined;

  constructor(private readonly deps: {
    db: Db; redis: Redis; prefix: string; logger: Logger;
    /** Minutes to the SLA due time per priority, and the queue of a case reason (defaults: built-in SLAs, general). */
    slaMinutes?: Record<Priority, number>; queueOf?: (reason: string) => string;
  }) {}

  /** The Redis list of message records waiting for Postgres (oldest first). */
  get pendingKey(): string { return `${this.deps.prefix}:chat:pending`; }
  /** Records that failed to store for another reason than an outage (kept for an operator, not retried). */
  get failedKey(): string { return `${this.deps.prefix}:chat:failed`; }

  /**
   * Stores a message with its verdict in one transaction; a block is also an action in the audit log; a hold
   * (or a self-harm flag, so someone can offer support) opens or extends the user's case for that category,
   * with the ten messages before it as context. While Postgres is unavailable the record waits in Redis (see the
   * module docs) and `stored` is false.
   * @returns the message id, its time, the case it joined (if any; null while not stored) and whether it is stored.
   * @throws when Postgres fails for another reason, or is unavailable and Redis cannot keep the record either.
   */
  async record(m: ChatMessageRecord): Promise<{ id: string; createdAt: Date; caseId: string | null; stored: boolean }> {
    try {
      return { ...(await this.write(m)), stored: true };
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      const pending: PendingRecord = { m, id: randomUUID(), createdAt: new Date().toISOString() };
      await this.deps.redis.rpush(this.pendingKey, JSON.stringify(pending));
      this.deps.logger.warn({ messageId: pending.id, broadcastId: m.broadcastId, verdict: m.verdict, err: errorText(err) }, 'chat message not stored yet (Postgres unavailable): kept in Redis');
      return { id: pending.id, createdAt: new Date(pending.createdAt), caseId: null, stored: false };
    }
  }

  /** The transaction of {@link record}; `fixed`: the id and time given while Postgres was away (a replay). */
  private async write(m: ChatMessageRecord, fixed?: { id: string; createdAt: Date }): Promise<{ id: string; createdAt: Date; caseId: string | null }> {
    const needsCase = m.verdict === 'hold' || (m.verdict === 'flag' && m.categories.includes('self_harm'));
    const details = { categories: m.categories, matches: m.matches, reasons: m.reasons, policyVersion: m.policyVersion };
    if (!needsCase && m.verdict !== 'block') {
      // A delivered message with no moderation action need not wait for the WAL flush (the fsync was most of the
      // send-to-receipt time), nor a transaction: one statement (db/queries/chat.ts). A crash could lose the last
      // fraction of a second of such rows, never a block, a hold, a case or an action, which commit synchronously.
      const row = await insertChatMessageAsync(this.deps.db, {
        ...(fixed ? { id: fixed.id, createdAt: fixed.createdAt } : {}),
        broadcastId: m.broadcastId, userId: m.userId, body: m.body, verdict: m.verdict, caseId: null, details,
      });
      return { id: row.id, createdAt: row.createdAt, caseId: null };
    }
    return this.deps.db.transaction(async (tx) => {
      let caseId: string | null = null;
      const category = m.categories[0] ?? m.reasons.find((r) => r.source === 'room')?.term ?? 'room-term';
      if (needsCase) {
        const reason = m.categories.length ? `chat.${m.categories.includes('self_harm') && m.verdict === 'flag' ? 'self_harm' : category}` : 'chat.room-term';
        const priority = casePriority(m.categories);
        const c = await openOrJoinCase(tx, {
          subjectType: 'user', subjectId: m.userId, userId: m.userId, broadcastId: m.broadcastId, reasonType: 'rule', reason,
          priority, slaDueAt: new Date(Date.now() + (this.deps.slaMinutes ?? defaultSlaMinutes)[priority] * 60_000), policyVersion: m.policyVersion,
          queue: this.deps.queueOf?.(reason),
        });
        caseId = c.id;
      }
      const row = await insertChatMessage(tx, {
        ...(fixed ? { id: fixed.id, createdAt: fixed.createdAt } : {}),
        broadcastId: m.broadcastId, userId: m.userId, body: m.body, verdict: m.verdict, caseId, details,
      });
      if (caseId) {
        const context = await chatContext(tx, m.broadcastId, row.createdAt, 11);
        await addEvidence(tx, { caseId, sampleId: null, details: { messageId: row.id, body: m.body, categories: m.categories, matches: m.matches, context } });
      }
      if (m.verdict === 'block' || m.verdict === 'hold') {
        await appendAction(tx, {
          action: m.verdict === 'block' ? 'block_message' : 'hold_message', actorType: 'system', actorId: 'chat-filter',
          subjectType: 'message', subjectId: row.id, broadcastId: m.broadcastId, userId: m.userId, caseId, policyVersion: m.policyVersion,
          idempotencyKey: `chat/${row.id}`, details: { categories: m.categories, reasons: m.reasons },
        });
      }
      return { id: row.id, createdAt: row.createdAt, caseId };
    });
  }

  /** Starts draining the records kept while Postgres was away (every 2 s, on every API node). */
  start(): void {
    this.timer = setInterval(() => { this.draining ??= this.drainPending().catch(() => 0).finally(() => { this.draining = undefined; }); }, 2000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.draining;
  }

  /**
   * Stores the records kept while Postgres was away, oldest first, each once: the head is read, stored, then removed
   * (a replay whose message is already stored, by this node or another, is just removed). Stops at the first one
   * Postgres cannot take yet. @returns how many this call stored.
   */
  async drainPending(): Promise<number> {
    const { redis } = this.deps;
    let n = 0;
    for (;;) {
      const raw = await redis.lindex(this.pendingKey, 0);
      if (!raw) return n;
      const p = JSON.parse(raw) as PendingRecord;
      try {
        await this.write(p.m, { id: p.id, createdAt: new Date(p.createdAt) });
        n++;
      } catch (err) {
        if (isDatabaseUnavailable(err)) return n;
        if (!isUniqueViolation(err)) {
          this.deps.logger.error({ messageId: p.id, err: errorText(err) }, 'kept chat message could not be stored; moved to the failed list');
          await redis.rpush(this.failedKey, raw);
        }
      }
      await redis.lrem(this.pendingKey, 1, raw);
    }
  }

  /**
   * Restricts a user: a bans row and an action (one transaction), then the Redis mirror and an enforcement
   * message so every node refuses their posts (and, for a platform ban, ends their live broadcast).
   * @param durationMs null = permanent.
   */
  async restrict(r: { userId: string; kind: 'timeout' | 'ban' | 'mute'; scope: string; durationMs: number | null; reason: string; actor: string; ruleId?: string }): Promise<Restriction> {
    const until = r.durationMs === null ? null : new Date(Date.now() + r.durationMs);
    await this.deps.db.transaction(async (tx) => {
      const ban = await insertBan(tx, { userId: r.userId, kind: r.kind, scope: r.scope, reason: r.reason, createdBy: r.actor, expiresAt: until });
      await appendAction(tx, {
        action: r.kind, actorType: r.ruleId ? 'rule' : 'system', actorId: r.actor, subjectType: 'user', subjectId: r.userId, userId: r.userId,
        ruleId: r.ruleId ?? null, details: { banId: ban.id, scope: r.scope, until: until?.toISOString() ?? null, reason: r.reason },
      });
    });
    const restriction: Restriction = { kind: r.kind, until: until?.toISOString() ?? null, reason: r.reason };
    await this.mirror(r.userId, r.scope, restriction);
    const msg: EnforcementMessage = { type: 'restrict_user', userId: r.userId, scope: r.scope, restriction };
    await this.deps.redis.publish(enforcementChannel(this.deps.prefix), JSON.stringify(msg));
    if (r.kind === 'ban' && r.scope === 'platform') {
      await this.deps.redis.publish(enforcementChannel(this.deps.prefix), JSON.stringify({ type: 'kick_user', userId: r.userId, reason: r.reason } satisfies EnforcementMessage));
    }
    this.deps.logger.info({ userId: r.userId, kind: r.kind, scope: r.scope, until: restriction.until }, 'user restricted');
    return restriction;
  }

  /** Writes a restriction to the Redis mirror, expiring with it. */
  async mirror(userId: string, scope: string, restriction: Restriction): Promise<void> {
    await mirrorRestriction(this.deps.redis, this.deps.prefix, userId, scope, restriction);
  }
}

/** Writes a restriction to the Redis mirror every chat node checks, expiring when it does. */
export async function mirrorRestriction(redis: Redis, prefix: string, userId: string, scope: string, restriction: Restriction): Promise<void> {
  const key = restrictionKey(prefix, scope, userId);
  if (restriction.until === null) await redis.set(key, JSON.stringify(restriction));
  else {
    const ms = Date.parse(restriction.until) - Date.now();
    if (ms > 0) await redis.set(key, JSON.stringify(restriction), 'PX', ms);
  }
}

function isUniqueViolation(err: unknown): boolean {
  for (let e = err, i = 0; e && typeof e === 'object' && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    if ((e as { code?: unknown }).code === UNIQUE_VIOLATION) return true;
  }
  return false;
}
