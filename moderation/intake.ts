/**
 * Cases that people open: a viewer's report (reports on one subject join one case, and more reporters raise its
 * priority), an appeal against a statement of reasons (a case in the appeals queue), and a moderator acting on
 * a user or a broadcast directly (a case opened and decided at once, so it has the same audit trail, statement
 * and appeal route as any other decision).
 */
import { WardenError } from '../core/errors.ts';
import {
  addEvidence, appendAction, escalateCase, getBroadcast, getCase, getChatMessage, getStatement, getUser, insertAppeal, insertReport, latestFrames,
  openOrJoinCase, reportCount, setAppealCase, setCaseQueue, type CaseRow, type Db, type Priority,
} from '../db/index.ts';
import { PRIORITIES } from '../rules/index.ts';
import type { ModerationPolicy } from '../rules/moderation-policy.ts';
import { findReasonCode, isReportCategory } from './outcomes.ts';
import { GENERAL_QUEUE, queueOfReason } from './queues.ts';
import type { ManualCase } from './review.ts';

export interface IntakeDeps {
  db: Db;
  policy: () => { version: string; moderation: ModerationPolicy };
  review: { slaMinutes: Record<Priority, number>; reportsPerStep: number };
}

/** Starting priority of a reported subject by the report's category (a possible minor is the most urgent). */
const REPORT_PRIORITY: Record<string, Priority> = { minor_safety: 'critical', violent_threat: 'urgent', self_harm: 'urgent', sexual_content: 'high' };

/** A report as the API receives it. */
export interface ReportInput { subjectType: 'broadcast' | 'message' | 'user'; subjectId: string; category: string; note?: string | null }

export class Intake {
  constructor(private readonly deps: IntakeDeps) {}

  private sla(p: Priority): Date {
    return new Date(Date.now() + this.deps.review.slaMinutes[p] * 60_000);
  }

  /**
   * Files a report. The subject must exist; the category is a reason code (not `no_violation`). The report
   * joins the subject's unresolved report case (opening one if needed); every `reportsPerStep` distinct
   * reporters raise it one priority step; a category with a restricted queue moves the case there.
   * @throws 400 bad category, 404 unknown subject, 409 when this reporter already reported into this case.
   */
  async fileReport(reporterId: string, r: ReportInput): Promise<{ id: string; caseId: string; priority: Priority }> {
    const policy = this.deps.policy();
    const code = findReasonCode(policy.moderation, r.category);
    if (!code || !isReportCategory(code.code)) {
      throw new WardenError('bad_request', `category: unknown category "${r.category}" (one of ${policy.moderation.reasonCodes.filter((c) => isReportCategory(c.code)).map((c) => c.code).join(', ')})`);
    }
    const subject = await this.resolveSubject(r);
    return this.deps.db.transaction(async (tx) => {
      const base = REPORT_PRIORITY[code.code] ?? 'normal';
      const queue = queueOfReason(policy.moderation, `report.${code.code}`);
      const c = await openOrJoinCase(tx, {
        subjectType: r.subjectType, subjectId: r.subjectId, broadcastId: subject.broadcastId, userId: subject.userId,
        reasonType: 'report', reason: 'report', priority: base, slaDueAt: this.sla(base), policyVersion: policy.version, queue,
      });
      const id = await insertReport(tx, {
        reporterId, subjectType: r.subjectType, subjectId: r.subjectId, userId: subject.userId, broadcastId: subject.broadcastId,
        category: code.code, note: r.note?.trim() || null, caseId: c.id,
      });
      if (!id) throw new WardenError('conflict', 'you have already reported this; moderators are looking at it');
      const count = await reportCount(tx, c.id);
      const rank = Math.max(0, PRIORITIES.indexOf(base) - Math.floor(count / this.deps.review.reportsPerStep));
      const priority = PRIORITIES[rank]!;
      await escalateCase(tx, c.id, priority, this.sla(priority), count);
      if (queue !== GENERAL_QUEUE) await setCaseQueue(tx, c.id, queue);
      if (r.subjectType === 'broadcast') {
        // what the viewer was looking at: the broadcast's latest analysed frames become evidence on the case
        for (const f of await latestFrames(tx, r.subjectId, 2)) {
          await addEvidence(tx, { caseId: c.id, sampleId: f.id, ruleId: null, details: { reported: true, reportId: id, category: code.code } });
        }
      }
      if (r.subjectType === 'message' && subject.message) {
        await addEvidence(tx, { caseId: c.id, sampleId: null, details: { messageId: subject.message.id, body: subject.message.body, reported: true } });
      }
      await appendAction(tx, {
        action: 'report', actorType: 'user', actorId: reporterId, subjectType: r.subjectType, subjectId: r.subjectId,
        broadcastId: subject.broadcastId, userId: subject.userId, caseId: c.id, details: { reportId: id, category: code.code, reporters: count },
      });
      const after = await getCase(tx, c.id);
      return { id, caseId: c.id, priority: after?.priority ?? priority };
    });
  }

  /**
   * Files an appeal against a statement of reasons: only by its user, within its appeal window, once.
   * @throws 404 unknown statement (or someone else's), 409 already appealed / withdrawn / window passed.
   */
  async fileAppeal(userId: string, a: { statementId: string; body: string }): Promise<{ id: string; caseId: string }> {
    const statement = await getStatement(this.deps.db, a.statementId);
    if (!statement || statement.userId !== userId) throw new WardenError('not_found', 'no such statement of reasons for you');
    if (statement.withdrawnAt) throw new WardenError('conflict', 'this decision was already withdrawn');
    if (statement.appealableUntil && statement.appealableUntil < new Date()) throw new WardenError('conflict', `the appeal window closed at ${statement.appealableUntil.toISOString()}`);
    const policy = this.deps.policy();
    return this.deps.db.transaction(async (tx) => {
      const id = await insertAppeal(tx, { statementId: statement.id, userId, body: a.body.trim() });
      if (!id) throw new WardenError('conflict', 'this decision has already been appealed');
      const original = statement.caseId ? await getCase(tx, statement.caseId) : undefined;
      const c = await openOrJoinCase(tx, {
        subjectType: 'appeal', subjectId: id, userId, broadcastId: original?.broadcastId ?? null, reasonType: 'appeal', reason: 'appeal',
        priority: 'normal', slaDueAt: this.sla('normal'), policyVersion: policy.version, queue: queueOfReason(policy.moderation, 'appeal'),
      });
      await setAppealCase(tx, id, c.id);
      await appendAction(tx, {
        action: 'appeal', actorType: 'user', actorId: userId, subjectType: 'statement', subjectId: statement.id, userId, caseId: c.id,
        details: { appealId: id, originalCaseId: statement.caseId, decision: statement.decision },
      });
      return { id, caseId: c.id };
    });
  }

  /**
   * A case for a moderator's direct action on a user or a broadcast (reason `manual.<code>`, high priority), to be
   * opened and decided in one transaction by {@link ReviewService.decide}.
   * @throws 404 unknown subject, 400 unknown reason code.
   */
  async manualCase(s: { subjectType: 'user' | 'broadcast'; subjectId: string; reasonCode: string }): Promise<ManualCase> {
    const policy = this.deps.policy();
    if (!findReasonCode(policy.moderation, s.reasonCode)) throw new WardenError('bad_request', `reasonCode: unknown reason code "${s.reasonCode}"`);
    const subject = await this.resolveSubject({ subjectType: s.subjectType, subjectId: s.subjectId });
    const reason = `manual.${s.reasonCode}`;
    const queue = queueOfReason(policy.moderation, `report.${s.reasonCode}`);
    const slaDueAt = this.sla('high');
    const now = new Date();
    const preview: CaseRow = {
      id: '', subjectType: s.subjectType, subjectId: s.subjectId, broadcastId: subject.broadcastId, userId: subject.userId, userHandle: null,
      reasonType: 'rule', reason, queue, priority: 'high', status: 'open', slaDueAt, policyVersion: policy.version, claimedBy: null,
      claimedByHandle: null, claimExpiresAt: null, reportCount: 0, evidenceCount: 0, thumbnailSampleId: null, decision: null, reasonCode: null,
      decisionNote: null, decidedBy: null, decidedByHandle: null, createdAt: now, updatedAt: now, resolvedAt: null,
    };
    return {
      preview,
      open: async (tx) => (await openOrJoinCase(tx, {
        subjectType: s.subjectType, subjectId: s.subjectId, userId: subject.userId, broadcastId: subject.broadcastId,
        reasonType: 'rule', reason, priority: 'high', slaDueAt, policyVersion: policy.version, queue,
      })).id,
    };
  }

  private async resolveSubject(r: { subjectType: 'broadcast' | 'message' | 'user'; subjectId: string }) {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    if (!uuid.test(r.subjectId)) throw new WardenError('bad_request', 'subjectId: not a valid id');
    if (r.subjectType === 'broadcast') {
      const b = await getBroadcast(this.deps.db, r.subjectId);
      if (!b) throw new WardenError('not_found', 'no such broadcast');
      return { userId: b.userId, broadcastId: b.id, message: null };
    }
    if (r.subjectType === 'message') {
      const m = await getChatMessage(this.deps.db, r.subjectId);
      if (!m) throw new WardenError('not_found', 'no such message');
      return { userId: m.userId, broadcastId: m.broadcastId, message: m };
    }
    const u = await getUser(this.deps.db, r.subjectId);
    if (!u) throw new WardenError('not_found', 'no such user');
    return { userId: u.id, broadcastId: null, message: null };
  }
}
