/**
 * The performer studio's own reads: `GET /api/studio/live` (the performer's current broadcast and how its
 * sampling is going, and the RTMP URL to publish to) and `GET /api/studio/appeals` (their appeals and where each
 * stands). The studio's other pages use the routes beside them: stream keys, verification, rooms, alerts,
 * statements and appeals.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../core/config.ts';
import { broadcastHealth, performerLiveBroadcast, userAppeals, type Db } from '../db/index.ts';
import { playAuthority, publicAuthority, readViewerCounts } from '../ingest/index.ts';
import { iso, isoTime, type ApiRouter } from './route.ts';

/** The window the health figures count over. */
export const HEALTH_WINDOW_MS = 60_000;

const healthSchema = z.object({
  state: z.enum(['starting', 'ok', 'stalled']).describe('starting: no sample yet in the first 20 s; stalled: no sample for three sampling intervals (at least 15 s)'),
  tapMode: z.string().nullable().describe('keyframes (only keyframes decoded) or interval'),
  tapNote: z.string().nullable(),
  sampleIntervalMs: z.int(),
  framesSampled: z.int().describe('frames sampled in the last minute'),
  framesAnalysed: z.int().describe('of those, frames the analyzer has scored'),
  framesFailed: z.int(),
  duplicateFrames: z.int().describe('frames skipped as duplicates of the last analysed one, over the whole broadcast'),
  audioChunks: z.int().describe('audio chunks in the last minute'),
  lastSampleAt: isoTime.nullable(),
  secondsSinceLastSample: z.number().nullable(),
  viewers: z.int().nullable().describe('viewers playing now, the performer\'s own preview and staff not counted (null: not counted, or Redis did not answer)'),
  casesOpened: z.int().describe('review cases opened on this broadcast'),
  casesOpen: z.int().describe('of those, not yet resolved'),
});

export const liveSchema = z.object({
  ingestUrl: z.string().describe('rtmp://<host>:<port>/live/ — add your stream key'),
  encoder: z.object({ keyframeIntervalS: z.number(), video: z.string(), audio: z.string() }),
  broadcast: z.object({ id: z.string(), startedAt: isoTime, ingestNode: z.string(), health: healthSchema }).nullable(),
});

/**
 * The RTMP ingest URL a performer publishes to: the configured public host (RTMP_PUBLIC_HOST), else the RTMP
 * bind host, else (bound to every interface) the host the API was called on; with the RTMP port; `/live/`.
 */
export function ingestUrl(rtmp: Config['rtmp'], requestHost: string): string {
  const bindAll = rtmp.host === '0.0.0.0' || rtmp.host === '::';
  const authority = publicAuthority(rtmp.publicHost, rtmp.port) ?? playAuthority({ rtmpHost: bindAll ? null : rtmp.host, rtmpPort: rtmp.port }, requestHost);
  return `rtmp://${authority}/live/`;
}

/** Declares the studio routes. */
export function studioRoutes(router: ApiRouter, deps: { db: Db; redis: Redis; config: Pick<Config, 'rtmp' | 'tap' | 'redisPrefix'> }): void {
  const { db, config } = deps;

  router.add({
    method: 'get', path: '/studio/live', tag: 'studio', access: ['performer'], response: liveSchema,
    summary: 'Your live broadcast (null when not live) with its health over the last minute, the RTMP URL to publish to and the recommended encoder settings',
  }, async ({ c, user }) => {
    const b = await performerLiveBroadcast(db, user.userId);
    let broadcast: z.infer<typeof liveSchema>['broadcast'] = null;
    if (b) {
      const now = Date.now();
      const [h, [viewers = null]] = await Promise.all([
        broadcastHealth(db, b.id, new Date(now - HEALTH_WINDOW_MS)),
        readViewerCounts(deps.redis, config.redisPrefix, [b.id]).catch(() => [null]),
      ]);
      const since = h.lastSampleAt ? Math.max(0, (now - h.lastSampleAt.getTime()) / 1000) : null;
      const interval = config.tap.sampleIntervalMs;
      const stalledAfterS = Math.max(15, (3 * interval) / 1000);
      const state = since === null ? (now - b.startedAt.getTime() < 20_000 ? 'starting' : 'stalled') : since > stalledAfterS ? 'stalled' : 'ok';
      broadcast = {
        id: b.id, startedAt: b.startedAt.toISOString(), ingestNode: b.ingestNode,
        health: {
          state, tapMode: b.tapMode, tapNote: b.tapNote, sampleIntervalMs: interval, framesSampled: h.framesSampled, framesAnalysed: h.framesAnalysed,
          framesFailed: h.framesFailed, duplicateFrames: b.duplicateFrames, audioChunks: h.audioChunks, lastSampleAt: iso(h.lastSampleAt),
          secondsSinceLastSample: since === null ? null : Math.round(since * 10) / 10, viewers, casesOpened: h.casesOpened, casesOpen: h.casesOpen,
        },
      };
    }
    return c.json({
      ingestUrl: ingestUrl(config.rtmp, new URL(c.req.url).hostname),
      encoder: { keyframeIntervalS: 2, video: 'H.264', audio: 'AAC' },
      broadcast,
    });
  });

  router.add({
    method: 'get', path: '/studio/appeals', tag: 'studio', access: 'signed-in',
    summary: 'Your appeals, newest first: which statement each is against, its status (open, upheld, overturned) and the decision note',
    response: z.array(z.object({ id: z.string(), statementId: z.string(), body: z.string(), status: z.string(), decidedAt: isoTime.nullable(), decisionNote: z.string().nullable(), createdAt: isoTime })),
  }, async ({ c, user }) => c.json((await userAppeals(db, user.userId)).map((a) => ({ ...a, decidedAt: iso(a.decidedAt), createdAt: a.createdAt.toISOString() }))));
}
