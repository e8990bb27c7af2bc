/**
 * Writes of the moderation log: actions (append-only audit log), cases and their evidence, bans.
 * Only moderation/ calls these (it is the one writer of moderation history).
 */
import { and, eq, isNotNull, sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { actions, bans, caseEvidence, cases, priorities, type CaseSubjectType, type Priority } from '../schema.ts';

/**
 * Firings of rules on a broadcast (rule id and the capture time of the sample it fired on) for samples captured
 * at or after `since`, for cooldowns. Bounded by the policy's lookback so a long broadcast's history is not
 * read on every evaluation.
 */
export async function ruleFirings(db: Tx, broadcastId: string, since: Date): Promise<{ ruleId: string; capturedAt: number }[]> {
  const rows = await db.selectDistinct({ ruleId: actions.ruleId, capturedAt: sql<string>`${actions.details}->>'capturedAt'` })
    .from(actions).where(and(eq(actions.broadcastId, broadcastId), isNotNull(actions.ruleId),
      sql`${actions.details}->>'capturedAt' >= ${since.toISOString()}`));
  return rows.filter((r) => r.ruleId && r.capturedAt).map((r) => ({ ruleId: r.ruleId!, capturedAt: Date.parse(r.capturedAt) }));
}

const priorityRank = sql.raw(`array['${priorities.join("','")}']::text[]`);

/**
 * Opens a case for (subject, reason), or returns the one still unresolved, raising its priority (and pulling its
 * SLA due time in) when the new priority is more urgent.
 * @returns the case id and whether it was opened by this call.
 */
export async function openOrJoinCase(db: Tx, c: {
  subjectType: CaseSubjectType; subjectId: string;
  broadcastId?: string | null; userId?: string | null; reasonType: 'rule' | 'report' | 'appeal'; reason: string;
  priority: Priority; slaDueAt: Date; policyVersion?: string | null;
  /** The review queue (moderation/queues.ts); default `general`. */
  queue?: string;
}): Promise<{ id: string; opened: boolean }> {
  const [row] = await db.insert(cases).values({ ...c, status: 'open' })
    .onConflictDoUpdate({
      target: [cases.subjectType, cases.subjectId, cases.reason],
      targetWhere: sql`status <> 'resolved'`,
      set: {
        updatedAt: sql`now()`,
        priority: sql`case when array_position(${priorityRank}, excluded.priority) < array_position(${priorityRank}, ${cases.priority}) then excluded.priority else ${cases.priority} end`,
        slaDueAt: sql`least(${cases.slaDueAt}, excluded.sla_due_at)`,
      },
    })
    .returning({ id: cases.id, opened: sql<boolean>`(xmax = 0)` });
  return row!;
}

/** Attaches a sample to a case as evidence (once per sample). @returns whether it was new. */
export async function addEvidence(db: Tx, e: { caseId: string; sampleId: string | null; ruleId?: string | null; details?: unknown }): Promise<boolean> {
  const rows = await db.insert(caseEvidence).values({ caseId: e.caseId, sampleId: e.sampleId, ruleId: e.ruleId ?? null, details: e.details ?? {} })
    .onConflictDoNothing().returning({ id: caseEvidence.id });
  return rows.length > 0;
}

/** Inserts a ban or suspension. */
export async function insertBan(db: Tx, b: typeof bans.$inferInsert): Promise<{ id: string }> {
  const [row] = await db.insert(bans).values(b).returning({ id: bans.id });
  return row!;
}
