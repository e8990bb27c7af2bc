/**
 * Broadcasts for moderators: the live list with each one's latest analysed frame, ending a broadcast (a
 * decision like any other: a case, the audit log, a statement of reasons), and the frames themselves.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { getBroadcast, getSample, listBroadcasts, type Db } from '../db/index.ts';
import type { Intake, ReviewService } from '../moderation/index.ts';
import { moderatorOf } from './cases.ts';
import { MODERATORS, idParams, iso, isoTime, pageOf, paging, userRef, type ApiRouter } from './route.ts';

const broadcastSchema = z.object({
  id: z.string(), user: userRef, status: z.enum(['live', 'ended']), startedAt: isoTime, endedAt: isoTime.nullable(), endReason: z.string().nullable(),
  latestFrame: z.object({ sampleId: z.string(), capturedAt: isoTime, imageUrl: z.string() }).nullable(), openCases: z.int(),
});

const actionBody = z.strictObject({ reasonCode: z.string().min(1).max(64), note: z.string().max(2000).nullish() });

/** Declares the broadcast routes and `GET /samples/:id/image`. */
export function broadcastRoutes(router: ApiRouter, deps: { db: Db; dataDir: string; review: ReviewService; intake: Intake; logger: Logger }): void {
  const { db } = deps;

  router.add({
    method: 'get', path: '/broadcasts', tag: 'broadcasts', access: MODERATORS, summary: 'Broadcasts, newest first, with the latest frame and open cases',
    query: z.strictObject({ status: z.enum(['live', 'ended']).optional(), userId: z.uuid().optional(), ...paging }), response: pageOf(broadcastSchema),
  }, async ({ c, query }) => {
    const { rows, total } = await listBroadcasts(db, query);
    return c.json({
      total,
      data: rows.map((b) => ({
        id: b.id, user: { id: b.userId, handle: b.handle }, status: b.status, startedAt: b.startedAt.toISOString(), endedAt: iso(b.endedAt), endReason: b.endReason,
        latestFrame: b.latestFrame ? { sampleId: b.latestFrame.sampleId, capturedAt: new Date(b.latestFrame.capturedAt).toISOString(), imageUrl: `/api/samples/${b.latestFrame.sampleId}/image` } : null,
        openCases: b.openCases,
      })),
    });
  });

  router.add({
    method: 'post', path: '/broadcasts/:id/end', tag: 'broadcasts', access: MODERATORS, params: idParams, body: actionBody,
    summary: 'Ends a live broadcast now (the publisher is disconnected within a second), recorded as a decided case',
    response: z.object({ caseId: z.string(), statementId: z.string().nullable() }),
  }, async ({ c, params, body, user }) => {
    const b = await getBroadcast(db, params.id);
    if (!b) throw new WardenError('not_found', 'no such broadcast');
    if (b.status !== 'live') throw new WardenError('conflict', `the broadcast already ended (${b.endReason ?? 'ended'})`);
    const caseId = await deps.intake.openManualCase({ subjectType: 'broadcast', subjectId: b.id, reasonCode: body.reasonCode });
    const r = await deps.review.decide(moderatorOf(user), caseId, { action: 'end_stream', reasonCode: body.reasonCode, note: body.note });
    return c.json({ caseId, statementId: r.statementId });
  });

  router.add({
    method: 'get', path: '/samples/:id/image', tag: 'broadcasts', access: MODERATORS, params: idParams, produces: 'image/jpeg',
    summary: 'A sampled frame (JPEG). The console shows it blurred and greyscale until the moderator reveals it',
  }, async ({ c, params, user }) => {
    const s = await getSample(db, params.id);
    if (!s || s.kind !== 'frame' || !s.filePath) throw new WardenError('not_found', 'no stored frame for this sample');
    let body: Buffer;
    try {
      body = await readFile(path.join(deps.dataDir, s.filePath));
    } catch {
      throw new WardenError('not_found', 'the frame is no longer stored');
    }
    deps.logger.debug({ sampleId: s.id, userId: user.userId }, 'frame served');
    return c.body(new Uint8Array(body), 200, { 'content-type': 'image/jpeg', 'cache-control': 'private, max-age=3600', 'x-content-type-options': 'nosniff' });
  });
}
