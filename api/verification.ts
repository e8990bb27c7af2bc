/**
 * Age/ID verification over HTTP.
 * - `POST /api/verification` (performer): multipart form `dateOfBirth` (YYYY-MM-DD), `document` and `selfie`
 *   (JPEG, PNG or WebP, by content; each at most VERIFICATION_MAX_BYTES and VERIFICATION_MAX_PIXELS). 201 with
 *   the checks and the review case; 422 `underage` or `no_face` (nothing stored but an audit entry); 409 while one
 *   is pending; 503 without DATA_KEY. This route alone takes bodies larger than 64 KiB (2 × max bytes +
 *   64 KiB, see {@link uploadBodyLimit}).
 * - `GET /api/verification` (performer): their verifications.
 * - `GET /api/verification/:id/document|selfie` (moderators who may work the case's queue): the image,
 *   decrypted on the fly, `cache-control: no-store`, every access audited.
 * - `POST /api/verification/:id/revoke` (senior moderators, admins): revokes an approval; a live broadcast ends.
 * - `POST /api/verification/webhook` (providers; no session, authenticated by its signature only): see
 *   moderation/verification.ts `verifyProviderSignature`.
 */
import { bodyLimit } from 'hono/body-limit';
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { AppContext } from '../core/context.ts';
import { WardenError } from '../core/errors.ts';
import { getVerification, type Db } from '../db/index.ts';
// thread.ts, not the folder's index: the index loads the face models (TensorFlow.js, onnxruntime), which the thread
// loads in its own isolate on first use; the serving process never needs them
import { FaceThread } from '../analyzer/faces/thread.ts';
import {
  VERIFICATION_IMAGES, VerificationService, type FaceFinder, type VerificationChecks, type VerificationImage,
} from '../moderation/index.ts';
import type { AuthUser } from './auth.ts';
import { MODERATORS, SENIORS, describeIssues, idParams, iso, isoTime, type ApiRouter } from './route.ts';
import { calendarDate } from '../core/age.ts';

/** The path of the upload route (it has its own body limit). */
export const VERIFICATION_UPLOAD_PATH = '/api/verification';

/** The header carrying a provider webhook's signature. */
export const SIGNATURE_HEADER = 'warden-verification-signature';

/** Largest upload body: both images at their limit plus 64 KiB for the form's framing and the date. */
export const uploadLimitBytes = (maxBytes: number) => 2 * maxBytes + 64 * 1024;

/** The upload route's own body limit (413 JSON beyond it). */
export function uploadBodyLimit(maxBytes: number): MiddlewareHandler {
  const limit = uploadLimitBytes(maxBytes);
  return bodyLimit({ maxSize: limit, onError: (c) => c.json({ error: { code: 'payload_too_large', message: `the upload is larger than ${limit} bytes (two images of at most ${maxBytes} bytes each)` } }, 413) });
}

/** Wraps the global /api body limit so it leaves out the upload route (POST /api/verification), which has its own. */
export function exceptUpload(limit: MiddlewareHandler): MiddlewareHandler {
  return async function smallBodies(c, next) {
    if (c.req.method === 'POST' && c.req.path === VERIFICATION_UPLOAD_PATH) return next();
    return limit(c, next);
  };
}

/** The review rules' view of the signed-in user (as in api/cases.ts, which imports this file). */
const moderatorOf = (user: AuthUser) => ({ userId: user.userId, role: user.role, permissions: user.permissions ?? [] });

/**
 * The verification service of a context. `faces` defaults to a {@link FaceThread} (started on the first
 * submission, so a process that never gets one never loads the models).
 */
export function createVerificationService(ctx: Pick<AppContext, 'database' | 'redis' | 'logger' | 'config' | 'policy'>, faces: FaceFinder | null = new FaceThread({ modelCacheDir: ctx.config.analyzer.modelCacheDir })): VerificationService {
  const c = ctx.config;
  return new VerificationService({
    db: ctx.database.db, redis: ctx.redis, prefix: c.redisPrefix, logger: ctx.logger.child({ subsystem: 'verification' }), dataDir: c.dataDir,
    config: c.verification, key: c.dataKey, policy: ctx.policy, review: { slaMinutes: c.review.slaMinutes, appealWindowMs: c.review.appealWindowMs }, faces: faces ?? undefined,
  });
}

const imageCheck = z.object({
  format: z.string(), width: z.int(), height: z.int(), bytes: z.int(), faces: z.int(),
  face: z.object({ box: z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }), score: z.number(), estimatedAge: z.number() }).optional(),
});
export const checksSchema = z.object({
  checkedOn: z.string().describe('UTC date the age was computed on'), ageYears: z.int().nullable(), adult: z.boolean().nullable(),
  document: imageCheck.optional(), selfie: imageCheck.optional(),
  match: z.object({ distance: z.number(), threshold: z.number(), same: z.boolean() }).optional(),
  model: z.string().optional(), modelMs: z.number().optional(),
  provider: z.object({ name: z.string(), reference: z.string(), reason: z.string().nullable() }).optional(),
});
const statuses = z.enum(['pending', 'approved', 'rejected', 'revoked']);

/** A file part of a multipart form (a Blob: whichever File class the runtime's form parser made). */
const filePart = z.custom<Blob>((v) => typeof v === 'object' && v !== null && typeof (v as Blob).arrayBuffer === 'function' && typeof (v as Blob).size === 'number', 'expected an image file');
const form = z.strictObject({ dateOfBirth: calendarDate, document: filePart, selfie: filePart });

const submitted = z.object({ id: z.string(), status: z.literal('pending'), caseId: z.string(), priority: z.string(), checks: checksSchema });

/** A verification as a moderator's case view shows it (`GET /api/cases/:id` → `verification`). */
export const caseVerificationSchema = z.object({
  id: z.string(), status: statuses, method: z.string(), dateOfBirth: z.string().nullable(), ageYears: z.int().nullable(), checkedOn: z.string().nullable(),
  faces: z.object({ document: z.int().nullable(), selfie: z.int().nullable() }),
  estimatedAge: z.object({ document: z.number().nullable(), selfie: z.number().nullable() }),
  distance: z.number().nullable(), threshold: z.number().nullable(), match: z.boolean().nullable(),
  documentUrl: z.string().nullable(), selfieUrl: z.string().nullable(), imagesDeletedAt: isoTime.nullable(),
  decidedAt: isoTime.nullable(), expiresAt: isoTime.nullable(), decisionReason: z.string().nullable(), createdAt: isoTime, checks: checksSchema,
});
export type CaseVerification = z.infer<typeof caseVerificationSchema>;

/** The verification behind a verification case, for the console (undefined when it is gone). */
export async function caseVerification(db: Db, verificationId: string): Promise<CaseVerification | undefined> {
  const v = await getVerification(db, verificationId);
  if (!v) return undefined;
  const checks = v.checks as VerificationChecks;
  const hasImages = !v.imagesDeletedAt;
  return {
    id: v.id, status: v.status, method: v.method, dateOfBirth: v.dateOfBirth, ageYears: checks.ageYears ?? null, checkedOn: checks.checkedOn ?? null,
    faces: { document: checks.document?.faces ?? null, selfie: checks.selfie?.faces ?? null },
    estimatedAge: { document: checks.document?.face?.estimatedAge ?? null, selfie: checks.selfie?.face?.estimatedAge ?? null },
    distance: v.faceDistance, threshold: v.faceThreshold, match: checks.match ? checks.match.same : null,
    documentUrl: hasImages && v.documentFile ? `/api/verification/${v.id}/document` : null,
    selfieUrl: hasImages && v.selfieFile ? `/api/verification/${v.id}/selfie` : null,
    imagesDeletedAt: iso(v.imagesDeletedAt), decidedAt: iso(v.decidedAt), expiresAt: iso(v.expiresAt), decisionReason: v.decisionReason,
    createdAt: v.createdAt.toISOString(), checks,
  };
}

/** Declares the verification routes. */
export function verificationRoutes(router: ApiRouter, deps: { verification: VerificationService }): void {
  const { verification } = deps;

  router.add({
    method: 'post', path: '/verification', tag: 'verification', access: ['performer'], status: 201, response: submitted,
    summary: 'Submits an age/ID verification: multipart form with dateOfBirth (YYYY-MM-DD), document and selfie (JPEG, PNG or WebP). '
      + '422 underage / no_face (nothing stored), 409 while one is pending, 413/415/400 for a bad image, 503 when not configured',
  }, async ({ c, user }) => {
    if (!c.req.header('content-type')?.toLowerCase().startsWith('multipart/form-data')) throw new WardenError('unsupported_media_type', 'send multipart/form-data with dateOfBirth, document and selfie');
    let data: FormData;
    try {
      data = await c.req.formData();
    } catch {
      throw new WardenError('bad_request', 'the body is not a valid multipart form');
    }
    const fields: Record<string, unknown> = {};
    for (const [k, v] of data.entries()) {
      if (k in fields) throw new WardenError('bad_request', `${k}: sent more than once`);
      fields[k] = v;
    }
    const parsed = form.safeParse(fields);
    if (!parsed.success) throw new WardenError('bad_request', describeIssues(parsed.error, 'form'));
    const { dateOfBirth, document, selfie } = parsed.data;
    const out = await verification.submit(user.userId, {
      dateOfBirth, document: new Uint8Array(await document.arrayBuffer()), selfie: new Uint8Array(await selfie.arrayBuffer()),
    });
    if (!out.ok) return c.json({ error: { code: out.code, message: out.message }, checks: out.checks }, 422);
    const { ok: _ok, ...body } = out;
    return c.json(body, 201);
  });

  router.add({
    method: 'get', path: '/verification', tag: 'verification', access: ['performer'],
    summary: 'Your verifications, newest first: status, checks, decision reason, expiry',
    response: z.array(z.object({
      id: z.string(), status: statuses, method: z.string(), checks: checksSchema, decisionReason: z.string().nullable(),
      decidedAt: isoTime.nullable(), expiresAt: isoTime.nullable(), createdAt: isoTime, imagesDeleted: z.boolean(),
    })),
  }, async ({ c, user }) => c.json(await verification.listMine(user.userId)));

  for (const which of VERIFICATION_IMAGES) {
    router.add({
      method: 'get', path: `/verification/:id/${which}`, tag: 'verification', access: MODERATORS, params: idParams, produces: 'image/*',
      summary: `The ${which === 'document' ? 'ID document' : 'selfie'} image of a verification, decrypted (never cached; every access audited). 404 once deleted after retention`,
    }, async ({ c, params, user }) => {
      const img = await verification.openImage(moderatorOf(user), params.id, which as VerificationImage);
      return c.body(new Uint8Array(img.bytes), 200, {
        'content-type': img.contentType, 'cache-control': 'no-store, private', 'content-disposition': 'inline', 'x-content-type-options': 'nosniff',
      });
    });
  }

  router.add({
    method: 'post', path: '/verification/:id/revoke', tag: 'verification', access: SENIORS, params: idParams,
    body: z.strictObject({ reasonCode: z.string().min(1).max(64), note: z.string().max(2000).nullish() }),
    response: z.object({ id: z.string(), status: statuses, statementId: z.string(), endedBroadcastIds: z.array(z.string()) }),
    summary: 'Revokes an approved verification: audited, a statement of reasons, and the performer\'s live broadcast ends at once',
  }, async ({ c, params, body, user }) => {
    const r = await verification.revoke(moderatorOf(user), params.id, body);
    return c.json({ id: r.verification.id, status: r.verification.status, statementId: r.statementId, endedBroadcastIds: r.endedBroadcastIds });
  });

  router.add({
    method: 'post', path: '/verification/webhook', tag: 'verification', access: 'public',
    response: z.object({ id: z.string(), status: statuses, duplicate: z.boolean() }),
    summary: 'A verification provider\'s result (no session: authenticated by the Warden-Verification-Signature header, '
      + 't=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">, five minutes\' tolerance). Body JSON {provider, reference, userId, status, dateOfBirth?, reason?}. '
      + '201 stored, 200 a repeat (nothing changed), 422 an underage approval, 400/401 unsigned, wrong or stale, 503 no secret configured',
  }, async ({ c }) => {
    if (!c.req.header('content-type')?.toLowerCase().startsWith('application/json')) throw new WardenError('unsupported_media_type', 'send application/json');
    // the signature covers the body exactly as sent: read the raw bytes before any parsing
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const out = await verification.receiveProviderResult(raw, c.req.header(SIGNATURE_HEADER));
    return c.json(out.body, out.status);
  });
}
