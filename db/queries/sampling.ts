/**
 * What adaptive sampling (ingest/sampling.ts) asks about live broadcasts to prioritise them, and the sample outcomes
 * the load generator and the capacity bench read back (capture → analysed latency).
 */
import { sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { arrayParam } from './arrays.ts';
import { priorities, type Priority } from '../schema.ts';

/** `array[$1, $2, …]::<type>[]` (an empty list gives an empty array). */
/**
 * The most urgent unresolved case about each of the given users (a performer: their broadcasts' rule cases, panic
 * alerts, reports on them). Cases opened about someone else on their broadcast (a viewer's chat) do not count.
 * @returns user id → the highest priority among their open or claimed cases (users without one are absent).
 */
export async function openCasePriorities(db: Tx, userIds: readonly string[]): Promise<Map<string, Priority>> {
  if (userIds.length === 0) return new Map();
  const rows = await db.execute<{ user_id: string; rank: number }>(sql`
    select user_id, min(array_position(${arrayParam(priorities, 'text')}, priority)) as rank from cases
    where status in ('open', 'claimed') and user_id = any(${arrayParam(userIds, 'uuid')}) group by user_id`);
  return new Map(rows.map((r) => [r.user_id, priorities[Number(r.rank) - 1]!]));
}

/** A signal label and the score at or above which it counts as high (a rule's threshold). */
export interface ScoreThreshold { analyzer: string; label: string; minScore: number }

/**
 * Signals with id above `afterId` of the given broadcasts that reach a threshold, per broadcast: when the latest was
 * written and the highest score; and the highest signal id there is now (the next call's `afterId`). Reads only the
 * signals written since `afterId` (the primary key's range), so polling it every few seconds stays cheap.
 */
export async function highScoresSince(db: Tx, broadcastIds: readonly string[], afterId: number, thresholds: readonly ScoreThreshold[]): Promise<{ maxId: number; broadcasts: Map<string, { at: Date; score: number }> }> {
  const [top] = await db.execute<{ max_id: string | null }>(sql`select max(id) as max_id from signals`);
  const maxId = top?.max_id === null || top?.max_id === undefined ? afterId : Number(top.max_id);
  const out = new Map<string, { at: Date; score: number }>();
  if (broadcastIds.length === 0 || thresholds.length === 0 || maxId <= afterId) return { maxId, broadcasts: out };
  const rows = await db.execute<{ broadcast_id: string; at: Date | string; score: number }>(sql`
    select s.broadcast_id, max(s.created_at) as at, max(s.score) as score
    from signals s
    join unnest(${arrayParam(thresholds.map((t) => t.analyzer), 'text')}, ${arrayParam(thresholds.map((t) => t.label), 'text')}, ${arrayParam(thresholds.map((t) => t.minScore), 'real')})
      as t(analyzer, label, min_score) on s.analyzer = t.analyzer and s.label = t.label and s.score >= t.min_score
    where s.id > ${afterId} and s.id <= ${maxId} and s.broadcast_id = any(${arrayParam(broadcastIds, 'uuid')})
    group by s.broadcast_id`);
  for (const r of rows) out.set(r.broadcast_id, { at: new Date(r.at), score: Number(r.score) });
  return { maxId, broadcasts: out };
}

/** One sample's outcome: its status (`skipped` with the reason), when it was captured and when it was analysed. */
export interface SampleOutcome {
  broadcastId: string; kind: 'frame' | 'audio'; status: string; capturedAt: Date; analysedAt: Date | null; error: string | null;
}

/** The samples of the given broadcasts captured in [from, to), oldest first (load generation and the capacity bench). */
export async function sampleOutcomes(db: Tx, broadcastIds: readonly string[], from: Date, to: Date): Promise<SampleOutcome[]> {
  if (broadcastIds.length === 0) return [];
  const rows = await db.execute<{ broadcast_id: string; kind: 'frame' | 'audio'; status: string; captured_at: Date | string; analysed_at: Date | string | null; error: string | null }>(sql`
    select broadcast_id, kind, status, captured_at, analysed_at, error from samples
    where broadcast_id = any(${arrayParam(broadcastIds, 'uuid')}) and captured_at >= ${from.toISOString()}::timestamptz and captured_at < ${to.toISOString()}::timestamptz
    order by captured_at`);
  return rows.map((r) => ({
    broadcastId: r.broadcast_id, kind: r.kind, status: r.status, capturedAt: new Date(r.captured_at),
    analysedAt: r.analysed_at === null ? null : new Date(r.analysed_at), error: r.error,
  }));
}
