/** Read-only summaries for the demo, the CLI and tests. */
import { sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';

/** What happened to one broadcast: samples, signals, cases, actions, and capture-to-case time. */
export interface BroadcastReport {
  /** Frame samples by status. */
  samples: Record<string, number>;
  /** Audio chunks by status, the transcripts stored, their words, and the watch-list phrases heard. */
  audio: { chunks: Record<string, number>; transcripts: number; words: number; phrases: string[] };
  /** Per label: how many signals, mean and max score. */
  signals: Record<string, { count: number; mean: number; max: number }>;
  /** `audioUrl`: for a case raised from speech, the API path of its evidence audio span. */
  cases: { id: string; reason: string; priority: string; status: string; evidence: number; captureToCaseMs: number | null; policyVersion: string | null; audioUrl: string | null }[];
  actions: Record<string, number>;
  tap: { mode: string | null; note: string | null; duplicateFrames: number; endReason: string | null; status: string };
  /** Mean ms from a frame's capture to its signals. */
  meanAnalysisLatencyMs: number | null;
}

export async function broadcastReport(db: Tx, broadcastId: string): Promise<BroadcastReport> {
  const samples = await db.execute<{ kind: string; status: string; n: number }>(sql`select kind, status, count(*)::int as n from samples where broadcast_id = ${broadcastId} group by kind, status`);
  const [t] = await db.execute<{ n: number; words: number; phrases: string[] | null }>(sql`
    select count(*)::int as n, coalesce(sum(jsonb_array_length(words)), 0)::int as words,
      (select array_agg(distinct k->>'phrase') from transcripts t2, jsonb_array_elements(t2.keywords) k where t2.broadcast_id = ${broadcastId}) as phrases
    from transcripts where broadcast_id = ${broadcastId}`);
  const signals = await db.execute<{ label: string; n: number; mean: number; max: number; lat: number | null }>(sql`
    select label, count(*)::int as n, avg(score)::float8 as mean, max(score)::float8 as max, avg(latency_ms)::float8 as lat
    from signals where broadcast_id = ${broadcastId} group by label order by label`);
  const cases = await db.execute<{ id: string; reason: string; priority: string; status: string; evidence: number; ms: number | null; policy_version: string | null; audio_url: string | null }>(sql`
    select c.id, c.reason, c.priority, c.status, c.policy_version,
      (select e.details->'audio'->>'url' from case_evidence e where e.case_id = c.id and e.details->>'kind' = 'speech' order by e.id limit 1) as audio_url,
      (select count(*)::int from case_evidence e where e.case_id = c.id) as evidence,
      (select extract(epoch from (c.created_at - min(s.captured_at))) * 1000 from case_evidence e join samples s on s.id = e.sample_id
         where e.case_id = c.id and e.created_at <= c.created_at + interval '1 second')::float8 as ms
    from cases c where c.broadcast_id = ${broadcastId} order by c.created_at`);
  const actions = await db.execute<{ action: string; shadow: boolean; n: number }>(sql`select action, shadow, count(*)::int as n from actions where broadcast_id = ${broadcastId} group by action, shadow`);
  const [b] = await db.execute<{ tap_mode: string | null; tap_note: string | null; duplicate_frames: number; end_reason: string | null; status: string }>(sql`
    select tap_mode, tap_note, duplicate_frames, end_reason, status from broadcasts where id = ${broadcastId}`);
  return {
    samples: Object.fromEntries(samples.filter((r) => r.kind === 'frame').map((r) => [r.status, r.n])),
    audio: {
      chunks: Object.fromEntries(samples.filter((r) => r.kind === 'audio').map((r) => [r.status, r.n])),
      transcripts: t?.n ?? 0, words: t?.words ?? 0, phrases: (t?.phrases ?? []).sort(),
    },
    signals: Object.fromEntries(signals.map((r) => [r.label, { count: r.n, mean: r.mean, max: r.max }])),
    cases: cases.map((r) => ({ id: r.id, reason: r.reason, priority: r.priority, status: r.status, evidence: r.evidence, captureToCaseMs: r.ms === null ? null : Math.round(r.ms), policyVersion: r.policy_version, audioUrl: r.audio_url })),
    actions: Object.fromEntries(actions.map((r) => [r.shadow ? `${r.action} (shadow)` : r.action, r.n])),
    tap: { mode: b?.tap_mode ?? null, note: b?.tap_note ?? null, duplicateFrames: b?.duplicate_frames ?? 0, endReason: b?.end_reason ?? null, status: b?.status ?? 'unknown' },
    meanAnalysisLatencyMs: signals.length && signals[0]!.lat !== null ? Math.round(signals[0]!.lat) : null,
  };
}

/** Publish refusals recorded since a time, newest last: reason, key prefix and user handle when known. */
export async function publishRefusalsSince(db: Tx, since: Date): Promise<{ reason: string; keyPrefix: string; handle: string | null; at: Date }[]> {
  const rows = await db.execute<{ reason: string; key_prefix: string; handle: string | null; created_at: string }>(sql`
    select a.details->>'reason' as reason, a.details->>'keyPrefix' as key_prefix, u.handle, a.created_at
    from actions a left join users u on u.id = a.user_id
    where a.action = 'refuse_publish' and a.created_at >= ${since.toISOString()} order by a.id`);
  return rows.map((r) => ({ reason: r.reason, keyPrefix: r.key_prefix, handle: r.handle, at: new Date(r.created_at) }));
}

/** Samples of a broadcast (frames and audio chunks) not yet settled (still queued for analysis). */
export async function pendingSamples(db: Tx, broadcastId: string): Promise<number> {
  const [r] = await db.execute<{ n: number }>(sql`select count(*)::int as n from samples where broadcast_id = ${broadcastId} and status = 'queued'`);
  return r?.n ?? 0;
}
