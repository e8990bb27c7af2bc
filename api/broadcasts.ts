/**
 * Broadcasts for moderators: the live list with each one's latest analysed frame and audience, ending a broadcast (a
 * decision like any other: a case, the audit log, a statement of reasons), and the frames themselves. For
 * viewers: the play gate (`POST /api/broadcasts/:id/play`), which hands out a short-lived, one-time play URL (RTMP,
 * and HTTP-FLV for browsers), and the live list of the watch page (`GET /api/live`).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { getBroadcast, getSample, listBroadcasts, liveBroadcastListings, playRestrictions, viewerStanding, type Db, type Role } from '../db/index.ts';
import { hiddenBroadcastKey, type Intake, type ReviewService } from '../moderation/index.ts';
import { PLAY_TOKEN_TTL_S, flvAuthority, flvPlayPath, ingestNodeAddress, issuePlayToken, playAuthority, playPath, readViewerCounts } from '../ingest/index.ts';
import { moderatorOf } from './cases.ts';
import { refusal } from './viewer.ts';
import { MODERATORS, idParams, iso, isoTime, pageOf, paging, userRef, type ApiRouter } from './route.ts';

const broadcastSchema = z.object({
  id: z.string(), user: userRef, status: z.enum(['live', 'ended']), startedAt: isoTime, endedAt: isoTime.nullable(), endReason: z.string().nullable(),
  /** A publisher that reconnected to another ingest node: the broadcast this one continues, and the one that continued it. */
  continuesId: z.string().nullable(), continuedById: z.string().nullable(),
  /** Viewers playing a live broadcast now, as its ingest node counts them (null: ended, not counted, or Redis did not answer). */
  viewers: z.int().nullable(),
  latestFrame: z.object({ sampleId: z.string(), capturedAt: isoTime, imageUrl: z.string() }).nullable(), openCases: z.int(),
});

const actionBody = z.strictObject({ reasonCode: z.string().min(1).max(64), note: z.string().max(2000).nullish() });

/** Declares the broadcast routes and `GET /samples/:id/image`. */
export function broadcastRoutes(router: ApiRouter, deps: { db: Db; redis: Redis; prefix: string; dataDir: string; review: ReviewService; intake: Intake; logger: Logger }): void {
  const { db } = deps;

  router.add({
    method: 'get', path: '/broadcasts', tag: 'broadcasts', access: MODERATORS, summary: 'Broadcasts, newest first, with the latest frame and open cases',
    query: z.strictObject({ status: z.enum(['live', 'ended']).optional(), userId: z.uuid().optional(), ...paging }), response: pageOf(broadcastSchema),
  }, async ({ c, query }) => {
    const { rows, total } = await listBroadcasts(db, query);
    const live = rows.filter((b) => b.status === 'live').map((b) => b.id);
    const counts = await readViewerCounts(deps.redis, deps.prefix, live).catch(() => live.map(() => null));
    const viewers = new Map(live.map((id, i) => [id, counts[i] ?? null]));
    return c.json({
      total,
      data: rows.map((b) => ({
        id: b.id, user: { id: b.userId, handle: b.handle }, status: b.status, startedAt: b.startedAt.toISOString(), endedAt: iso(b.endedAt), endReason: b.endReason,
        continuesId: b.continuesId, continuedById: b.continuedById, viewers: viewers.get(b.id) ?? null,
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
    const manual = await deps.intake.manualCase({ subjectType: 'broadcast', subjectId: b.id, reasonCode: body.reasonCode });
    const r = await deps.review.decide(moderatorOf(user), manual, { action: 'end_stream', reasonCode: body.reasonCode, note: body.note });
    return c.json({ caseId: r.caseId, statementId: r.statementId });
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

/** Why a play was refused (403, as the error's code). */
export const PLAY_REFUSALS = ['age_unverified', 'banned', 'not_live', 'hidden'] as const;

const playResponse = z.object({
  broadcastId: z.string(),
  rtmpUrl: z.string().describe('rtmp://<ingest node>/watch/<broadcast id>?token=<one-time token>: plays once, within expiresAt'),
  flvUrl: z.string().nullable().describe('HTTP-FLV for browsers (mpegts.js): /flv/watch/<broadcast id>.flv?token=<the same token>, a path on this '
    + 'origin when this node holds the broadcast, else an absolute http:// URL of the node holding it; null when that node serves no HTTP (ingest only). '
    + 'The two URLs share one token: whichever is opened first uses it up'),
  expiresAt: isoTime,
});

const liveSchema = z.object({ id: z.string(), performer: userRef, startedAt: isoTime });

/**
 * Declares `POST /broadcasts/:id/play` and `GET /live` for any signed-in user. `nodeId`: this node's NODE_ID (a
 * broadcast held here gets a same-origin HTTP-FLV URL). The order of checks of a play: the broadcast exists (404);
 * the viewer attested an adult date of birth (`age_unverified`), has no active ban or suspension platform-wide or
 * in this performer's room (`banned`); the broadcast is live (`not_live`) and not hidden by a panic alert
 * (`hidden`). The performer of the broadcast and staff skip the age, ban and hidden checks. Refusals are 403
 * `{ error: { code, message } }`; 503 `unavailable` when the ingest node holding the broadcast is not running.
 */
export function playRoutes(router: ApiRouter, deps: { db: Db; redis: Redis; prefix: string; logger: Logger; nodeId?: string }): void {
  const { db, redis, prefix } = deps;
  const staff: readonly Role[] = MODERATORS;

  router.add({
    method: 'post', path: '/broadcasts/:id/play', tag: 'broadcasts', access: 'signed-in', params: idParams, response: playResponse,
    summary: `A one-time play URL for a live broadcast (RTMP, and HTTP-FLV for browsers), valid ${PLAY_TOKEN_TTL_S} s and bound to the viewer (a ban or a hidden stream disconnects it). `
      + 'Needs an attested adult (POST /api/me/birth-date) without a ban here; the performer and staff always. 403 codes: age_unverified, banned, not_live, hidden',
  }, async ({ c, params, user }) => {
    const b = await getBroadcast(db, params.id);
    if (!b) throw new WardenError('not_found', 'no such broadcast');
    const exempt = staff.includes(user.role) || user.userId === b.userId;
    if (!exempt) {
      const standing = await viewerStanding(db, user.userId);
      if (!standing?.adult) return refusal(c, 403, 'age_unverified', 'confirm you are an adult first: POST /api/me/birth-date');
      const bans = await playRestrictions(db, user.userId, b.userId);
      if (bans.length) return refusal(c, 403, 'banned', `you cannot watch this stream: ${bans[0]!.kind}${bans[0]!.scope === 'platform' ? '' : ' from this room'}`);
    }
    if (b.status !== 'live') return refusal(c, 403, 'not_live', 'the broadcast is not live');
    if (!exempt && await redis.exists(hiddenBroadcastKey(prefix, b.id))) return refusal(c, 403, 'hidden', 'the stream is hidden for now');
    const node = b.ingestNode ? await ingestNodeAddress(redis, prefix, b.ingestNode) : null;
    if (!node) throw new WardenError('unavailable', 'the ingest node holding this broadcast is not running');
    const { token, expiresAt } = await issuePlayToken(redis, prefix, { viewerId: user.userId, broadcastId: b.id, ownerId: b.userId, exempt });

    deps.logger.debug({ broadcastId: b.id, userId: user.userId, exempt }, 'play token issued');
    const requestHost = new URL(c.req.url).hostname;
    const flvAt = b.ingestNode === deps.nodeId && node.http ? '' : flvAuthority(node, requestHost);
    return c.json({
      broadcastId: b.id, rtmpUrl: `rtmp://${playAuthority(node, requestHost)}${playPath(b.id)}?token=${token}`,
      flvUrl: flvAt === null ? null : `${flvAt ? (/^https?:\/\//.test(flvAt) ? flvAt : `http://${flvAt}`) : ''}${flvPlayPath(b.id)}?token=${token}`, expiresAt: expiresAt.toISOString(),
    });
  });

  router.add({
    method: 'get', path: '/live', tag: 'broadcasts', access: 'signed-in', response: z.array(liveSchema),
    summary: 'Live broadcasts for the watch page, newest first (at most 100): id, performer, start. No thumbnails: frames are moderation '
      + 'samples and may be explicit. A stream hidden by a panic alert is left out (its performer and staff still see it)',
  }, async ({ c, user }) => {
    const rows = await liveBroadcastListings(db, 100);
    const hidden = rows.length ? await redis.mget(rows.map((r) => hiddenBroadcastKey(prefix, r.id))) : [];
    return c.json(rows
      .filter((r, i) => !hidden[i] || staff.includes(user.role) || r.performerId === user.userId)
      .map((r) => ({ id: r.id, performer: { id: r.performerId, handle: r.handle }, startedAt: r.startedAt.toISOString() })));
  });
}
