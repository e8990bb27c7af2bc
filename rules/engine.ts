/**
 * The rules engine: a pure function from (policy, one broadcast's recent samples, earlier firings) to
 * decisions. No I/O, no clock, no randomness: the same input always gives the same decisions, so a retried
 * job reproduces its decisions exactly and enforcement (moderation/) can apply them idempotently.
 */
import { ANALYSIS_FAILURE_RULE_ID, type Policy, type PolicyAction, type Rule, type RuleCondition } from './policy.ts';

/**
 * The scores of one sample of a broadcast. Timelines are ordered by `seq`; `capturedAt` must not decrease
 * as `seq` grows. `seq` numbers the samples of one kind (frames, or audio chunks) without gaps, so a gap
 * means a sample was lost.
 */
export interface SampleScores {
  sampleId: string;
  seq: number;
  /** Capture time, ms since the epoch. */
  capturedAt: number;
  /** `pending` = not analysed yet: breaks a consecutive run, never counts. `failed` = an analyzer failed. */
  status: 'analysed' | 'failed' | 'pending';
  /** scores[analyzer][label], each in 0..1. */
  scores: Record<string, Record<string, number>>;
  /** The analyzer's error message when `status` is `failed`. */
  error?: string;
}

/** An earlier firing of a rule on the same broadcast: the rule and the capture time (ms) of the sample it fired on. */
export interface Firing {
  ruleId: string;
  capturedAt: number;
}

/** Everything {@link evaluate} needs; see {@link lookbackOf} for how much history to load. */
export interface EvaluationInput {
  policy: Policy;
  /** Samples of ONE broadcast with seq <= the target's, ordered by seq; the last one is the target sample. */
  timeline: readonly SampleScores[];
  /**
   * Earlier firings of rules on this broadcast, in any order, shadow ones included. Only firings captured
   * strictly before the target, within the rule's cooldown, suppress it: firings at the target's own capture
   * time or later (a retried job, a replay) are ignored, so re-evaluating a sample reproduces its decisions.
   */
  priorFirings: readonly Firing[];
}

/** One sample that satisfied a rule's condition, with its best label and that label's score (0..1). */
export interface Evidence {
  sampleId: string;
  score: number;
  label: string;
}

/** A rule that fired on the target sample, with what enforcement should do and why. */
export interface Decision {
  ruleId: string;
  policyVersion: string;
  /** True for shadow-mode rules: record the decision, do not execute its actions. */
  shadow: boolean;
  /** The target sample, and its capture time in ms (what a {@link Firing} records). */
  triggerSampleId: string;
  capturedAt: number;
  /** The samples that satisfied the condition (the run, or the hits in the window), in seq order. */
  evidence: Evidence[];
  actions: PolicyAction[];
  /** Human-readable, e.g. "Porn 0.93 ≥ 0.90 on 3 consecutive samples". */
  reason: string;
}

/** The highest score of a sample over a condition's labels, or null when the sample has none of them. */
function bestScore(sample: SampleScores, when: RuleCondition): Evidence | null {
  if (sample.status !== 'analysed') return null;
  const byLabel = sample.scores[when.analyzer];
  if (!byLabel) return null;
  let best: Evidence | null = null;
  for (const label of when.labels) {
    const score = byLabel[label];
    if (typeof score === 'number' && (best === null || score > best.score)) {
      best = { sampleId: sample.sampleId, score, label };
    }
  }
  return best;
}

function qualifies(sample: SampleScores, when: RuleCondition): Evidence | null {
  const best = bestScore(sample, when);
  return best !== null && best.score >= when.minScore ? best : null;
}

/** Formats ms as the policy file would write it: "500ms", "30s", "5m", "2h". */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * Evidence for `rule` ending at `timeline[end]` (which already qualified as `target`), or null when the
 * window condition does not hold. Walks back from `end` only as far as the window needs.
 */
function windowEvidence(rule: Rule, timeline: readonly SampleScores[], end: number, target: Evidence): Evidence[] | null {
  const { window } = rule.when;
  const last = timeline[end]!;
  if (window.kind === 'consecutive') {
    if (window.samples === 1) return [target];
    if (end + 1 < window.samples) return null;
    const run: Evidence[] = new Array(window.samples);
    run[window.samples - 1] = target;
    for (let k = 1; k < window.samples; k++) {
      const sample = timeline[end - k]!;
      if (sample.seq !== last.seq - k) return null;
      const hit = qualifies(sample, rule.when);
      if (!hit) return null;
      run[window.samples - 1 - k] = hit;
    }
    return run;
  }
  const from = last.capturedAt - window.withinMs; // window is (from, last.capturedAt]
  const hits: Evidence[] = [target];
  for (let i = end - 1; i >= 0; i--) {
    const sample = timeline[i]!;
    if (sample.capturedAt <= from) break;
    if (sample.capturedAt > last.capturedAt) continue;
    const hit = qualifies(sample, rule.when);
    if (hit) hits.push(hit);
  }
  return hits.length >= window.samples ? hits.reverse() : null;
}

function inCooldown(rule: Rule, at: number, firings: readonly Firing[]): boolean {
  if (rule.cooldownMs <= 0) return false;
  for (const f of firings) {
    if (f.ruleId === rule.id && f.capturedAt < at && f.capturedAt >= at - rule.cooldownMs) return true;
  }
  return false;
}

function reasonOf(rule: Rule, target: Evidence, evidence: Evidence[]): string {
  const head = `${target.label} ${target.score.toFixed(2)} ≥ ${rule.when.minScore.toFixed(2)}`;
  const { window } = rule.when;
  if (window.kind === 'consecutive') {
    return window.samples === 1 ? head : `${head} on ${window.samples} consecutive samples`;
  }
  return `${head}; ${evidence.length} samples ≥ ${rule.when.minScore.toFixed(2)} within ${formatDuration(window.withinMs)} (needs ${window.samples})`;
}

/**
 * Evaluates every rule at `timeline[end]`, seeing only `timeline[0..end]`. The replay uses this to walk a
 * whole broadcast without copying it; {@link evaluate} is the public form.
 */
export function evaluateAt(
  policy: Policy,
  timeline: readonly SampleScores[],
  end: number,
  priorFirings: readonly Firing[],
): Decision[] {
  const sample = timeline[end];
  if (!sample) return [];
  if (sample.status === 'failed') {
    if (policy.onAnalysisFailure === 'pass') return [];
    return [
      {
        ruleId: ANALYSIS_FAILURE_RULE_ID,
        policyVersion: policy.version,
        shadow: false,
        triggerSampleId: sample.sampleId,
        capturedAt: sample.capturedAt,
        evidence: [],
        actions: [{ type: 'review', priority: 'normal' }],
        reason: `analysis failed on sample ${sample.sampleId}: ${sample.error ?? 'unknown error'}; held for review`,
      },
    ];
  }
  if (sample.status !== 'analysed') return [];
  const decisions: Decision[] = [];
  for (const rule of policy.rules) {
    const target = qualifies(sample, rule.when);
    if (!target) continue;
    const evidence = windowEvidence(rule, timeline, end, target);
    if (!evidence) continue;
    if (inCooldown(rule, sample.capturedAt, priorFirings)) continue;
    decisions.push({
      ruleId: rule.id,
      policyVersion: policy.version,
      shadow: rule.mode === 'shadow',
      triggerSampleId: sample.sampleId,
      capturedAt: sample.capturedAt,
      evidence,
      actions: rule.actions,
      reason: reasonOf(rule, target, evidence),
    });
  }
  return decisions;
}

/**
 * Decides what the policy says about the last sample of `input.timeline` (the target), in policy rule order.
 *
 * A rule fires only when the target itself qualifies (best score over the rule's labels ≥ min_score) and
 * its window holds ending at the target: `consecutive: N` needs the last N samples to qualify with
 * contiguous seqs (a gap, a pending or a failed sample breaks the run); `count: N, within: W` needs N
 * qualifying samples captured in (target − W, target]. A rule with a cooldown does not fire when one of
 * `priorFirings` of the same rule was captured in [target − cooldown, target). A failed target yields one
 * `analysis-failure` decision (review, priority normal) when the policy says `hold`, none when `pass`.
 * Returns [] for an empty timeline or a pending target. Never throws on well-typed input.
 */
export function evaluate(input: EvaluationInput): Decision[] {
  return evaluateAt(input.policy, input.timeline, input.timeline.length - 1, input.priorFirings);
}

/**
 * How much history a caller must load to evaluate a sample: at least the last `samples` samples (by seq,
 * the target included), every sample captured within the last `ms` milliseconds, and every firing captured
 * within the last `ms` milliseconds (`ms` covers both count windows and cooldowns).
 */
export function lookbackOf(policy: Policy): { samples: number; ms: number } {
  let samples = 1;
  let ms = 0;
  for (const rule of policy.rules) {
    const { window } = rule.when;
    if (window.kind === 'consecutive') samples = Math.max(samples, window.samples);
    else ms = Math.max(ms, window.withinMs);
    ms = Math.max(ms, rule.cooldownMs);
  }
  return { samples, ms };
}
