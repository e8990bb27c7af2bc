/**
 * The `evaluate-sample` job: run the policy at one sample (a frame, or an audio chunk, over the broadcast's
 * recent samples of the same kind) and hand the decisions to enforcement. Evaluating a sample again is
 * harmless: enforcement is idempotent. Evidence from speech carries the audio span and the words heard.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from '../../core/logger.ts';
import type { Metrics } from '../../core/metrics.ts';
import {
  getSample, getSampleForEvaluation, ruleFirings, sampleTimeline, samplesToReevaluate, transcriptsOf,
  type Db, type SampleRow, type TimelineRow,
} from '../../db/index.ts';
import type { DecisionContext, Enforcer } from '../../moderation/index.ts';
import { evaluate, lookbackOf, type Decision, type Policy, type SampleScores, type SpeechFinding } from '../../rules/index.ts';
import { evidenceSpan } from '../audio/findings.ts';
import type { JobPayloads, Queues } from '../jobs.ts';

export interface EvaluateDeps {
  db: Db;
  queues: Queues;
  enforcer: Enforcer;
  /** The policy in force; a function so a reloaded policy applies to the next job. */
  policy: () => Policy;
  /** Milliseconds between frame samples. */
  sampleIntervalMs: number;
  /** Milliseconds between the starts of two audio chunks (chunk length − overlap). */
  audioStepMs: number;
  metrics: Metrics;
  logger: Logger;
}

/** A timeline row as the rules engine takes it (scores nested by analyzer and label; queued = pending; silent = analysed, nothing found). */
export function toSampleScores(r: TimelineRow): SampleScores {
  const scores: Record<string, Record<string, number>> = {};
  for (const s of r.scores) (scores[s.analyzer] ??= {})[s.label] = s.score;
  return {
    sampleId: r.sampleId, seq: r.seq, capturedAt: r.capturedAt.getTime(), scores,
    status: r.status === 'analysed' || r.status === 'silent' ? 'analysed' : r.status === 'failed' ? 'failed' : 'pending',
    ...(r.error ? { error: r.error } : {}),
  };
}

/** How many samples back a policy looks, given the time between samples (count windows converted to samples). */
export function lookbackSamples(policy: Policy, intervalMs: number): number {
  const l = lookbackOf(policy);
  return Math.max(l.samples, Math.ceil(l.ms / intervalMs) * 2 + 2, 1);
}

/**
 * For speech decisions: a describer that adds, per piece of evidence, the chunk's audio span for the
 * evidence's category (with a second of context), a URL the console plays it from, where that is in the
 * broadcast, and the findings (words, rule, span) behind it.
 */
async function describeSpeech(db: Db, decisions: Decision[], broadcastStartedAt: Date): Promise<DecisionContext['describe']> {
  const ids = [...new Set(decisions.flatMap((d) => d.evidence.map((e) => e.sampleId)))];
  const chunks = await transcriptsOf(db, ids);
  const samples = new Map<string, SampleRow>();
  for (const id of ids) {
    const s = await getSample(db, id);
    if (s) samples.set(id, s);
  }
  return (e) => {
    const t = chunks.get(e.sampleId);
    const s = samples.get(e.sampleId);
    if (!t || !s) return {};
    const findings = (t.findings as SpeechFinding[]).filter((f) => f.category === e.label);
    const span = evidenceSpan(findings, e.label, (s.durationMs ?? 0) / 1000);
    if (!span) return {};
    const offsetS = (s.capturedAt.getTime() - broadcastStartedAt.getTime()) / 1000;
    return {
      kind: 'speech',
      audio: {
        sampleId: s.id, start: span.start, end: span.end,
        url: `/api/samples/${s.id}/audio?start=${span.start}&end=${span.end}`,
        broadcastOffsetS: Math.round((offsetS + span.start) * 100) / 100,
      },
      findings: findings.map((f) => ({ source: f.source, rule: f.rule, severity: f.severity, start: f.start, end: f.end, text: f.text })),
      transcript: t.text,
      engine: `${t.engine} ${t.engineVersion}`,
    };
  };
}

/** Builds the processor function for the `rules` queue. */
export function createEvaluateProcessor(deps: EvaluateDeps) {
  const { db, queues, enforcer, metrics, logger } = deps;
  return async function processEvaluation(job: Job<JobPayloads['evaluate-sample']>): Promise<void> {
    const found = await getSampleForEvaluation(db, job.data.sampleId);
    if (!found) throw new UnrecoverableError(`no sample ${job.data.sampleId}`);
    const { sample, broadcast } = found;
    const policy = deps.policy();
    const span = lookbackSamples(policy, sample.kind === 'audio' ? deps.audioStepMs : deps.sampleIntervalMs);
    const timeline = (await sampleTimeline(db, sample.broadcastId, sample.kind, Math.max(0, sample.seq - span), sample.seq)).map(toSampleScores);
    // earlier firings only hold a rule back (cooldowns), never add a decision: most samples fire nothing, and for them
    // the firings are not read at all
    let decisions = evaluate({ policy, timeline, priorFirings: [] });
    if (decisions.length) {
      const since = new Date(sample.capturedAt.getTime() - lookbackOf(policy).ms);
      decisions = evaluate({ policy, timeline, priorFirings: await ruleFirings(db, sample.broadcastId, since) });
    }
    if (decisions.length) {
      const describe = sample.kind === 'audio' ? await describeSpeech(db, decisions, broadcast.startedAt) : undefined;
      const result = await enforcer.enforce(decisions, { broadcastId: broadcast.id, userId: broadcast.userId, sample: { id: sample.id, capturedAt: sample.capturedAt }, describe });
      for (const a of result.actionsRecorded) metrics.actions.inc({ action: a.action, shadow: String(a.shadow) });
      for (const c of result.casesOpened) metrics.casesOpened.inc({ reason: c.reason, priority: c.priority });
    }
    if (job.data.cascade) {
      const analyzer = sample.kind === 'audio' ? 'speech' : 'nsfw';
      if (sample.analysedAt && sample.status === 'analysed') metrics.analysisLatency.observe({ analyzer }, (sample.analysedAt.getTime() - sample.capturedAt.getTime()) / 1000);
      // samples evaluated before this one was analysed (out-of-order completion, duplicates of it) are evaluated again
      const later = await samplesToReevaluate(db, sample, span);
      for (const id of later) await queues.add('evaluate-sample', { sampleId: id });
      if (later.length) logger.debug({ sampleId: sample.id, reevaluated: later.length }, 'late sample: later samples evaluated again');
    }
  };
}
