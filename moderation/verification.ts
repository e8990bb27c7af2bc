/**
 * Performer age/ID verification. A performer submits a date of birth, an ID document image and a selfie; Warden
 * checks the age (18 or older on the UTC date of the check), that each image shows a face, and how close the
 * document's face is to the selfie's (face-api descriptors, Euclidean distance against a threshold), then stores
 * both images encrypted at rest and opens a review case for a moderator, who approves or rejects (the decision
 * itself runs through moderation/review.ts, see {@link applyVerificationDecision}). Every access to an image is
 * audited. Senior moderators revoke approvals (a live broadcast ends at once); a sweep ends broadcasts whose
 * approval expired and deletes images once the retention after the decision has passed. External providers
 * post results to a signed webhook ({@link verifyProviderSignature}).
 *
 * Files: `<dataDir>/verification/<random uuid>.bin`, each sealed with AES-256-GCM (core/sealed.ts) under the
 * context `verification:<verificationId>:document` or `…:selfie`; the selfie's face descriptor is sealed into
 * the row under `verification:<verificationId>:descriptor`. The key comes from config and never reaches the
 * database. Logs carry ids, never dates of birth, images or descriptors.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../core/config.ts';
import { WardenError, errorText } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { seal, sealDescriptor, unseal } from '../core/sealed.ts';
import {
  appendAction, decideVerification, getCase, getUser, getVerification, hasPendingVerification, hasValidVerification, insertProviderVerification,
  insertSubmittedVerification, listUserVerifications, liveBroadcastsOf, liveBroadcastsWithExpiredApproval, lockVerificationsWithExpiredImages,
  markVerificationImagesDeleted, openOrJoinCase, reopenVerification, revokeVerification, setVerificationCase, type Db, type Priority, type Tx, type VerificationRow,
} from '../db/index.ts';
import type { ModerationPolicy, ReasonCode } from '../rules/moderation-policy.ts';
import { enforcementChannel, type EnforcementMessage } from './enforcer.ts';
import { findReasonCode, issueStatement, type CaseFacts } from './outcomes.ts';
import { mayAccessQueue, queueOfReason, type Moderator } from './queues.ts';
import { ADULT_AGE, ageOn, calendarDate, utcDay } from '../core/age.ts';
import {
  CONTENT_TYPES, VERIFICATION_CASE_REASON, VERIFICATION_IMAGES, descriptorDistance, inspectImage, largest, sealContext, verifyProviderSignature,
  type FaceFinder, type ImageCheck, type VerificationChecks, type VerificationImage,
} from './verification-checks.ts';
export {
  VERIFICATION_CASE_REASON, VERIFICATION_FORMATS, VERIFICATION_IMAGES, WEBHOOK_TOLERANCE_S, descriptorDistance, inspectImage, sealContext, verifyProviderSignature,
  type FaceFinder, type ImageCheck, type SignatureCheck, type VerificationChecks, type VerificationImage,
} from './verification-checks.ts';
export { VerificationSweeper } from './verification-sweep.ts';

/** Plain-language facts of a verification for a statement of reasons. */
export function verificationFacts(v: VerificationRow, caseId: string | null, policyVersion: string | null): CaseFacts {
  const checks = v.checks as Partial<VerificationChecks>;
  const observations = [`Your age/ID verification submitted on ${utcDay(v.createdAt)} (${v.method === 'document' ? 'ID document and selfie' : v.method}).`];
  if (checks.document && checks.selfie) observations.push(`A face was found on the ID document (${checks.document.faces}) and on the selfie (${checks.selfie.faces}).`);
  if (checks.match) {
    observations.push(`The automatic face comparison measured a distance of ${checks.match.distance.toFixed(2)} against a threshold of ${checks.match.threshold.toFixed(2)} `
      + `(${checks.match.same ? 'the same person' : 'not the same person'} by that measure); a moderator reviewed both images.`);
  }
  return { caseId, subjectType: 'verification', reason: VERIFICATION_CASE_REASON, reasonType: 'rule', policyVersion, observations };
}

/**
 * A moderator's decision on a verification case, inside the decision's transaction: approve (valid for
 * `validMs` from now) or reject, with the reason code.
 * @throws WardenError 409 when the verification is no longer pending (decided by a provider, or revoked).
 */
export async function applyVerificationDecision(tx: Tx, d: { verificationId: string; decision: 'approve' | 'reject'; moderatorId: string; reasonCode: string; validMs: number }): Promise<VerificationRow> {
  const row = await decideVerification(tx, d.verificationId, {
    status: d.decision === 'approve' ? 'approved' : 'rejected', decidedBy: d.moderatorId, reason: d.reasonCode,
    expiresAt: d.decision === 'approve' ? new Date(Date.now() + d.validMs) : null,
  });
  if (!row) {
    const now = await getVerification(tx, d.verificationId);
    throw new WardenError('conflict', now ? `the verification is already ${now.status}` : 'the verification behind this case is gone');
  }
  return row;
}

/**
 * A rejection overturned on appeal: the verification goes back to pending under a new high-priority review
 * case (a moderator decides it again, with the images in view), inside the appeal decision's transaction.
 * Nothing changes when the performer has submitted a new verification since (that one is under review).
 * @returns the new case id, or null when nothing was reopened.
 */
export async function reopenVerificationForReview(tx: Tx, v: { verificationId: string; userId: string | null }, d: {
  policy: { version: string; moderation: ModerationPolicy }; slaMinutes: Record<Priority, number>;
}): Promise<string | null> {
  if (!(await reopenVerification(tx, v.verificationId, 'rejected'))) return null;
  const c = await openOrJoinCase(tx, {
    subjectType: 'verification', subjectId: v.verificationId, userId: v.userId, reasonType: 'appeal', reason: VERIFICATION_CASE_REASON, priority: 'high',
    slaDueAt: new Date(Date.now() + d.slaMinutes.high * 60_000), policyVersion: d.policy.version, queue: queueOfReason(d.policy.moderation, VERIFICATION_CASE_REASON),
  });
  await setVerificationCase(tx, v.verificationId, c.id);
  return c.id;
}

/** The reason codes a decision may cite: approve with `verification_approved` (or `no_violation`), reject with any other code. */
export function checkVerificationReason(decision: 'approve' | 'reject', code: string): void {
  const approving = code === 'verification_approved' || code === 'no_violation';
  if (decision === 'approve' && !approving && code.startsWith('verification_')) throw new WardenError('bad_request', `reasonCode: ${code} is a reason to reject, not to approve`);
  if (decision === 'reject' && approving) throw new WardenError('bad_request', `reasonCode: ${code} is not a reason to reject (e.g. verification_face_mismatch, verification_document_unreadable)`);
}

// ---- the service ----

export interface VerificationDeps {
  db: Db;
  /** Publishing connection (enforcement messages). */
  redis: Redis;
  prefix: string;
  logger: Logger;
  dataDir: string;
  config: Config['verification'];
  /** The data key sealing images and descriptors (hex; null: not configured, submissions get 503). */
  key: string | null;
  policy: () => { version: string; moderation: ModerationPolicy };
  review: { slaMinutes: Record<Priority, number>; appealWindowMs: number };
  /** Face finder for submissions (not needed by the sweep or the webhook). */
  faces?: FaceFinder;
  /** The clock (tests). */
  now?: () => Date;
}

/** A submission as the API received it. Images are the uploaded bytes. */
export interface Submission { dateOfBirth: string; document: Uint8Array; selfie: Uint8Array }

/** A verification as its performer sees it. */
export interface VerificationSummary {
  id: string; status: VerificationRow['status']; method: string; checks: VerificationChecks; decisionReason: string | null;
  decidedAt: string | null; expiresAt: string | null; createdAt: string; imagesDeleted: boolean;
}

/**
 * What a submission came to. Refusals of the checks (underage, no face) are values (the API answers 422);
 * malformed input, a missing key or a pending verification throw WardenError.
 */
export type SubmitOutcome =
  | { ok: true; id: string; status: 'pending'; caseId: string; priority: Priority; checks: VerificationChecks }
  | { ok: false; code: 'underage' | 'no_face'; message: string; checks: VerificationChecks };

/** A provider webhook's outcome: 201 stored, 200 a repeat (nothing changed), 422 refused (underage approval). */
export type ProviderOutcome =
  | { status: 200 | 201; body: { id: string; status: VerificationRow['status']; duplicate: boolean } }
  | { status: 422; body: { error: { code: 'underage'; message: string } } };

/** Body of a provider webhook. */
export const providerResultSchema = z.object({
  provider: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'a provider name in lowercase letters, digits, _ and -'),
  reference: z.string().min(1).max(200),
  userId: z.uuid({ error: 'not a valid user id' }),
  status: z.enum(['approved', 'rejected']),
  dateOfBirth: calendarDate.optional(),
  reason: z.string().max(500).optional(),
});

export class VerificationService {
  constructor(private readonly deps: VerificationDeps) {}

  private now(): Date { return this.deps.now?.() ?? new Date(); }

  private key(): string {
    const key = this.deps.key;
    if (!key) throw new WardenError('unavailable', 'age/ID verification is not configured on this server (DATA_KEY is not set); try again later');
    return key;
  }

  private get dir(): string { return path.join(this.deps.dataDir, 'verification'); }

  /** Absolute path of a stored image file; the name comes from the row (Warden's own), checked to be one. */
  private fileOf(name: string): string {
    if (!/^[0-9a-f-]{36}\.bin$/.test(name)) throw new WardenError('internal', 'unexpected verification file name');
    return path.join(this.dir, name);
  }

  /**
   * Checks and stores a performer's submission, and opens its review case.
   * Order: key configured (503) → images valid (400/413/415) → age (refusal `underage`) → none pending (409)
   * → a face on each image (refusal `no_face`) → match → files sealed and written, then the row, the case and
   * the audit entry in one transaction (the files are removed if it fails).
   * @throws WardenError as listed; `unavailable` when the face check itself fails (never passed silently).
   */
  async submit(userId: string, s: Submission): Promise<SubmitOutcome> {
    const key = this.key();
    const { db, config, logger } = this.deps;
    const limits = { maxBytes: config.maxBytes, maxPixels: config.maxPixels };
    const document = await inspectImage('document', s.document, limits);
    const selfie = await inspectImage('selfie', s.selfie, limits);
    // only the image itself is kept: bytes appended after it (a phone's trailer, a polyglot's payload) are dropped
    const images = {
      document: s.document.subarray(0, s.document.byteLength - (document.trailingBytes ?? 0)),
      selfie: s.selfie.subarray(0, s.selfie.byteLength - (selfie.trailingBytes ?? 0)),
    };
    const checkedOn = utcDay(this.now());
    const ageYears = ageOn(s.dateOfBirth, checkedOn);
    const checks: VerificationChecks = { checkedOn, ageYears, adult: ageYears >= ADULT_AGE };
    if (ageYears < 0) throw new WardenError('bad_request', 'dateOfBirth: in the future');
    if (ageYears < ADULT_AGE) {
      await this.auditRefusal(userId, 'underage', checks);
      return { ok: false, code: 'underage', message: `dateOfBirth: performers must be ${ADULT_AGE} or older on the day of the check (${checkedOn}, UTC)`, checks };
    }
    if (await hasPendingVerification(db, userId)) throw new WardenError('conflict', 'you already have a verification waiting for review');
    if (!this.deps.faces) throw new WardenError('unavailable', 'the face check is not available on this server');

    let found: Awaited<ReturnType<FaceFinder['analyze']>>[];
    try {
      found = [await this.deps.faces.analyze(Buffer.from(images.document)), await this.deps.faces.analyze(Buffer.from(images.selfie))];
    } catch (err) {
      logger.error({ userId, err: errorText(err) }, 'verification face check failed');
      throw new WardenError('unavailable', 'the face check failed; nothing was stored, try again later');
    }
    const [docFaces, selfieFaces] = found as [typeof found[0], typeof found[0]];
    const docFace = largest(docFaces.faces);
    const selfieFace = largest(selfieFaces.faces);
    const summary = (f: typeof docFace) => f && { box: f.box, score: Math.round(f.score * 1000) / 1000, estimatedAge: Math.round(f.age) };
    checks.document = { ...document, faces: docFaces.faces.length, ...(docFace ? { face: summary(docFace) } : {}) };
    checks.selfie = { ...selfie, faces: selfieFaces.faces.length, ...(selfieFace ? { face: summary(selfieFace) } : {}) };
    checks.model = 'face-api';
    checks.modelMs = Math.round(docFaces.ms + selfieFaces.ms);
    if (!docFace || !selfieFace) {
      const which = !docFace && !selfieFace ? 'the ID document and the selfie' : !docFace ? 'the ID document' : 'the selfie';
      await this.auditRefusal(userId, 'no_face', checks);
      return { ok: false, code: 'no_face', message: `${!docFace ? 'document' : 'selfie'}: no face found on ${which}; send a sharp, well-lit photo showing the whole face`, checks };
    }
    const distance = descriptorDistance(docFace.descriptor, selfieFace.descriptor);
    const threshold = config.matchMaxDistance;
    checks.match = { distance: Math.round(distance * 10_000) / 10_000, threshold, same: distance <= threshold };
    const priority: Priority = checks.match.same ? 'normal' : 'high';

    // seal and write the files first; the row, case and audit entry follow in one transaction
    const id = randomUUID();
    const files = { document: `${randomUUID()}.bin`, selfie: `${randomUUID()}.bin` };
    const written: string[] = [];
    const policy = this.deps.policy();
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      for (const which of VERIFICATION_IMAGES) {
        const file = this.fileOf(files[which]);
        await writeFile(file, seal(key, images[which], sealContext(id, which)), { flag: 'wx', mode: 0o600 });
        written.push(file);
      }
      const caseId = await db.transaction(async (tx) => {
        const stored = await insertSubmittedVerification(tx, {
          id, userId, dateOfBirth: s.dateOfBirth, documentFile: files.document, selfieFile: files.selfie, checks,
          faceDistance: distance, faceThreshold: threshold, faceDescriptor: sealDescriptor(key, selfieFace.descriptor, sealContext(id, 'descriptor')),
        });
        if (!stored) throw new WardenError('conflict', 'you already have a verification waiting for review');
        const c = await openOrJoinCase(tx, {
          subjectType: 'verification', subjectId: id, userId, reasonType: 'rule', reason: VERIFICATION_CASE_REASON, priority,
          slaDueAt: new Date(Date.now() + this.deps.review.slaMinutes[priority] * 60_000), policyVersion: policy.version,
          queue: queueOfReason(policy.moderation, VERIFICATION_CASE_REASON),
        });
        await setVerificationCase(tx, id, c.id);
        await appendAction(tx, {
          action: 'submit_verification', actorType: 'user', actorId: userId, subjectType: 'verification', subjectId: id, userId, caseId: c.id,
          policyVersion: policy.version, details: { checks, priority },
        });
        return c.id;
      });
      logger.info({ verificationId: id, userId, caseId, same: checks.match.same }, 'verification submitted');
      return { ok: true, id, status: 'pending', caseId, priority, checks };
    } catch (err) {
      await Promise.all(written.map((f) => rm(f, { force: true })));
      throw err;
    }
  }

  private async auditRefusal(userId: string, reason: 'underage' | 'no_face', checks: VerificationChecks): Promise<void> {
    await appendAction(this.deps.db, {
      action: 'refuse_verification', actorType: 'system', actorId: 'verification', subjectType: 'user', subjectId: userId, userId,
      details: { reason, checks },
    });
  }

  /** A performer's verifications, newest first (status, checks, decision reason, expiry). */
  async listMine(userId: string): Promise<VerificationSummary[]> {
    return (await listUserVerifications(this.deps.db, userId)).map((v) => ({
      id: v.id, status: v.status, method: v.method, checks: v.checks as VerificationChecks, decisionReason: v.decisionReason,
      decidedAt: v.decidedAt?.toISOString() ?? null, expiresAt: v.expiresAt?.toISOString() ?? null, createdAt: v.createdAt.toISOString(),
      imagesDeleted: v.imagesDeletedAt !== null,
    }));
  }

  /**
   * One image of a verification, decrypted, for a moderator who may work the verification's case queue. The
   * access is written to the audit log before the bytes are returned.
   * @throws WardenError 404 no such verification, no images (provider or seeded) or deleted after retention;
   *         403 the case's queue is closed to the moderator; 503 no key configured.
   */
  async openImage(m: Moderator, verificationId: string, which: VerificationImage): Promise<{ bytes: Buffer; contentType: string }> {
    const key = this.key();
    const { db } = this.deps;
    const v = await getVerification(db, verificationId);
    if (!v || !v.caseId) throw new WardenError('not_found', 'no such verification with images');
    const c = await getCase(db, v.caseId);
    if (!c) throw new WardenError('not_found', 'no such verification with images');
    if (!mayAccessQueue(this.deps.policy().moderation, m, c.queue)) throw new WardenError('forbidden', `the ${c.queue} queue needs a permission you do not have`);
    const name = which === 'document' ? v.documentFile : v.selfieFile;
    if (!name || v.imagesDeletedAt) throw new WardenError('not_found', 'the images of this verification were deleted after the retention period');
    let sealed: Buffer;
    try {
      sealed = await readFile(this.fileOf(name));
    } catch {
      throw new WardenError('not_found', 'the image file is no longer stored');
    }
    let bytes: Buffer;
    try {
      bytes = unseal(key, sealed, sealContext(v.id, which));
    } catch (err) {
      this.deps.logger.error({ verificationId: v.id, image: which, err: errorText(err) }, 'verification image does not open');
      throw new WardenError('internal', 'the image does not decrypt with the configured key');
    }
    await appendAction(db, {
      action: 'view_verification_image', actorType: 'moderator', actorId: m.userId, subjectType: 'verification', subjectId: v.id,
      userId: v.userId, caseId: v.caseId, details: { image: which },
    });
    const format = (v.checks as Partial<VerificationChecks>)[which]?.format ?? 'jpeg';
    return { bytes, contentType: CONTENT_TYPES[format] ?? 'application/octet-stream' };
  }

  /**
   * Revokes an approved verification (senior moderators and admins): audited, a statement of reasons for the
   * performer, and, unless they hold another valid approval, their live broadcasts end at once on whichever
   * ingest node holds them.
   * @throws WardenError 403 not senior, 400 unknown reason code, 404 no such verification, 409 not approved.
   */
  async revoke(m: Moderator, verificationId: string, input: { reasonCode: string; note?: string | null }): Promise<{ verification: VerificationRow; endedBroadcastIds: string[]; statementId: string }> {
    if (m.role !== 'senior_moderator' && m.role !== 'admin') throw new WardenError('forbidden', 'revoking a verification needs a senior moderator');
    const policy = this.deps.policy();
    const reasonCode = findReasonCode(policy.moderation, input.reasonCode);
    if (!reasonCode) throw new WardenError('bad_request', `reasonCode: unknown reason code "${input.reasonCode}" (see GET /api/reason-codes)`);
    const note = input.note?.trim() || null;
    const { row, statementId } = await this.deps.db.transaction(async (tx) => {
      const row = await revokeVerification(tx, verificationId, { by: m.userId, reason: reasonCode.code });
      if (!row) {
        const now = await getVerification(tx, verificationId);
        if (!now) throw new WardenError('not_found', 'no such verification');
        throw new WardenError('conflict', `only an approved verification can be revoked (this one is ${now.status})`);
      }
      const actionId = await appendAction(tx, {
        action: 'revoke_verification', actorType: 'moderator', actorId: m.userId, subjectType: 'verification', subjectId: row.id,
        userId: row.userId, caseId: row.caseId, policyVersion: policy.version, details: { reasonCode: reasonCode.code, note },
      });
      const statementId = await this.statement(tx, row, reasonCode, note, actionId, policy.version);
      return { row, statementId };
    });
    const ended = await this.endBroadcastsOf(row.userId, `verification ${row.id} revoked`);
    this.deps.logger.info({ verificationId: row.id, userId: row.userId, moderator: m.userId, endedBroadcasts: ended.length }, 'verification revoked');
    return { verification: row, endedBroadcastIds: ended, statementId };
  }

  private async statement(tx: Tx, v: VerificationRow, reasonCode: ReasonCode, note: string | null, actionId: number | null, policyVersion: string): Promise<string> {
    return issueStatement(tx, {
      userId: v.userId, facts: verificationFacts(v, v.caseId, policyVersion), decision: 'revoke_verification', reasonCode, note, actionId,
      automatedDecision: false, restriction: { kind: 'verification_revoked', until: null }, appealWindowMs: this.deps.review.appealWindowMs,
    });
  }

  /** Ends a performer's live broadcasts unless they still hold a valid approval. @returns the broadcasts told to end. */
  private async endBroadcastsOf(userId: string, reason: string): Promise<string[]> {
    if (await hasValidVerification(this.deps.db, userId)) return [];
    const live = await liveBroadcastsOf(this.deps.db, userId);
    const channel = enforcementChannel(this.deps.prefix);
    for (const broadcastId of live) await this.deps.redis.publish(channel, JSON.stringify({ type: 'end_stream', broadcastId, reason } satisfies EnforcementMessage));
    await this.deps.redis.publish(channel, JSON.stringify({ type: 'kick_user', userId, reason } satisfies EnforcementMessage));
    return live;
  }

  /**
   * Takes an external provider's result from the webhook: signature checked over the raw body first, then the
   * body parsed. Stored once per (provider, reference); a repeat changes nothing. An approval showing someone
   * under 18 is refused (audited).
   * @param rawBody the request body exactly as received.
   * @throws WardenError 503 no secret configured, 400 malformed header or body, 401 wrong or stale signature,
   *         404 unknown user.
   */
  async receiveProviderResult(rawBody: Uint8Array, signature: string | undefined): Promise<ProviderOutcome> {
    const { config, db } = this.deps;
    if (config.webhookSecrets.length === 0) throw new WardenError('unavailable', 'no verification provider is configured (VERIFICATION_WEBHOOK_SECRETS is empty)');
    const check = verifyProviderSignature(signature, rawBody, config.webhookSecrets, this.now().getTime() / 1000);
    if (!check.ok) throw new WardenError(check.status === 401 ? 'unauthenticated' : 'bad_request', check.message);
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength).toString('utf8'));
    } catch {
      throw new WardenError('bad_request', 'the body is not valid JSON');
    }
    const parsed = providerResultSchema.safeParse(json);
    if (!parsed.success) throw new WardenError('bad_request', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const r = parsed.data;
    const user = await getUser(db, r.userId);
    if (!user) throw new WardenError('not_found', 'userId: no such user');
    const method = `provider:${r.provider}`;
    const checkedOn = utcDay(this.now());
    const ageYears = r.dateOfBirth ? ageOn(r.dateOfBirth, checkedOn) : null;
    const checks: VerificationChecks = { checkedOn, ageYears, adult: ageYears === null ? null : ageYears >= ADULT_AGE, provider: { name: r.provider, reference: r.reference, reason: r.reason ?? null } };
    if (r.status === 'approved' && ageYears !== null && ageYears < ADULT_AGE) {
      await appendAction(db, {
        action: 'refuse_verification', actorType: 'system', actorId: method, subjectType: 'user', subjectId: r.userId, userId: r.userId,
        idempotencyKey: `verification-refused/${method}/${r.reference}`, details: { reason: 'underage', checks },
      });
      return { status: 422, body: { error: { code: 'underage', message: `dateOfBirth: an approval needs someone ${ADULT_AGE} or older on ${checkedOn} (UTC); refused` } } };
    }
    const result = await db.transaction(async (tx) => {
      const stored = await insertProviderVerification(tx, {
        userId: r.userId, method, providerRef: r.reference, status: r.status, dateOfBirth: r.dateOfBirth ?? null,
        expiresAt: new Date(Date.now() + config.validMs), reason: r.reason ?? null, checks,
      });
      if (stored.created) {
        await appendAction(tx, {
          action: r.status === 'approved' ? 'approve_verification' : 'reject_verification', actorType: 'system', actorId: method,
          subjectType: 'verification', subjectId: stored.row.id, userId: r.userId, idempotencyKey: `verification-provider/${method}/${r.reference}`,
          details: { provider: r.provider, reference: r.reference, status: r.status, ageYears, reason: r.reason ?? null, expiresAt: stored.row.expiresAt?.toISOString() ?? null },
        });
      }
      return stored;
    });
    this.deps.logger.info({ verificationId: result.row.id, userId: r.userId, provider: r.provider, status: result.row.status, duplicate: !result.created }, 'provider verification result');
    return { status: result.created ? 201 : 200, body: { id: result.row.id, status: result.row.status, duplicate: !result.created } };
  }

  /**
   * Ends the live broadcasts of performers whose approval has expired (no other valid one). Safe on several
   * nodes: the audit entry is written once per broadcast (idempotency key); the end message is published by
   * every sweep while the broadcast is live, which ingest handles idempotently.
   * @returns the broadcasts told to end.
   */
  async endExpiredBroadcasts(): Promise<string[]> {
    const rows = await liveBroadcastsWithExpiredApproval(this.deps.db);
    const channel = enforcementChannel(this.deps.prefix);
    for (const r of rows) {
      const reason = `age/ID verification expired at ${r.expiredAt.toISOString()}`;
      await appendAction(this.deps.db, {
        action: 'end_stream', actorType: 'system', actorId: 'verification-expiry', subjectType: 'broadcast', subjectId: r.broadcastId,
        broadcastId: r.broadcastId, userId: r.userId, idempotencyKey: `verification-expired/${r.broadcastId}`,
        details: { reason, verificationId: r.verificationId },
      });
      await this.deps.redis.publish(channel, JSON.stringify({ type: 'end_stream', broadcastId: r.broadcastId, reason } satisfies EnforcementMessage));
      this.deps.logger.info({ broadcastId: r.broadcastId, userId: r.userId }, 'broadcast ended: verification expired');
    }
    return rows.map((r) => r.broadcastId);
  }

  /**
   * Deletes the images of verifications decided more than `retentionMs` ago: files removed, file names nulled,
   * `images_deleted_at` set and audited, per batch in one transaction whose rows are locked `SKIP LOCKED`
   * (several nodes take different rows). A file already gone counts as deleted (a retry after a failed commit).
   * The face descriptor stays while the verification is approved (the live face check needs it).
   * @returns how many verifications had their images deleted.
   */
  async deleteExpiredImages(batch = 50): Promise<number> {
    const before = new Date(this.now().getTime() - this.deps.config.retentionMs);
    let total = 0;
    for (;;) {
      const n = await this.deps.db.transaction(async (tx) => {
        const rows = await lockVerificationsWithExpiredImages(tx, before, batch);
        for (const r of rows) {
          for (const name of [r.documentFile, r.selfieFile]) if (name) await rm(this.fileOf(name), { force: true });
          await markVerificationImagesDeleted(tx, r.id);
          await appendAction(tx, {
            action: 'delete_verification_images', actorType: 'system', actorId: 'retention', subjectType: 'verification', subjectId: r.id,
            userId: r.userId, caseId: r.caseId, idempotencyKey: `verification-images-deleted/${r.id}`,
            details: { status: r.status, retentionDays: Math.round(this.deps.config.retentionMs / 86_400_000 * 100) / 100 },
          });
        }
        return rows.length;
      });
      total += n;
      if (n < batch) break;
    }
    if (total) this.deps.logger.info({ verifications: total }, 'verification images deleted after retention');
    return total;
  }

  /** One sweep: expired approvals, then retention. Errors are logged, never thrown. */
  async sweep(): Promise<{ endedBroadcasts: number; imagesDeleted: number }> {
    const out = { endedBroadcasts: 0, imagesDeleted: 0 };
    try {
      out.endedBroadcasts = (await this.endExpiredBroadcasts()).length;
    } catch (err) {
      this.deps.logger.error({ err: errorText(err) }, 'verification expiry sweep failed');
    }
    try {
      out.imagesDeleted = await this.deleteExpiredImages();
    } catch (err) {
      this.deps.logger.error({ err: errorText(err) }, 'verification retention sweep failed');
    }
    return out;
  }
}
