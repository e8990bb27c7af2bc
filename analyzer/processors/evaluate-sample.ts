/**
 * The `evaluate-sample` job: run the policy at one frame sample (over the broadcast's recent samples) and
 * hand the decisions to enforcement. Evaluating a sample again is harmless: enforcement is idempotent.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from '../../core/logger.ts';
import type { Metrics } from '../../core/metrics.ts';
import {
  duplicatesOf, frameTimeline, getBroadcast, getSample, ruleFirings, settledFramesAfter, type Db, type TimelineRow,
} from '../../db/index.ts';
import type { Enforcer } from '../../moderation/index.ts';
import { evaluate, lookbackOf, type Policy, type SampleScores } from '../../rules/index.ts';
import type { JobPayloads, Queues } from '../jobs.ts';

export interface EvaluateDeps {
  db: Db;
  queues: Queues;
  enforcer: Enforcer;
  /** The policy in force; a function so a reloaded policy applies to the next job. */
  policy: () => Policy;
  sampleIntervalMs: number;
  metrics: Metrics;
  logger: Logger;
}

/** A timeline row as the rules engine takes it (scores nested by analyzer and label; queued = pending). */
export function toSampleScores(r: TimelineRow): SampleScores {
  const scores: Record<string, Record<string, number>> = {};
  for (const s of r.scores) (scores[s.analyzer] ??= {})[s.label] = s.score;
  return {
    sampleId: r.sampleId, seq: r.seq, capturedAt: r.capturedAt.getTime(), scores,
    status: r.status === 'analysed' ? 'analysed' : r.status === 'failed' ? 'failed' : 'pending',
    ...(r.error ? { error: r.error } : {}),
  };
}

/** How many samples back a policy looks, given the sampling interval (count windows converted to samples). */
export function lookbackSamples(policy: Policy, sampleIntervalMs: number): number {
  const l = lookbackOf(policy);
  return Math.max(l.samples, Math.ceil(l.ms / sampleIntervalMs) * 2 + 2, 1);
}

/** Builds the processor function for the `rules` queue. */
export function createEvaluateProcessor(deps: EvaluateDeps) {
  const { db, queues, enforcer, metrics, logger } = deps;
  return async function processEvaluation(job: Job<JobPayloads['evaluate-sample']>): Promise<void> {
    const sample = await getSample(db, job.data.sampleId);
    if (!sample) throw new UnrecoverableError(`no sample ${job.data.sampleId}`);
    if (sample.kind !== 'frame') return;
    const broadcast = await getBroadcast(db, sample.broadcastId);
    if (!broadcast) throw new UnrecoverableError(`no broadcast ${sample.broadcastId}`);
    const policy = deps.policy();
    const span = lookbackSamples(policy, deps.sampleIntervalMs);
    const timeline = (await frameTimeline(db, sample.broadcastId, Math.max(0, sample.seq - span), sample.seq)).map(toSampleScores);
    const since = new Date(sample.capturedAt.getTime() - lookbackOf(policy).ms);
    const decisions = evaluate({ policy, timeline, priorFirings: await ruleFirings(db, sample.broadcastId, since) });
    if (decisions.length) {
      const result = await enforcer.enforce(decisions, { broadcastId: broadcast.id, userId: broadcast.userId, sample: { id: sample.id, capturedAt: sample.capturedAt } });
      for (const a of result.actionsRecorded) metrics.actions.inc({ action: a.action, shadow: String(a.shadow) });
      for (const c of result.casesOpened) metrics.casesOpened.inc({ reason: c.reason, priority: c.priority });
    }
    if (job.data.cascade) {
      if (sample.analysedAt && sample.status === 'analysed') metrics.analysisLatency.observe({ analyzer: 'nsfw' }, (sample.analysedAt.getTime() - sample.capturedAt.getTime()) / 1000);
      // samples evaluated before this one was analysed (out-of-order completion, duplicates of it) are evaluated again
      const later = new Set([...await duplicatesOf(db, sample.id), ...await settledFramesAfter(db, sample.broadcastId, sample.seq, span)]);
      for (const id of later) await queues.add('evaluate-sample', { sampleId: id });
      if (later.size) logger.debug({ sampleId: sample.id, reevaluated: later.size }, 'late sample: later samples evaluated again');
    }
  };
}
