/**
 * Warden's tables (drizzle-orm). Names follow the field's terms (shared/DESIGN.md); the SQL migrations in
 * db/migrations are generated from this file with `npx drizzle-kit generate`.
 */
import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn, bigint, bigserial, boolean, date, index, integer, jsonb, pgTable, real, text, timestamp, uniqueIndex, uuid,
} from 'drizzle-orm/pg-core';

const id = () => uuid('id').primaryKey().defaultRandom();
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

/** Roles, least to most privileged. */
export const roles = ['viewer', 'performer', 'moderator', 'senior_moderator', 'admin'] as const;
export type Role = (typeof roles)[number];

export const users = pgTable('users', {
  id: id(),
  handle: text('handle').notNull().unique(),
  email: text('email').unique(),
  role: text('role', { enum: roles }).notNull().default('viewer'),
  passwordHash: text('password_hash'),
  /** Extra grants beyond the role, e.g. `queue:minor_safety` (see moderation/queues.ts). */
  permissions: text('permissions').array().notNull().default(sql`'{}'::text[]`),
  /** A disabled account cannot sign in and its sessions stop working. */
  disabledAt: timestamp('disabled_at', { withTimezone: true }),
  /** The date of birth the account holder attested (viewer age gate); null: not attested. */
  birthDate: date('birth_date'),
  /** When the date of birth was attested (and an adult at that time). */
  ageAttestedAt: timestamp('age_attested_at', { withTimezone: true }),
  /** The TOTP secret (RFC 6238), sealed with the data key (core/sealed.ts, context `totp:<user id>`), base64. */
  totpSecret: text('totp_secret'),
  /** When two-factor sign-in was turned on (a secret without this is an enrolment not yet confirmed). */
  totpEnabledAt: timestamp('totp_enabled_at', { withTimezone: true }),
  /** The last TOTP time step accepted (a code is never accepted twice). */
  totpLastStep: bigint('totp_last_step', { mode: 'number' }),
  /** When and which version of the community guidelines the account accepted (at sign-up). */
  guidelinesAcceptedAt: timestamp('guidelines_accepted_at', { withTimezone: true }),
  guidelinesVersion: text('guidelines_version'),
  createdAt: createdAt(),
});

/** Password-reset links: the token is a random secret sent by e-mail; only its SHA-256 is stored. One use. */
export const passwordResets = pgTable('password_resets', {
  id: id(),
  userId: uuid('user_id').notNull().references(() => users.id),
  tokenHash: text('token_hash').notNull().unique(),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
  ip: text('ip'),
}, (t) => [index('password_resets_user_idx').on(t.userId, t.createdAt)]);

/**
 * Outgoing e-mail, written in the same transaction as what it tells (a password-reset link, say) and sent by a
 * mailer afterwards (SMTP when configured; otherwise it stays here for the operator and the tests to read).
 */
export const mailOutbox = pgTable('mail_outbox', {
  id: id(),
  toAddress: text('to_address').notNull(),
  subject: text('subject').notNull(),
  body: text('body').notNull(),
  kind: text('kind').notNull(),
  createdAt: createdAt(),
  sentAt: timestamp('sent_at', { withTimezone: true }),
  attempts: integer('attempts').notNull().default(0),
  lastError: text('last_error'),
  /** Not sent before this time: the backoff after a failed attempt (null: as soon as possible). Shared by every node. */
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
}, (t) => [index('mail_outbox_unsent_idx').on(t.createdAt).where(sql`sent_at is null`)]);

export const verificationStatuses = ['pending', 'approved', 'rejected', 'revoked'] as const;

/** Age/ID verification of a performer. A publish needs one approved and unexpired. */
export const verifications = pgTable('verifications', {
  id: id(),
  userId: uuid('user_id').notNull().references(() => users.id),
  status: text('status', { enum: verificationStatuses }).notNull().default('pending'),
  /** 'document' (Warden's own check: date of birth, ID image, selfie), 'seed', or 'provider:<name>'. */
  method: text('method').notNull().default('document'),
  dateOfBirth: date('date_of_birth'),
  decidedAt: timestamp('decided_at', { withTimezone: true }),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  createdAt: createdAt(),
  /** External provider's reference for this check (unique per provider: a repeated webhook changes nothing). */
  providerRef: text('provider_ref'),
  /**
   * Encrypted images, as file names under `<DATA_DIR>/verification/` (random names chosen by Warden, never from
   * input; AES-256-GCM with the key from config). Null once deleted after the retention period.
   */
  documentFile: text('document_file'),
  selfieFile: text('selfie_file'),
  imagesDeletedAt: timestamp('images_deleted_at', { withTimezone: true }),
  /** What the automatic checks found: `{ ageYears, faces: { document, selfie }, match: { distance, threshold, same }, ... }`. */
  checks: jsonb('checks').notNull().default({}),
  /** Face-descriptor distance between the document face and the selfie (Euclidean, face-api), and the threshold used. */
  faceDistance: real('face_distance'),
  faceThreshold: real('face_threshold'),
  /** The selfie's 128-d face descriptor, AES-256-GCM encrypted (base64), for matching the performer on camera. */
  faceDescriptor: text('face_descriptor'),
  /** The review case the verification opened. */
  caseId: uuid('case_id'),
  decidedBy: text('decided_by'),
  decisionReason: text('decision_reason'),
}, (t) => [
  index('verifications_user_idx').on(t.userId, t.status),
  uniqueIndex('verifications_provider_ref').on(t.method, t.providerRef),
  // one check waits for a moderator at a time per performer
  uniqueIndex('verifications_one_pending').on(t.userId).where(sql`status = 'pending'`),
]);

/** Stream keys, stored as SHA-256 hashes; `keyPrefix` (first characters) identifies a key in logs and the UI. */
export const streamKeys = pgTable('stream_keys', {
  id: id(),
  userId: uuid('user_id').notNull().references(() => users.id),
  keyHash: text('key_hash').notNull().unique(),
  keyPrefix: text('key_prefix').notNull(),
  label: text('label'),
  createdAt: createdAt(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

export const broadcastStatuses = ['live', 'ended'] as const;

/** One live session of a performer, from accepted publish to end. */
export const broadcasts = pgTable('broadcasts', {
  id: id(),
  userId: uuid('user_id').notNull().references(() => users.id),
  streamKeyId: uuid('stream_key_id').notNull().references(() => streamKeys.id),
  ingestNode: text('ingest_node').notNull(),
  status: text('status', { enum: broadcastStatuses }).notNull().default('live'),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
  endedAt: timestamp('ended_at', { withTimezone: true }),
  endReason: text('end_reason'),
  /** 'keyframes' (decode keyframes only) or 'interval' (decode all, keep one per interval), and why. */
  tapMode: text('tap_mode'),
  tapNote: text('tap_note'),
  /** Frames the tap found duplicate of the last analysed one (not analysed again). */
  duplicateFrames: integer('duplicate_frames').notNull().default(0),
  /**
   * The broadcast this one continues: the same stream key's live broadcast it superseded (an encoder that lost its
   * connection and reconnected to another ingest node, or published again while the first was still up). Null for a
   * fresh start. A reconnect to the same node within the grace continues the broadcast itself instead.
   */
  continuesId: uuid('continues_broadcast_id').references((): AnyPgColumn => broadcasts.id),
}, (t) => [
  index('broadcasts_user_idx').on(t.userId),
  index('broadcasts_continues_idx').on(t.continuesId),
  uniqueIndex('broadcasts_one_live_per_key').on(t.streamKeyId).where(sql`status = 'live'`),
]);

/**
 * `silent`: an audio chunk the tap's speech detector found no speech in (kept for the record, not transcribed).
 * `skipped`: a sample deliberately not analysed because the analyzer is behind (the reason is in `error`; see
 * ingest/sampling.ts): never analysed, so the rules treat it as pending.
 */
export const sampleStatuses = ['queued', 'analysed', 'duplicate', 'failed', 'silent', 'skipped'] as const;

/** A frame (or audio chunk) taken from a broadcast. `filePath` is relative to the data directory. */
export const samples = pgTable('samples', {
  id: id(),
  broadcastId: uuid('broadcast_id').notNull().references(() => broadcasts.id),
  kind: text('kind', { enum: ['frame', 'audio'] }).notNull(),
  seq: integer('seq').notNull(),
  capturedAt: timestamp('captured_at', { withTimezone: true }).notNull(),
  filePath: text('file_path').notNull(),
  width: integer('width'),
  height: integer('height'),
  /** 64-bit difference hash, 16 hex digits (frames). */
  phash: text('phash'),
  /** Audio chunks: length, and how much of its start repeats the end of the previous chunk (0: not contiguous). */
  durationMs: integer('duration_ms'),
  overlapMs: integer('overlap_ms'),
  status: text('status', { enum: sampleStatuses }).notNull().default('queued'),
  /** For a duplicate: the analysed sample whose signals stand for this one. */
  duplicateOf: uuid('duplicate_of'),
  /** Why analysis failed (`failed`), or why the sample was not analysed (`skipped`). */
  error: text('error'),
  analysedAt: timestamp('analysed_at', { withTimezone: true }),
  createdAt: createdAt(),
}, (t) => [
  uniqueIndex('samples_broadcast_seq').on(t.broadcastId, t.kind, t.seq),
  // the duplicates of a frame, read each time a frame is analysed (analyzer/processors/evaluate-sample.ts): without
  // it every analysed frame scanned the whole table, the largest there is
  index('samples_duplicate_of_idx').on(t.duplicateOf).where(sql`duplicate_of is not null`),
  // the retention sweep takes the oldest first (moderation/retention.ts)
  index('samples_captured_idx').on(t.capturedAt),
]);

/**
 * The transcript of one audio chunk: the recogniser's words (times in seconds from the chunk start), the
 * watch-list phrases it spotted, and the findings (text categories with their time spans) that became signals.
 */
export const transcripts = pgTable('transcripts', {
  sampleId: uuid('sample_id').primaryKey().references(() => samples.id),
  broadcastId: uuid('broadcast_id').notNull().references(() => broadcasts.id),
  engine: text('engine').notNull(),
  engineVersion: text('engine_version').notNull(),
  language: text('language').notNull(),
  text: text('text').notNull(),
  /** `[{ word, start, end, confidence }]`. */
  words: jsonb('words').notNull(),
  /** `[{ phrase, start, end }]`: watch-list phrases spotted by keyword search. */
  keywords: jsonb('keywords').notNull(),
  /** `[{ category, severity, source, rule, start, end, text }]`: what the text checks and keyword search found. */
  findings: jsonb('findings').notNull(),
  /** Wall-clock milliseconds the recogniser took. */
  decodeMs: integer('decode_ms').notNull(),
  createdAt: createdAt(),
}, (t) => [index('transcripts_broadcast_idx').on(t.broadcastId)]);

/** One analyzer's score for one label of one sample. */
export const signals = pgTable('signals', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  sampleId: uuid('sample_id').notNull().references(() => samples.id),
  broadcastId: uuid('broadcast_id').notNull().references(() => broadcasts.id),
  analyzer: text('analyzer').notNull(),
  label: text('label').notNull(),
  score: real('score').notNull(),
  model: text('model').notNull(),
  modelVersion: text('model_version').notNull(),
  backend: text('backend').notNull(),
  /** Milliseconds from the sample's capture to this signal being written. */
  latencyMs: integer('latency_ms'),
  createdAt: createdAt(),
}, (t) => [
  uniqueIndex('signals_sample_label').on(t.sampleId, t.analyzer, t.label),
  index('signals_broadcast_idx').on(t.broadcastId),
]);

export const priorities = ['critical', 'urgent', 'high', 'normal', 'low'] as const;
export type Priority = (typeof priorities)[number];
export const caseStatuses = ['open', 'claimed', 'resolved'] as const;
export const caseSubjectTypes = ['broadcast', 'user', 'message', 'verification', 'alert', 'report', 'appeal'] as const;
export type CaseSubjectType = (typeof caseSubjectTypes)[number];

/** An item in the review queue. At most one unresolved case per (subject, reason). */
export const cases = pgTable('cases', {
  id: id(),
  subjectType: text('subject_type', { enum: caseSubjectTypes }).notNull(),
  subjectId: text('subject_id').notNull(),
  broadcastId: uuid('broadcast_id').references(() => broadcasts.id),
  userId: uuid('user_id').references(() => users.id),
  reasonType: text('reason_type', { enum: ['rule', 'report', 'appeal'] }).notNull(),
  /** The rule id (or report category) that opened the case. */
  reason: text('reason').notNull(),
  priority: text('priority', { enum: priorities }).notNull(),
  status: text('status', { enum: caseStatuses }).notNull().default('open'),
  slaDueAt: timestamp('sla_due_at', { withTimezone: true }).notNull(),
  policyVersion: text('policy_version'),
  claimedBy: uuid('claimed_by').references(() => users.id),
  /** A claim lapses at this time unless the moderator keeps working the case (each action renews it). */
  claimExpiresAt: timestamp('claim_expires_at', { withTimezone: true }),
  /** The review queue the case sits in (moderation/queues.ts); some queues need a permission. */
  queue: text('queue').notNull().default('general'),
  /** Distinct viewer reports joined to this case. */
  reportCount: integer('report_count').notNull().default(0),
  decision: text('decision'),
  reasonCode: text('reason_code'),
  decisionNote: text('decision_note'),
  decidedBy: uuid('decided_by').references(() => users.id),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  resolvedAt: timestamp('resolved_at', { withTimezone: true }),
}, (t) => [
  uniqueIndex('cases_one_open_per_subject_reason').on(t.subjectType, t.subjectId, t.reason).where(sql`status <> 'resolved'`),
  index('cases_queue_idx').on(t.status, t.priority, t.slaDueAt),
  // every case about a subject, resolved ones too (a subject's history; what retention keeps for a case)
  index('cases_subject_idx').on(t.subjectType, t.subjectId),
]);

/** Evidence attached to a case: a sample and the scores that made it count. */
export const caseEvidence = pgTable('case_evidence', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  caseId: uuid('case_id').notNull().references(() => cases.id),
  sampleId: uuid('sample_id').references(() => samples.id),
  ruleId: text('rule_id'),
  details: jsonb('details').notNull().default({}),
  createdAt: createdAt(),
}, (t) => [
  uniqueIndex('case_evidence_case_sample').on(t.caseId, t.sampleId),
  // evidence of the samples a retention batch deletes (moderation/retention.ts)
  index('case_evidence_sample_idx').on(t.sampleId).where(sql`sample_id is not null`),
]);

/**
 * The append-only audit log: every automated and human action (a trigger refuses UPDATE and DELETE).
 * `idempotencyKey` makes a retried enforcement write nothing twice.
 */
export const actions = pgTable('actions', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  action: text('action').notNull(),
  actorType: text('actor_type', { enum: ['system', 'rule', 'moderator', 'user'] }).notNull(),
  actorId: text('actor_id').notNull(),
  subjectType: text('subject_type').notNull(),
  subjectId: text('subject_id').notNull(),
  broadcastId: uuid('broadcast_id'),
  userId: uuid('user_id'),
  caseId: uuid('case_id'),
  ruleId: text('rule_id'),
  policyVersion: text('policy_version'),
  /** Shadow-mode rule: recorded, not executed. */
  shadow: boolean('shadow').notNull().default(false),
  idempotencyKey: text('idempotency_key').unique(),
  details: jsonb('details').notNull().default({}),
  createdAt: createdAt(),
  /** Position in the hash chain (1, 2, …), assigned under a lock at insert: the audit log's true order. */
  chainSeq: bigint('chain_seq', { mode: 'number' }).unique(),
  /** SHA-256 (hex) of the entry before (64 zeros for the first). */
  prevHash: text('prev_hash'),
  /** SHA-256 (hex) over `prevHash` and this entry's canonical content (db/queries/audit.ts). */
  hash: text('hash'),
}, (t) => [
  index('actions_broadcast_idx').on(t.broadcastId),
  index('actions_user_idx').on(t.userId, t.createdAt),
  index('actions_case_idx').on(t.caseId),
  index('actions_rule_idx').on(t.ruleId, t.broadcastId),
]);

/** Platform-wide or per-room bans; active when not lifted and not expired. */
export const bans = pgTable('bans', {
  id: id(),
  userId: uuid('user_id').notNull().references(() => users.id),
  /** 'platform', or 'room:<performer user id>' for a ban from one performer's room. */
  scope: text('scope').notNull().default('platform'),
  /** ban and suspension stop publishing and chat; timeout and mute stop chat only. */
  kind: text('kind', { enum: ['ban', 'suspension', 'timeout', 'mute'] }).notNull().default('ban'),
  reason: text('reason').notNull(),
  caseId: uuid('case_id').references(() => cases.id),
  createdBy: text('created_by').notNull(),
  startsAt: timestamp('starts_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  liftedAt: timestamp('lifted_at', { withTimezone: true }),
  createdAt: createdAt(),
  liftedBy: text('lifted_by'),
}, (t) => [index('bans_user_idx').on(t.userId)]);

/** Chat messages with the verdict they were given before fan-out. */
export const chatMessages = pgTable('chat_messages', {
  id: id(),
  broadcastId: uuid('broadcast_id').notNull().references(() => broadcasts.id),
  userId: uuid('user_id').references(() => users.id),
  body: text('body').notNull(),
  verdict: text('verdict', { enum: ['allow', 'flag', 'hold', 'block'] }).notNull(),
  /** The case a held or flagged message joined, if any. */
  caseId: uuid('case_id').references(() => cases.id),
  details: jsonb('details').notNull().default({}),
  createdAt: createdAt(),
}, (t) => [
  index('chat_messages_broadcast_idx').on(t.broadcastId, t.createdAt),
  // a user's recent messages, read for every flagged or blocked message (repeat offenders) and by moderators
  index('chat_messages_user_idx').on(t.userId, t.createdAt),
  // the retention sweep takes the oldest first (moderation/retention.ts)
  index('chat_messages_created_idx').on(t.createdAt),
]);

/** Login sessions. The token is a random secret held by the client (cookie); only its SHA-256 is stored. */
export const sessions = pgTable('sessions', {
  id: id(),
  userId: uuid('user_id').notNull().references(() => users.id),
  tokenHash: text('token_hash').notNull().unique(),
  createdAt: createdAt(),
  /** Absolute expiry: the session ends then however active it is. */
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  /** Last request; the session ends after the configured idle time without one. */
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  ip: text('ip'),
  userAgent: text('user_agent'),
}, (t) => [index('sessions_user_idx').on(t.userId)]);

export const reportSubjectTypes = ['broadcast', 'message', 'user'] as const;

/** A viewer's report of a broadcast, a chat message or a user. Reports on one subject join one case. */
export const reports = pgTable('reports', {
  id: id(),
  reporterId: uuid('reporter_id').notNull().references(() => users.id),
  subjectType: text('subject_type', { enum: reportSubjectTypes }).notNull(),
  subjectId: text('subject_id').notNull(),
  /** The reported user (the performer of a broadcast, the author of a message). */
  userId: uuid('user_id').references(() => users.id),
  broadcastId: uuid('broadcast_id').references(() => broadcasts.id),
  category: text('category').notNull(),
  note: text('note'),
  caseId: uuid('case_id').notNull().references(() => cases.id),
  /** Set when the case is decided and the reporter has been told. */
  outcome: text('outcome'),
  createdAt: createdAt(),
}, (t) => [
  uniqueIndex('reports_one_per_reporter_case').on(t.reporterId, t.caseId),
  index('reports_case_idx').on(t.caseId),
]);

/**
 * A statement of reasons (EU Digital Services Act Art. 17 in spirit): what was decided about a user, the facts
 * and the ground, whether detection and decision were automated, and how to seek redress.
 */
export const statements = pgTable('statements', {
  id: id(),
  userId: uuid('user_id').notNull().references(() => users.id),
  caseId: uuid('case_id').references(() => cases.id),
  /** The audit-log entry of the decision. */
  actionId: bigint('action_id', { mode: 'number' }),
  decision: text('decision').notNull(),
  reasonCode: text('reason_code').notNull(),
  /** Plain-language facts and circumstances. */
  facts: text('facts').notNull(),
  /** `{ rule, policyVersion, reasonCode, description }`. */
  ground: jsonb('ground').notNull(),
  automatedDetection: boolean('automated_detection').notNull(),
  automatedDecision: boolean('automated_decision').notNull(),
  /** Restriction the decision imposed, if any, and until when. */
  restriction: jsonb('restriction'),
  redress: text('redress').notNull(),
  appealableUntil: timestamp('appealable_until', { withTimezone: true }),
  /** Set when the decision was undone or overturned on appeal. */
  withdrawnAt: timestamp('withdrawn_at', { withTimezone: true }),
  withdrawnReason: text('withdrawn_reason'),
  createdAt: createdAt(),
}, (t) => [index('statements_user_idx').on(t.userId, t.createdAt), index('statements_case_idx').on(t.caseId)]);

export const appealStatuses = ['open', 'upheld', 'overturned'] as const;

/** An appeal against a statement of reasons, decided by a senior moderator other than the one who decided. */
export const appeals = pgTable('appeals', {
  id: id(),
  statementId: uuid('statement_id').notNull().unique().references(() => statements.id),
  userId: uuid('user_id').notNull().references(() => users.id),
  body: text('body').notNull(),
  status: text('status', { enum: appealStatuses }).notNull().default('open'),
  caseId: uuid('case_id').references(() => cases.id),
  decidedBy: uuid('decided_by').references(() => users.id),
  decidedAt: timestamp('decided_at', { withTimezone: true }),
  decisionNote: text('decision_note'),
  createdAt: createdAt(),
});

/** A strike against a user: weighted by the policy's severity for the reason, expiring after the policy's window. */
export const strikes = pgTable('strikes', {
  id: id(),
  userId: uuid('user_id').notNull().references(() => users.id),
  caseId: uuid('case_id').references(() => cases.id),
  statementId: uuid('statement_id').references(() => statements.id),
  reasonCode: text('reason_code').notNull(),
  weight: integer('weight').notNull(),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  /** Set when the decision behind it was undone or overturned. */
  removedAt: timestamp('removed_at', { withTimezone: true }),
}, (t) => [index('strikes_user_idx').on(t.userId, t.expiresAt)]);

/** Messages to a user: a report's outcome, a statement of reasons, an appeal's result. */
export const notifications = pgTable('notifications', {
  id: id(),
  userId: uuid('user_id').notNull().references(() => users.id),
  kind: text('kind', { enum: ['report_outcome', 'statement', 'appeal_outcome'] }).notNull(),
  title: text('title').notNull(),
  body: jsonb('body').notNull().default({}),
  readAt: timestamp('read_at', { withTimezone: true }),
  createdAt: createdAt(),
}, (t) => [index('notifications_user_idx').on(t.userId, t.createdAt)]);

/** How far each outbound webhook endpoint has been sent the audit log (by chain position). */
export const webhookCursors = pgTable('webhook_cursors', {
  endpoint: text('endpoint').primaryKey(),
  lastSeq: bigint('last_seq', { mode: 'number' }).notNull().default(0),
  failures: integer('failures').notNull().default(0),
  lastError: text('last_error'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** A performer's room settings (their chat, across broadcasts). */
export const roomSettings = pgTable('room_settings', {
  ownerId: uuid('owner_id').primaryKey().references(() => users.id),
  /** Seconds a viewer must wait between two messages (0: off). */
  slowModeS: integer('slow_mode_s').notNull().default(0),
  /** Only the room's trusted users (room_trusted_users) may post; everyone else may read. */
  trustedOnly: boolean('trusted_only').notNull().default(false),
  /** The protection the performer's panic button applies by default: none, freeze_chat, hide_stream, end_broadcast. */
  panicProtection: text('panic_protection').notNull().default('none'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Users a performer trusts in their room (they may post while the room is trusted-only). */
export const roomTrustedUsers = pgTable('room_trusted_users', {
  ownerId: uuid('owner_id').notNull().references(() => users.id),
  userId: uuid('user_id').notNull().references(() => users.id),
  createdAt: createdAt(),
}, (t) => [uniqueIndex('room_trusted_users_pair').on(t.ownerId, t.userId)]);

/** A performer's own blocked terms for their room, each with the verdict it gives (block, hold, flag). */
export const roomTerms = pgTable('room_terms', {
  id: id(),
  ownerId: uuid('owner_id').notNull().references(() => users.id),
  term: text('term').notNull(),
  action: text('action', { enum: ['flag', 'hold', 'block'] }).notNull(),
  createdAt: createdAt(),
}, (t) => [uniqueIndex('room_terms_owner_term').on(t.ownerId, sql`lower(${t.term})`)]);

export const alertStatuses = ['open', 'acknowledged', 'resolved'] as const;

/**
 * A performer's panic alert. The id is chosen by the API when the alert is raised (before it is stored), so an
 * alert raised while Postgres is down keeps its id when it is persisted later.
 */
export const alerts = pgTable('alerts', {
  id: uuid('id').primaryKey(),
  userId: uuid('user_id').notNull().references(() => users.id),
  broadcastId: uuid('broadcast_id').references(() => broadcasts.id),
  kind: text('kind', { enum: ['panic'] }).notNull().default('panic'),
  status: text('status', { enum: alertStatuses }).notNull().default('open'),
  /** What the performer asked for: none, freeze_chat, end_broadcast. */
  protection: text('protection').notNull().default('none'),
  message: text('message'),
  caseId: uuid('case_id').references(() => cases.id),
  /** `{ chat: [...], frames: [...] }`: the minutes before the alert. */
  evidence: jsonb('evidence').notNull().default({}),
  raisedAt: timestamp('raised_at', { withTimezone: true }).notNull(),
  escalations: integer('escalations').notNull().default(0),
  lastEscalatedAt: timestamp('last_escalated_at', { withTimezone: true }),
  acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true }),
  acknowledgedBy: uuid('acknowledged_by').references(() => users.id),
  resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  resolvedBy: uuid('resolved_by').references(() => users.id),
  resolution: text('resolution'),
  createdAt: createdAt(),
}, (t) => [index('alerts_status_idx').on(t.status, t.raisedAt)]);
