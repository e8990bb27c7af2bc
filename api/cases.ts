/**
 * The review queue over HTTP: list (filters, priority then SLA order, counts per priority), a case with its
 * evidence, claim / release, decide, undo, "next case", the queues and the reason codes. Moderators only; a
 * queue that needs a permission is invisible without it.
 */
import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import {
  caseEvidenceRows, caseReports, caseStatement, chatAround, getAppeal, getCase, getChatMessage, getStatement, listAudit, listCases, nextCaseId,
  sampleScores, userStanding, type CaseRow, type Db, type StatementRow,
} from '../db/index.ts';
import { caseStatuses, caseSubjectTypes, priorities } from '../db/schema.ts';
import {
  APPEAL_DECISIONS, DECISIONS, VERIFICATION_DECISIONS, allQueues, mayAccessQueue, suggestReasonCode, type Moderator, type ReviewService,
} from '../moderation/index.ts';
import { caseVerification, caseVerificationSchema } from './verification.ts';
import type { ModerationPolicy } from '../rules/moderation-policy.ts';
import type { AuthUser } from './auth.ts';
import { MODERATORS, idParams, iso, isoTime, pageOf, paging, userRef, type ApiRouter } from './route.ts';

/** The review rules' view of the signed-in user. */
export function moderatorOf(user: AuthUser): Moderator {
  return { userId: user.userId, role: user.role, permissions: (user as AuthUser & { permissions?: string[] }).permissions ?? [] };
}

export const caseSummarySchema = z.object({
  id: z.string(), subjectType: z.enum(caseSubjectTypes), subjectId: z.string(), broadcastId: z.string().nullable(), user: userRef.nullable(),
  reasonType: z.enum(['rule', 'report', 'appeal']), reason: z.string(), queue: z.string(), priority: z.enum(priorities),
  status: z.enum(caseStatuses), slaDueAt: isoTime, overdue: z.boolean(), claimedBy: userRef.nullable(), claimExpiresAt: isoTime.nullable(),
  reportCount: z.int(), evidenceCount: z.int(), thumbnailUrl: z.string().nullable(), createdAt: isoTime, updatedAt: isoTime,
  resolvedAt: isoTime.nullable(), decision: z.string().nullable(), reasonCode: z.string().nullable(), decisionNote: z.string().nullable(),
  decidedBy: userRef.nullable(), policyVersion: z.string().nullable(),
});
export type CaseSummary = z.infer<typeof caseSummarySchema>;

/** A case row as the API returns it. */
export function caseSummary(r: CaseRow): CaseSummary {
  return {
    id: r.id, subjectType: r.subjectType, subjectId: r.subjectId, broadcastId: r.broadcastId,
    user: r.userId ? { id: r.userId, handle: r.userHandle ?? '' } : null, reasonType: r.reasonType, reason: r.reason, queue: r.queue,
    priority: r.priority, status: r.status, slaDueAt: r.slaDueAt.toISOString(), overdue: r.status !== 'resolved' && r.slaDueAt < new Date(),
    claimedBy: r.claimedBy ? { id: r.claimedBy, handle: r.claimedByHandle ?? '' } : null, claimExpiresAt: iso(r.claimExpiresAt),
    reportCount: r.reportCount, evidenceCount: r.evidenceCount, thumbnailUrl: r.thumbnailSampleId ? `/api/samples/${r.thumbnailSampleId}/image` : null,
    createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString(), resolvedAt: iso(r.resolvedAt), decision: r.decision,
    reasonCode: r.reasonCode, decisionNote: r.decisionNote, decidedBy: r.decidedBy ? { id: r.decidedBy, handle: r.decidedByHandle ?? '' } : null,
    policyVersion: r.policyVersion,
  };
}

export const statementSchema = z.object({
  id: z.string(), userId: z.string(), caseId: z.string().nullable(), decision: z.string(), reasonCode: z.string(), facts: z.string(),
  ground: z.object({ rule: z.string().nullable(), policyVersion: z.string().nullable(), reasonCode: z.string(), description: z.string() }),
  automatedDetection: z.boolean(), automatedDecision: z.boolean(), restriction: z.object({ kind: z.string(), until: z.string().nullable() }).nullable(),
  redress: z.string(), appealableUntil: isoTime.nullable(), withdrawnAt: isoTime.nullable(), withdrawnReason: z.string().nullable(), createdAt: isoTime,
});

/** A statement of reasons as the API returns it. */
export function statementOut(s: StatementRow): z.infer<typeof statementSchema> {
  return {
    id: s.id, userId: s.userId, caseId: s.caseId, decision: s.decision, reasonCode: s.reasonCode, facts: s.facts,
    ground: s.ground as z.infer<typeof statementSchema>['ground'], automatedDetection: s.automatedDetection, automatedDecision: s.automatedDecision,
    restriction: s.restriction as { kind: string; until: string | null } | null, redress: s.redress, appealableUntil: iso(s.appealableUntil),
    withdrawnAt: iso(s.withdrawnAt), withdrawnReason: s.withdrawnReason, createdAt: s.createdAt.toISOString(),
  };
}

const caseListQuery = z.strictObject({
  status: z.enum([...caseStatuses, 'unresolved']).default('unresolved'),
  priority: z.enum(priorities).optional(),
  reason: z.string().max(200).optional(),
  queue: z.string().max(100).optional(),
  subjectType: z.enum(caseSubjectTypes).optional(),
  subjectId: z.string().max(100).optional(),
  userId: z.uuid().optional(),
  mine: z.enum(['true', 'false']).optional(),
  ...paging,
});

const decisionBody = z.strictObject({
  action: z.enum([...DECISIONS, ...APPEAL_DECISIONS, ...VERIFICATION_DECISIONS]),
  reasonCode: z.string().min(1).max(64),
  note: z.string().max(2000).nullish(),
  durationHours: z.number().positive().max(24 * 365).nullish(),
});

const evidenceSchema = z.object({
  id: z.number(), sampleId: z.string().nullable(), kind: z.enum(['frame', 'audio']).nullable(), ruleId: z.string().nullable(),
  capturedAt: isoTime.nullable(), imageUrl: z.string().nullable(), audioUrl: z.string().nullable(),
  scores: z.record(z.string(), z.number()).nullable(), details: z.record(z.string(), z.unknown()),
  transcript: z.object({ text: z.string(), start: z.number(), end: z.number(), words: z.array(z.object({ word: z.string(), start: z.number(), end: z.number() })) }).nullable(),
});

const caseDetailSchema = caseSummarySchema.extend({
  evidence: z.array(evidenceSchema),
  chat: z.array(z.object({ id: z.string(), handle: z.string().nullable(), body: z.string(), verdict: z.string(), createdAt: isoTime, highlight: z.boolean() })),
  reports: z.array(z.object({ id: z.string(), reporter: userRef, category: z.string(), note: z.string().nullable(), createdAt: isoTime })),
  history: z.object({ strikePoints: z.int(), strikes: z.array(z.unknown()), bans: z.array(z.unknown()), recentActions: z.array(z.unknown()) }).nullable(),
  audit: z.array(z.unknown()),
  statement: statementSchema.nullable(),
  appeal: z.object({ id: z.string(), body: z.string(), status: z.string(), statementId: z.string(), statement: statementSchema.nullable(), originalCaseId: z.string().nullable(), originalDecidedBy: userRef.nullable() }).nullable(),
  /** Verification cases: the checks, the distance and threshold, the age and the two images' URLs. */
  verification: caseVerificationSchema.nullable(),
  allowedDecisions: z.array(z.string()),
  suggestedReasonCode: z.string(),
  undoUntil: isoTime.nullable(),
});

/** Declares the queue routes. */
export function caseRoutes(router: ApiRouter, deps: { db: Db; review: ReviewService; policy: () => { moderation: ModerationPolicy }; undoMs: number }): void {
  const { db, review } = deps;

  router.add({
    method: 'get', path: '/queues', tag: 'queue', access: MODERATORS, summary: 'The review queues and whether you may work each',
    response: z.array(z.object({ name: z.string(), label: z.string(), permission: z.string().nullable(), accessible: z.boolean() })),
  }, ({ c, user }) => c.json(allQueues(deps.policy().moderation).map((q) => ({
    name: q.name, label: q.label, permission: q.seniorOnly ? 'senior_moderator' : q.permission, accessible: mayAccessQueue(deps.policy().moderation, moderatorOf(user), q.name),
  }))));

  router.add({
    method: 'get', path: '/reason-codes', tag: 'queue', access: MODERATORS, summary: 'Reason codes with their strike weight',
    response: z.array(z.object({ code: z.string(), label: z.string(), weight: z.int(), description: z.string() })),
  }, ({ c }) => c.json(deps.policy().moderation.reasonCodes.map((r) => ({ code: r.code, label: r.label, weight: r.weight, description: r.description }))));

  router.add({
    method: 'get', path: '/cases', tag: 'queue', access: MODERATORS, query: caseListQuery,
    summary: 'The queue: most urgent first (priority, then SLA due time), with unresolved counts per priority',
    response: pageOf(caseSummarySchema).extend({ counts: z.record(z.enum(priorities), z.int()) }),
  }, async ({ c, query, user }) => {
    const m = moderatorOf(user);
    const queues = review.queuesOf(m).filter((q) => !query.queue || q === query.queue);
    const { rows, total, counts } = await listCases(db, { ...query, queues, claimedBy: query.mine === 'true' ? user.userId : undefined });
    return c.json({ data: rows.map(caseSummary), total, counts });
  });

  router.add({
    method: 'post', path: '/cases/next', tag: 'queue', access: MODERATORS,
    summary: 'Claims the most urgent case you can take and returns it (404 when the queue is empty)', response: caseSummarySchema,
  }, async ({ c, user }) => {
    const m = moderatorOf(user);
    for (let attempt = 0; attempt < 5; attempt++) {
      const id = await nextCaseId(db, user.userId, review.queuesOf(m));
      if (!id) throw new WardenError('not_found', 'the queue is empty');
      try {
        return c.json(caseSummary(await review.claim(m, id)));
      } catch (err) {
        if (!(err instanceof WardenError) || err.code !== 'conflict') throw err; // someone took it first: try the next
      }
    }
    throw new WardenError('conflict', 'the queue is moving fast; try again');
  });

  router.add({
    method: 'get', path: '/cases/:id', tag: 'queue', access: MODERATORS, params: idParams,
    summary: 'A case with its evidence, chat context, reports, the subject\'s history, audit trail and statement', response: caseDetailSchema,
  }, async ({ c, params, user }) => c.json(await caseDetail(db, review, moderatorOf(user), await review.caseFor(moderatorOf(user), params.id), deps)));

  router.add({
    method: 'post', path: '/cases/:id/claim', tag: 'queue', access: MODERATORS, params: idParams, response: caseSummarySchema,
    summary: 'Claims the case (or renews your claim: send it as a heartbeat while working it). 409 when someone else holds it',
  }, async ({ c, params, user }) => c.json(caseSummary(await review.claim(moderatorOf(user), params.id))));

  router.add({
    method: 'post', path: '/cases/:id/release', tag: 'queue', access: MODERATORS, params: idParams, response: caseSummarySchema,
    summary: 'Releases your claim',
  }, async ({ c, params, user }) => c.json(caseSummary(await review.release(moderatorOf(user), params.id))));

  router.add({
    method: 'post', path: '/cases/:id/decision', tag: 'queue', access: MODERATORS, params: idParams, body: decisionBody,
    summary: 'Decides the case: enforced at once, audited, with a statement of reasons for the user. 409 when another moderator holds or decided it',
    response: z.object({ case: caseSummarySchema, statementId: z.string().nullable(), undoUntil: isoTime, escalatedTo: z.string().nullable() }),
  }, async ({ c, params, body, user }) => {
    const r = await review.decide(moderatorOf(user), params.id, body);
    return c.json({ case: caseSummary((await getCase(db, params.id))!), statementId: r.statementId, undoUntil: r.undoUntil.toISOString(), escalatedTo: r.escalatedTo });
  });

  router.add({
    method: 'post', path: '/cases/:id/undo', tag: 'queue', access: MODERATORS, params: idParams, response: caseSummarySchema,
    summary: 'Undoes your decision within the undo window: bans lifted, strike and statement withdrawn, the case claimed by you again',
  }, async ({ c, params, user }) => c.json(caseSummary(await review.undo(moderatorOf(user), params.id))));
}

async function caseDetail(db: Db, review: ReviewService, m: Moderator, row: CaseRow, deps: { policy: () => { moderation: ModerationPolicy }; undoMs: number }) {
  const evidence = await caseEvidenceRows(db, row.id);
  const scores = await sampleScores(db, evidence.filter((e) => e.kind === 'frame' && e.sampleId).map((e) => e.sampleId!));
  const messageEvidence = evidence.map((e) => e.details as { messageId?: string; body?: string }).find((d) => d.messageId);
  const message = messageEvidence?.messageId ? await getChatMessage(db, messageEvidence.messageId) : undefined;
  const chat = message
    ? (await chatAround(db, message.broadcastId, message.createdAt)).map((x) => ({ id: x.id, handle: x.handle, body: x.body, verdict: x.verdict, createdAt: x.createdAt.toISOString(), highlight: x.id === message.id }))
    : [];
  const [reports, standing, audit, recent, statement] = await Promise.all([
    caseReports(db, row.id),
    row.userId ? userStanding(db, row.userId) : null,
    listAudit(db, { caseId: row.id, page: 1, perPage: 100 }),
    row.userId ? listAudit(db, { userId: row.userId, page: 1, perPage: 20 }) : null,
    caseStatement(db, row.id),
  ]);
  let appeal = null;
  if (row.subjectType === 'appeal') {
    const a = await getAppeal(db, row.subjectId);
    const st = a ? await getStatement(db, a.statementId) : undefined;
    const original = st?.caseId ? await getCase(db, st.caseId) : undefined;
    if (a) appeal = { id: a.id, body: a.body, status: a.status, statementId: a.statementId, statement: st ? statementOut(st) : null, originalCaseId: st?.caseId ?? null, originalDecidedBy: original?.decidedBy ? { id: original.decidedBy, handle: original.decidedByHandle ?? '' } : null };
  }
  const verification = row.subjectType === 'verification' ? await caseVerification(db, row.subjectId) ?? null : null;
  const undoUntil = row.status === 'resolved' && row.decidedBy === m.userId && row.resolvedAt && row.resolvedAt.getTime() + deps.undoMs > Date.now()
    ? new Date(row.resolvedAt.getTime() + deps.undoMs).toISOString() : null;
  return {
    ...caseSummary(row),
    evidence: evidence.map((e) => {
      const d = e.details as Record<string, unknown> & { audio?: { url?: string; start?: number; end?: number }; findings?: { text?: string }[] };
      const words = (e.transcriptWords as { word: string; start: number; end: number }[] | null) ?? [];
      const span = d.audio && typeof d.audio.start === 'number' && typeof d.audio.end === 'number' ? { start: d.audio.start, end: d.audio.end } : null;
      const inSpan = span ? words.filter((w) => w.end > span.start - 0.5 && w.start < span.end + 0.5) : [];
      return {
        id: e.id, sampleId: e.sampleId, kind: e.kind, ruleId: e.ruleId, capturedAt: iso(e.capturedAt),
        imageUrl: e.kind === 'frame' && e.sampleId ? `/api/samples/${e.sampleId}/image` : null,
        audioUrl: d.audio?.url ?? (e.kind === 'audio' && e.sampleId ? `/api/samples/${e.sampleId}/audio` : null),
        scores: e.sampleId ? scores.get(e.sampleId) ?? null : null, details: d,
        transcript: span ? { text: inSpan.map((w) => w.word).join(' '), start: span.start, end: span.end, words: inSpan } : null,
      };
    }),
    chat,
    reports: reports.map((r) => ({ id: r.id, reporter: { id: r.reporterId, handle: r.reporterHandle }, category: r.category, note: r.note, createdAt: r.createdAt.toISOString() })),
    history: standing && { strikePoints: standing.strikePoints, strikes: standing.strikes, bans: standing.bans, recentActions: recent?.data ?? [] },
    audit: audit.data,
    statement: statement ? statementOut(statement) : null,
    appeal,
    verification,
    allowedDecisions: review.allowedDecisions(m, row),
    suggestedReasonCode: verification ? (verification.match === false ? 'verification_face_mismatch' : 'verification_approved')
      : row.reasonType === 'report' && reports.length ? mostCommon(reports.map((r) => r.category))
        : suggestReasonCode(deps.policy().moderation, row.reason.replace(/^manual\./, 'report.')),
    undoUntil,
  };
}

/** The most frequent value (the first among equals). */
function mostCommon(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
}
