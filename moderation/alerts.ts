/**
 * Panic alerts. A performer's panic press is first put where every API node hears it — Redis: the alert's state,
 * its escalation deadline and a pub/sub message, in one round trip — and only then stored in Postgres (with a
 * critical case, the minutes of chat and frames before it as evidence, and an audit entry). So delivery to
 * moderators never waits on Postgres or the analyzer queues, and an alert raised while Postgres is down is
 * delivered at once and stored when it returns (a pending list every node drains).
 *
 * Unacknowledged alerts escalate: a sorted set of deadlines that every node polls, each deadline taken by exactly
 * one node (ZREM), re-notifies moderators and POSTs a signed webhook to the on-call service, up to a maximum.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import { WardenError, errorText } from '../core/errors.ts';
import {
  acknowledgeAlert, addEvidence, alertSnapshot, appendAction, getAlert, insertAlert, resolveAlertCase, liveBroadcastOfUser, openOrJoinCase, recordEscalation, resolveAlert,
  type Db, type Priority,
} from '../db/index.ts';
import { enforcementChannel, type EnforcementMessage } from './enforcer.ts';
import { webhookSignature } from './webhooks.ts';

/**
 * What a performer may ask a panic press to do to their live broadcast, until the alert is resolved: nothing,
 * freeze its chat, hide the stream from viewers (no play is issued and current viewers are disconnected; the
 * publish and the analyzer go on and staff can still watch), or end it.
 */
export const PROTECTIONS = ['none', 'freeze_chat', 'hide_stream', 'end_broadcast'] as const;
export type Protection = (typeof PROTECTIONS)[number];

/** An alert as moderators receive it. Times are ISO strings. */
export interface LiveAlert {
  id: string;
  userId: string;
  handle: string;
  broadcastId: string | null;
  protection: Protection;
  message: string | null;
  status: 'open' | 'acknowledged' | 'resolved';
  raisedAt: string;
  escalations: number;
  acknowledgedBy: { id: string; handle: string } | null;
  resolvedBy: { id: string; handle: string } | null;
}

/** A change to an alert, as published and streamed. `at`: ms since the epoch when it was published. */
export interface AlertEvent { type: 'raised' | 'escalated' | 'acknowledged' | 'resolved'; alert: LiveAlert; at: number }

export interface AlertDeps {
  db: Db;
  redis: Redis;
  prefix: string;
  logger: Logger;
  ackMs: number;
  maxEscalations: number;
  escalationUrl: string | null;
  webhookSecret: string;
  slaMinutes: Record<Priority, number>;
  fetch?: typeof fetch;
}

/** An acknowledgement or resolution waiting to be stored (Postgres was unavailable, or the alert not stored yet). */
interface PendingOp { op: 'ack' | 'resolve'; alertId: string; by: string; at: string; alert: LiveAlert; resolution?: string }

/**
 * KEYS: state key, channel. ARGV: allowed statuses (JSON array), new state (JSON), event (JSON), TTL s.
 * Sets the new state and publishes the event only while the stored status is one of the allowed: 1, else 0.
 */
const TRANSITION = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local status = cjson.decode(raw)['status']
for _, s in ipairs(cjson.decode(ARGV[1])) do
  if s == status then
    redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[4]))
    redis.call('PUBLISH', KEYS[2], ARGV[3])
    return 1
  end
end
return 0`;

/** Minutes of chat and frames before an alert kept as its evidence. */
const SNAPSHOT_MS = 5 * 60_000;
const STATE_TTL_S = 7 * 86_400;

/** The Redis key of a room frozen by a panic alert (the chat gate refuses every post while it exists). */
export const frozenRoomKey = (prefix: string, ownerId: string) => `${prefix}:frozen:${ownerId}`;

/**
 * The Redis key of a broadcast hidden from viewers by a panic alert (no play URL is issued, the media server
 * admits no viewer, while it exists). Kept for a day: a broadcast's key cannot outlive its use, so the TTL only
 * cleans up, and a hidden stream must not reappear on its own while the alert is unresolved.
 */
export const hiddenBroadcastKey = (prefix: string, broadcastId: string) => `${prefix}:hidden:${broadcastId}`;

/**
 * The Redis key naming a performer's live broadcast (its id), set by the ingest node that accepted the publish
 * and deleted when it ends: how a panic press finds the performer's broadcast without asking Postgres.
 */
export const liveBroadcastKey = (prefix: string, userId: string) => `${prefix}:live:${userId}`;

/** How long a panic press waits for its alert to be stored before answering (it is stored later if not yet). */
const STORE_WAIT_MS = 1000;
/** How long a panic press asks Postgres for the performer's live broadcast when Redis does not know it. */
const LOOKUP_WAIT_MS = 300;
const HIDDEN_TTL_S = 86_400;

export class AlertService {
  private timers: NodeJS.Timeout[] = [];
  private busy = false;
  constructor(private readonly deps: AlertDeps) {}

  get channel(): string { return `${this.deps.prefix}:alerts`; }
  private stateKey(id: string) { return `${this.deps.prefix}:alert:${id}`; }
  private get dueKey() { return `${this.deps.prefix}:alerts:due`; }
  private get pendingKey() { return `${this.deps.prefix}:alerts:pending`; }
  private get pendingOpsKey() { return `${this.deps.prefix}:alerts:pending-ops`; }

  /**
   * Raises a panic alert for a performer: delivered to every online moderator first, then protected, then stored.
   * @param input.broadcastId the performer's live broadcast (needed for protection and evidence)
   * @returns the alert and whether it is already stored (false while Postgres is unavailable).
   */
  async raise(performer: { userId: string; handle: string }, input: { broadcastId?: string | null; protection?: Protection; message?: string | null }): Promise<{ alert: LiveAlert; stored: boolean }> {
    const alert: LiveAlert = {
      id: randomUUID(), userId: performer.userId, handle: performer.handle, broadcastId: input.broadcastId ?? null,
      protection: input.protection ?? 'none', message: input.message?.trim() || null, status: 'open', raisedAt: new Date().toISOString(),
      escalations: 0, acknowledgedBy: null, resolvedBy: null,
    };
    const { redis } = this.deps;
    await redis.multi()
      .set(this.stateKey(alert.id), JSON.stringify(alert), 'EX', STATE_TTL_S)
      .zadd(this.dueKey, Date.now() + this.deps.ackMs, alert.id)
      .publish(this.channel, JSON.stringify({ type: 'raised', alert, at: Date.now() } satisfies AlertEvent))
      .exec();
    this.deps.logger.warn({ alertId: alert.id, userId: alert.userId, broadcastId: alert.broadcastId, protection: alert.protection }, 'panic alert raised');
    try {
      await this.protect(alert);
    } catch (err) {
      this.deps.logger.error({ alertId: alert.id, err: errorText(err) }, 'panic protection not applied');
    }
    // moderators have it already; storing (a case, evidence, the audit entry) may take Postgres a while under
    // load, or wait for Postgres to come back: answer within a second either way
    const storing = this.persist(alert).catch(async (err) => {
      this.deps.logger.error({ alertId: alert.id, err: errorText(err) }, 'panic alert not stored yet (will retry)');
      await redis.rpush(this.pendingKey, JSON.stringify(alert));
      return false;
    });
    let timer: NodeJS.Timeout | undefined;
    const stored = await Promise.race([storing, new Promise<false>((r) => { timer = setTimeout(() => r(false), STORE_WAIT_MS); })]);
    clearTimeout(timer);
    return { alert, stored };
  }

  /**
   * The performer's live broadcast: from Redis (where the ingest node put it), else from Postgres if it answers
   * within 300 ms, else null. A `claimed` id that is not the performer's live broadcast is ignored (a panic is
   * never refused, and never acts on someone else's broadcast).
   */
  async liveBroadcastOf(userId: string, claimed?: string | null): Promise<string | null> {
    const fromRedis = await this.deps.redis.get(liveBroadcastKey(this.deps.prefix, userId)).catch(() => null);
    let live = fromRedis;
    if (!live) {
      let timer: NodeJS.Timeout | undefined;
      live = await Promise.race([
        liveBroadcastOfUser(this.deps.db, userId).catch(() => null),
        new Promise<null>((r) => { timer = setTimeout(() => r(null), LOOKUP_WAIT_MS); }),
      ]);
      clearTimeout(timer);
    }
    if (claimed && claimed !== live) this.deps.logger.warn({ userId, claimed, live }, 'panic named a broadcast that is not the performer\'s live one; ignored');
    return live;
  }

  /**
   * Applies the performer's chosen protection to their broadcast (found by {@link liveBroadcastOf}, so it is
   * theirs): all in Redis, so it never waits on Postgres. Idempotent (run again for an alert stored later).
   */
  private async protect(alert: LiveAlert): Promise<void> {
    if (alert.protection === 'none' || !alert.broadcastId) return;
    const { redis, prefix } = this.deps;
    if (alert.protection === 'end_broadcast') {
      await redis.publish(enforcementChannel(prefix), JSON.stringify({ type: 'end_stream', broadcastId: alert.broadcastId, reason: `panic alert ${alert.id}` } satisfies EnforcementMessage));
    } else if (alert.protection === 'hide_stream') {
      // the key first: a play admitted between the two would otherwise escape the drop
      await redis.multi()
        .set(hiddenBroadcastKey(prefix, alert.broadcastId), alert.id, 'EX', HIDDEN_TTL_S)
        .publish(enforcementChannel(prefix), JSON.stringify({ type: 'drop_viewers', broadcastId: alert.broadcastId, reason: `panic alert ${alert.id}: stream hidden` } satisfies EnforcementMessage))
        .exec();
    } else {
      await redis.set(frozenRoomKey(prefix, alert.userId), JSON.stringify({ kind: 'freeze', until: null, reason: 'the performer paused chat' }), 'EX', 3600);
    }
  }

  /** Stores an alert with its critical case, evidence and audit entry (idempotent by id). @returns true once stored. */
  private async persist(alert: LiveAlert): Promise<boolean> {
    return this.deps.db.transaction(async (tx) => {
      const raisedAt = new Date(alert.raisedAt);
      const snapshot = alert.broadcastId ? await alertSnapshot(tx, alert.broadcastId, new Date(raisedAt.getTime() - SNAPSHOT_MS)) : { chat: [], frames: [] };
      const c = await openOrJoinCase(tx, {
        subjectType: 'alert', subjectId: alert.id, userId: alert.userId, broadcastId: alert.broadcastId, reasonType: 'rule', reason: 'panic',
        priority: 'critical', slaDueAt: new Date(raisedAt.getTime() + this.deps.slaMinutes.critical * 60_000),
      });
      const isNew = await insertAlert(tx, {
        id: alert.id, userId: alert.userId, broadcastId: alert.broadcastId, protection: alert.protection, message: alert.message,
        caseId: c.id, evidence: snapshot, raisedAt,
      });
      if (!isNew) return true;
      for (const f of snapshot.frames.slice(-10)) await addEvidence(tx, { caseId: c.id, sampleId: f.id, details: { alertId: alert.id, panic: true } });
      await addEvidence(tx, { caseId: c.id, sampleId: null, details: { alertId: alert.id, message: alert.message, protection: alert.protection, context: snapshot.chat.slice(-30) } });
      await appendAction(tx, {
        action: 'panic', actorType: 'user', actorId: alert.userId, subjectType: 'alert', subjectId: alert.id, userId: alert.userId,
        broadcastId: alert.broadcastId, caseId: c.id, idempotencyKey: `panic/${alert.id}`, details: { protection: alert.protection, message: alert.message },
      });
      return true;
    });
  }

  private async state(id: string): Promise<LiveAlert | null> {
    const raw = await this.deps.redis.get(this.stateKey(id));
    return raw ? JSON.parse(raw) as LiveAlert : null;
  }

  /**
   * Moves an alert from one of `from` to its next state in one atomic Redis step (so of two moderators
   * acknowledging at once exactly one does), storing and publishing it. @returns the state before, or null when
   * the alert was not in `from` (then nothing changed).
   */
  private async transition(id: string, from: LiveAlert['status'][], next: (a: LiveAlert) => LiveAlert, type: AlertEvent['type']): Promise<{ before: LiveAlert; after: LiveAlert } | null> {
    const before = await this.state(id);
    if (!before) throw new WardenError('not_found', 'no such alert (or it is older than 7 days)');
    if (!from.includes(before.status)) return null;
    const after = next(before);
    const ok = await this.deps.redis.eval(TRANSITION, 2, this.stateKey(id), this.channel, JSON.stringify(from), JSON.stringify(after),
      JSON.stringify({ type, alert: after, at: Date.now() } satisfies AlertEvent), String(STATE_TTL_S));
    return ok === 1 ? { before, after } : null;
  }

  /** A moderator acknowledges an alert: escalation stops; audited. @throws 404 unknown, 409 not open. */
  async acknowledge(mod: { userId: string; handle: string }, id: string): Promise<LiveAlert> {
    const moved = await this.transition(id, ['open'], (a) => ({ ...a, status: 'acknowledged', acknowledgedBy: { id: mod.userId, handle: mod.handle } }), 'acknowledged');
    if (!moved) {
      const now = await this.state(id);
      throw new WardenError('conflict', `the alert is already ${now?.status ?? 'gone'}${now?.acknowledgedBy ? ` (by @${now.acknowledgedBy.handle})` : ''}`);
    }
    await this.deps.redis.zrem(this.dueKey, id);
    await this.record({ op: 'ack', alertId: id, by: mod.userId, at: new Date().toISOString(), alert: moved.before });
    return moved.after;
  }

  /** A moderator resolves an alert with what was done; the room is unfrozen and the stream shown again; audited. */
  async resolve(mod: { userId: string; handle: string }, id: string, resolution: string): Promise<LiveAlert> {
    const by = { id: mod.userId, handle: mod.handle };
    const moved = await this.transition(id, ['open', 'acknowledged'], (a) => ({ ...a, status: 'resolved', resolvedBy: by, acknowledgedBy: a.acknowledgedBy ?? by }), 'resolved');
    if (!moved) throw new WardenError('conflict', 'the alert is already resolved');
    const { before: alert } = moved;
    const undo = this.deps.redis.multi().zrem(this.dueKey, id).del(frozenRoomKey(this.deps.prefix, alert.userId));
    if (alert.broadcastId) undo.del(hiddenBroadcastKey(this.deps.prefix, alert.broadcastId));
    await undo.exec();
    await this.record({ op: 'resolve', alertId: id, by: mod.userId, at: new Date().toISOString(), alert, resolution });
    return moved.after;
  }

  /**
   * Stores an acknowledgement or a resolution with its audit entry (idempotent: once per alert and kind). While
   * Postgres is unavailable, or the alert itself is not stored yet, it waits in a pending list every node drains.
   */
  private async record(op: PendingOp): Promise<void> {
    try {
      await this.applyOp(op);
    } catch (err) {
      this.deps.logger.error({ alertId: op.alertId, op: op.op, err: errorText(err) }, 'alert change not stored yet (will retry)');
      await this.deps.redis.rpush(this.pendingOpsKey, JSON.stringify(op));
    }
  }

  private async applyOp(op: PendingOp): Promise<void> {
    const { alert } = op;
    await this.deps.db.transaction(async (tx) => {
      if (!(await getAlert(tx, op.alertId))) throw new Error('the alert is not stored yet');
      if (op.op === 'ack' || alert.status === 'open') await acknowledgeAlert(tx, op.alertId, op.by, new Date(op.at));
      if (op.op === 'resolve') {
        await resolveAlert(tx, op.alertId, op.by, op.resolution ?? '');
        await resolveAlertCase(tx, op.alertId, op.by, op.resolution ?? ''); // the alert's critical case leaves the queue with it
      }
      await appendAction(tx, op.op === 'ack'
        ? { action: 'acknowledge_alert', actorType: 'moderator', actorId: op.by, subjectType: 'alert', subjectId: op.alertId, userId: alert.userId, broadcastId: alert.broadcastId, idempotencyKey: `ack/${op.alertId}`, details: { raisedAt: alert.raisedAt, escalations: alert.escalations, responseMs: Date.parse(op.at) - Date.parse(alert.raisedAt) } }
        : { action: 'resolve_alert', actorType: 'moderator', actorId: op.by, subjectType: 'alert', subjectId: op.alertId, userId: alert.userId, broadcastId: alert.broadcastId, idempotencyKey: `resolve/${op.alertId}`, details: { resolution: op.resolution } });
    });
  }

  /** Starts the escalation poll (every 200 ms) and the pending-alert drain (every 2 s). */
  start(): void {
    // a drain that cannot reach Redis or Postgres (an outage) tries again in 2 s; it must never reject unhandled
    const drain = () => void this.drainPending().catch((err) => this.deps.logger.warn({ err: errorText(err) }, 'pending alerts not drained yet'));
    this.timers.push(setInterval(() => { void this.tick(); }, 200), setInterval(drain, 2000));
    for (const t of this.timers) t.unref();
  }

  async stop(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.escalateDue();
    } catch (err) {
      this.deps.logger.error({ err: errorText(err) }, 'alert escalation failed');
    } finally {
      this.busy = false;
    }
  }

  /** Escalates every alert past its deadline that this node takes. @returns how many it escalated. */
  async escalateDue(): Promise<number> {
    const { redis } = this.deps;
    const due = await redis.zrangebyscore(this.dueKey, '-inf', Date.now(), 'LIMIT', 0, 20);
    let n = 0;
    for (const id of due) {
      if ((await redis.zrem(this.dueKey, id)) !== 1) continue; // another node took it
      // atomic: an acknowledgement landing meanwhile is never overwritten by the escalation
      const moved = await this.transition(id, ['open'], (a) => ({ ...a, escalations: a.escalations + 1 }), 'escalated').catch(() => null);
      if (!moved) continue;
      const next = moved.after;
      if (next.escalations < this.deps.maxEscalations) await redis.zadd(this.dueKey, Date.now() + this.deps.ackMs, id);
      n++;
      this.deps.logger.warn({ alertId: id, escalations: next.escalations }, 'panic alert unacknowledged: escalated');
      await Promise.all([this.callOnCall(next), this.recordEscalation(next)]);
    }
    return n;
  }

  private async recordEscalation(alert: LiveAlert): Promise<void> {
    try {
      await recordEscalation(this.deps.db, alert.id, alert.escalations);
      await appendAction(this.deps.db, {
        action: 'escalate_alert', actorType: 'system', actorId: 'alerts', subjectType: 'alert', subjectId: alert.id, userId: alert.userId,
        broadcastId: alert.broadcastId, idempotencyKey: `escalate/${alert.id}/${alert.escalations}`, details: { escalations: alert.escalations, onCall: this.deps.escalationUrl !== null },
      });
    } catch (err) {
      this.deps.logger.error({ alertId: alert.id, err: errorText(err) }, 'escalation not recorded');
    }
  }

  /** POSTs the escalation to the on-call service, signed like every Warden webhook. */
  private async callOnCall(alert: LiveAlert): Promise<void> {
    if (!this.deps.escalationUrl) return;
    const body = JSON.stringify({ type: 'alert.escalated', alert });
    const ts = Math.floor(Date.now() / 1000);
    try {
      const res = await (this.deps.fetch ?? fetch)(this.deps.escalationUrl, {
        method: 'POST', body, signal: AbortSignal.timeout(5000),
        headers: { 'content-type': 'application/json', 'webhook-id': `${alert.id}/${alert.escalations}`, 'warden-timestamp': String(ts), 'warden-signature': `v1=${webhookSignature(this.deps.webhookSecret, ts, body)}` },
      });
      await res.body?.cancel();
      if (!res.ok) this.deps.logger.error({ alertId: alert.id, status: res.status }, 'on-call webhook refused the escalation');
    } catch (err) {
      this.deps.logger.error({ alertId: alert.id, err: errorText(err) }, 'on-call webhook failed');
    }
  }

  /** Stores alerts raised while Postgres was unavailable. @returns how many were stored. */
  async drainPending(): Promise<number> {
    const n = await this.drainAlerts();
    // then the acknowledgements and resolutions made meanwhile (they need their alert stored first)
    for (;;) {
      const raw = await this.deps.redis.lpop(this.pendingOpsKey);
      if (!raw) return n;
      try {
        await this.applyOp(JSON.parse(raw) as PendingOp);
      } catch {
        await this.deps.redis.lpush(this.pendingOpsKey, raw);
        return n;
      }
    }
  }

  private async drainAlerts(): Promise<number> {
    let n = 0;
    for (;;) {
      const raw = await this.deps.redis.lpop(this.pendingKey);
      if (!raw) return n;
      const alert = JSON.parse(raw) as LiveAlert;
      try {
        await this.protect(alert).catch(() => {});
        await this.persist(alert);
        n++;
        this.deps.logger.info({ alertId: alert.id }, 'pending panic alert stored');
      } catch {
        await this.deps.redis.lpush(this.pendingKey, raw); // still unavailable: keep it first in line
        return n;
      }
    }
  }
}
