/** Shapes of the API answers the studio reads (see /api/openapi.json). Times are ISO strings. */

/** The signed-in user (`GET /api/me`), as the shared account components know it. */
export type { Me } from '../../common/account/index.ts';

export type Protection = 'none' | 'freeze_chat' | 'hide_stream' | 'end_broadcast';
export const PROTECTIONS: readonly Protection[] = ['none', 'freeze_chat', 'hide_stream', 'end_broadcast'];

export interface Health {
  state: 'starting' | 'ok' | 'stalled'; tapMode: string | null; tapNote: string | null; sampleIntervalMs: number;
  framesSampled: number; framesAnalysed: number; framesFailed: number; duplicateFrames: number; audioChunks: number;
  lastSampleAt: string | null; secondsSinceLastSample: number | null; viewers: number | null; casesOpened: number; casesOpen: number;
}

export interface LiveStatus {
  ingestUrl: string;
  encoder: { keyframeIntervalS: number; video: string; audio: string };
  broadcast: { id: string; startedAt: string; ingestNode: string; health: Health } | null;
}

export interface AlertView {
  id: string; broadcastId: string | null; status: 'open' | 'acknowledged' | 'resolved'; protection: string; raisedAt: string; escalations: number;
  acknowledgedBy: { id: string; handle: string } | null; resolvedBy: { id: string; handle: string } | null;
}
export interface AlertEvent { type: 'raised' | 'escalated' | 'acknowledged' | 'resolved'; alert: AlertView; at: number }

export interface RoomSettings { slowModeS: number; trustedOnly: boolean; panicProtection: Protection }
export interface Room extends RoomSettings { terms: { id: string; term: string; action: 'flag' | 'hold' | 'block'; createdAt: string }[] }
export interface Block { userId: string; handle: string; reason: string; createdAt: string }
export interface Trusted { userId: string; handle: string; createdAt: string }

export interface StreamKey { id: string; prefix: string; label: string | null; createdAt: string; revokedAt: string | null; liveBroadcastId: string | null }

export interface Verification {
  id: string; status: 'pending' | 'approved' | 'rejected' | 'revoked'; method: string; decisionReason: string | null;
  decidedAt: string | null; expiresAt: string | null; createdAt: string;
  checks: { ageYears: number | null; match?: { distance: number; threshold: number; same: boolean } };
}

export interface Statement {
  id: string; decision: string; reasonCode: string; facts: string; automatedDetection: boolean; automatedDecision: boolean;
  restriction: { kind: string; until: string | null } | null; redress: string; appealableUntil: string | null;
  withdrawnAt: string | null; withdrawnReason: string | null; createdAt: string;
  ground: { description: string };
}
export interface Appeal { id: string; statementId: string; status: 'open' | 'upheld' | 'overturned'; decisionNote: string | null; createdAt: string }
