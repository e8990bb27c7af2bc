/** Samples (frames and audio chunks taken from broadcasts), the signals analyzers wrote for them, and transcripts. */
import { and, asc, desc, eq, gt, gte, inArray, lte, sql } from 'drizzle-orm';
import type { Tx } from '../connect.ts';
import { anyOf } from './arrays.ts';
import { broadcasts, caseEvidence, samples, signals, transcripts } from '../schema.ts';

export type SampleRow = typeof samples.$inferSelect;

/** Inserts a sample; a retry with the same (broadcast, kind, seq) returns the existing row's id. */
export async function insertSample(db: Tx, s: {
  broadcastId: string; kind: 'frame' | 'audio'; seq: number; capturedAt: Date; filePath: string;
  width?: number; height?: number; phash?: string; status?: 'queued' | 'duplicate' | 'silent' | 'skipped'; duplicateOf?: string | null;
  durationMs?: number; overlapMs?: number;
  /** A `skipped` sample's reason. */
  error?: string | null;
}): Promise<{ id: string; inserted: boolean }> {
  const [row] = await db.insert(samples).values({ ...s, status: s.status ?? 'queued', duplicateOf: s.duplicateOf ?? null })
    .onConflictDoNothing({ target: [samples.broadcastId, samples.kind, samples.seq] }).returning({ id: samples.id });
  if (row) return { id: row.id, inserted: true };
  const [existing] = await db.select({ id: samples.id }).from(samples)
    .where(and(eq(samples.broadcastId, s.broadcastId), eq(samples.kind, s.kind), eq(samples.seq, s.seq)));
  return { id: existing!.id, inserted: false };
}

/** A sample by id. */
export async function getSample(db: Tx, id: string): Promise<SampleRow | undefined> {
  const [row] = await db.select().from(samples).where(eq(samples.id, id)).limit(1);
  return row;
}

/**
 * A sample with what its evaluation needs of its broadcast (owner, start), in one statement.
 * @returns undefined when there is no such sample.
 */
export async function getSampleForEvaluation(db: Tx, id: string): Promise<{ sample: SampleRow; broadcast: { id: string; userId: string; startedAt: Date } } | undefined> {
  const [row] = await db.select({ sample: samples, userId: broadcasts.userId, startedAt: broadcasts.startedAt })
    .from(samples).innerJoin(broadcasts, eq(broadcasts.id, samples.broadcastId)).where(eq(samples.id, id)).limit(1);
  return row && { sample: row.sample, broadcast: { id: row.sample.broadcastId, userId: row.userId, startedAt: row.startedAt } };
}

/** One label's score as an analyzer reports it. */
export interface SignalInput { analyzer: string; label: string; score: number; model: string; modelVersion: string; backend: string }

/**
 * Writes a sample's signals and marks it analysed, in one transaction. Idempotent: a retried job writes no
 * second set (unique (sample, analyzer, label)) and leaves the first analysis time.
 * @returns whether this call wrote the signals (false: they were already there).
 */
export async function recordSignals(db: Tx, sample: Pick<SampleRow, 'id' | 'broadcastId' | 'capturedAt'>, rows: SignalInput[]): Promise<boolean> {
  const now = new Date();
  const latencyMs = Math.min(2_147_483_647, Math.max(0, now.getTime() - sample.capturedAt.getTime())); // an int4 column
  const inserted = rows.length === 0 ? [] : await db.insert(signals)
    .values(rows.map((r) => ({ ...r, sampleId: sample.id, broadcastId: sample.broadcastId, latencyMs })))
    .onConflictDoNothing().returning({ id: signals.id });
  await db.update(samples).set({ status: 'analysed', analysedAt: now, error: null })
    .where(and(eq(samples.id, sample.id), inArray(samples.status, ['queued', 'failed'])));
  return inserted.length > 0;
}

/** Marks a sample failed with the analyzer's error (kept for the audit and for the policy's failure rule). */
export async function markSampleFailed(db: Tx, id: string, error: string): Promise<void> {
  await db.update(samples).set({ status: 'failed', error: error.slice(0, 2000), analysedAt: new Date() })
    .where(and(eq(samples.id, id), eq(samples.status, 'queued')));
}

/**
 * Marks a queued sample skipped: deliberately not analysed (the analyzer is behind), with the reason.
 * @returns whether it was still queued (false: analysed, failed or skipped already).
 */
export async function markSampleSkipped(db: Tx, id: string, reason: string): Promise<boolean> {
  const rows = await db.update(samples).set({ status: 'skipped', error: reason.slice(0, 2000) })
    .where(and(eq(samples.id, id), eq(samples.status, 'queued'))).returning({ id: samples.id });
  return rows.length > 0;
}

/** One sample in a rules timeline: its scores by analyzer and label (a duplicate carries its original's). */
export interface TimelineRow {
  sampleId: string; seq: number; capturedAt: Date; status: 'queued' | 'analysed' | 'duplicate' | 'failed' | 'silent' | 'skipped';
  error: string | null; scores: { analyzer: string; label: string; score: number }[];
}

/**
 * The samples of one kind (frames, or audio chunks) of a broadcast with seq in [fromSeq, toSeq], ordered by
 * seq, each with its scores. A duplicate frame carries the scores of the frame it duplicates (the scene is
 * still on screen).
 */
export async function sampleTimeline(db: Tx, broadcastId: string, kind: 'frame' | 'audio', fromSeq: number, toSeq: number): Promise<TimelineRow[]> {
  const rows = await db.execute<{ sample_id: string; seq: number; captured_at: Date | string; status: TimelineRow['status']; error: string | null; orig_status: string | null; scores: { analyzer: string; label: string; score: number }[] | null }>(sql`
    select s.id as sample_id, s.seq, s.captured_at, s.status, coalesce(s.error, o.error) as error, o.status as orig_status,
      (select json_agg(json_build_object('analyzer', g.analyzer, 'label', g.label, 'score', g.score))
         from ${signals} g where g.sample_id = coalesce(s.duplicate_of, s.id)) as scores
    from ${samples} s left join ${samples} o on o.id = s.duplicate_of
    where s.broadcast_id = ${broadcastId} and s.kind = ${kind} and s.seq between ${fromSeq} and ${toSeq}
    order by s.seq`);
  return rows.map((r) => ({
    sampleId: r.sample_id, seq: r.seq, capturedAt: new Date(r.captured_at), error: r.error, scores: r.scores ?? [],
    // a duplicate stands for its original: pending until that is analysed, failed if that failed
    status: r.status === 'duplicate' ? (r.orig_status === 'analysed' ? 'analysed' : r.orig_status === 'failed' ? 'failed' : 'queued') : r.status,
  }));
}

/**
 * The samples to evaluate again once `sample` is settled: later samples of its broadcast and kind within `span` seqs
 * that are settled (analysed, duplicate or failed; they were evaluated without it), and, for a frame, the
 * duplicates that point at it. One statement (this runs once per analysed sample). @returns their ids, later
 * samples in seq order first, each once.
 */
export async function samplesToReevaluate(db: Tx, sample: { id: string; broadcastId: string; kind: 'frame' | 'audio'; seq: number }, span: number): Promise<string[]> {
  const rows = await db.execute<{ id: string }>(sql`
    select id from (
      select ${samples.id} as id, ${samples.seq} as seq from ${samples}
      where ${samples.broadcastId} = ${sample.broadcastId} and ${samples.kind} = ${sample.kind}
        and ${samples.seq} > ${sample.seq} and ${samples.seq} <= ${sample.seq + span}
        and ${samples.status} in ('analysed', 'duplicate', 'failed')
      union
      select ${samples.id}, ${samples.seq} from ${samples} where ${samples.duplicateOf} = ${sample.id}
    ) later order by seq`);
  return rows.map((r) => r.id);
}

/** Broadcasts with samples captured since `since`, with the kinds they have, for `warden rules test` replays. */
export async function broadcastsWithSamples(db: Tx, since: Date): Promise<{ id: string; kind: 'frame' | 'audio' }[]> {
  return db.selectDistinct({ id: samples.broadcastId, kind: samples.kind }).from(samples).where(gte(samples.capturedAt, since));
}

export type TranscriptRow = typeof transcripts.$inferSelect;

/**
 * Stores a chunk's transcript and its `speech` signals and marks the sample analysed, in one transaction.
 * Idempotent: a retried job keeps the first transcript and writes no second set of signals.
 * @returns whether this call stored the transcript.
 */
export async function recordTranscript(db: Tx, sample: Pick<SampleRow, 'id' | 'broadcastId' | 'capturedAt'>, t: Omit<typeof transcripts.$inferInsert, 'sampleId' | 'broadcastId' | 'createdAt'>, rows: SignalInput[]): Promise<boolean> {
  return db.transaction(async (tx) => {
    const stored = await tx.insert(transcripts).values({ ...t, sampleId: sample.id, broadcastId: sample.broadcastId })
      .onConflictDoNothing().returning({ id: transcripts.sampleId });
    await recordSignals(tx, sample, rows);
    return stored.length > 0;
  });
}

/** Transcripts of the given samples, by sample id. */
export async function transcriptsOf(db: Tx, sampleIds: readonly string[]): Promise<Map<string, TranscriptRow>> {
  if (sampleIds.length === 0) return new Map();
  const rows = await db.select().from(transcripts).where(anyOf(transcripts.sampleId, sampleIds, 'uuid'));
  return new Map(rows.map((r) => [r.sampleId, r]));
}

/** A transcribed audio chunk of a broadcast, for captions: the chunk's timing and its words. */
export interface CaptionSource { seq: number; capturedAt: Date; durationMs: number; overlapMs: number; words: unknown }

/**
 * The transcribed audio chunks of a broadcast captured at or after `since`, in seq order (silent and
 * untranscribed chunks are left out). Bounded by `limit` chunks (the most recent when more).
 */
export async function captionSources(db: Tx, broadcastId: string, since: Date, limit: number): Promise<CaptionSource[]> {
  const rows = await db.select({ seq: samples.seq, capturedAt: samples.capturedAt, durationMs: samples.durationMs, overlapMs: samples.overlapMs, words: transcripts.words })
    .from(transcripts).innerJoin(samples, eq(samples.id, transcripts.sampleId))
    .where(and(eq(transcripts.broadcastId, broadcastId), gte(samples.capturedAt, since)))
    .orderBy(sql`${samples.seq} desc`).limit(limit);
  return rows.reverse().map((r) => ({ ...r, durationMs: r.durationMs ?? 0, overlapMs: r.overlapMs ?? 0 }));
}

/** The latest analysed frames of a broadcast (newest first): what a viewer saw when they reported it. */
export async function latestFrames(db: Tx, broadcastId: string, limit = 3): Promise<{ id: string; capturedAt: Date }[]> {
  return db.select({ id: samples.id, capturedAt: samples.capturedAt }).from(samples)
    .where(and(eq(samples.broadcastId, broadcastId), eq(samples.kind, 'frame'), eq(samples.status, 'analysed')))
    .orderBy(desc(samples.seq)).limit(limit);
}

/**
 * Samples captured before `capturedBefore` that no case still needs, oldest first, locked for this transaction
 * (`skip locked`: sweeps on several nodes take different rows). A case needs its evidence samples while it is
 * unresolved (an appeal reopens it) and until `evidenceResolvedBefore` after it was resolved; a kept evidence sample that
 * is a duplicate keeps its original too (its scores are the original's).
 * @returns ids and file paths (relative to the data directory; '' for samples stored without a file).
 */
export async function lockExpiredSamples(db: Tx, capturedBefore: Date, evidenceResolvedBefore: Date, limit: number): Promise<{ id: string; filePath: string }[]> {
  // each candidate is checked by index (evidence by sample, duplicates by original): the cost follows the batch, not
  // how much evidence a year of cases holds
  const needed = sql`(c.status <> 'resolved' or c.resolved_at is null or c.resolved_at >= ${evidenceResolvedBefore.toISOString()})`;
  const rows = await db.execute<{ id: string; file_path: string }>(sql`
    select s.id, s.file_path from ${samples} s
    where s.captured_at < ${capturedBefore.toISOString()}
      and not exists (select 1 from case_evidence e join cases c on c.id = e.case_id where e.sample_id = s.id and ${needed})
      and not exists (
        select 1 from ${samples} d join case_evidence e on e.sample_id = d.id join cases c on c.id = e.case_id
        where d.duplicate_of = s.id and ${needed})
    order by s.captured_at
    limit ${limit}
    for update of s skip locked`);
  return rows.map((r) => ({ id: r.id, filePath: r.file_path }));
}

/**
 * Deletes samples with their signals and transcripts. Case evidence that pointed at one of them (a case resolved
 * long enough ago) keeps its row, without the sample, saying when it went. @returns samples deleted.
 */
export async function deleteSamples(db: Tx, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  await db.update(caseEvidence).set({ sampleId: null, details: sql`${caseEvidence.details} || jsonb_build_object('sampleExpiredAt', now(), 'sampleId', ${caseEvidence.sampleId})` })
    .where(anyOf(caseEvidence.sampleId, ids, 'uuid'));
  await db.delete(signals).where(anyOf(signals.sampleId, ids, 'uuid'));
  await db.delete(transcripts).where(anyOf(transcripts.sampleId, ids, 'uuid'));
  const rows = await db.delete(samples).where(anyOf(samples.id, ids, 'uuid')).returning({ id: samples.id });
  return rows.length;
}
