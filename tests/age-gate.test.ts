// The viewer age gate and hidden streams, on a real RTMP publish (ffmpeg) into a running Warden (API + ingest on
// real Postgres and Redis) and real plays with ffmpeg: attesting a date of birth (an adult accepted, a minor
// refused for good, audited), play URLs only for attested, unbanned adults (the performer and staff always),
// one-time tokens the media server checks, bans and a panic alert's hide_stream disconnecting current viewers
// (timed), and chat joins behind the same gate.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWarden, type WardenHandle } from '../bin/runtime.ts';
import { seedPerformer, seedSession } from '../bin/seed.ts';
import { buildDemoVideo, publishRtmp, type RtmpPublisher } from '../bin/demo-media.ts';
import { insertBan } from '../db/index.ts';
import { spawnFfmpeg, forEachLine } from '../ingest/ffmpeg.ts';
import { connectChat } from '../ingest/chat/index.ts';
import { ChatModeration, liveBroadcastKey } from '../moderation/index.ts';
import { ageOn } from '../core/age.ts';
import { createTestEnv, waitFor, type TestEnv } from './harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let env: TestEnv;
let warden: WardenHandle;
let pub: RtmpPublisher;
let performer: { userId: string; streamKey: string };
let broadcastId: string;
const figures: string[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  const [w, video] = await Promise.all([
    startWarden(env.ctx, { api: true, ingest: true }),
    buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds: 30 }),
  ]);
  warden = w;
  performer = await seedPerformer(env.ctx.db, 'gate-performer', { verified: true });
  pub = publishRtmp(video, `rtmp://127.0.0.1:${env.config.rtmp.port}/live/${performer.streamKey}`, { loop: true });
  const [live] = await waitFor(async () => {
    const rows = await env.ctx.database.sql`select id from broadcasts where user_id = ${performer.userId} and status = 'live'`;
    return rows.length ? rows : null;
  }, 'the broadcast live', 20_000);
  broadcastId = live!.id as string;
}, 120_000);
afterAll(async () => {
  for (const v of viewers) await v.stop();
  await pub?.stop();
  await warden?.stop();
  await env?.cleanup();
  if (figures.length) console.log(`age gate figures:\n  ${figures.join('\n  ')}`);
});

/** A JSON call to the running API with a Bearer session (or a cookie and, for POST, the session's CSRF token). */
async function call(method: 'GET' | 'POST', url: string, auth?: { token: string; csrf?: string; cookie?: boolean }, body?: unknown) {
  const headers: Record<string, string> = {};
  if (auth?.cookie) headers.cookie = `warden_session=${auth.token}`;
  else if (auth) headers.authorization = `Bearer ${auth.token}`;
  if (auth?.csrf) headers['x-csrf-token'] = auth.csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${warden.httpUrl}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const play = (token: string, id = broadcastId) => call('POST', `/api/broadcasts/${id}/play`, { token }, {});
const attest = (token: string, birthDate: string) => call('POST', '/api/me/birth-date', { token }, { birthDate });

/** A `YYYY-MM-DD` date `years` years before today (UTC), shifted by `days`. */
function yearsAgo(years: number, days = 0): string {
  const d = new Date();
  d.setUTCFullYear(d.getUTCFullYear() - years);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** An ffmpeg player of an RTMP URL, counting the video frames it reads (stream copy: no decoding, cheap). */
interface Player { frames: number; exited: Promise<{ code: number | null; at: number; stderr: string }>; stop(): Promise<void> }
const viewers: Player[] = [];
function watch(url: string, opts: { decodeFrames?: number } = {}): Player {
  const out = opts.decodeFrames ? ['-frames:v', String(opts.decodeFrames), '-an'] : ['-c', 'copy'];
  const child = spawnFfmpeg(['-hide_banner', '-loglevel', 'error', '-nostdin', '-rw_timeout', '8000000', '-i', url, ...out, '-progress', 'pipe:1', '-f', 'null', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  const p: Player = {
    frames: 0,
    exited: new Promise((resolve) => child.once('close', (code) => resolve({ code, at: Date.now(), stderr }))),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await p.exited;
    },
  };
  forEachLine(child.stdout!, (l) => { const m = /^frame=(\d+)/.exec(l); if (m) p.frames = Math.max(p.frames, Number(m[1])); });
  viewers.push(p);
  return p;
}

/** Whether a play of `url` is refused: ffmpeg exits without a frame. */
async function refused(url: string): Promise<boolean> {
  const p = watch(url, { decodeFrames: 1 });
  const r = await Promise.race([p.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000))]);
  await p.stop();
  return r !== null && r.code !== 0 && p.frames === 0;
}

/** Starts a viewer on a fresh play URL for `token` and waits until frames arrive. */
async function startWatching(token: string): Promise<Player> {
  const r = await play(token);
  expect(r.status).toBe(200);
  const p = watch(r.body.rtmpUrl);
  await waitFor(() => p.frames > 0, 'frames at the viewer', 15_000, 50);
  return p;
}

/** Milliseconds from `since` until the player exits (fails after 5 s). */
async function disconnectedWithin(p: Player, since: number): Promise<number> {
  const r = await Promise.race([p.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000))]);
  expect(r, 'the player was disconnected').not.toBeNull();
  return r!.at - since;
}

describe('attesting a date of birth', () => {
  it('counts whole years on the calendar', () => {
    expect(ageOn('2000-06-15', '2018-06-15')).toBe(18);
    expect(ageOn('2000-06-15', '2018-06-14')).toBe(17);
    expect(ageOn('2004-02-29', '2022-02-28')).toBe(17);
    expect(ageOn('2004-02-29', '2022-03-01')).toBe(18);
  });

  it('accepts an adult once (session cookie and CSRF token), and /api/me reports adult', async () => {
    const s = await seedSession(env.ctx.db, 'attesting-adult', 'viewer', { adult: false });
    const me = await call('GET', '/api/me', { token: s.token, cookie: true });
    expect(me.body.user).toMatchObject({ handle: 'attesting-adult', adult: false });
    const csrf = me.body.csrfToken as string;
    expect((await call('POST', '/api/me/birth-date', { token: s.token, cookie: true }, { birthDate: yearsAgo(18) })).body.error.code).toBe('csrf');
    for (const bad of ['2001-02-30', '01/02/2001', yearsAgo(-1), '1850-01-01']) {
      expect((await call('POST', '/api/me/birth-date', { token: s.token, cookie: true, csrf }, { birthDate: bad })).status).toBe(400);
    }
    const ok = await call('POST', '/api/me/birth-date', { token: s.token, cookie: true, csrf }, { birthDate: yearsAgo(18) }); // 18 today
    expect(ok).toMatchObject({ status: 201, body: { adult: true } });
    expect((await call('GET', '/api/me', { token: s.token, cookie: true })).body.user.adult).toBe(true);
    const again = await call('POST', '/api/me/birth-date', { token: s.token, cookie: true, csrf }, { birthDate: '1980-01-01' });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'already_attested', message: expect.stringMatching(/contact support/) });
  });

  it('refuses a minor, keeps the date so another cannot be tried, and audits both without the date', async () => {
    const s = await seedSession(env.ctx.db, 'attesting-minor', 'viewer', { adult: false });
    const minorDate = yearsAgo(18, 1); // turns 18 tomorrow
    const r = await attest(s.token, minorDate);
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: 'underage', message: expect.stringMatching(/18 or older/) });
    const [row] = await env.ctx.database.sql`select birth_date::text as birth_date, age_attested_at from users where id = ${s.userId}`;
    expect(row).toMatchObject({ birth_date: minorDate, age_attested_at: null });
    expect((await attest(s.token, '1990-01-01')).body.error.code).toBe('already_attested');
    expect((await call('GET', '/api/me', { token: s.token })).body.user.adult).toBe(false);
    expect((await play(s.token)).body.error.code).toBe('age_unverified');
    const audit = await env.ctx.database.sql`select action, details from actions where user_id = ${s.userId} and action like 'attest_birth_date%' order by chain_seq`;
    expect(audit.map((a) => [a.action, a.details])).toEqual([
      ['attest_birth_date', { adult: false }],
      ['attest_birth_date_refused', { reason: 'already_given' }],
    ]);
    expect(JSON.stringify(audit)).not.toContain(minorDate);
  });
});

describe('the play gate', () => {
  it('refuses a viewer without an attested date of birth; after attesting, the URL plays real frames once', async () => {
    const s = await seedSession(env.ctx.db, 'new-viewer', 'viewer', { adult: false });
    const before = await play(s.token);
    expect(before.status).toBe(403);
    expect(before.body.error.code).toBe('age_unverified');
    expect((await attest(s.token, '1995-05-05')).status).toBe(201);
    const t0 = Date.now();
    const r = await play(s.token);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ broadcastId, flvUrl: expect.stringMatching(new RegExp(`^/flv/watch/${broadcastId}\\.flv\\?token=`)) }); // browsers: tests/watch-api.test.ts
    expect(r.body.rtmpUrl).toMatch(new RegExp(`^rtmp://127\\.0\\.0\\.1:${env.config.rtmp.port}/watch/${broadcastId}\\?token=[A-Za-z0-9_-]{43}$`));
    expect(r.body.rtmpUrl).not.toContain(performer.streamKey);
    expect(Date.parse(r.body.expiresAt) - Date.now()).toBeGreaterThan(50_000);
    const p = watch(r.body.rtmpUrl, { decodeFrames: 5 }); // decoded: real pictures, not just bytes
    const done = await p.exited;
    expect(done.code, done.stderr).toBe(0);
    expect(p.frames).toBeGreaterThanOrEqual(5);
    figures.push(`play URL to 5 decoded frames: ${done.at - t0} ms`);
    // the same URL again: the token was used up
    expect(await refused(r.body.rtmpUrl)).toBe(true);
  }, 60_000);

  it('the media server refuses a wrong token, no token, a token for another stream, and the publish path', async () => {
    const s = await seedSession(env.ctx.db, 'url-tinkerer');
    const r = await play(s.token);
    const url = new URL(r.body.rtmpUrl);
    const wrong = `rtmp://${url.host}/watch/${broadcastId}?token=${'A'.repeat(43)}`;
    expect(await refused(wrong)).toBe(true);
    expect(await refused(`rtmp://${url.host}/watch/${broadcastId}`)).toBe(true);
    expect(await refused(`rtmp://${url.host}/watch/${broadcastId}?sign=9999999999-0123456789abcdef0123456789abcdef`)).toBe(true);
    expect(await refused(`rtmp://${url.host}/watch/${randomUUID()}?token=${url.searchParams.get('token')}`)).toBe(true); // uses the token up
    expect(await refused(r.body.rtmpUrl)).toBe(true);
    expect(await refused(`rtmp://${url.host}/live/${performer.streamKey}`)).toBe(true); // the stream key's path: unsigned
    expect(warden.ingest!.viewerCount).toBe(0);
  }, 90_000);

  it('refuses platform-banned and room-banned viewers (403 banned), not a ban from another room; the performer and staff always play', async () => {
    const platform = await seedSession(env.ctx.db, 'platform-banned');
    await insertBan(env.ctx.db, { userId: platform.userId, kind: 'suspension', reason: 'test', createdBy: 'test', expiresAt: new Date(Date.now() + 3600e3) });
    expect(await play(platform.token)).toMatchObject({ status: 403, body: { error: { code: 'banned' } } });
    const room = await seedSession(env.ctx.db, 'room-banned');
    await insertBan(env.ctx.db, { userId: room.userId, scope: `room:${performer.userId}`, reason: 'test', createdBy: 'test' });
    expect(await play(room.token)).toMatchObject({ status: 403, body: { error: { code: 'banned' } } });
    const elsewhere = await seedSession(env.ctx.db, 'banned-elsewhere');
    await insertBan(env.ctx.db, { userId: elsewhere.userId, scope: `room:${randomUUID()}`, reason: 'test', createdBy: 'test' });
    await insertBan(env.ctx.db, { userId: elsewhere.userId, kind: 'timeout', reason: 'chat only', createdBy: 'test', expiresAt: new Date(Date.now() + 3600e3) });
    expect((await play(elsewhere.token)).status).toBe(200);
    const own = await seedSession(env.ctx.db, 'gate-performer', 'performer', { adult: false }); // the broadcast's performer, by handle
    const mod = await seedSession(env.ctx.db, 'gate-moderator-unattested', 'moderator', { adult: false });
    expect((await play(own.token)).status).toBe(200);
    expect((await play(mod.token)).status).toBe(200);
    expect((await call('POST', `/api/broadcasts/${randomUUID()}/play`, { token: mod.token }, {})).status).toBe(404);
    expect((await call('POST', `/api/broadcasts/${broadcastId}/play`, undefined, {})).status).toBe(401);
  });

  it('banning a viewer who is playing disconnects the play at once (platform ban by a moderator; room ban)', async () => {
    const mod = await seedSession(env.ctx.db, 'gate-moderator', 'moderator');
    const target = await seedSession(env.ctx.db, 'soon-banned');
    const bystander = await seedSession(env.ctx.db, 'bystander');
    const p = await startWatching(target.token);
    const other = await startWatching(bystander.token);
    const sent = Date.now();
    const ban = await call('POST', `/api/users/${target.userId}/ban`, { token: mod.token }, { reasonCode: 'harassment', note: 'age gate test' });
    expect(ban.status).toBe(200);
    const ms = await disconnectedWithin(p, sent);
    figures.push(`platform ban (moderator API) to the viewer's play disconnected: ${ms} ms`);
    expect(ms).toBeLessThan(1500);
    expect(await play(target.token)).toMatchObject({ status: 403, body: { error: { code: 'banned' } } });
    const framesBefore = other.frames;
    await waitFor(() => other.frames > framesBefore, 'the bystander still playing', 5000, 50);

    const roomTarget = await seedSession(env.ctx.db, 'soon-room-banned');
    const q = await startWatching(roomTarget.token);
    const chat = new ChatModeration({ db: env.ctx.db, redis: env.ctx.redis, prefix: env.config.redisPrefix, logger: env.ctx.logger });
    const t0 = Date.now();
    await chat.restrict({ userId: roomTarget.userId, kind: 'ban', scope: `room:${performer.userId}`, durationMs: null, reason: 'banned from this room', actor: 'test' });
    const roomMs = await disconnectedWithin(q, t0);
    figures.push(`room ban to the viewer's play disconnected: ${roomMs} ms`);
    expect(roomMs).toBeLessThan(1500);
    await other.stop();
  }, 90_000);
});

describe('hide_stream (panic protection)', () => {
  it('drops current viewers (not staff), refuses new plays with hidden while the publish and the tap go on, and resolving shows the stream again', async () => {
    const mod = await seedSession(env.ctx.db, 'hide-moderator', 'moderator');
    const fan = await seedSession(env.ctx.db, 'hide-fan');
    const owner = await seedSession(env.ctx.db, 'gate-performer', 'performer');
    const viewer = await startWatching(fan.token);
    const staff = await startWatching(mod.token);
    const early = await play(fan.token); // issued before the panic, used after it
    const samplesBefore = Number((await env.ctx.database.sql`select count(*)::int as n from samples where broadcast_id = ${broadcastId}`)[0]!.n);

    // the ingest node put the performer's live broadcast in Redis: the press finds it without Postgres
    expect(await env.ctx.redis.get(liveBroadcastKey(env.config.redisPrefix, performer.userId))).toBe(broadcastId);
    const pressed = Date.now();
    const panic = await call('POST', '/api/alerts/panic', { token: owner.token }, { protection: 'hide_stream', message: 'someone in chat knows my address' });
    expect(panic.status).toBe(202);
    expect(panic.body.alert).toMatchObject({ protection: 'hide_stream', broadcastId });
    const ms = await disconnectedWithin(viewer, pressed);
    figures.push(`panic hide_stream to the viewer's play disconnected: ${ms} ms`);
    expect(ms).toBeLessThan(1500);
    expect(await play(fan.token)).toMatchObject({ status: 403, body: { error: { code: 'hidden' } } });
    expect(await refused(early.body.rtmpUrl)).toBe(true);
    const staffFrames = staff.frames;
    await waitFor(() => staff.frames > staffFrames, 'the moderator still watching', 5000, 50);
    const fresh = await play(mod.token);
    expect(fresh.status).toBe(200);
    const second = watch(fresh.body.rtmpUrl, { decodeFrames: 2 });
    expect((await second.exited).code).toBe(0);
    expect(pub.child.exitCode).toBeNull(); // the performer is still publishing
    await waitFor(async () => Number((await env.ctx.database.sql`select count(*)::int as n from samples where broadcast_id = ${broadcastId}`)[0]!.n) > samplesBefore,
      'the tap still sampling', 10_000, 200);

    const resolved = await call('POST', `/api/alerts/${panic.body.alert.id}/resolve`, { token: mod.token }, { resolution: 'talked to the performer; chat user banned' });
    expect(resolved.status).toBe(200);
    const again = await startWatching(fan.token);
    expect(again.frames).toBeGreaterThan(0);
    await again.stop();
    await staff.stop();
  }, 90_000);
});

describe('chat behind the age gate', () => {
  it('an unattested account cannot join the room; an attested adult can', async () => {
    const s = await seedSession(env.ctx.db, 'chat-unattested', 'viewer', { adult: false });
    await expect(connectChat(warden.httpUrl!, broadcastId, s.token)).rejects.toThrow(/HTTP 403 age_unverified/);
    await expect(connectChat(warden.httpUrl!, broadcastId)).rejects.toThrow(/HTTP 401 unauthenticated/);
    expect((await attest(s.token, '1999-09-09')).status).toBe(201);
    const c = await connectChat(warden.httpUrl!, broadcastId, s.token);
    expect(c.log[0]).toMatchObject({ type: 'hello', user: 'chat-unattested', canPost: true });
    c.close();
  });
});

describe('a broadcast that ended', () => {
  it('is not_live, and its viewers are disconnected with it', async () => {
    const s = await seedSession(env.ctx.db, 'last-viewer');
    const p = await startWatching(s.token);
    const t0 = Date.now();
    await pub.stop();
    await disconnectedWithin(p, t0);
    await waitFor(async () => (await env.ctx.database.sql`select 1 from broadcasts where id = ${broadcastId} and status = 'ended'`).length > 0, 'the broadcast ended', 5000);
    expect(await play(s.token)).toMatchObject({ status: 403, body: { error: { code: 'not_live' } } });
    expect(warden.ingest!.viewerCount).toBe(0);
    expect(await env.ctx.redis.get(liveBroadcastKey(env.config.redisPrefix, performer.userId))).toBeNull();
  }, 30_000);
});
