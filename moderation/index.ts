/** moderation/: the only writer of cases, actions (the audit log) and enforcement. */
export { Enforcer, defaultSlaMinutes, enforcementChannel, type EnforcementMessage, type DecisionContext, type EnforcementResult } from './enforcer.ts';
export { ChatModeration, mirrorRestriction, restrictionKey, type ChatMessageRecord, type Restriction } from './chat.ts';
export { ReviewService, conflictError, isSenior, type DecisionInput, type DecisionResult, type ReviewDeps } from './review.ts';
export { Intake, type ReportInput } from './intake.ts';
export { DECISIONS, APPEAL_DECISIONS, suggestReasonCode, type DecisionAction } from './outcomes.ts';
export { allQueues, accessibleQueues, mayAccessQueue, queueOfReason, GENERAL_QUEUE, APPEALS_QUEUE, type Moderator } from './queues.ts';
export { WebhookDispatcher, verifyWebhookSignature, webhookSignature, type WebhookDeps } from './webhooks.ts';
export { auditAccountEvent, type AccountActor } from './accounts.ts';
export { AlertService, PROTECTIONS, frozenRoomKey, type AlertDeps, type AlertEvent, type LiveAlert, type Protection } from './alerts.ts';
export { StreamKeyService } from './keys.ts';
export { attestBirthDate, type AttestationResult } from './accounts.ts';
export { hiddenBroadcastKey, liveBroadcastKey } from './alerts.ts';
export { VERIFICATION_DECISIONS, type StatementDecision } from './outcomes.ts';
export { VerificationService, VerificationSweeper, VERIFICATION_CASE_REASON, VERIFICATION_IMAGES, verifyProviderSignature, sealContext, type FaceFinder, type SubmitOutcome, type VerificationChecks, type VerificationImage, type VerificationSummary } from './verification.ts';
export {
  HANDLE_PATTERN, MIN_ACCOUNT_PASSWORD_LENGTH, PASSWORD_RESET_TTL_MS, RESET_LINK_INVALID, STAFF_ROLES, accountPasswordProblem, confirmPasswordReset, disableTotp, enableTotp,
  isStaff, requestPasswordReset, resetTotp, revokeOwnSessionAudited, signUp, startTotpEnrolment, useTotpCode, type SignUpInput,
} from './accounts.ts';
export { RoomModeration, ROOM_BLOCK_REASON, panicProtectionKey, savedPanicProtection, type RoomBlock, type RoomModerationDeps } from './room.ts';
export { isReportCategory } from './outcomes.ts';
export { Mailer, type MailerDeps } from './mailer.ts';
export { Retention, type RetentionDeps, type RetentionOutcome } from './retention.ts';
