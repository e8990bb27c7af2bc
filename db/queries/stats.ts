/** Figures for the console's dashboard: cases per hour by reason, queue depth, SLA breaches, time to decision. */
import { sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { arrayParam } from './arrays.ts';
import { priorities, type Priority } from '../schema.ts';

/** Dashboard figures over the last `hours` (default 24) for the given queues. */
export async function reviewStats(db: Tx, queues: string[], hours = 24) {
  const qs = arrayParam(queues, 'text');
  const since = sql`now() - ${`${hours} hours`}::interval`;
  const [perHour, depth, breaches, decisions] = await Promise.all([
    db.execute<{ hour: string; reason: string; count: number }>(sql`
      select date_trunc('hour', created_at) as hour, reason, count(*)::int as count from cases
      where created_at > ${since} and queue = any(${qs}) group by 1, 2 order by 1, 2`),
    db.execute<{ priority: Priority; count: number }>(sql`
      select priority, count(*)::int as count from cases where status <> 'resolved' and queue = any(${qs}) group by 1`),
    db.execute<{ open_overdue: number; resolved_late: number; resolved: number }>(sql`
      select (select count(*)::int from cases where status <> 'resolved' and sla_due_at < now() and queue = any(${qs})) as open_overdue,
             (select count(*)::int from cases where resolved_at > ${since} and resolved_at > sla_due_at and queue = any(${qs})) as resolved_late,
             (select count(*)::int from cases where resolved_at > ${since} and queue = any(${qs})) as resolved`),
    db.execute<{ median_s: number | null; n: number }>(sql`
      select percentile_cont(0.5) within group (order by extract(epoch from resolved_at - created_at)) as median_s, count(*)::int as n
      from cases where resolved_at > ${since} and decided_by is not null and queue = any(${qs})`),
  ]);
  const queueDepth = Object.fromEntries(priorities.map((p) => [p, 0])) as Record<Priority, number>;
  for (const r of depth) queueDepth[r.priority] = r.count;
  const b = breaches[0]!;
  return {
    casesPerHour: perHour.map((r) => ({ hour: new Date(r.hour).toISOString(), reason: r.reason, count: r.count })),
    queueDepth,
    slaBreaches: { openOverdue: b.open_overdue, resolvedLate24h: b.resolved_late, resolved24h: b.resolved },
    medianDecisionSeconds24h: decisions[0]?.median_s === null || decisions[0]?.median_s === undefined ? null : Math.round(Number(decisions[0].median_s)),
    decisions24h: decisions[0]?.n ?? 0,
  };
}
