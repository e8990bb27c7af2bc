/**
 * Media behind cases and broadcasts: the audio of a speech chunk (a span of it, for a moderator to hear the
 * evidence) and a broadcast's live captions as WebVTT (for viewers). Files are found through the sample row,
 * never through a path from the request.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Hono } from 'hono';
import { z } from 'zod';
import { WardenError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { captionSources, getBroadcast, getSample, viewerStanding, type Db } from '../db/index.ts';
import { captionCues, cuesSince, formatWebVtt, type CaptionChunk } from '../analyzer/audio/index.ts';
import type { TranscriptWord } from '../analyzer/audio/pocketsphinx.ts';
import { sliceWav } from '../analyzer/audio/index.ts';
import { authenticate, requireRole, type AuthEnv } from './auth.ts';

const uuid = z.uuid({ error: 'not a valid id' });
const seconds = z.coerce.number({ error: 'expected a number of seconds' }).min(0, 'must be ≥ 0').max(86_400);
const spanQuery = z.strictObject({ start: seconds.optional(), end: seconds.optional() })
  .refine((q) => q.start === undefined || q.end === undefined || q.end > q.start, 'end must be after start');
const captionQuery = z.strictObject({ from: seconds.optional() });

/** Longest caption history served at once: the last this many chunks (about 45 minutes at the defaults). */
export const MAX_CAPTION_CHUNKS = 340;

/** Parses route params or a query with a zod schema. @throws 400 naming each problem. */
function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new WardenError('bad_request', r.error.issues.map((i) => `${i.path.join('.') || what}: ${i.message}`).join('; '));
  return r.data;
}

/**
 * Routes:
 * - `GET /api/samples/:id/audio?start=S&end=S` (moderator, senior_moderator, admin): the chunk's audio, or
 *   the span [start, end) of it in seconds, as a 16 kHz mono WAV. 404 when the sample is not a stored audio
 *   chunk; 400 for a malformed id or span.
 * - `GET /api/broadcasts/:id/captions.vtt?from=S` (a signed-in attested adult, the broadcast's performer, or
 *   staff; others 403 `age_unverified`): the broadcast's captions so far as
 *   WebVTT (`text/vtt`), cue times in seconds from the broadcast's start; `from` keeps only cues ending after
 *   it (players poll with the end of the last cue they have).
 */
export function mediaRoutes(db: Db, dataDir: string, logger: Logger): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  // only these routes: an unknown /api path stays a 404, not a 401
  for (const route of ['/samples/:id/audio', '/broadcasts/:id/captions.vtt']) app.use(route, authenticate(db));

  app.get('/samples/:id/audio', requireRole('moderator', 'senior_moderator', 'admin'), async (c) => {
    const id = parse(uuid, c.req.param('id'), 'id');
    const q = parse(spanQuery, c.req.query(), 'query');
    const sample = await getSample(db, id);
    if (!sample || sample.kind !== 'audio' || !sample.filePath) throw new WardenError('not_found', 'no stored audio for this sample');
    let wav: Buffer;
    try {
      wav = await readFile(path.join(dataDir, sample.filePath));
    } catch {
      throw new WardenError('not_found', 'the audio of this sample is no longer stored');
    }
    const durationS = (sample.durationMs ?? 0) / 1000;
    const start = q.start ?? 0;
    const end = q.end ?? Math.max(durationS, start + 0.001);
    let body: Buffer;
    try {
      body = sliceWav(wav, start, end);
    } catch (err) {
      throw new WardenError('bad_request', `span ${start}–${end} s is outside the chunk (${durationS} s): ${(err as Error).message}`);
    }
    logger.info({ sampleId: id, userId: c.get('user').userId, start, end }, 'evidence audio served');
    return c.body(new Uint8Array(body), 200, {
      'content-type': 'audio/wav',
      'content-disposition': `inline; filename="chunk-${sample.seq}.wav"`,
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
    });
  });

  app.get('/broadcasts/:id/captions.vtt', async (c) => {
    const id = parse(uuid, c.req.param('id'), 'id');
    const q = parse(captionQuery, c.req.query(), 'query');
    const broadcast = await getBroadcast(db, id);
    if (!broadcast) throw new WardenError('not_found', 'no such broadcast');
    // the words said on stream are behind the same age gate as its pictures (the performer and staff exempt)
    const user = c.get('user');
    if (user.userId !== broadcast.userId && !['moderator', 'senior_moderator', 'admin'].includes(user.role)) {
      const standing = await viewerStanding(db, user.userId);
      if (!standing?.adult) return c.json({ error: { code: 'age_unverified', message: 'confirm you are an adult first: POST /api/me/birth-date' } }, 403);
    }
    // chunks that can hold cues ending after `from`: a chunk starts at most a chunk length before its cues, and
    // the first may be dated a little before the broadcast row (audio buffered before the publish was accepted)
    const since = new Date(broadcast.startedAt.getTime() + ((q.from ?? 0) - 60) * 1000);
    const chunks: CaptionChunk[] = (await captionSources(db, id, since, MAX_CAPTION_CHUNKS)).map((s) => ({
      seq: s.seq, startedAt: s.capturedAt, durationMs: s.durationMs, overlapMs: s.overlapMs, words: s.words as TranscriptWord[],
    }));
    const cues = captionCues(chunks, broadcast.startedAt);
    return c.body(formatWebVtt(q.from === undefined ? cues : cuesSince(cues, q.from)), 200, {
      'content-type': 'text/vtt; charset=utf-8',
      'cache-control': 'private, no-cache',
    });
  });

  return app;
}
