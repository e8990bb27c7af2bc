/**
 * Replay for `warden rules test [POLICY]`: run stored signals through a policy, then diff two runs to show
 * which review cases and actions a policy change would make appear or disappear. Pure: the caller loads the
 * timelines (db/) and prints the text.
 */
import { evaluateAt, formatDuration, type Decision, type Firing, type SampleScores } from './engine.ts';
import { PRIORITIES, type ActionType, type Policy, type PolicyAction, type Priority } from './policy.ts';

/** Every stored sample of one broadcast, ordered by seq (sorted here if not). */
export interface BroadcastTimeline {
  broadcastId: string;
  samples: SampleScores[];
}

/**
 * A review case the policy would open: one per (broadcast, rule, shadow), since enforcement keeps one open
 * case per broadcast and rule and adds later decisions to it as evidence.
 */
export interface CaseRef {
  broadcastId: string;
  ruleId: string;
  shadow: boolean;
  /** The most urgent priority among the rule's review actions. */
  priority: Priority;
  /** The sample whose decision would open the case. */
  firstSampleId: string;
  /** How many decisions would feed the case. */
  decisions: number;
}

/** A non-review action the policy would execute (or, when `shadow`, only record) on a broadcast. */
export interface ActionRef {
  broadcastId: string;
  ruleId: string;
  shadow: boolean;
  type: Exclude<ActionType, 'review'>;
  /** Parameters in words: "" when none, a duration such as "2h", or "permanent" for a ban without duration. */
  detail: string;
  firstSampleId: string;
  decisions: number;
}

/** The decisions on one broadcast, in sample order. */
export interface BroadcastReplay {
  broadcastId: string;
  decisions: Decision[];
  /** The sample on which an enforced end_stream fired; later samples were not evaluated. Null if none. */
  endedAtSampleId: string | null;
}

/** Totals of a replay. `actions` counts distinct (broadcast, rule, action) by type, review included. */
export interface ReplaySummary {
  broadcasts: number;
  samples: number;
  decisions: number;
  shadowDecisions: number;
  cases: number;
  shadowCases: number;
  actions: Partial<Record<ActionType, number>>;
  shadowActions: Partial<Record<ActionType, number>>;
}

/** The outcome of replaying one policy over a set of broadcasts. */
export interface ReplayResult {
  policyVersion: string;
  broadcasts: BroadcastReplay[];
  cases: CaseRef[];
  actions: ActionRef[];
  summary: ReplaySummary;
}

/** Options of {@link replay}. */
export interface ReplayOptions {
  /**
   * Stop a broadcast at the first enforced end_stream, as the live system would (default true). The stored
   * samples after it exist only because the policy in force at the time did not end the stream.
   */
  stopAtEndStream?: boolean;
}

/** Case and action changes between two replays over the same timelines. */
export interface PolicyDiff {
  casesAdded: CaseRef[];
  casesRemoved: CaseRef[];
  actionsAdded: ActionRef[];
  actionsRemoved: ActionRef[];
  before: ReplaySummary;
  after: ReplaySummary;
}

function actionDetail(a: PolicyAction): string {
  if (a.type === 'ban') return a.durationMs === null ? 'permanent' : formatDuration(a.durationMs);
  if (a.type === 'suspend' || a.type === 'timeout') return formatDuration(a.durationMs);
  return '';
}

function inSeqOrder(samples: SampleScores[]): SampleScores[] {
  for (let i = 1; i < samples.length; i++) {
    if (samples[i]!.seq < samples[i - 1]!.seq) return [...samples].sort((a, b) => a.seq - b.seq);
  }
  return samples;
}

/**
 * Replays every sample of every timeline against `policy`: each sample is evaluated with the samples
 * before it as history, and firings are fed back so cooldowns behave as they would live.
 * Cases = distinct (broadcast, rule) with a review action; shadow ones are kept apart.
 */
export function replay(policy: Policy, timelines: readonly BroadcastTimeline[], options: ReplayOptions = {}): ReplayResult {
  const stopAtEndStream = options.stopAtEndStream ?? true;
  const withCooldown = new Set(policy.rules.filter((r) => r.cooldownMs > 0).map((r) => r.id));
  const broadcasts: BroadcastReplay[] = [];
  const cases = new Map<string, CaseRef>();
  const actions = new Map<string, ActionRef>();
  const summary: ReplaySummary = {
    broadcasts: timelines.length,
    samples: 0,
    decisions: 0,
    shadowDecisions: 0,
    cases: 0,
    shadowCases: 0,
    actions: {},
    shadowActions: {},
  };

  for (const { broadcastId, samples } of timelines) {
    const timeline = inSeqOrder(samples);
    const firings: Firing[] = [];
    const decisions: Decision[] = [];
    let endedAtSampleId: string | null = null;
    for (let i = 0; i < timeline.length && endedAtSampleId === null; i++) {
      summary.samples++;
      for (const d of evaluateAt(policy, timeline, i, firings)) {
        decisions.push(d);
        if (withCooldown.has(d.ruleId)) firings.push({ ruleId: d.ruleId, capturedAt: d.capturedAt });
        if (d.shadow) summary.shadowDecisions++;
        else summary.decisions++;
        for (const a of d.actions) {
          if (a.type === 'review') {
            const key = `${broadcastId}\t${d.ruleId}\t${d.shadow}`;
            const c = cases.get(key);
            if (c) {
              c.decisions++;
              if (PRIORITIES.indexOf(a.priority) < PRIORITIES.indexOf(c.priority)) c.priority = a.priority;
            } else {
              cases.set(key, { broadcastId, ruleId: d.ruleId, shadow: d.shadow, priority: a.priority, firstSampleId: d.triggerSampleId, decisions: 1 });
            }
          } else {
            const detail = actionDetail(a);
            const key = `${broadcastId}\t${d.ruleId}\t${d.shadow}\t${a.type}\t${detail}`;
            const ref = actions.get(key);
            if (ref) ref.decisions++;
            else actions.set(key, { broadcastId, ruleId: d.ruleId, shadow: d.shadow, type: a.type, detail, firstSampleId: d.triggerSampleId, decisions: 1 });
          }
          if (a.type === 'end_stream' && !d.shadow && stopAtEndStream) endedAtSampleId = d.triggerSampleId;
        }
      }
    }
    broadcasts.push({ broadcastId, decisions, endedAtSampleId });
  }

  const bump = (counts: Partial<Record<ActionType, number>>, type: ActionType) => {
    counts[type] = (counts[type] ?? 0) + 1;
  };
  for (const c of cases.values()) {
    if (c.shadow) summary.shadowCases++;
    else summary.cases++;
    bump(c.shadow ? summary.shadowActions : summary.actions, 'review');
  }
  for (const a of actions.values()) bump(a.shadow ? summary.shadowActions : summary.actions, a.type);
  return { policyVersion: policy.version, broadcasts, cases: [...cases.values()], actions: [...actions.values()], summary };
}

const caseKey = (c: CaseRef) => `${c.broadcastId}\t${c.ruleId}\t${c.shadow}`;
const actionKey = (a: ActionRef) => `${a.broadcastId}\t${a.ruleId}\t${a.shadow}\t${a.type}\t${a.detail}`;

function minus<T>(a: readonly T[], b: readonly T[], key: (x: T) => string): T[] {
  const seen = new Set(b.map(key));
  return a.filter((x) => !seen.has(key(x)));
}

/**
 * Compares two replays of the same timelines (typically the current policy vs. a changed one): cases and
 * non-review actions present only in `after` are added, those only in `before` are removed.
 */
export function diffReplays(before: ReplayResult, after: ReplayResult): PolicyDiff {
  return {
    casesAdded: minus(after.cases, before.cases, caseKey),
    casesRemoved: minus(before.cases, after.cases, caseKey),
    actionsAdded: minus(after.actions, before.actions, actionKey),
    actionsRemoved: minus(before.actions, after.actions, actionKey),
    before: before.summary,
    after: after.summary,
  };
}

const byBroadcastThenRule = (a: { broadcastId: string; ruleId: string }, b: { broadcastId: string; ruleId: string }) =>
  a.broadcastId.localeCompare(b.broadcastId) || a.ruleId.localeCompare(b.ruleId);

function caseLine(sign: string, c: CaseRef): string {
  const kind = c.shadow ? 'case (shadow)' : 'case';
  const n = c.decisions === 1 ? '1 decision' : `${c.decisions} decisions`;
  return `${sign} ${kind}  broadcast ${c.broadcastId}  ${c.ruleId}  ${c.priority}  (${n}, first at sample ${c.firstSampleId})`;
}

function actionLine(sign: string, a: ActionRef): string {
  const kind = a.shadow ? 'action (shadow)' : 'action';
  const what = a.detail ? `${a.type} ${a.detail}` : a.type;
  return `${sign} ${kind}  broadcast ${a.broadcastId}  ${a.ruleId}  ${what}  (first at sample ${a.firstSampleId})`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Renders a diff for the terminal: a header, one `+` or `-` line per case or action (sorted by broadcast
 * and rule), then a one-line total starting with "total:". An empty diff prints "no changes".
 */
export function formatDiff(diff: PolicyDiff, beforeVersion: string, afterVersion: string): string {
  const { before, after } = diff;
  const lines = [
    `policy ${beforeVersion} → ${afterVersion}: replayed ${plural(after.broadcasts, 'broadcast')}, ${plural(after.samples, 'sample')}`,
  ];
  for (const c of [...diff.casesRemoved].sort(byBroadcastThenRule)) lines.push(caseLine('-', c));
  for (const c of [...diff.casesAdded].sort(byBroadcastThenRule)) lines.push(caseLine('+', c));
  for (const a of [...diff.actionsRemoved].sort(byBroadcastThenRule)) lines.push(actionLine('-', a));
  for (const a of [...diff.actionsAdded].sort(byBroadcastThenRule)) lines.push(actionLine('+', a));
  const changes = diff.casesAdded.length + diff.casesRemoved.length + diff.actionsAdded.length + diff.actionsRemoved.length;
  if (changes === 0) lines.push('  no changes');
  lines.push(
    `total: +${diff.casesAdded.length} -${diff.casesRemoved.length} cases, ` +
      `+${diff.actionsAdded.length} -${diff.actionsRemoved.length} actions ` +
      `(cases ${before.cases} → ${after.cases}, shadow cases ${before.shadowCases} → ${after.shadowCases}, ` +
      `end_stream ${before.actions.end_stream ?? 0} → ${after.actions.end_stream ?? 0})`,
  );
  return lines.join('\n');
}
