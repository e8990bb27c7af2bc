/**
 * What a decision leaves behind for the people it concerns: the statement of reasons for the affected user
 * (EU Digital Services Act, Regulation (EU) 2022/2065, Art. 17(3): the restriction and its scope, the facts and
 * circumstances, whether automated means detected or decided it, the ground in the terms, and the redress
 * available), strikes and the escalation they reach, and the outcome told to each reporter. Pure text
 * composition plus writes inside the caller's transaction.
 */
import type { Tx } from '../db/index.ts';
import { insertNotification, insertStatement, insertStrike, setReportOutcome, strikePoints } from '../db/index.ts';
import { escalationFor, reasonCodeFor, type ModerationPolicy, type ReasonCode } from '../rules/moderation-policy.ts';

/** The decisions a moderator can take; appeals have their own two. */
export const DECISIONS = ['dismiss', 'warn', 'remove', 'timeout', 'end_stream', 'suspend', 'ban'] as const;
export const APPEAL_DECISIONS = ['uphold', 'overturn'] as const;
/** A verification case (subject `verification`) is decided with these two, and only these. */
export const VERIFICATION_DECISIONS = ['approve', 'reject'] as const;
export type DecisionAction = (typeof DECISIONS)[number] | (typeof APPEAL_DECISIONS)[number] | (typeof VERIFICATION_DECISIONS)[number];
/** What a statement of reasons can report: a case decision, or a senior moderator revoking a verification. */
export type StatementDecision = DecisionAction | 'revoke_verification';

/** What each decision restricts, in words (statements and notifications). */
const DECISION_TEXT: Record<StatementDecision, string> = {
  dismiss: 'no action was taken',
  warn: 'you received a warning',
  remove: 'the content was removed',
  timeout: 'you were timed out of chat',
  end_stream: 'your live broadcast was ended',
  suspend: 'your account was suspended',
  ban: 'your account was banned',
  uphold: 'the decision was upheld on appeal',
  overturn: 'the decision was overturned on appeal',
  approve: 'your age/ID verification was approved',
  reject: 'your age/ID verification was rejected',
  revoke_verification: 'your age/ID verification was revoked',
};

/** The facts a statement states, gathered from the case. */
export interface CaseFacts {
  caseId: string | null;
  subjectType: string;
  reason: string;
  reasonType: 'rule' | 'report' | 'appeal';
  policyVersion: string | null;
  /** Short plain-language items: "explicit content scored 0.93 on a frame at 21:04:05 UTC", "3 viewer reports". */
  observations: string[];
}

export interface StatementInput {
  userId: string;
  facts: CaseFacts;
  decision: StatementDecision;
  reasonCode: ReasonCode;
  note: string | null;
  /** The audit-log entry of the decision. */
  actionId: number | null;
  automatedDecision: boolean;
  restriction: { kind: string; until: string | null } | null;
  appealWindowMs: number;
}

/**
 * Writes a statement of reasons and tells the user (a `statement` notification).
 * @returns the statement id.
 */
export async function issueStatement(tx: Tx, s: StatementInput): Promise<string> {
  const until = new Date(Date.now() + s.appealWindowMs);
  const detected = s.facts.subjectType === 'verification' ? 'your age/ID verification (automatic checks of your date of birth and face match, and a moderator\'s review)'
    : s.facts.reasonType === 'rule' ? 'automated detection (Warden\'s analyzers and rules)' : s.facts.reasonType === 'report' ? 'reports from viewers' : 'your appeal';
  const facts = [
    `${capitalise(DECISION_TEXT[s.decision])} because of ${s.reasonCode.label.toLowerCase()}.`,
    `This came to our attention through ${detected}.`,
    ...s.facts.observations,
    ...(s.note ? [`Moderator's note: ${s.note}`] : []),
  ].join(' ');
  const id = await insertStatement(tx, {
    userId: s.userId, caseId: s.facts.caseId, actionId: s.actionId, decision: s.decision, reasonCode: s.reasonCode.code, facts,
    ground: { rule: s.facts.reasonType === 'rule' ? s.facts.reason : null, policyVersion: s.facts.policyVersion, reasonCode: s.reasonCode.code, description: s.reasonCode.description || s.reasonCode.label },
    automatedDetection: s.facts.reasonType === 'rule', automatedDecision: s.automatedDecision, restriction: s.restriction,
    redress: `You can appeal this decision until ${until.toISOString()} (POST /api/appeals with this statement's id and your reasons). `
      + 'A senior moderator who did not take the decision will review it. You may also use any out-of-court dispute settlement body or judicial remedy available to you.',
    appealableUntil: until,
  });
  await insertNotification(tx, { userId: s.userId, kind: 'statement', title: capitalise(DECISION_TEXT[s.decision]), body: { statementId: id, caseId: s.facts.caseId, decision: s.decision, reasonCode: s.reasonCode.code } });
  return id;
}

/**
 * Gives the strike a decision carries (the reason code's weight; none for dismissals or weight 0) and works out
 * the escalation the user's active points now reach.
 * @returns the points after the strike and the escalation step reached, if any.
 */
export async function giveStrike(tx: Tx, policy: ModerationPolicy, s: { userId: string; caseId: string; statementId: string | null; reasonCode: ReasonCode; decision: DecisionAction }) {
  if (s.decision === 'dismiss' || s.reasonCode.weight === 0) return { points: await strikePoints(tx, s.userId), escalation: undefined };
  await insertStrike(tx, {
    userId: s.userId, caseId: s.caseId, statementId: s.statementId, reasonCode: s.reasonCode.code, weight: s.reasonCode.weight,
    expiresAt: new Date(Date.now() + policy.strikeWindowMs),
  });
  const points = await strikePoints(tx, s.userId);
  return { points, escalation: escalationFor(policy, points) };
}

/** Tells every reporter of a case what came of it (a `report_outcome` notification); records the outcome on the reports. */
export async function tellReporters(tx: Tx, caseId: string, decision: DecisionAction, reasonCode: ReasonCode): Promise<number> {
  const outcome = decision === 'dismiss' ? 'no violation found' : `action taken: ${DECISION_TEXT[decision]} (${reasonCode.label})`.replace('you were', 'the user was').replace('your ', 'their ').replace('you received', 'the user received');
  const rows = await setReportOutcome(tx, caseId, outcome);
  const reporters = [...new Set(rows.map((r) => r.reporterId))];
  for (const reporterId of reporters) {
    await insertNotification(tx, { userId: reporterId, kind: 'report_outcome', title: 'Your report was reviewed', body: { caseId, outcome } });
  }
  return reporters.length;
}

/** The reason code a decision cites: the one given, checked against the policy. @returns undefined when unknown. */
export function findReasonCode(policy: ModerationPolicy, code: string): ReasonCode | undefined {
  return policy.reasonCodes.find((r) => r.code === code);
}

/**
 * Whether viewers may report under this code: every reason code but `no_violation` and the verification
 * decisions (`verification_*`: a moderator's approve/reject reasons, not something a viewer reports).
 */
export function isReportCategory(code: string): boolean {
  return code !== 'no_violation' && !code.startsWith('verification_');
}

/** The reason code the console should preselect for a case (covering its reason), else `other`. */
export function suggestReasonCode(policy: ModerationPolicy, reason: string): string {
  return reasonCodeFor(policy, reason)?.code ?? 'other';
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
