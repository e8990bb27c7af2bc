/**
 * Enforcement: the one writer of cases, actions (the audit log) and bans. It executes the actions the rules
 * engine decided, idempotently (every action has an idempotency key; a retried job changes nothing), and
 * tells ingest nodes over Redis pub/sub to disconnect a publisher.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import {
  addEvidence, appendAction, insertBan, openOrJoinCase, type Db, type Priority,
} from '../db/index.ts';
import type { Decision, Evidence, PolicyAction } from '../rules/index.ts';
import { mirrorRestriction } from './chat.ts';
import { reasonCodeFor, type ModerationPolicy } from '../rules/moderation-policy.ts';
import { issueStatement, type DecisionAction } from './outcomes.ts';

/** Minutes from a case's opening to its SLA due time, per priority (defaults; a later issue makes them configurable). */
export const defaultSlaMinutes: Record<Priority, number> = { critical: 5, urgent: 15, high: 60, normal: 240, low: 1440 };

/** A message on the enforcement channel, handled by whichever ingest node holds the broadcast or user. */
export type EnforcementMessage =
  | { type: 'end_stream'; broadcastId: string; reason: string }
  | { type: 'kick_user'; userId: string; reason: string }
  | { type: 'restrict_user'; userId: string; scope: string; restriction: { kind: string; until: string | null; reason: string } }
  | { type: 'room_changed'; ownerId: string }
  /** A panic alert hid the broadcast: every node drops its viewers' plays (the publisher goes on). */
  | { type: 'drop_viewers'; broadcastId: string; reason: string };

/** The pub/sub channel enforcement messages travel on, under a deployment's Redis prefix. */
export const enforcementChannel = (prefix: string) => `${prefix}:enforce`;

/** Where a decision applies: the broadcast, its performer and the sample the rule fired on. */
export interface DecisionContext {
  broadcastId: string;
  userId: string;
  sample: { id: string; capturedAt: Date };
  /**
   * More to store with a piece of evidence on the case, merged into its details (for speech: the chunk's
   * audio span, its URL and the words heard). Called inside the transaction; must not do I/O.
   */
  describe?: (e: Evidence) => Record<string, unknown>;
}

export interface EnforcerDeps {
  db: Db;
  /** A Redis connection used only to publish (not a subscriber connection). */
  redis: Redis;
  prefix: string;
  logger: Logger;
  slaMinutes?: Record<Priority, number>;
  /** The review queue a case with this reason goes to (default: general). */
  queueOf?: (reason: string) => string;
  /** The moderation policy in force: with it, automated end_stream / ban / suspend issue a statement of reasons. */
  moderation?: () => ModerationPolicy;
  appealWindowMs?: number;
}

/** What enforcing a set of decisions did (for metrics, logs and tests). */
export interface EnforcementResult {
  casesOpened: { id: string; reason: string; priority: Priority }[];
  casesJoined: string[];
  /** Actions newly written to the audit log (a repeated decision writes none). */
  actionsRecorded: { action: string; shadow: boolean }[];
  streamsEnded: string[];
}

export class Enforcer {
  private readonly sla: Record<Priority, number>;
  constructor(private readonly deps: EnforcerDeps) {
    this.sla = deps.slaMinutes ?? defaultSlaMinutes;
  }

  /**
   * Executes the decisions of one rules evaluation. One transaction per decision; after commit, a non-shadow
   * end_stream is published to the ingest nodes (publishing again for a retried decision is harmless).
   */
  async enforce(decisions: Decision[], ctx: DecisionContext): Promise<EnforcementResult> {
    const result: EnforcementResult = { casesOpened: [], casesJoined: [], actionsRecorded: [], streamsEnded: [] };
    for (const d of decisions) {
      let endStream = false;
      await this.deps.db.transaction(async (tx) => {
        let caseId: string | null = null;
        for (const action of d.actions) {
          if (action.type === 'review' && !d.shadow) {
            const c = await openOrJoinCase(tx, {
              subjectType: 'broadcast', subjectId: ctx.broadcastId, broadcastId: ctx.broadcastId, userId: ctx.userId,
              reasonType: 'rule', reason: d.ruleId, priority: action.priority,
              slaDueAt: new Date(Date.now() + this.sla[action.priority] * 60_000), policyVersion: d.policyVersion,
              queue: this.deps.queueOf?.(d.ruleId),
            });
            caseId = c.id;
            if (c.opened) result.casesOpened.push({ id: c.id, reason: d.ruleId, priority: action.priority });
            else result.casesJoined.push(c.id);
            for (const e of d.evidence) {
              await addEvidence(tx, { caseId: c.id, sampleId: e.sampleId, ruleId: d.ruleId, details: { label: e.label, score: e.score, reason: d.reason, ...ctx.describe?.(e) } });
            }
          }
          const id = await appendAction(tx, {
            action: action.type, actorType: 'rule', actorId: d.ruleId, subjectType: 'broadcast', subjectId: ctx.broadcastId,
            broadcastId: ctx.broadcastId, userId: ctx.userId, caseId, ruleId: d.ruleId, policyVersion: d.policyVersion, shadow: d.shadow,
            idempotencyKey: `${d.ruleId}/${ctx.sample.id}/${action.type}`,
            details: { reason: d.reason, sampleId: ctx.sample.id, capturedAt: ctx.sample.capturedAt.toISOString(), evidence: d.evidence, ...actionDetails(action) },
          });
          if (id !== null) result.actionsRecorded.push({ action: action.type, shadow: d.shadow });
          // an automated restriction is explained to the performer like a moderator's (DSA Art. 17: automated means)
          if (id !== null && !d.shadow && ['end_stream', 'ban', 'suspend'].includes(action.type) && this.deps.moderation) {
            const policy = this.deps.moderation();
            const reasonCode = reasonCodeFor(policy, d.ruleId) ?? policy.reasonCodes.find((r) => r.code === 'other')!;
            const until = 'durationMs' in action && action.durationMs ? new Date(Date.now() + action.durationMs).toISOString() : null;
            await issueStatement(tx, {
              userId: ctx.userId, decision: action.type as DecisionAction, reasonCode, note: null, actionId: id, automatedDecision: true,
              facts: { caseId, subjectType: 'broadcast', reason: d.ruleId, reasonType: 'rule', policyVersion: d.policyVersion, observations: [`Rule ${d.ruleId}: ${d.reason}.`] },
              restriction: { kind: action.type === 'suspend' ? 'suspension' : action.type, until }, appealWindowMs: this.deps.appealWindowMs ?? 14 * 86_400_000,
            });
          }
          if (action.type === 'end_stream' && !d.shadow) endStream = true;
          if ((action.type === 'ban' || action.type === 'suspend') && !d.shadow && id !== null) {
            await insertBan(tx, {
              userId: ctx.userId, kind: action.type === 'ban' ? 'ban' : 'suspension', reason: `${d.ruleId}: ${d.reason}`,
              createdBy: `rule:${d.ruleId}`, caseId, expiresAt: action.durationMs ? new Date(Date.now() + action.durationMs) : null,
            });
          }
        }
      });
      if (endStream) {
        await this.publish({ type: 'end_stream', broadcastId: ctx.broadcastId, reason: `rule ${d.ruleId}: ${d.reason}` });
        result.streamsEnded.push(ctx.broadcastId);
      }
      const ban = d.shadow ? undefined : d.actions.find((a) => a.type === 'ban' || a.type === 'suspend');
      if (ban && (ban.type === 'ban' || ban.type === 'suspend')) {
        const reason = `rule ${d.ruleId}: ${d.reason}`;
        const restriction = { kind: ban.type === 'ban' ? 'ban' as const : 'suspension' as const, until: ban.durationMs ? new Date(Date.now() + ban.durationMs).toISOString() : null, reason };
        // chat nodes refuse the user's posts at once; ingest nodes end their live broadcast
        await mirrorRestriction(this.deps.redis, this.deps.prefix, ctx.userId, 'platform', restriction);
        await this.publish({ type: 'restrict_user', userId: ctx.userId, scope: 'platform', restriction });
        await this.publish({ type: 'kick_user', userId: ctx.userId, reason });
      }
      this.deps.logger.info({ broadcastId: ctx.broadcastId, sampleId: ctx.sample.id, rule: d.ruleId, shadow: d.shadow, actions: d.actions.map((a) => a.type) }, 'rule fired');
    }
    return result;
  }

  /**
   * Records a refused publish in the audit log: who (if the key is known), why, from where, and when it was refused
   * (`refusedAt`; the entry itself may land later, after a Postgres outage). `id` (a UUID the caller makes once per
   * refusal) is the entry's idempotency key, so a retried write lands once.
   */
  async recordPublishRefusal(r: {
    id: string; refusedAt: Date; userId?: string | null; keyPrefix: string; reason: string; detail: string; ip: string; streamPath: string;
  }): Promise<void> {
    await appendAction(this.deps.db, {
      action: 'refuse_publish', actorType: 'system', actorId: 'publish-gate',
      subjectType: r.userId ? 'user' : 'stream_key', subjectId: r.userId ?? r.keyPrefix, userId: r.userId ?? null,
      idempotencyKey: `publish-refused/${r.id}`,
      details: { reason: r.reason, detail: r.detail, keyPrefix: r.keyPrefix, ip: r.ip, streamPath: r.streamPath, refusedAt: r.refusedAt.toISOString() },
    });
  }

  /** Records that a broadcast ended (by the publisher, a kick or shutdown) in the audit log. */
  async recordBroadcastEnded(b: { broadcastId: string; userId: string; reason: string }): Promise<void> {
    await appendAction(this.deps.db, {
      action: 'broadcast_ended', actorType: 'system', actorId: 'ingest', subjectType: 'broadcast', subjectId: b.broadcastId,
      broadcastId: b.broadcastId, userId: b.userId, idempotencyKey: `broadcast-ended/${b.broadcastId}`, details: { reason: b.reason },
    });
  }

  private async publish(msg: EnforcementMessage): Promise<void> {
    await this.deps.redis.publish(enforcementChannel(this.deps.prefix), JSON.stringify(msg));
  }
}

function actionDetails(a: PolicyAction): Record<string, unknown> {
  const { type: _type, ...rest } = a as PolicyAction & Record<string, unknown>;
  return rest;
}
