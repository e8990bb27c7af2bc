/** Panic alerts: stored (idempotently, by the id the API gave them), acknowledged, resolved, escalated, listed. */
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { alerts, cases, chatMessages, samples, users } from '../schema.ts';

export type AlertRow = typeof alerts.$inferSelect;

/** Stores an alert; a second call with the same id changes nothing. @returns whether it was new. */
export async function insertAlert(db: Tx, a: typeof alerts.$inferInsert): Promise<boolean> {
  const rows = await db.insert(alerts).values(a).onConflictDoNothing().returning({ id: alerts.id });
  return rows.length > 0;
}

export async function getAlert(db: Tx, id: string): Promise<AlertRow | undefined> {
  const [row] = await db.select().from(alerts).where(eq(alerts.id, id)).limit(1);
  return row;
}

/** Marks an open alert acknowledged. @returns false when it was not open. */
export async function acknowledgeAlert(db: Tx, id: string, by: string, at: Date): Promise<boolean> {
  const rows = await db.update(alerts).set({ status: 'acknowledged', acknowledgedAt: at, acknowledgedBy: by })
    .where(and(eq(alerts.id, id), eq(alerts.status, 'open'))).returning({ id: alerts.id });
  return rows.length > 0;
}

/** Resolves an alert that is not resolved yet. @returns false when it already was. */
export async function resolveAlert(db: Tx, id: string, by: string, resolution: string): Promise<boolean> {
  const rows = await db.update(alerts).set({ status: 'resolved', resolvedAt: sql`now()`, resolvedBy: by, resolution })
    .where(and(eq(alerts.id, id), inArray(alerts.status, ['open', 'acknowledged']))).returning({ id: alerts.id });
  return rows.length > 0;
}

/**
 * Closes the critical case an alert opened, with the alert's resolution, whoever holds a claim on it (resolving
 * the alert is the decision). @returns false when the alert has no case or it was already resolved.
 */
export async function resolveAlertCase(db: Tx, alertId: string, by: string, resolution: string): Promise<boolean> {
  const rows = await db.update(cases).set({
    status: 'resolved', decision: 'resolve_alert', reasonCode: 'no_violation', decisionNote: resolution, decidedBy: by,
    claimedBy: by, claimExpiresAt: null, resolvedAt: sql`now()`, updatedAt: sql`now()`,
  }).where(and(eq(cases.subjectType, 'alert'), eq(cases.subjectId, alertId), inArray(cases.status, ['open', 'claimed']))).returning({ id: cases.id });
  return rows.length > 0;
}

/** Records an escalation. */
export async function recordEscalation(db: Tx, id: string, n: number): Promise<void> {
  await db.update(alerts).set({ escalations: n, lastEscalatedAt: sql`now()` }).where(eq(alerts.id, id));
}

/** Alerts not yet resolved (or all recent ones), newest first, with the performer's handle. */
export async function listAlerts(db: Tx, f: { status?: 'open' | 'acknowledged' | 'resolved' | 'unresolved'; limit?: number }) {
  const where = f.status === 'unresolved' ? inArray(alerts.status, ['open', 'acknowledged']) : f.status ? eq(alerts.status, f.status) : undefined;
  return db.select({ alert: alerts, handle: users.handle }).from(alerts).innerJoin(users, eq(users.id, alerts.userId))
    .where(where).orderBy(desc(alerts.raisedAt)).limit(f.limit ?? 100);
}

/** What happened in the minutes before an alert: the broadcast's chat and its sampled frames since `since`. */
export async function alertSnapshot(db: Tx, broadcastId: string, since: Date) {
  const [chat, frames] = await Promise.all([
    db.select({ id: chatMessages.id, userId: chatMessages.userId, handle: users.handle, body: chatMessages.body, verdict: chatMessages.verdict, createdAt: chatMessages.createdAt })
      .from(chatMessages).leftJoin(users, eq(users.id, chatMessages.userId))
      .where(and(eq(chatMessages.broadcastId, broadcastId), sql`${chatMessages.createdAt} >= ${since.toISOString()}`)).orderBy(chatMessages.createdAt).limit(500),
    db.select({ id: samples.id, capturedAt: samples.capturedAt, status: samples.status }).from(samples)
      .where(and(eq(samples.broadcastId, broadcastId), eq(samples.kind, 'frame'), sql`${samples.capturedAt} >= ${since.toISOString()}`)).orderBy(samples.seq).limit(300),
  ]);
  return { chat, frames };
}
