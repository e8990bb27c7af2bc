/**
 * The `moderation:` section of a policy: the reason codes moderators decide with (each with its strike weight,
 * the policy's measure of severity), which case reasons each code covers (so the console can suggest one and
 * automated decisions can name one), the review queues and who may work them, and the strike escalation
 * ladder (points within a window → suspension, ban). Pure: no I/O.
 */
import { z } from 'zod';
import { duration } from './duration.ts';

const code = z.string().regex(/^[a-z][a-z0-9_]*$/, 'a reason code uses lowercase letters, digits and _');

/** The zod schema of the `moderation:` section (used by rules/policy.ts). */
export const moderationPolicySchema = z.strictObject({
  /** Strikes count towards escalation for this long after they are given. */
  strike_window: duration(false).optional(),
  reason_codes: z.record(code, z.strictObject({
    label: z.string().min(1),
    description: z.string().optional(),
    /** Strike points a decision with this code gives (0: none). */
    weight: z.int().min(0).max(100),
    /** Case reasons (rule ids, `chat.<category>`, `report.<code>`) this code covers: exact, or a prefix before "." */
    covers: z.array(z.string().min(1)).optional(),
  })).optional(),
  /** Queues beyond `general`; a case goes to the first queue whose reason codes cover its reason. */
  queues: z.record(code, z.strictObject({
    label: z.string().min(1),
    /** Permission a moderator needs (senior moderators and admins have all queue permissions). */
    permission: z.string().regex(/^queue:[a-z0-9_]+$/, 'a queue permission looks like queue:<name>').optional(),
    reason_codes: z.array(code).min(1),
  })).optional(),
  escalation: z.array(z.strictObject({
    points: z.int().min(1),
    action: z.enum(['suspend', 'ban']),
    duration: duration(false).optional(),
  })).optional(),
});

export interface ReasonCode { code: string; label: string; description: string; weight: number; covers: string[] }
export interface ReviewQueue { name: string; label: string; permission: string | null; reasonCodes: string[] }
export interface EscalationStep { points: number; action: 'suspend' | 'ban'; durationMs: number | null }

/** The normalised moderation policy. */
export interface ModerationPolicy {
  strikeWindowMs: number;
  reasonCodes: ReasonCode[];
  queues: ReviewQueue[];
  /** Ordered by points, highest first (the first step reached applies). */
  escalation: EscalationStep[];
}

/** Strikes expire after 90 days unless the policy says otherwise. */
export const DEFAULT_STRIKE_WINDOW_MS = 90 * 86_400_000;

/** Normalises a validated `moderation:` section; without one, only `no_violation` and `other` exist. */
export function normaliseModerationPolicy(raw: z.output<typeof moderationPolicySchema> | undefined): ModerationPolicy {
  const reasonCodes: ReasonCode[] = Object.entries(raw?.reason_codes ?? {}).map(([c, r]) => ({
    code: c, label: r.label, description: r.description ?? '', weight: r.weight, covers: r.covers ?? [],
  }));
  for (const [c, label] of [['no_violation', 'No violation'], ['other', 'Other']] as const) {
    if (!reasonCodes.some((r) => r.code === c)) reasonCodes.push({ code: c, label, description: '', weight: c === 'other' ? 1 : 0, covers: [] });
  }
  return {
    strikeWindowMs: raw?.strike_window ?? DEFAULT_STRIKE_WINDOW_MS,
    reasonCodes,
    queues: Object.entries(raw?.queues ?? {}).map(([name, q]) => ({ name, label: q.label, permission: q.permission ?? null, reasonCodes: q.reason_codes })),
    escalation: (raw?.escalation ?? []).map((s) => ({ points: s.points, action: s.action, durationMs: s.duration ?? null })).sort((a, b) => b.points - a.points),
  };
}

/** Problems a schema cannot see: queues naming unknown reason codes. @returns messages with their path. */
export function checkModerationPolicy(raw: z.output<typeof moderationPolicySchema> | undefined): { path: (string | number)[]; message: string }[] {
  const codes = new Set(Object.keys(raw?.reason_codes ?? {}).concat('no_violation', 'other'));
  const out: { path: (string | number)[]; message: string }[] = [];
  for (const [name, q] of Object.entries(raw?.queues ?? {})) {
    q.reason_codes.forEach((c, i) => {
      if (!codes.has(c)) out.push({ path: ['moderation', 'queues', name, 'reason_codes', i], message: `unknown reason code "${c}" (known: ${[...codes].join(', ')})` });
    });
    if (name === 'general') out.push({ path: ['moderation', 'queues', name], message: '"general" is the default queue and cannot be redefined' });
  }
  return out;
}

/** Whether a reason code covers a case reason: equal to an entry, or the reason starts with the entry and a ".". */
function covers(rc: ReasonCode, reason: string): boolean {
  return rc.covers.some((c) => reason === c || reason.startsWith(`${c}.`));
}

/** The reason code that covers a case reason (rule id, `chat.<category>`, `report.<code>`), if any. */
export function reasonCodeFor(policy: ModerationPolicy, reason: string): ReasonCode | undefined {
  const reported = reason.startsWith('report.') ? reason.slice('report.'.length) : null;
  if (reported) {
    const direct = policy.reasonCodes.find((r) => r.code === reported);
    if (direct) return direct;
  }
  return policy.reasonCodes.find((r) => covers(r, reason));
}

/** The queue a case with this reason belongs in: the first queue covering its reason code, else `general`. */
export function queueFor(policy: ModerationPolicy, reason: string): string {
  const rc = reasonCodeFor(policy, reason);
  return (rc && policy.queues.find((q) => q.reasonCodes.includes(rc.code))?.name) ?? 'general';
}

/** The escalation step reached by `points` strike points, if any (the highest step not above them). */
export function escalationFor(policy: ModerationPolicy, points: number): EscalationStep | undefined {
  return policy.escalation.find((s) => points >= s.points);
}
