/**
 * The `chat:` section of a policy: limits, the action per text category, and follow-ups (timeouts and bans
 * after repeated hits). Pure: `decideMessage` and `followUpFor` do no I/O.
 */
import { z } from 'zod';
import { duration } from './duration.ts';

import { TEXT_CATEGORIES, type Severity, type TextCategory } from '../analyzer/text/types.ts';

export { TEXT_CATEGORIES };
/** A text category the analyzer reports (analyzer/text is the one source of the list). */
export type TextCategoryName = TextCategory;
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const satisfies readonly Severity[];

/** What happens to a message: delivered, delivered and flagged for review, held for review (not delivered), blocked. */
export const CHAT_VERDICTS = ['allow', 'flag', 'hold', 'block'] as const;
export type ChatVerdict = (typeof CHAT_VERDICTS)[number];

const verdict = z.enum(CHAT_VERDICTS, { error: `expected one of ${CHAT_VERDICTS.join(', ')}` });
const count = z.int({ error: 'expected a whole number' }).min(1, 'must be at least 1');

const followUpSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'an id uses lowercase letters, digits, ".", "_" and "-"'),
  when: z.strictObject({
    verdicts: z.array(verdict).min(1).optional(),
    categories: z.array(z.enum(TEXT_CATEGORIES)).min(1).optional(),
    count,
    within: duration(false),
  }),
  action: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('timeout'), duration: duration(false) }),
    z.strictObject({ type: z.literal('ban'), duration: duration(false).optional() }),
  ]),
});

/** The zod schema of the `chat:` section (used by rules/policy.ts). */
export const chatPolicySchema = z.strictObject({
  max_length: z.int().min(1).max(10_000).optional(),
  rate_limit: z.strictObject({
    burst: z.strictObject({ count, per: duration(false) }).optional(),
    sustained: z.strictObject({ count, per: duration(false) }).optional(),
  }).optional(),
  duplicate_within: duration(true).optional(),
  categories: z.partialRecord(z.enum(TEXT_CATEGORIES), z.union([verdict, z.partialRecord(z.enum(SEVERITIES), verdict)], { error: 'expected one of allow, flag, hold, block, or verdicts by severity (low, medium, high, critical)' })).optional(),
  follow_ups: z.array(followUpSchema).optional(),
});

/** A follow-up: when a user's messages reach `count` matching verdicts within `withinMs`, apply `action`. */
export interface ChatFollowUp {
  id: string;
  verdicts: ChatVerdict[];
  /** Only messages with one of these categories count; null = any. */
  categories: TextCategoryName[] | null;
  count: number;
  withinMs: number;
  action: { type: 'timeout'; durationMs: number } | { type: 'ban'; durationMs: number | null };
}

/** The normalised chat policy. Times in ms. */
export interface ChatPolicy {
  maxLength: number;
  rateLimit: { burst: { count: number; perMs: number }; sustained: { count: number; perMs: number } };
  /** The same text from the same user within this long is refused as a duplicate (0: off). */
  duplicateWithinMs: number;
  /**
   * Verdict per category and severity: `actions[category][severity]`. In the policy a category takes one
   * verdict, or verdicts by severity (`{ low: flag, high: block }`: a match takes the entry of the highest
   * severity at or below its own, else the lowest entry).
   */
  actions: Record<TextCategoryName, Record<Severity, ChatVerdict>>;
  followUps: ChatFollowUp[];
}

function bySeverity(v: ChatVerdict | Partial<Record<Severity, ChatVerdict>>): Record<Severity, ChatVerdict> {
  if (typeof v === 'string') return { low: v, medium: v, high: v, critical: v };
  const lowest = SEVERITIES.map((s) => v[s]).find((x) => x !== undefined) ?? 'flag';
  let current = lowest;
  const out = {} as Record<Severity, ChatVerdict>;
  for (const s of SEVERITIES) {
    current = v[s] ?? current;
    out[s] = current;
  }
  return out;
}

/** Defaults for anything the policy leaves out. Self-harm is flagged (support), never blocked or punished. */
export const DEFAULT_CHAT_ACTIONS: Record<TextCategoryName, ChatVerdict | Partial<Record<Severity, ChatVerdict>>> = {
  profanity: 'flag', slur: 'block', sexual_harassment: 'block', threat: 'block', self_harm: 'flag',
  minor_disclosure: 'hold', personal_data: 'block', contact_solicitation: 'block', off_platform_payment: 'block',
  spam: { low: 'flag', medium: 'block' }, link: { low: 'flag', high: 'block' },
};

/** Normalises a validated `chat:` section (or undefined) into a {@link ChatPolicy}. */
export function normaliseChatPolicy(raw: z.output<typeof chatPolicySchema> | undefined): ChatPolicy {
  return {
    maxLength: raw?.max_length ?? 500,
    rateLimit: {
      burst: { count: raw?.rate_limit?.burst?.count ?? 5, perMs: raw?.rate_limit?.burst?.per ?? 10_000 },
      sustained: { count: raw?.rate_limit?.sustained?.count ?? 30, perMs: raw?.rate_limit?.sustained?.per ?? 300_000 },
    },
    duplicateWithinMs: raw?.duplicate_within ?? 30_000,
    actions: Object.fromEntries(TEXT_CATEGORIES.map((c) => [c, bySeverity(raw?.categories?.[c] ?? DEFAULT_CHAT_ACTIONS[c])])) as ChatPolicy['actions'],
    followUps: (raw?.follow_ups ?? []).map((f) => ({
      id: f.id, verdicts: f.when.verdicts ?? ['block'], categories: f.when.categories ?? null, count: f.when.count, withinMs: f.when.within,
      action: f.action.type === 'timeout' ? { type: 'timeout', durationMs: f.action.duration } : { type: 'ban', durationMs: f.action.duration ?? null },
    })),
  };
}

const rank: Record<ChatVerdict, number> = { allow: 0, flag: 1, hold: 2, block: 3 };

/** The stricter of two verdicts. */
export function stricter(a: ChatVerdict, b: ChatVerdict): ChatVerdict {
  return rank[a] >= rank[b] ? a : b;
}

/** A reason a verdict was reached: the platform category or the room's own term. */
export interface VerdictReason { source: 'platform' | 'room'; category?: string; term?: string; verdict: ChatVerdict }

/**
 * The verdict for a message: the strictest of the platform policy's verdict for each match (by category and
 * severity) and the room's own term actions. A room can tighten the platform policy but never loosen it.
 * @param matches what the text analyzer found (category and severity of each match).
 * @param roomHits the performer's terms found in the message, each with the action the performer chose.
 * @returns the verdict and one reason per category (its strictest verdict) and per room term.
 */
export function decideMessage(chat: ChatPolicy, matches: readonly { category: string; severity: Severity; rule?: string }[], roomHits: readonly { term: string; action: ChatVerdict }[] = []): { verdict: ChatVerdict; reasons: VerdictReason[] } {
  let result: ChatVerdict = 'allow';
  const reasons: VerdictReason[] = [];
  for (const m of matches) {
    const v = chat.actions[m.category as TextCategoryName]?.[m.severity] ?? 'flag';
    const prior = reasons.find((r) => r.category === m.category);
    if (prior) prior.verdict = stricter(prior.verdict, v);
    else reasons.push({ source: 'platform', category: m.category, verdict: v });
    result = stricter(result, v);
  }
  for (const h of roomHits) {
    reasons.push({ source: 'room', term: h.term, verdict: h.action });
    result = stricter(result, h.action);
  }
  return { verdict: result, reasons };
}

/** One earlier message of a user, for follow-ups. */
export interface MessageHistoryItem { verdict: ChatVerdict; categories: readonly string[]; at: number }

/**
 * The follow-up to apply after a message, given the user's recent messages (including this one), or null.
 * When several follow-ups are due, a ban wins over a timeout, then the longer one.
 */
export function followUpFor(chat: ChatPolicy, history: readonly MessageHistoryItem[], now: number): ChatFollowUp | null {
  let best: ChatFollowUp | null = null;
  for (const f of chat.followUps) {
    let n = 0;
    for (const m of history) {
      if (m.at <= now - f.withinMs || m.at > now) continue;
      if (!f.verdicts.includes(m.verdict)) continue;
      if (f.categories && !m.categories.some((c) => f.categories!.includes(c as TextCategoryName))) continue;
      n++;
    }
    if (n < f.count) continue;
    if (!best || weight(f) > weight(best)) best = f;
  }
  return best;
}

function weight(f: ChatFollowUp): number {
  return f.action.type === 'ban' ? (f.action.durationMs ?? Number.MAX_SAFE_INTEGER) + 1e15 : f.action.durationMs;
}
