// The watch page's APIs on a running Warden (API + ingest on real Postgres and Redis) with a real RTMP publish
// (ffmpeg): HTTP-FLV play URLs issued only as the play gate allows, the FLV endpoint behind the same one-time
// tokens (missing, wrong, replayed and foreign tokens refused; the stream-key path unreachable), real FLV tags
// flowing to a fetch reader and decoded by ffmpeg, a ban and the broadcast's end cutting an HTTP-FLV viewer
// (timed), an API node that does not hold the broadcast pointing browsers at the node that does, the live list
// and the report categories.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWarden, type WardenHandle } from '../bin/runtime.ts';
import { seedPerformer, seedSession } from '../bin/seed.ts';
import { buildDemoVideo, publishRtmp, type RtmpPublisher } from '../bin/demo-media.ts';
import { spawnFfmpeg, forEachLine } from '../ingest/ffmpeg.ts';
import { hiddenBroadcastKey } from '../moderation/index.ts';
import { createContext, type AppContext } from '../core/context.ts';
import { createLogger } from '../core/logger.ts';
import { createTestEnv, waitFor, type TestEnv } from './harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let env: TestEnv;
let warden: WardenHandle;
let pub: RtmpPublisher;
let performer: { userId: string; streamKey: string };
let broadcastId: string;
const figures: string[] = [];
const readers: FlvReader[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  const [w, video] = await Promise.all([
    startWarden(env.ctx, { api: true, ingest: true }),
    buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds: 30 }),
  ]);
  warden = w;
  performer = await seedPerformer(env.ctx.db, 'watch-performer', { verified: true });
  pub = publishRtmp(video, `rtmp://127.0.0.1:${env.config.rtmp.port}/live/${performer.streamKey}`, { loop: true });
  const [live] = await waitFor(async () => {
    const rows = await env.ctx.database.sql`select id from broadcasts where user_id = ${performer.userId} and status = 'live'`;
    return rows.length ? rows : null;
  }, 'the broadcast live', 20_000);
  broadcastId = live!.id as string;
}, 120_000);
afterAll(async () => {
  for (const r of readers) r.stop();
  await pub?.stop();
  await warden?.stop();
  await env?.cleanup();
  if (figures.length) console.log(`watch API figures:\n  ${figures.join('\n  ')}`);
});

/** A JSON call to the running API (`base`: another node) with a Bearer session. */
async function call(method: 'GET' | 'POST', url: string, token?: string, body?: unknown, base = warden.httpUrl) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
const play = (token: string, id = broadcastId, base?: string) => call('POST', `/api/broadcasts/${id}/play`, token, {}, base);

/** The FLV tags a reader has parsed so far. */
interface FlvReader {
  status: number;
  headers: Headers;
  /** The answer's body when it was not FLV (a refusal). */
  error?: { code: string; message: string };
  signature: string;
  bytes: number;
  tags: { audio: number; video: number; keyframes: number; script: number; avcHeader: boolean; aacHeader: boolean; lastTimestampMs: number };
  /** Resolves with the time (ms since the epoch) the stream ended or failed. */
  ended: Promise<number>;
  stop(): void;
}

/**
 * Opens an HTTP-FLV URL with fetch and parses the stream as it arrives: the 9-byte `FLV` header, then tags
 * (type 8 audio, 9 video, 18 script; 11-byte header, payload, 4-byte previous size).
 */
async function openFlv(url: string): Promise<FlvReader> {
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  const r: FlvReader = {
    status: res.status, headers: res.headers, signature: '', bytes: 0,
    tags: { audio: 0, video: 0, keyframes: 0, script: 0, avcHeader: false, aacHeader: false, lastTimestampMs: 0 },
    ended: Promise.resolve(Date.now()), stop: () => ac.abort(),
  };
  readers.push(r);
  if (res.headers.get('content-type') !== 'video/x-flv') {
    r.error = ((await res.json()) as { error: FlvReader['error'] }).error;
    return r;
  }
  let buf = Buffer.alloc(0);
  let offset = -1; // -1: header not read yet
  const reader = res.body!.getReader();
  r.ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        r.bytes += value.length;
        buf = Buffer.concat([buf, value]);
        if (offset < 0 && buf.length >= 13) { r.signature = buf.subarray(0, 3).toString('latin1'); offset = 13; }
        while (offset >= 0 && buf.length >= offset + 11) {
          const type = buf[offset]!;
          const size = buf.readUIntBE(offset + 1, 3);
          if (buf.length < offset + 11 + size + 4) break;
          const ts = buf.readUIntBE(offset + 4, 3) | (buf[offset + 7]! << 24);
          const data = buf.subarray(offset + 11, offset + 11 + size);
          if (type === 8) { r.tags.audio++; if ((data[0]! >> 4) === 10 && data[1] === 0) r.tags.aacHeader = true; }
          if (type === 9) {
            r.tags.video++;
            if ((data[0]! >> 4) === 1) r.tags.keyframes++;
            if ((data[0]! & 0x0f) === 7 && data[1] === 0) r.tags.avcHeader = true;
          }
          if (type === 18) r.tags.script++;
          if (type === 8 || type === 9) r.tags.lastTimestampMs = ts;
          offset += 11 + size + 4;
        }
        if (offset > 1 << 20) { buf = buf.subarray(offset); offset = 0; }
      }
    } catch { /* cut or aborted */ }
    return Date.now();
  })();
  return r;
}

/** Milliseconds from `since` until the reader's stream ends (fails after 5 s). */
async function cutWithin(r: FlvReader, since: number): Promise<number> {
  const at = await Promise.race([r.ended, new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000))]);
  expect(at, 'the HTTP-FLV play was cut').not.toBeNull();
  return at! - since;
}

/** A viewer reading a fresh HTTP-FLV play until video tags arrive. */
async function startWatching(token: string): Promise<FlvReader> {
  const p = await play(token);
  expect(p.status).toBe(200);
  const r = await openFlv(`${warden.httpUrl}${p.body.flvUrl}`);
  expect(r.status).toBe(200);
  await waitFor(() => r.tags.video > 0, 'video tags at the viewer', 15_000, 50);
  return r;
}

describe('play URLs for browsers', () => {
  it('gives an HTTP-FLV URL on this origin, with the RTMP URL\'s one token, only to whom the gate admits', async () => {
    const unattested = await seedSession(env.ctx.db, 'flv-unattested', 'viewer', { adult: false });
    const refused = await play(unattested.token);
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'age_unverified' } } });
    expect(refused.body.flvUrl).toBeUndefined();

    const viewer = await seedSession(env.ctx.db, 'flv-viewer');
    const r = await play(viewer.token);
    expect(r.status).toBe(200);
    expect(r.body.flvUrl).toMatch(new RegExp(`^/flv/watch/${broadcastId}\\.flv\\?token=[A-Za-z0-9_-]{43}$`));
    expect(new URL(r.body.flvUrl, 'http://x').searchParams.get('token')).toBe(new URL(r.body.rtmpUrl).searchParams.get('token'));
    expect(r.body.flvUrl).not.toContain(performer.streamKey);
    // the RTMP URL and the FLV URL share the token: opening one uses up the other
    const first = await openFlv(`${warden.httpUrl}${r.body.flvUrl}`);
    expect(first.status).toBe(200);
    first.stop();
    const again = await openFlv(`${warden.httpUrl}${r.body.flvUrl}`);
    expect(again).toMatchObject({ status: 403, error: { code: 'unknown_token' } });

    const hidden = hiddenBroadcastKey(env.config.redisPrefix, broadcastId);
    await env.ctx.redis.set(hidden, '1');
    try {
      expect(await play(viewer.token)).toMatchObject({ status: 403, body: { error: { code: 'hidden' } } });
    } finally {
      await env.ctx.redis.del(hidden);
    }
  });
});

describe('the HTTP-FLV endpoint', () => {
  it('refuses a missing, wrong, replayed and foreign token, other paths and methods, and never serves the stream-key path', async () => {
    const viewer = await seedSession(env.ctx.db, 'flv-tinkerer');
    const base = `${warden.httpUrl}/flv/watch/${broadcastId}.flv`;
    expect(await openFlv(base)).toMatchObject({ status: 401, error: { code: 'no_token' } });
    expect(await openFlv(`${base}?token=${'A'.repeat(43)}`)).toMatchObject({ status: 403, error: { code: 'unknown_token' } });
    const foreign = new URL((await play(viewer.token)).body.flvUrl, 'http://x').searchParams.get('token')!;
    expect(await openFlv(`${warden.httpUrl}/flv/watch/${randomUUID()}.flv?token=${foreign}`)).toMatchObject({ status: 403, error: { code: 'other_stream' } });
    expect(await openFlv(`${base}?token=${foreign}`)).toMatchObject({ status: 403, error: { code: 'unknown_token' } }); // used up by the foreign try
    const used = (await play(viewer.token)).body.flvUrl as string;
    const ok = await openFlv(`${warden.httpUrl}${used}`);
    expect(ok.status).toBe(200);
    ok.stop();
    const replay = await openFlv(`${warden.httpUrl}${used}`);
    expect(replay).toMatchObject({ status: 403, error: { code: 'unknown_token' } });
    expect(replay.headers.get('access-control-allow-origin')).toBe('*'); // a player on another origin can read the refusal

    const token = new URL((await play(viewer.token)).body.flvUrl, 'http://x').searchParams.get('token')!;
    expect(await openFlv(`${warden.httpUrl}/flv/live/${performer.streamKey}.flv?token=${token}`)).toMatchObject({ status: 404, error: { code: 'not_found' } });
    expect(await openFlv(`${warden.httpUrl}/flv/watch/${broadcastId}?token=${token}`)).toMatchObject({ status: 404, error: { code: 'not_found' } });
    const post = await fetch(`${base}?token=${token}`, { method: 'POST' });
    expect(post.status).toBe(405);
    const preflight = await fetch(base, { method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    // the API behind it is untouched
    expect((await fetch(`${warden.httpUrl}/healthz`)).status).toBe(200);
    await waitFor(() => warden.ingest!.viewerCount === 0, 'no viewers left', 3000, 50);
  });

  it('streams real FLV from the live RTMP publish: header, codec headers, keyframes, audio; ffmpeg decodes it', async () => {
    const viewer = await seedSession(env.ctx.db, 'flv-watcher');
    const t0 = Date.now();
    const r = await startWatching(viewer.token);
    figures.push(`play API to the first FLV video tag: ${Date.now() - t0} ms`);
    expect(r.headers.get('content-type')).toBe('video/x-flv');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.signature).toBe('FLV');
    await waitFor(() => r.tags.keyframes >= 2 && r.tags.audio > 20, 'two keyframes and audio', 15_000, 100);
    expect(r.tags).toMatchObject({ avcHeader: true, aacHeader: true });
    expect(r.tags.script).toBeGreaterThanOrEqual(1); // onMetaData
    const ts0 = r.tags.lastTimestampMs;
    await waitFor(() => r.tags.lastTimestampMs > ts0 + 1000, 'timestamps advancing (live)', 10_000, 100);
    expect(warden.ingest!.viewerCount).toBe(1);
    r.stop();
    await waitFor(() => warden.ingest!.viewerCount === 0, 'the play forgotten when the viewer left', 3000, 50);

    // ffmpeg reads the HTTP-FLV URL as any player would and decodes real pictures
    const url = `${warden.httpUrl}${(await play(viewer.token)).body.flvUrl}`;
    const child = spawnFfmpeg(['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', url, '-frames:v', '10', '-an', '-progress', 'pipe:1', '-f', 'null', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let frames = 0;
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
    forEachLine(child.stdout!, (l) => { const m = /^frame=(\d+)/.exec(l); if (m) frames = Math.max(frames, Number(m[1])); });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code, stderr).toBe(0);
    expect(frames).toBe(10);
  }, 60_000);

  it('a ban cuts an HTTP-FLV viewer at once; a bystander keeps watching', async () => {
    const mod = await seedSession(env.ctx.db, 'flv-moderator', 'moderator');
    const target = await seedSession(env.ctx.db, 'flv-soon-banned');
    const bystander = await seedSession(env.ctx.db, 'flv-bystander');
    const r = await startWatching(target.token);
    const other = await startWatching(bystander.token);
    const sent = Date.now();
    const ban = await call('POST', `/api/users/${target.userId}/ban`, mod.token, { reasonCode: 'harassment', note: 'watch API test' });
    expect(ban.status).toBe(200);
    const ms = await cutWithin(r, sent);
    figures.push(`platform ban (moderator API) to the HTTP-FLV play cut: ${ms} ms`);
    expect(ms).toBeLessThan(1500);
    expect(await play(target.token)).toMatchObject({ status: 403, body: { error: { code: 'banned' } } });
    const before = other.tags.video;
    await waitFor(() => other.tags.video > before + 10, 'the bystander still receiving', 5000, 50);

    // a panic alert's hide_stream drops HTTP-FLV viewers as it drops RTMP ones
    const owner = await seedSession(env.ctx.db, 'watch-performer', 'performer');
    const pressed = Date.now();
    const panic = await call('POST', '/api/alerts/panic', owner.token, { protection: 'hide_stream', message: null });
    expect(panic.status).toBe(202);
    figures.push(`panic hide_stream to the HTTP-FLV play cut: ${await cutWithin(other, pressed)} ms`);
    const resolved = await call('POST', `/api/alerts/${panic.body.alert.id}/resolve`, mod.token, { resolution: 'watch API test: shown again' });
    expect(resolved.status).toBe(200);
  }, 60_000);

  it('an API node that does not hold the broadcast gives the holding node\'s absolute HTTP-FLV URL, playable cross-origin', async () => {
    let other: AppContext | undefined;
    let otherNode: WardenHandle | undefined;
    try {
      other = await createContext({ ...env.config, nodeId: `${env.config.nodeId}-api` }, { migrate: false, logger: createLogger('silent') });
      otherNode = await startWarden(other, { api: true });
      const viewer = await seedSession(env.ctx.db, 'flv-elsewhere');
      const r = await play(viewer.token, broadcastId, otherNode.httpUrl);
      expect(r.status).toBe(200);
      const port = new URL(warden.httpUrl!).port;
      expect(r.body.flvUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/flv/watch/${broadcastId}\\.flv\\?token=`));
      const flv = await openFlv(r.body.flvUrl);
      expect(flv.status).toBe(200);
      expect(flv.headers.get('access-control-allow-origin')).toBe('*');
      await waitFor(() => flv.tags.video > 0, 'video from the holding node', 10_000, 50);
      flv.stop();
    } finally {
      await otherNode?.stop();
      await other?.close();
    }
  }, 60_000);
});

describe('the live list and report categories', () => {
  it('GET /api/live lists live broadcasts with the performer (signed-in; a hidden stream only for its performer and staff)', async () => {
    const viewer = await seedSession(env.ctx.db, 'list-viewer');
    expect((await call('GET', '/api/live')).status).toBe(401);
    const list = await call('GET', '/api/live', viewer.token);
    expect(list.status).toBe(200);
    expect(list.body).toEqual([{ id: broadcastId, performer: { id: performer.userId, handle: 'watch-performer' }, startedAt: expect.any(String) }]);
    expect(JSON.stringify(list.body)).not.toMatch(/image|frame|sample/);
    const hidden = hiddenBroadcastKey(env.config.redisPrefix, broadcastId);
    await env.ctx.redis.set(hidden, '1');
    try {
      expect((await call('GET', '/api/live', viewer.token)).body).toEqual([]);
      const owner = await seedSession(env.ctx.db, 'watch-performer', 'performer');
      expect((await call('GET', '/api/live', owner.token)).body).toHaveLength(1);
    } finally {
      await env.ctx.redis.del(hidden);
    }
  });

  it('GET /api/report-categories gives the reportable reason codes with labels, not no_violation nor verification_*', async () => {
    const viewer = await seedSession(env.ctx.db, 'category-viewer');
    expect((await call('GET', '/api/report-categories')).status).toBe(401);
    const r = await call('GET', '/api/report-categories', viewer.token);
    expect(r.status).toBe(200);
    const codes = (r.body as { code: string }[]).map((c) => c.code);
    expect(codes).toEqual(expect.arrayContaining(['sexual_content', 'minor_safety', 'violent_threat', 'harassment', 'contact_solicitation', 'spam', 'other']));
    expect(codes).not.toContain('no_violation');
    expect(codes.filter((c) => c.startsWith('verification_'))).toEqual([]);
    expect(r.body).toContainEqual({ code: 'contact_solicitation', label: 'Off-platform contact or payment', description: expect.any(String) });
    // every listed category is accepted by POST /api/reports
    const filed = await call('POST', '/api/reports', viewer.token, { subjectType: 'broadcast', subjectId: broadcastId, category: codes[0], note: 'watch API test' });
    expect(filed.status).toBe(201);
  });
});

describe('a broadcast that ends', () => {
  it('cuts its HTTP-FLV viewers and answers not_live afterwards', async () => {
    const viewer = await seedSession(env.ctx.db, 'flv-last-viewer');
    const r = await startWatching(viewer.token);
    const early = await play(viewer.token);
    const t0 = Date.now();
    await pub.stop();
    figures.push(`publisher gone to the HTTP-FLV play cut: ${await cutWithin(r, t0)} ms`);
    await waitFor(async () => (await env.ctx.database.sql`select 1 from broadcasts where id = ${broadcastId} and status = 'ended'`).length > 0, 'the broadcast ended', 5000);
    expect(await openFlv(`${warden.httpUrl}${early.body.flvUrl}`)).toMatchObject({ status: 404, error: { code: 'not_live' } });
    expect(await play(viewer.token)).toMatchObject({ status: 403, body: { error: { code: 'not_live' } } });
    expect((await call('GET', '/api/live', viewer.token)).body).toEqual([]);
    expect(warden.ingest!.viewerCount).toBe(0);
  }, 30_000);
});
