/**
 * The review queue: listing cases in priority order, claims (exclusive, lapsing when idle), resolving a case
 * exactly once, reopening it on undo, and what a case view shows (evidence, reports, chat context).
 */
import { and, asc, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Tx } from '../connect.ts';
import {
  caseEvidence, cases, chatMessages, priorities, reports, samples, transcripts, users, type CaseSubjectType, type Priority,
} from '../schema.ts';

const priorityRank = sql.raw(`array['${priorities.join("','")}']::text[]`);

/** Status as the queue sees it: a claim that lapsed counts as open again. */
const effectiveStatus = sql<'open' | 'claimed' | 'resolved'>`case when ${cases.status} = 'claimed' and ${cases.claimExpiresAt} < now() then 'open' else ${cases.status} end`;

const subjectUser = alias(users, 'subject_user');
const claimer = alias(users, 'claimer');
const decider = alias(users, 'decider');

/** A case as the queue lists it. Times are Dates; `status` is the effective status. */
export interface CaseRow {
  id: string;
  subjectType: CaseSubjectType;
  subjectId: string;
  broadcastId: string | null;
  userId: string | null;
  userHandle: string | null;
  reasonType: 'rule' | 'report' | 'appeal';
  reason: string;
  queue: string;
  priority: Priority;
  status: 'open' | 'claimed' | 'resolved';
  slaDueAt: Date;
  policyVersion: string | null;
  claimedBy: string | null;
  claimedByHandle: string | null;
  claimExpiresAt: Date | null;
  reportCount: number;
  evidenceCount: number;
  thumbnailSampleId: string | null;
  decision: string | null;
  reasonCode: string | null;
  decisionNote: string | null;
  decidedBy: string | null;
  decidedByHandle: string | null;
  createdAt: Date;
  updatedAt: Date;
  resolvedAt: Date | null;
}

const caseColumns = {
  id: cases.id, subjectType: cases.subjectType, subjectId: cases.subjectId, broadcastId: cases.broadcastId, userId: cases.userId,
  userHandle: subjectUser.handle, reasonType: cases.reasonType, reason: cases.reason, queue: cases.queue, priority: cases.priority,
  status: effectiveStatus, slaDueAt: cases.slaDueAt, policyVersion: cases.policyVersion,
  claimedBy: sql<string | null>`case when ${effectiveStatus} = 'claimed' then ${cases.claimedBy} end`,
  claimedByHandle: sql<string | null>`case when ${effectiveStatus} = 'claimed' then ${claimer.handle} end`,
  claimExpiresAt: sql<Date | null>`case when ${effectiveStatus} = 'claimed' then ${cases.claimExpiresAt} end`.mapWith(cases.claimExpiresAt),
  reportCount: cases.reportCount,
  evidenceCount: sql<number>`(select count(*)::int from ${caseEvidence} e where e.case_id = ${cases.id})`,
  thumbnailSampleId: sql<string | null>`(select e.sample_id from ${caseEvidence} e join ${samples} s on s.id = e.sample_id where e.case_id = ${cases.id} and s.kind = 'frame' order by e.id limit 1)`,
  decision: cases.decision, reasonCode: cases.reasonCode, decisionNote: cases.decisionNote, decidedBy: cases.decidedBy,
  decidedByHandle: decider.handle, createdAt: cases.createdAt, updatedAt: cases.updatedAt, resolvedAt: cases.resolvedAt,
};

function caseQuery(db: Tx) {
  return db.select(caseColumns).from(cases)
    .leftJoin(subjectUser, eq(subjectUser.id, cases.userId))
    .leftJoin(claimer, eq(claimer.id, cases.claimedBy))
    .leftJoin(decider, eq(decider.id, cases.decidedBy));
}

/** Filters of the queue. `status: 'unresolved'` = open or claimed. `queues`: the queues the caller may see. */
export interface CaseFilter {
  status?: 'open' | 'claimed' | 'resolved' | 'unresolved';
  priority?: Priority;
  reason?: string;
  queue?: string;
  subjectType?: CaseSubjectType;
  subjectId?: string;
  userId?: string;
  claimedBy?: string;
  queues: string[];
  page: number;
  perPage: number;
}

function caseWhere(f: Omit<CaseFilter, 'page' | 'perPage'>): SQL | undefined {
  const conds: SQL[] = [inArray(cases.queue, f.queues.length ? f.queues : ['-'])];
  if (f.status === 'unresolved') conds.push(sql`${cases.status} <> 'resolved'`);
  else if (f.status) conds.push(sql`${effectiveStatus} = ${f.status}`);
  if (f.priority) conds.push(eq(cases.priority, f.priority));
  if (f.reason) conds.push(sql`(${cases.reason} = ${f.reason} or ${cases.reason} like ${`${f.reason.replace(/[\\%_]/g, '\\$&')}.%`})`);
  if (f.queue) conds.push(eq(cases.queue, f.queue));
  if (f.subjectType) conds.push(eq(cases.subjectType, f.subjectType));
  if (f.subjectId) conds.push(eq(cases.subjectId, f.subjectId));
  if (f.userId) conds.push(eq(cases.userId, f.userId));
  if (f.claimedBy) conds.push(sql`${effectiveStatus} = 'claimed' and ${cases.claimedBy} = ${f.claimedBy}`);
  return and(...conds);
}

/**
 * One page of the queue, most urgent first (priority, then SLA due time, then age), with the total and the
 * unresolved count per priority over the caller's queues.
 */
export async function listCases(db: Tx, f: CaseFilter): Promise<{ rows: CaseRow[]; total: number; counts: Record<Priority, number> }> {
  const where = caseWhere(f);
  const [rows, [total], countRows] = await Promise.all([
    caseQuery(db).where(where)
      .orderBy(sql`array_position(${priorityRank}, ${cases.priority})`, asc(cases.slaDueAt), asc(cases.createdAt))
      .limit(f.perPage).offset((f.page - 1) * f.perPage),
    db.select({ n: sql<number>`count(*)::int` }).from(cases).where(where),
    db.select({ priority: cases.priority, n: sql<number>`count(*)::int` }).from(cases)
      .where(and(inArray(cases.queue, f.queues.length ? f.queues : ['-']), sql`${cases.status} <> 'resolved'`)).groupBy(cases.priority),
  ]);
  const counts = Object.fromEntries(priorities.map((p) => [p, 0])) as Record<Priority, number>;
  for (const r of countRows) counts[r.priority] = r.n;
  return { rows: rows as CaseRow[], total: total?.n ?? 0, counts };
}

/** One case, or undefined. */
export async function getCase(db: Tx, id: string): Promise<CaseRow | undefined> {
  const [row] = await caseQuery(db).where(eq(cases.id, id)).limit(1);
  return row as CaseRow | undefined;
}

/** Why a claim or a decision could not take the case: who holds it, or that it is decided. */
export type CaseConflict = { kind: 'missing' } | { kind: 'resolved'; decidedBy: string | null } | { kind: 'claimed'; by: string; handle: string | null; until: Date };

async function conflictOf(db: Tx, id: string): Promise<CaseConflict> {
  const row = await getCase(db, id);
  if (!row) return { kind: 'missing' };
  if (row.status === 'resolved') return { kind: 'resolved', decidedBy: row.decidedByHandle };
  return { kind: 'claimed', by: row.claimedBy!, handle: row.claimedByHandle, until: row.claimExpiresAt! };
}

/** Whether `userId` may take the case now: it is open, their own claim, or a lapsed claim. */
const takeable = (userId: string) => sql`${cases.status} <> 'resolved' and (${cases.status} = 'open' or ${cases.claimedBy} = ${userId} or ${cases.claimExpiresAt} < now())`;

/**
 * Claims a case for `userId` until now + `idleMs` (renewing their own claim). Exclusive: a row lock and the
 * condition in one UPDATE, so of two moderators claiming at once exactly one gets it.
 * @returns the case, or why not.
 */
export async function claimCase(db: Tx, id: string, userId: string, idleMs: number): Promise<{ ok: true } | { ok: false; conflict: CaseConflict }> {
  const rows = await db.update(cases).set({
    status: 'claimed', claimedBy: userId, claimExpiresAt: sql`now() + ${`${idleMs} milliseconds`}::interval`, updatedAt: sql`now()`,
  }).where(and(eq(cases.id, id), takeable(userId))).returning({ id: cases.id });
  return rows.length ? { ok: true } : { ok: false, conflict: await conflictOf(db, id) };
}

/** Releases `userId`'s claim. @returns false when they did not hold it. */
export async function releaseCase(db: Tx, id: string, userId: string): Promise<boolean> {
  const rows = await db.update(cases).set({ status: 'open', claimedBy: null, claimExpiresAt: null, updatedAt: sql`now()` })
    .where(and(eq(cases.id, id), eq(cases.status, 'claimed'), eq(cases.claimedBy, userId))).returning({ id: cases.id });
  return rows.length > 0;
}

/**
 * Resolves a case with a decision, once: the UPDATE only matches a case `userId` may take, so when two
 * moderators decide at once the second waits on the row lock, then matches nothing.
 * @returns the resolved time, or why not.
 */
export async function resolveCase(db: Tx, id: string, userId: string, d: { decision: string; reasonCode: string; note: string | null }):
Promise<{ ok: true; resolvedAt: Date } | { ok: false; conflict: CaseConflict }> {
  const rows = await db.update(cases).set({
    status: 'resolved', decision: d.decision, reasonCode: d.reasonCode, decisionNote: d.note, decidedBy: userId,
    claimedBy: userId, claimExpiresAt: null, resolvedAt: sql`now()`, updatedAt: sql`now()`,
  }).where(and(eq(cases.id, id), takeable(userId))).returning({ resolvedAt: cases.resolvedAt });
  return rows.length ? { ok: true, resolvedAt: rows[0]!.resolvedAt! } : { ok: false, conflict: await conflictOf(db, id) };
}

/**
 * Reopens a case its decider undoes within `windowMs` of deciding, claimed by them again.
 * @returns false when the case is not theirs to undo or the window has passed.
 */
export async function reopenCase(db: Tx, id: string, userId: string, windowMs: number, idleMs: number): Promise<boolean> {
  const rows = await db.update(cases).set({
    status: 'claimed', claimedBy: userId, claimExpiresAt: sql`now() + ${`${idleMs} milliseconds`}::interval`,
    decision: null, reasonCode: null, decisionNote: null, decidedBy: null, resolvedAt: null, updatedAt: sql`now()`,
  }).where(and(eq(cases.id, id), eq(cases.status, 'resolved'), eq(cases.decidedBy, userId),
    sql`${cases.resolvedAt} > now() - ${`${windowMs} milliseconds`}::interval`)).returning({ id: cases.id });
  return rows.length > 0;
}

/** Moves a case to another queue (a report for a restricted queue joined it). */
export async function setCaseQueue(db: Tx, id: string, queue: string): Promise<void> {
  await db.update(cases).set({ queue, updatedAt: sql`now()` }).where(eq(cases.id, id));
}

/** Raises a case's priority (never lowers it) and pulls its SLA due time in; counts its reports. */
export async function escalateCase(db: Tx, id: string, priority: Priority, slaDueAt: Date, reportCount: number): Promise<void> {
  await db.update(cases).set({
    priority: sql`case when array_position(${priorityRank}, ${priority}::text) < array_position(${priorityRank}, ${cases.priority}) then ${priority} else ${cases.priority} end`,
    slaDueAt: sql`least(${cases.slaDueAt}, ${slaDueAt.toISOString()}::timestamptz)`, reportCount, updatedAt: sql`now()`,
  }).where(eq(cases.id, id));
}

/** The evidence of a case with its sample (kind, capture time) and, for audio, the transcript. */
export async function caseEvidenceRows(db: Tx, caseId: string) {
  return db.select({
    id: caseEvidence.id, sampleId: caseEvidence.sampleId, ruleId: caseEvidence.ruleId, details: caseEvidence.details,
    kind: samples.kind, capturedAt: samples.capturedAt, transcriptWords: transcripts.words,
  }).from(caseEvidence).leftJoin(samples, eq(samples.id, caseEvidence.sampleId)).leftJoin(transcripts, eq(transcripts.sampleId, caseEvidence.sampleId))
    .where(eq(caseEvidence.caseId, caseId)).orderBy(asc(caseEvidence.id)).limit(200);
}

/** Every signal of a set of samples as `{ sampleId → { label: score } }` (score bars in the console). */
export async function sampleScores(db: Tx, sampleIds: string[]): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  if (!sampleIds.length) return out;
  const rows = await db.execute<{ sample_id: string; label: string; score: number }>(
    sql`select sample_id, label, score from signals where sample_id in (${sql.join(sampleIds.map((s) => sql`${s}`), sql`, `)})`);
  for (const r of rows) {
    const m = out.get(r.sample_id) ?? {};
    m[r.label] = r.score;
    out.set(r.sample_id, m);
  }
  return out;
}

/** Chat messages around a time in a broadcast: `before` earlier ones and `after` later ones, oldest first. */
export async function chatAround(db: Tx, broadcastId: string, at: Date, before = 10, after = 5) {
  const cols = { id: chatMessages.id, userId: chatMessages.userId, handle: users.handle, body: chatMessages.body, verdict: chatMessages.verdict, createdAt: chatMessages.createdAt };
  const [earlier, later] = await Promise.all([
    db.select(cols).from(chatMessages).leftJoin(users, eq(users.id, chatMessages.userId))
      .where(and(eq(chatMessages.broadcastId, broadcastId), sql`${chatMessages.createdAt} <= ${at.toISOString()}`)).orderBy(desc(chatMessages.createdAt)).limit(before + 1),
    db.select(cols).from(chatMessages).leftJoin(users, eq(users.id, chatMessages.userId))
      .where(and(eq(chatMessages.broadcastId, broadcastId), sql`${chatMessages.createdAt} > ${at.toISOString()}`)).orderBy(asc(chatMessages.createdAt)).limit(after),
  ]);
  return [...earlier.reverse(), ...later];
}

/** A chat message by id (subject of a report or of a message case). */
export async function getChatMessage(db: Tx, id: string) {
  const [row] = await db.select().from(chatMessages).where(eq(chatMessages.id, id)).limit(1);
  return row;
}

/** The reports joined to a case, oldest first, with the reporter's handle. */
export async function caseReports(db: Tx, caseId: string) {
  return db.select({ id: reports.id, reporterId: reports.reporterId, reporterHandle: users.handle, category: reports.category, note: reports.note, createdAt: reports.createdAt })
    .from(reports).innerJoin(users, eq(users.id, reports.reporterId)).where(eq(reports.caseId, caseId)).orderBy(asc(reports.createdAt));
}

/** The most urgent case `userId` can take in the given queues (for "next case"), or undefined. */
export async function nextCaseId(db: Tx, userId: string, queues: string[]): Promise<string | undefined> {
  const [row] = await db.select({ id: cases.id }).from(cases)
    .where(and(inArray(cases.queue, queues.length ? queues : ['-']), takeable(userId), sql`not (${cases.status} = 'claimed' and ${cases.claimedBy} = ${userId})`))
    .orderBy(sql`array_position(${priorityRank}, ${cases.priority})`, asc(cases.slaDueAt), asc(cases.createdAt)).limit(1);
  return row?.id;
}

/** Marks the chat messages a case holds as evidence removed (by whom, when). @returns how many. */
export async function removeCaseMessages(db: Tx, caseId: string, by: string): Promise<number> {
  const rows = await db.execute<{ id: string }>(sql`update ${chatMessages} set details = details || ${JSON.stringify({ removedBy: by, removedAt: new Date().toISOString() })}::jsonb
    where id in (select (details->>'messageId')::uuid from ${caseEvidence} where case_id = ${caseId} and details ? 'messageId') returning id`);
  return rows.length;
}
