/**
 * Human review: claims, decisions and undo. A decision resolves the case exactly once (db/queries/review.ts),
 * and in the same transaction is written to the audit log, enforced (bans and suspensions rows, the same Redis
 * mirror and enforcement messages the rules use, so a ban ends the live stream and blocks chat at once), gives
 * its strike and any escalation, issues the statement of reasons and tells the reporters. Appeal cases are
 * decided (uphold / overturn) only by a senior moderator other than the original decider. Verification cases are
 * decided with approve / reject only (moderation/verification.ts), and approve / reject fit no other case.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import { WardenError } from '../core/errors.ts';
import {
  activeRestrictions, appendAction, caseEvidenceRows, caseReports, claimCase, decideAppeal, deleteCaseNotifications, getAppeal,
  getCase, getStatement, insertBan, insertNotification, liftBans, releaseCase, removeCaseMessages, removeStrikesOfCase, reopenAppeal, reopenCase, reopenVerification,
  resolveCase, revokeUserStreamKeys, setReportOutcome, withdrawStatements, type CaseConflict, type CaseRow, type Db, type Priority, type Role, type Tx,
} from '../db/index.ts';
import type { ModerationPolicy } from '../rules/moderation-policy.ts';
import { enforcementChannel, type EnforcementMessage } from './enforcer.ts';
import { mirrorRestriction, restrictionKey, type Restriction } from './chat.ts';
import { APPEAL_DECISIONS, DECISIONS, VERIFICATION_DECISIONS, findReasonCode, giveStrike, issueStatement, tellReporters, type CaseFacts, type DecisionAction } from './outcomes.ts';
import { accessibleQueues, mayAccessQueue, type Moderator } from './queues.ts';
import { applyVerificationDecision, checkVerificationReason, reopenVerificationForReview, verificationFacts } from './verification.ts';

export interface ReviewDeps {
  db: Db;
  redis: Redis;
  prefix: string;
  logger: Logger;
  /** The moderation section of the policy in force. */
  policy: () => { version: string; moderation: ModerationPolicy };
  review: { claimIdleMs: number; undoMs: number; appealWindowMs: number; slaMinutes: Record<Priority, number> };
  /** How long an approved verification stays valid, in ms (config.verification.validMs; default 365 days). */
  verificationValidMs?: number;
}

/**
 * A case for a moderator's direct action (ban a user, end a broadcast) that is opened and decided in one
 * transaction: `preview` is the row as it will be (its id filled in once opened), `open` opens or joins it.
 */
export interface ManualCase { preview: CaseRow; open(tx: Tx): Promise<string> }

/** A decision as the API receives it. `durationHours` for timeout and suspend. */
export interface DecisionInput { action: DecisionAction; reasonCode: string; note?: string | null; durationHours?: number | null }

export interface DecisionResult { statementId: string | null; actionId: number | null; undoUntil: Date; escalatedTo: string | null }

type Effect = EnforcementMessage | { type: 'mirror'; userId: string; restriction: Restriction } | { type: 'unmirror'; userId: string };

const DEFAULT_HOURS: Partial<Record<DecisionAction, number>> = { timeout: 1, suspend: 24 * 7 };

/** Renders why a case could not be taken as a 409 (or 404). */
export function conflictError(c: CaseConflict): WardenError {
  if (c.kind === 'missing') return new WardenError('not_found', 'no such case');
  if (c.kind === 'resolved') return new WardenError('conflict', `the case is already decided${c.decidedBy ? ` (by @${c.decidedBy})` : ''}`);
  return new WardenError('conflict', `the case is claimed by @${c.handle ?? c.by} until ${c.until.toISOString()}`);
}

export class ReviewService {
  constructor(private readonly deps: ReviewDeps) {}

  /** The queues a user may work. */
  queuesOf(user: Moderator): string[] {
    return accessibleQueues(this.deps.policy().moderation, user);
  }

  /** A case the user may see. @throws 404 when missing, 403 when its queue is closed to them. */
  async caseFor(user: Moderator, id: string): Promise<CaseRow> {
    const row = await getCase(this.deps.db, id);
    if (!row) throw new WardenError('not_found', 'no such case');
    if (!mayAccessQueue(this.deps.policy().moderation, user, row.queue)) throw new WardenError('forbidden', `the ${row.queue} queue needs a permission you do not have`);
    return row;
  }

  /** Claims (or renews the claim on) a case. @throws 409 naming who holds it, 403 for an appeal of one's own decision. */
  async claim(user: Moderator, id: string): Promise<CaseRow> {
    const row = await this.caseFor(user, id);
    if (row.subjectType === 'appeal') await this.assertMayDecideAppeal(user, row);
    const r = await claimCase(this.deps.db, id, user.userId, this.deps.review.claimIdleMs);
    if (!r.ok) throw conflictError(r.conflict);
    await appendAction(this.deps.db, { action: 'claim', actorType: 'moderator', actorId: user.userId, subjectType: 'case', subjectId: id, caseId: id, userId: row.userId, broadcastId: row.broadcastId, details: {} });
    return (await getCase(this.deps.db, id))!;
  }

  /** Releases the user's claim. @throws 409 when they do not hold it. */
  async release(user: Moderator, id: string): Promise<CaseRow> {
    const row = await this.caseFor(user, id);
    if (!(await releaseCase(this.deps.db, id, user.userId))) throw new WardenError('conflict', 'you do not hold a claim on this case');
    await appendAction(this.deps.db, { action: 'release', actorType: 'moderator', actorId: user.userId, subjectType: 'case', subjectId: id, caseId: id, userId: row.userId, broadcastId: row.broadcastId, details: {} });
    return (await getCase(this.deps.db, id))!;
  }

  /** The decisions this user may take on this case now. */
  allowedDecisions(user: Moderator, row: CaseRow): string[] {
    if (row.status === 'resolved') return [];
    if (row.subjectType === 'appeal') return isSenior(user.role) ? [...APPEAL_DECISIONS] : [];
    if (row.subjectType === 'verification') return [...VERIFICATION_DECISIONS];
    const hasMessage = row.subjectType === 'message' || row.reason.startsWith('chat.');
    return DECISIONS.filter((d) => (d !== 'end_stream' || row.broadcastId) && (d !== 'remove' || hasMessage)
      && (!['timeout', 'suspend', 'ban', 'warn'].includes(d) || row.userId));
  }

  /**
   * Decides a case. Exactly one of two concurrent deciders wins; the other gets 409.
   * @throws 400 for an unknown reason code or a decision that does not fit the case, 403 for an appeal the user
   *         may not decide, 409 when another moderator holds the case or it is decided.
   */
  async decide(user: Moderator, target: string | ManualCase, input: DecisionInput): Promise<DecisionResult & { caseId: string }> {
    const policy = this.deps.policy();
    const row = typeof target === 'string' ? await this.caseFor(user, target) : target.preview;
    if (typeof target !== 'string' && !mayAccessQueue(policy.moderation, user, row.queue)) throw new WardenError('forbidden', `the ${row.queue} queue needs a permission you do not have`);
    const reasonCode = findReasonCode(policy.moderation, input.reasonCode);
    if (!reasonCode) throw new WardenError('bad_request', `reasonCode: unknown reason code "${input.reasonCode}" (see GET /api/reason-codes)`);
    const isAppeal = row.subjectType === 'appeal';
    if (isAppeal !== (APPEAL_DECISIONS as readonly string[]).includes(input.action)) {
      throw new WardenError('bad_request', isAppeal ? 'action: an appeal is decided with uphold or overturn' : `action: ${input.action} applies only to appeal cases`);
    }
    if (isAppeal) await this.assertMayDecideAppeal(user, row);
    const isVerification = row.subjectType === 'verification';
    if (!isAppeal && isVerification !== (VERIFICATION_DECISIONS as readonly string[]).includes(input.action)) {
      throw new WardenError('bad_request', isVerification ? 'action: a verification is decided with approve or reject' : `action: ${input.action} applies only to verification cases`);
    }
    if (isVerification) checkVerificationReason(input.action as 'approve' | 'reject', reasonCode.code);
    if (!isAppeal && row.status !== 'resolved' && !this.allowedDecisions(user, row).includes(input.action)) {
      throw new WardenError('bad_request', `action: ${input.action} does not apply to this case (${row.subjectType}${row.userId ? '' : ', no user'}${row.broadcastId ? '' : ', no broadcast'})`);
    }
    const note = input.note?.trim() || null;
    const hours = input.durationHours ?? DEFAULT_HOURS[input.action] ?? null;
    const effects: Effect[] = [];
    let id = typeof target === 'string' ? target : '';
    const result = await this.deps.db.transaction(async (tx) => {
      // a moderator's direct action opens its case in this same transaction: a refused decision leaves no case behind
      if (typeof target !== 'string') { id = await target.open(tx); row.id = id; }
      const resolved = await resolveCase(tx, id, user.userId, { decision: input.action, reasonCode: reasonCode.code, note });
      if (!resolved.ok) throw conflictError(resolved.conflict);
      const actionId = await appendAction(tx, {
        action: input.action, actorType: 'moderator', actorId: user.userId, subjectType: row.subjectType, subjectId: row.subjectId,
        broadcastId: row.broadcastId, userId: row.userId, caseId: id, ruleId: row.reasonType === 'rule' ? row.reason : null, policyVersion: policy.version,
        details: { decision: input.action, reasonCode: reasonCode.code, note, durationHours: ['timeout', 'suspend'].includes(input.action) ? hours : null, caseReason: row.reason, priority: row.priority },
      });
      if (isAppeal) return { ...(await this.applyAppeal(tx, user, row, input.action as 'uphold' | 'overturn', note, effects)), actionId, undoUntil: new Date(resolved.resolvedAt.getTime() + this.deps.review.undoMs), escalatedTo: null };
      if (isVerification) {
        // approve: valid from now for the configured time; reject: a statement of reasons (appealable), no strike
        const v = await applyVerificationDecision(tx, {
          verificationId: row.subjectId, decision: input.action as 'approve' | 'reject', moderatorId: user.userId, reasonCode: reasonCode.code,
          validMs: this.deps.verificationValidMs ?? 365 * 86_400_000,
        });
        const statementId = input.action === 'reject' && row.userId ? await issueStatement(tx, {
          userId: row.userId, facts: verificationFacts(v, id, policy.version), decision: 'reject', reasonCode, note, actionId, automatedDecision: false,
          restriction: { kind: 'verification_rejected', until: null }, appealWindowMs: this.deps.review.appealWindowMs,
        }) : null;
        return { statementId, actionId, undoUntil: new Date(resolved.resolvedAt.getTime() + this.deps.review.undoMs), escalatedTo: null };
      }
      const restriction = await this.enforce(tx, user, row, input.action, reasonCode.code, hours, effects);
      let statementId: string | null = null;
      let escalatedTo: string | null = null;
      if (input.action !== 'dismiss' && row.userId) {
        statementId = await issueStatement(tx, {
          userId: row.userId, facts: await this.facts(tx, row), decision: input.action, reasonCode, note, actionId,
          automatedDecision: false, restriction, appealWindowMs: this.deps.review.appealWindowMs,
        });
        const strike = await giveStrike(tx, policy.moderation, { userId: row.userId, caseId: id, statementId, reasonCode, decision: input.action });
        const step = strike.escalation;
        const severity = (a: string) => ({ ban: 2, suspend: 1 } as Record<string, number>)[a] ?? 0;
        if (step && severity(step.action) > severity(input.action)) {
          escalatedTo = step.action;
          const escalation = await this.enforce(tx, user, row, step.action, reasonCode.code, step.durationMs === null ? null : step.durationMs / 3_600_000, effects);
          await appendAction(tx, {
            action: 'escalate', actorType: 'system', actorId: 'strikes', subjectType: 'user', subjectId: row.userId, userId: row.userId, caseId: id, policyVersion: policy.version,
            details: { points: strike.points, step: { points: step.points, action: step.action, durationMs: step.durationMs } },
          });
          await issueStatement(tx, {
            userId: row.userId, facts: { ...(await this.facts(tx, row)), observations: [`Your active strike points reached ${strike.points} (the policy escalates at ${step.points}).`] },
            decision: step.action, reasonCode, note: null, actionId, automatedDecision: true, restriction: escalation, appealWindowMs: this.deps.review.appealWindowMs,
          });
        }
      }
      await tellReporters(tx, id, input.action, reasonCode);
      return { statementId, actionId, undoUntil: new Date(resolved.resolvedAt.getTime() + this.deps.review.undoMs), escalatedTo };
    });
    await this.apply(effects);
    this.deps.logger.info({ caseId: id, moderator: user.userId, action: input.action, reasonCode: reasonCode.code, escalatedTo: result.escalatedTo }, 'case decided');
    return { ...result, caseId: id };
  }

  /**
   * Undoes the user's own decision within the undo window: lifts the bans it imposed, removes its strikes,
   * withdraws its statements and notifications, and reopens the case claimed by them. An ended stream stays
   * ended (the performer may publish again once no ban stands).
   * @throws 409 when the window has passed or the decision is not theirs.
   */
  async undo(user: Moderator, id: string): Promise<CaseRow> {
    const row = await this.caseFor(user, id);
    // an overturn has already restored the user's standing and told them; reversing it is a new decision
    if (row.decision === 'overturn') throw new WardenError('conflict', 'an overturned appeal cannot be undone; open a new case against the user instead');
    const effects: Effect[] = [];
    await this.deps.db.transaction(async (tx) => {
      if (!(await reopenCase(tx, id, user.userId, this.deps.review.undoMs, this.deps.review.claimIdleMs))) {
        throw new WardenError('conflict', `only the moderator who decided can undo, within ${this.deps.review.undoMs / 1000} s`);
      }
      const lifted = await liftBans(tx, { caseId: id }, `moderator:${user.userId}`);
      for (const b of lifted) if (b.scope === 'platform') effects.push({ type: 'unmirror', userId: b.userId });
      await removeStrikesOfCase(tx, id);
      await withdrawStatements(tx, id, 'undone by the moderator');
      await deleteCaseNotifications(tx, id);
      await setReportOutcome(tx, id, null);
      if (row.subjectType === 'appeal') await reopenAppeal(tx, row.subjectId);
      if (row.subjectType === 'verification' && (row.decision === 'approve' || row.decision === 'reject')
        && !(await reopenVerification(tx, row.subjectId, row.decision === 'approve' ? 'approved' : 'rejected'))) {
        throw new WardenError('conflict', 'the verification changed since the decision (revoked, or a new one is pending); it cannot be undone');
      }
      await appendAction(tx, {
        action: 'undo_decision', actorType: 'moderator', actorId: user.userId, subjectType: row.subjectType, subjectId: row.subjectId,
        broadcastId: row.broadcastId, userId: row.userId, caseId: id, details: { undone: row.decision, liftedBans: lifted.map((b) => b.id) },
      });
    });
    await this.apply(effects);
    return (await getCase(this.deps.db, id))!;
  }

  /**
   * Lifts every active ban and suspension of a user (senior moderators and admins), audited; the chat mirror
   * is updated at once. @returns how many were lifted.
   */
  async lift(user: Moderator, userId: string, note: string): Promise<number> {
    if (!isSenior(user.role)) throw new WardenError('forbidden', 'lifting a ban needs a senior moderator');
    const lifted = await this.deps.db.transaction(async (tx) => {
      const rows = await liftBans(tx, { userId }, `moderator:${user.userId}`);
      if (rows.length === 0) throw new WardenError('conflict', 'the user has no active ban or suspension');
      await appendAction(tx, { action: 'lift', actorType: 'moderator', actorId: user.userId, subjectType: 'user', subjectId: userId, userId, details: { note, bans: rows.map((r) => ({ id: r.id, kind: r.kind })) } });
      return rows;
    });
    await this.apply([{ type: 'unmirror', userId }]);
    return lifted.length;
  }

  /** Writes what a decision imposes (inside the transaction) and queues its messages. @returns the restriction. */
  private async enforce(tx: Tx, user: Moderator, row: CaseRow, action: string, reasonCode: string, hours: number | null, effects: Effect[]): Promise<{ kind: string; until: string | null } | null> {
    const reason = `moderator decision: ${reasonCode}`;
    if (action === 'remove') {
      // held messages were never delivered; removal keeps them out of every record shown to viewers
      const n = await removeCaseMessages(tx, row.id, `moderator:${user.userId}`);
      return n ? { kind: 'content_removed', until: null } : null;
    }
    if (action === 'end_stream' && row.broadcastId) {
      effects.push({ type: 'end_stream', broadcastId: row.broadcastId, reason });
      return { kind: 'end_stream', until: null };
    }
    if (!row.userId || !['ban', 'suspend', 'timeout'].includes(action)) return null;
    const kind = action === 'suspend' ? 'suspension' : action as 'ban' | 'timeout';
    const until = action === 'ban' || hours === null ? null : new Date(Date.now() + hours * 3_600_000);
    await insertBan(tx, { userId: row.userId, kind, reason, caseId: row.id, createdBy: `moderator:${user.userId}`, expiresAt: until });
    // a permanent ban also revokes the performer's stream keys (lifting the ban does not restore them: they make a new one)
    if (kind === 'ban' && until === null) {
      const revoked = await revokeUserStreamKeys(tx, row.userId);
      if (revoked.length) await appendAction(tx, { action: 'revoke_stream_keys', actorType: 'system', actorId: 'ban', subjectType: 'user', subjectId: row.userId, userId: row.userId, caseId: row.id, details: { keyPrefixes: revoked } });
    }
    const restriction: Restriction = { kind, until: until?.toISOString() ?? null, reason };
    effects.push({ type: 'mirror', userId: row.userId, restriction }, { type: 'restrict_user', userId: row.userId, scope: 'platform', restriction });
    if (kind !== 'timeout') effects.push({ type: 'kick_user', userId: row.userId, reason });
    return { kind, until: restriction.until };
  }

  private async facts(tx: Tx, row: CaseRow): Promise<CaseFacts> {
    const observations: string[] = [];
    const evidence = await caseEvidenceRows(tx, row.id);
    for (const e of evidence.slice(0, 5)) {
      const d = e.details as { label?: string; score?: number; body?: string; findings?: { text?: string }[] };
      const at = e.capturedAt ? ` at ${e.capturedAt.toISOString()}` : '';
      if (e.kind === 'frame' && d.label) observations.push(`A frame of your broadcast${at} was scored ${d.label} ${Number(d.score).toFixed(2)} by the image classifier.`);
      else if (e.kind === 'audio') observations.push(`Speech in your broadcast${at} was recognised as "${d.findings?.[0]?.text ?? 'a watch-listed phrase'}".`);
      else if (d.body) observations.push(`Your chat message "${d.body.slice(0, 200)}".`);
    }
    if (evidence.length > 5) observations.push(`${evidence.length - 5} more pieces of evidence are on record.`);
    const reports = await caseReports(tx, row.id);
    if (reports.length) observations.push(`${reports.length} viewer report${reports.length === 1 ? '' : 's'} (${[...new Set(reports.map((r) => r.category))].join(', ')}).`);
    return { caseId: row.id, subjectType: row.subjectType, reason: row.reason, reasonType: row.reasonType, policyVersion: row.policyVersion, observations };
  }

  private async assertMayDecideAppeal(user: Moderator, row: CaseRow): Promise<void> {
    if (!isSenior(user.role)) throw new WardenError('forbidden', 'appeals are decided by a senior moderator');
    const appeal = await getAppeal(this.deps.db, row.subjectId);
    const statement = appeal && await getStatement(this.deps.db, appeal.statementId);
    const original = statement?.caseId ? await getCase(this.deps.db, statement.caseId) : undefined;
    if (original?.decidedBy === user.userId) throw new WardenError('forbidden', 'an appeal is decided by a different moderator than the one who took the decision');
  }

  private async applyAppeal(tx: Tx, user: Moderator, row: CaseRow, action: 'uphold' | 'overturn', note: string | null, effects: Effect[]) {
    const appeal = await getAppeal(tx, row.subjectId);
    if (!appeal) throw new WardenError('not_found', 'the appeal behind this case is gone');
    await decideAppeal(tx, appeal.id, { status: action === 'uphold' ? 'upheld' : 'overturned', decidedBy: user.userId, note });
    const statement = await getStatement(tx, appeal.statementId);
    if (action === 'overturn' && statement?.caseId) {
      const lifted = await liftBans(tx, { caseId: statement.caseId }, `appeal:${appeal.id}`);
      for (const b of lifted) if (b.scope === 'platform') effects.push({ type: 'unmirror', userId: b.userId });
      await removeStrikesOfCase(tx, statement.caseId);
      await withdrawStatements(tx, statement.caseId, 'overturned on appeal');
      // an overturned verification rejection goes back to review (a new case), never straight to approved
      const original = await getCase(tx, statement.caseId);
      if (original?.subjectType === 'verification' && original.decision === 'reject') {
        await reopenVerificationForReview(tx, { verificationId: original.subjectId, userId: original.userId }, { policy: this.deps.policy(), slaMinutes: this.deps.review.slaMinutes });
      }
    }
    await insertNotification(tx, {
      userId: appeal.userId, kind: 'appeal_outcome', title: action === 'uphold' ? 'Your appeal was not successful' : 'Your appeal was successful',
      body: { caseId: row.id, appealId: appeal.id, statementId: appeal.statementId, outcome: action, note },
    });
    return { statementId: appeal.statementId };
  }

  /** Publishes enforcement messages and updates the Redis mirror after commit (idempotent if repeated). */
  private async apply(effects: Effect[]): Promise<void> {
    const { redis, prefix, db } = this.deps;
    for (const e of effects) {
      if (e.type === 'mirror') await mirrorRestriction(redis, prefix, e.userId, 'platform', e.restriction);
      else if (e.type === 'unmirror') {
        await redis.del(restrictionKey(prefix, 'platform', e.userId));
        const [still] = await activeRestrictions(db, e.userId);
        if (still) await mirrorRestriction(redis, prefix, e.userId, 'platform', { kind: still.kind, until: still.expiresAt?.toISOString() ?? null, reason: still.reason });
      } else await redis.publish(enforcementChannel(prefix), JSON.stringify(e));
    }
  }
}

/** Senior moderators and admins. */
export function isSenior(role: Role): boolean {
  return role === 'senior_moderator' || role === 'admin';
}
