/** The moderation API's shapes, as the console reads them (scratch/api-contract.md, api/*.ts). */

export type Role = 'viewer' | 'performer' | 'moderator' | 'senior_moderator' | 'admin';
export type Priority = 'critical' | 'urgent' | 'high' | 'normal' | 'low';
export const PRIORITIES: readonly Priority[] = ['critical', 'urgent', 'high', 'normal', 'low'];

export interface Me { id: string; handle: string; email: string; role: Role; permissions: string[] }
export interface UserRef { id: string; handle: string }

export interface CaseSummary {
  id: string;
  subjectType: 'broadcast' | 'user' | 'message' | 'verification' | 'alert' | 'report' | 'appeal';
  subjectId: string;
  broadcastId: string | null;
  user: UserRef | null;
  reasonType: 'rule' | 'report' | 'appeal';
  reason: string;
  queue: string;
  priority: Priority;
  status: 'open' | 'claimed' | 'resolved';
  slaDueAt: string;
  overdue: boolean;
  claimedBy: UserRef | null;
  claimExpiresAt: string | null;
  reportCount: number;
  evidenceCount: number;
  thumbnailUrl: string | null;
  createdAt: string;
  updatedAt: string;
  resolvedAt: string | null;
  decision: string | null;
  reasonCode: string | null;
  decisionNote?: string | null;
  decidedBy: UserRef | null;
}

export interface TranscriptWord { word: string; start: number; end: number }

export interface Evidence {
  id: number;
  sampleId: string | null;
  kind: 'frame' | 'audio' | null;
  ruleId: string | null;
  capturedAt: string | null;
  imageUrl: string | null;
  audioUrl: string | null;
  scores: Record<string, number> | null;
  details: Record<string, unknown>;
  transcript: { text: string; start: number; end: number; words: TranscriptWord[] } | null;
}

export interface ChatLine { id: string; handle: string | null; body: string; verdict: string; createdAt: string; highlight: boolean }

export interface AuditEntry {
  id: number;
  seq: number | null;
  action: string;
  actorType: string;
  actorId: string;
  actorHandle: string | null;
  subjectType: string;
  subjectId: string;
  caseId: string | null;
  ruleId: string | null;
  policyVersion: string | null;
  shadow: boolean;
  details: unknown;
  createdAt: string;
  hash: string | null;
  prevHash: string | null;
}

export interface Statement {
  id: string;
  userId: string;
  caseId: string | null;
  decision: string;
  reasonCode: string;
  facts: string;
  ground: { rule: string | null; policyVersion: string | null; reasonCode: string; description: string };
  automatedDetection: boolean;
  automatedDecision: boolean;
  restriction: { kind: string; until: string | null } | null;
  redress: string;
  appealableUntil: string | null;
  withdrawnAt: string | null;
  createdAt: string;
}

/** Strike and ban rows as the API passes them through (database rows; only these fields are relied on). */
export interface StrikeRow { id: string; caseId: string | null; reasonCode: string; weight: number; createdAt: string; expiresAt: string; removedAt: string | null; active?: boolean }
export interface BanRow { id: string; kind: string; scope?: string; reason: string | null; caseId?: string | null; startsAt: string; expiresAt: string | null; liftedAt: string | null; active?: boolean }

export interface CaseDetail extends CaseSummary {
  evidence: Evidence[];
  chat: ChatLine[];
  reports: { id: string; reporter: UserRef; category: string; note: string | null; createdAt: string }[];
  history: { strikePoints: number; strikes: StrikeRow[]; bans: BanRow[]; recentActions: AuditEntry[] } | null;
  audit: AuditEntry[];
  statement: Statement | null;
  appeal: { id: string; body: string; status: string; statementId: string; statement?: Statement | null; originalCaseId: string | null; originalDecidedBy: UserRef | null } | null;
  allowedDecisions: string[];
  suggestedReasonCode?: string | null;
  undoUntil: string | null;
}

export interface QueueInfo { name: string; label: string; permission: string | null; accessible: boolean }
export interface ReasonCode { code: string; label: string; weight: number; description: string }

export interface DecisionResult { case: CaseSummary; statementId: string | null; undoUntil: string }

export interface Broadcast {
  id: string;
  user: UserRef;
  status: 'live' | 'ended';
  startedAt: string;
  endedAt: string | null;
  endReason: string | null;
  /** A publisher that reconnected to another ingest node: the broadcast this one continues, and the one that continued it. */
  continuesId: string | null;
  continuedById: string | null;
  /** Viewers playing a live broadcast now (null: ended or not counted). */
  viewers: number | null;
  latestFrame: { sampleId: string; capturedAt: string; imageUrl: string } | null;
  openCases: number;
}

export interface UserRow {
  id: string;
  handle: string;
  email: string | null;
  role: Role;
  createdAt: string;
  strikePoints: number;
  restriction: { kind: string; until: string | null; reason: string } | null;
}

/** `GET /api/users/:id`, flattened so react-admin has an `id` (the user's fields at the top level). */
export interface UserDetail extends UserRef {
  email: string | null;
  role: Role;
  createdAt: string;
  disabledAt?: string | null;
  strikePoints: number;
  strikes: StrikeRow[];
  bans: BanRow[];
  actions: AuditEntry[];
  statements: Statement[];
  cases: CaseSummary[];
}

export interface Appeal {
  id: string;
  user: UserRef;
  statementId: string;
  body: string;
  status: string;
  caseId: string | null;
  decidedAt: string | null;
  decisionNote: string | null;
  createdAt: string;
}

export interface Stats {
  casesPerHour: { hour: string; reason: string; count: number }[];
  queueDepth: Record<Priority, number>;
  slaBreaches: { openOverdue: number; resolvedLate24h: number; resolved24h?: number };
  medianDecisionSeconds24h: number | null;
  decisions24h: number;
}

/** A `case` server-sent event. */
export interface CaseEvent { id: string; op: 'insert' | 'update'; status: string; priority: Priority; queue: string; reason: string; claimedBy: string | null }

export const MODERATOR_ROLES: readonly Role[] = ['moderator', 'senior_moderator', 'admin'];
export const SENIOR_ROLES: readonly Role[] = ['senior_moderator', 'admin'];

/** What react-admin's `getPermissions` returns. */
export interface Permissions { role: Role; permissions: string[] }
