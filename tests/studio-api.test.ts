// The performer studio's API on a running Warden (API + ingest on real Postgres and Redis) with a real RTMP
// publish (ffmpeg) and real plays and chat: the live status and its health, the performer's own alert stream
// (only their alerts; acknowledged with the moderator's handle, then resolved), the saved panic protection applied
// to a press that names none (HTTP and the chat socket), blocking a viewer (their chat refused and their play cut
// at once, audited, undone by unblocking), trusted-only chat, and the room's settings.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWarden, type WardenHandle } from '../bin/runtime.ts';
import { seedPerformer, seedSession } from '../bin/seed.ts';
import { buildDemoVideo, publishRtmp, type RtmpPublisher } from '../bin/demo-media.ts';
import { spawnFfmpeg, forEachLine } from '../ingest/ffmpeg.ts';
import { connectChat, type ChatClient } from '../ingest/chat/index.ts';
import { csrfTokenFor } from '../api/auth.ts';
import { frozenRoomKey, panicProtectionKey, restrictionKey, type AlertEvent } from '../moderation/index.ts';
import { createTestEnv, waitFor, type TestEnv } from './harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let env: TestEnv;
let warden: WardenHandle;
let video: string;
let pub: RtmpPublisher | undefined;
let performer: { userId: string; streamKey: string; token: string };
let broadcastId: string;
let moderator: { userId: string; token: string };
const closers: (() => unknown)[] = [];
const figures: string[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  [warden, video] = await Promise.all([
    startWarden(env.ctx, { api: true, ingest: true }),
    buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds: 30 }),
  ]);
  const p = await seedPerformer(env.ctx.db, 'studio-performer', { verified: true });
  performer = { ...p, token: (await seedSession(env.ctx.db, 'studio-performer', 'performer')).token };
  moderator = await seedSession(env.ctx.db, 'studio-moderator', 'moderator');
}, 120_000);
afterAll(async () => {
  for (const c of closers.splice(0)) await c();
  await pub?.stop();
  await warden?.stop();
  await env?.cleanup();
  if (figures.length) console.log(`studio figures:\n  ${figures.join('\n  ')}`);
});

/** A JSON call to the running API: Bearer by default, or the browser's way (cookie + CSRF token). */
async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token?: string, body?: unknown, opts: { cookie?: boolean; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (token && opts.cookie) {
    headers.cookie = `warden_session=${token}`;
    if (method !== 'GET') headers['x-csrf-token'] = csrfTokenFor(token);
  } else if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${warden.httpUrl}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** An open SSE stream of alert events. */
async function alertStream(url: string, token: string) {
  const abort = new AbortController();
  const res = await fetch(`${warden.httpUrl}${url}`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const reader = res.body!.getReader();
  const events: (AlertEvent & { receivedAt: number })[] = [];
  let ready = false;
  void (async () => {
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) return;
      buf += new TextDecoder().decode(value);
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (/^event: ready$/m.test(block)) ready = true;
        const data = block.match(/^data: (.*)$/m)?.[1];
        if (/^event: alert$/m.test(block) && data) events.push({ ...JSON.parse(data) as AlertEvent, receivedAt: Date.now() });
      }
    }
  })();
  await waitFor(() => ready, 'the alert stream to open', 5000, 10);
  closers.push(() => abort.abort());
  return events;
}

/** An ffmpeg player of an RTMP URL counting the frames it reads (stream copy). */
function watch(url: string) {
  const child = spawnFfmpeg(['-hide_banner', '-loglevel', 'error', '-nostdin', '-rw_timeout', '8000000', '-i', url, '-c', 'copy', '-progress', 'pipe:1', '-f', 'null', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const p = {
    frames: 0,
    exited: new Promise<number>((resolve) => child.once('close', () => resolve(Date.now()))),
    stop: async () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); await p.exited; },
  };
  forEachLine(child.stdout!, (l) => { const m = /^frame=(\d+)/.exec(l); if (m) p.frames = Math.max(p.frames, Number(m[1])); });
  closers.push(p.stop);
  return p;
}

async function chat(token: string): Promise<ChatClient> {
  const c = await connectChat(warden.httpUrl!, broadcastId, token);
  closers.push(() => c.close());
  return c;
}

describe('studio: live status', () => {
  it('shows no broadcast and the ingest URL before going live, then the broadcast and its health', async () => {
    const before = await call('GET', '/api/studio/live', performer.token);
    expect(before.status).toBe(200);
    expect(before.body).toEqual({
      ingestUrl: `rtmp://127.0.0.1:${env.config.rtmp.port}/live/`, encoder: { keyframeIntervalS: 2, video: 'H.264', audio: 'AAC' }, broadcast: null,
    });
    const viewer = await seedSession(env.ctx.db, 'studio-onlooker');
    expect((await call('GET', '/api/studio/live', viewer.token)).status).toBe(403);
    expect((await call('GET', '/api/studio/live')).status).toBe(401);

    pub = publishRtmp(video, `${before.body.ingestUrl}${performer.streamKey}`, { loop: true });
    const live = await waitFor(async () => (await call('GET', '/api/studio/live', performer.token)).body.broadcast, 'the broadcast in the live status', 20_000, 250);
    broadcastId = live.id;
    expect(live).toMatchObject({ ingestNode: env.config.nodeId, health: { sampleIntervalMs: 2000 } });
    expect(['starting', 'ok']).toContain(live.health.state);
    const healthy = await waitFor(async () => {
      const h = (await call('GET', '/api/studio/live', performer.token)).body.broadcast?.health;
      return h?.framesSampled >= 2 && h.state === 'ok' ? h : null;
    }, 'sampled frames in the health figures', 20_000, 500);
    expect(healthy.viewers).toBe(0); // counted by the ingest node, nobody watching yet
    expect(healthy.tapMode).toMatch(/keyframes|interval/);
    expect(healthy.secondsSinceLastSample).toBeLessThan(10);
    expect(healthy.lastSampleAt).toBeTruthy();
    expect(healthy).toMatchObject({ casesOpen: 0, framesFailed: 0 });
    figures.push(`live status after publish: ${healthy.framesSampled} frames sampled, ${healthy.audioChunks} audio chunks, last sample ${healthy.secondsSinceLastSample} s ago (${healthy.tapMode})`);
  }, 60_000);
});

describe('studio: room settings', () => {
  it('reads defaults, changes only what is sent, mirrors the panic protection in Redis, and refuses bad input', async () => {
    const me = await call('GET', '/api/rooms/me', performer.token);
    expect(me.body).toMatchObject({ slowModeS: 0, trustedOnly: false, panicProtection: 'none', terms: [] });
    expect((await call('PUT', '/api/rooms/me/settings', performer.token, {})).status).toBe(400);
    expect((await call('PUT', '/api/rooms/me/settings', performer.token, { panicProtection: 'hide_everything' })).status).toBe(400);
    expect((await call('PUT', '/api/rooms/me/settings', performer.token, { slowModeS: 99_999 })).status).toBe(400);
    // the browser's way: cookie and CSRF token; a cross-site page is refused
    expect((await call('PUT', '/api/rooms/me/settings', performer.token, { slowModeS: 5 }, { cookie: true, headers: { origin: 'https://evil.example' } })).status).toBe(403);
    const saved = await call('PUT', '/api/rooms/me/settings', performer.token, { panicProtection: 'freeze_chat', slowModeS: 3 }, { cookie: true });
    expect(saved).toMatchObject({ status: 200, body: { slowModeS: 3, trustedOnly: false, panicProtection: 'freeze_chat' } });
    expect(await env.ctx.redis.get(panicProtectionKey(env.config.redisPrefix, performer.userId))).toBe('freeze_chat');
    expect((await call('PUT', '/api/rooms/me/slow-mode', performer.token, { seconds: 0 })).body).toEqual({ slowModeS: 0 });
    expect((await call('GET', '/api/rooms/me', performer.token)).body).toMatchObject({ slowModeS: 0, panicProtection: 'freeze_chat' });
    const audit = await env.ctx.database.sql`select action, details from actions where actor_id = ${performer.userId} and action = 'room_settings' order by chain_seq`;
    expect(audit.map((a) => a.details)).toEqual([{ change: { panicProtection: 'freeze_chat', slowModeS: 3 } }, { change: { slowModeS: 0 } }]);
    // a lost mirror comes back when the studio reads the room
    await env.ctx.redis.del(panicProtectionKey(env.config.redisPrefix, performer.userId));
    await call('GET', '/api/rooms/me', performer.token);
    expect(await env.ctx.redis.get(panicProtectionKey(env.config.redisPrefix, performer.userId))).toBe('freeze_chat');
  });
});

describe('studio: the performer\'s own alerts', () => {
  it('streams only their own alerts, with the saved protection, the acknowledgement (and who) and the resolution', async () => {
    const other = await seedSession(env.ctx.db, 'studio-other-performer', 'performer');
    const mine = await alertStream('/api/alerts/mine/stream', performer.token);
    const theirs = await alertStream('/api/alerts/mine/stream', other.token);
    const mods = await alertStream('/api/alerts/stream', moderator.token);
    expect((await fetch(`${warden.httpUrl}/api/alerts/mine/stream`, { headers: { authorization: `Bearer ${moderator.token}` } })).status).toBe(403);

    const pressed = Date.now();
    const res = await call('POST', '/api/alerts/panic', performer.token, { message: 'studio test: someone at the door' });
    expect(res.status).toBe(202);
    const alert = res.body.alert;
    // no protection named: the room's saved one (freeze_chat) applies, on the performer's live broadcast
    expect(alert).toMatchObject({ protection: 'freeze_chat', broadcastId, userId: performer.userId });
    expect(await env.ctx.redis.get(frozenRoomKey(env.config.redisPrefix, performer.userId))).toContain('freeze');
    const raised = await waitFor(() => mine.find((e) => e.type === 'raised' && e.alert.id === alert.id), 'the performer\'s own raised event', 3000, 5);
    figures.push(`panic press to the performer's own stream: ${raised.receivedAt - pressed} ms`);
    const otherRes = await call('POST', '/api/alerts/panic', other.token, { protection: 'none' });
    await waitFor(() => mods.some((e) => e.alert.id === otherRes.body.alert.id), 'the other alert at the moderators', 3000, 5);

    const ack = await call('POST', `/api/alerts/${alert.id}/ack`, moderator.token);
    expect(ack.status).toBe(200);
    const acked = await waitFor(() => mine.find((e) => e.type === 'acknowledged' && e.alert.id === alert.id), 'the acknowledgement on the performer\'s stream', 3000, 5);
    expect(acked.alert.acknowledgedBy).toEqual({ id: moderator.userId, handle: 'studio-moderator' });
    expect((await call('POST', `/api/alerts/${alert.id}/resolve`, moderator.token, { resolution: 'spoke with the performer' })).status).toBe(200);
    await waitFor(() => mine.some((e) => e.type === 'resolved' && e.alert.id === alert.id), 'the resolution on the performer\'s stream', 3000, 5);
    expect(await env.ctx.redis.get(frozenRoomKey(env.config.redisPrefix, performer.userId))).toBeNull();
    await call('POST', `/api/alerts/${otherRes.body.alert.id}/resolve`, moderator.token, { resolution: 'test' });
    await waitFor(() => mods.some((e) => e.type === 'resolved' && e.alert.id === otherRes.body.alert.id), 'the other resolution', 3000, 5);

    // each performer saw only their own alerts
    expect(new Set(mine.map((e) => e.alert.userId))).toEqual(new Set([performer.userId]));
    expect(mine.map((e) => e.type)).toEqual(['raised', 'acknowledged', 'resolved']);
    expect(theirs.every((e) => e.alert.userId === other.userId)).toBe(true);
    expect(theirs.map((e) => e.type)).toEqual(['raised', 'resolved']);

    const list = await waitFor(async () => {
      const r = await call('GET', '/api/alerts/mine', performer.token);
      return r.body?.[0]?.status === 'resolved' ? r.body : null;
    }, 'the stored, resolved alert in the list', 5000, 100);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: alert.id, protection: 'freeze_chat', acknowledgedBy: { handle: 'studio-moderator' }, resolvedBy: { handle: 'studio-moderator' } });
    expect((await call('GET', '/api/alerts/mine', moderator.token)).status).toBe(403);
  }, 30_000);

  it('a panic press on the chat socket naming no protection also uses the saved one', async () => {
    const socket = await chat(performer.token);
    socket.ws.send(JSON.stringify({ type: 'panic', message: 'from the room socket' }));
    const got = await socket.next('panic_received', 5000);
    const [row] = await waitFor(async () => {
      const rows = await env.ctx.database.sql`select protection from alerts where id = ${got.alertId}`;
      return rows.length ? rows : null;
    }, 'the stored alert', 5000);
    expect(row!.protection).toBe('freeze_chat');
    expect((await call('POST', `/api/alerts/${got.alertId}/resolve`, moderator.token, { resolution: 'test over' })).status).toBe(200);
    expect(await env.ctx.redis.get(frozenRoomKey(env.config.redisPrefix, performer.userId))).toBeNull();
  });
});

describe('studio: blocking a viewer', () => {
  it('refuses their chat and cuts their play at once on a block, audited; unblocking lets them back', async () => {
    const v = await seedSession(env.ctx.db, 'studio-pest');
    const bystander = await seedSession(env.ctx.db, 'studio-bystander');
    const room = await chat(v.token);
    room.post('hello from a soon-blocked viewer');
    expect(await room.next('ack')).toMatchObject({ verdict: 'allow' });
    const playUrl = (await call('POST', `/api/broadcasts/${broadcastId}/play`, v.token, {})).body.rtmpUrl as string;
    const player = watch(playUrl);
    const other = watch((await call('POST', `/api/broadcasts/${broadcastId}/play`, bystander.token, {})).body.rtmpUrl);
    await waitFor(() => player.frames > 0 && other.frames > 0, 'frames at both viewers', 15_000, 50);
    const viewersNow = async () => (await call('GET', '/api/studio/live', performer.token)).body.broadcast?.health.viewers as number | null;
    await waitFor(async () => (await viewersNow()) === 2, 'two viewers in the studio\'s live status', 5000, 100);
    // moderators see the same audience on the broadcasts list
    const listed = (await call('GET', '/api/broadcasts?status=live', moderator.token)).body as { data: { id: string; viewers: number | null }[] };
    expect(listed.data.find((b) => b.id === broadcastId)?.viewers).toBe(2);

    const t0 = Date.now();
    const blocked = await call('POST', '/api/rooms/me/blocks', performer.token, { handle: '@Studio-Pest' });
    expect(blocked).toMatchObject({ status: 201, body: { userId: v.userId, handle: 'studio-pest', reason: 'blocked by the performer' } });
    const cutAt = await Promise.race([player.exited, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
    expect(cutAt, 'the blocked viewer\'s play was disconnected').not.toBeNull();
    figures.push(`block to the viewer's play disconnected: ${cutAt! - t0} ms`);
    expect(cutAt! - t0).toBeLessThan(1500);
    const told = await room.next('restricted', 3000, 0);
    expect(told).toMatchObject({ kind: 'ban', reason: 'blocked by the performer' });
    const before = room.log.length;
    room.post('can I still post?');
    expect(await room.next('refused', 3000, before)).toMatchObject({ code: 'restricted' });
    expect(await call('POST', `/api/broadcasts/${broadcastId}/play`, v.token, {})).toMatchObject({ status: 403, body: { error: { code: 'banned' } } });
    const framesBefore = other.frames;
    await waitFor(() => other.frames > framesBefore, 'the bystander still playing', 5000, 50);
    await waitFor(async () => (await viewersNow()) === 1, 'one viewer left in the studio\'s live status', 5000, 100);
    await other.stop();

    // recorded as a room ban by the performer, audited, and listed
    const [ban] = await env.ctx.database.sql`select scope, kind, created_by from bans where user_id = ${v.userId} and lifted_at is null`;
    expect(ban).toEqual({ scope: `room:${performer.userId}`, kind: 'ban', created_by: `performer:${performer.userId}` });
    const [action] = await env.ctx.database.sql`select actor_type, actor_id from actions where action = 'room_block' and subject_id = ${v.userId}`;
    expect(action).toEqual({ actor_type: 'user', actor_id: performer.userId });
    expect((await call('GET', '/api/rooms/me/blocks', performer.token)).body).toEqual([expect.objectContaining({ userId: v.userId, handle: 'studio-pest' })]);
    expect((await call('POST', '/api/rooms/me/blocks', performer.token, { handle: 'studio-pest' })).status).toBe(200); // already blocked
    expect((await call('POST', '/api/rooms/me/blocks', performer.token, { handle: 'studio-moderator' })).status).toBe(400); // staff
    expect((await call('POST', '/api/rooms/me/blocks', performer.token, { handle: 'studio-performer' })).status).toBe(400); // themself
    expect((await call('POST', '/api/rooms/me/blocks', performer.token, { handle: 'nobody-by-that-name' })).status).toBe(404);
    expect((await call('POST', '/api/rooms/me/blocks', v.token, { handle: 'studio-bystander' })).status).toBe(403); // viewers have no room

    // unblocked: the mirror is cleared, they post and play again
    expect((await call('DELETE', `/api/rooms/me/blocks/${v.userId}`, performer.token)).status).toBe(204);
    expect((await call('DELETE', `/api/rooms/me/blocks/${v.userId}`, performer.token)).status).toBe(404);
    expect(await env.ctx.redis.get(restrictionKey(env.config.redisPrefix, `room:${performer.userId}`, v.userId))).toBeNull();
    const again = room.log.length;
    room.post('thanks for unblocking me');
    expect(await room.next('ack', 3000, again)).toMatchObject({ verdict: 'allow' });
    expect((await call('POST', `/api/broadcasts/${broadcastId}/play`, v.token, {})).status).toBe(200);
    const actions = await env.ctx.database.sql`select action from actions where subject_id = ${v.userId} and action like 'room_%' order by chain_seq`;
    expect(actions.map((a) => a.action)).toEqual(['room_block', 'room_unblock']);
    expect((await call('GET', '/api/rooms/me/blocks', performer.token)).body).toEqual([]);
  }, 60_000);
});

describe('studio: trusted-only chat', () => {
  it('lets everyone read but only trusted users, the performer and staff post', async () => {
    const trusted = await seedSession(env.ctx.db, 'studio-regular');
    const stranger = await seedSession(env.ctx.db, 'studio-stranger');
    expect((await call('POST', '/api/rooms/me/trusted', performer.token, { handle: 'studio-regular' }))).toMatchObject({ status: 201, body: { userId: trusted.userId, handle: 'studio-regular' } });
    expect((await call('POST', '/api/rooms/me/trusted', performer.token, { handle: 'studio-regular' })).status).toBe(200);
    expect((await call('POST', '/api/rooms/me/trusted', performer.token, { handle: 'studio-moderator' })).status).toBe(400);
    expect((await call('GET', '/api/rooms/me/trusted', performer.token)).body).toEqual([expect.objectContaining({ userId: trusted.userId, handle: 'studio-regular' })]);
    expect((await call('PUT', '/api/rooms/me/settings', performer.token, { trustedOnly: true })).body).toMatchObject({ trustedOnly: true });

    const s = await chat(stranger.token);
    expect(s.log[0]).toMatchObject({ type: 'hello', canPost: false });
    const t = await chat(trusted.token);
    expect(t.log[0]).toMatchObject({ type: 'hello', canPost: true });
    const owner = await chat(performer.token);
    const mod = await chat(moderator.token);
    const readAt = s.log.length;
    t.post('a trusted regular says hi');
    expect(await t.next('ack')).toMatchObject({ verdict: 'allow' });
    expect(await s.next('message', 3000, readAt)).toMatchObject({ user: 'studio-regular', text: 'a trusted regular says hi' }); // the stranger still reads
    s.post('a stranger tries');
    expect(await s.next('refused')).toMatchObject({ code: 'trusted_only', message: expect.stringMatching(/trusted users/) });
    owner.post('the performer always posts');
    expect(await owner.next('ack')).toMatchObject({ verdict: 'allow' });
    mod.post('staff always post');
    expect(await mod.next('ack')).toMatchObject({ verdict: 'allow' });

    // untrusting takes effect at once; turning trusted-only off opens the room again
    expect((await call('DELETE', `/api/rooms/me/trusted/${trusted.userId}`, performer.token)).status).toBe(204);
    expect((await call('DELETE', `/api/rooms/me/trusted/${trusted.userId}`, performer.token)).status).toBe(404);
    const tAt = t.log.length;
    t.post('am I still trusted?');
    expect(await t.next('refused', 3000, tAt)).toMatchObject({ code: 'trusted_only' });
    await call('PUT', '/api/rooms/me/settings', performer.token, { trustedOnly: false });
    const sAt = s.log.length;
    s.post('the room is open again');
    expect(await s.next('ack', 3000, sAt)).toMatchObject({ verdict: 'allow' });
    const audit = await env.ctx.database.sql`select action from actions where subject_id = ${trusted.userId} order by chain_seq`;
    expect(audit.map((a) => a.action)).toEqual(['room_trust', 'room_untrust']);
  }, 30_000);
});

describe('studio: decisions and appeals', () => {
  it('shows a decision about the performer and the status of their appeal against it', async () => {
    expect(await call('GET', '/api/studio/appeals', performer.token)).toEqual({ status: 200, body: [] });
    const ended = await call('POST', `/api/broadcasts/${broadcastId}/end`, moderator.token, { reasonCode: 'sexual_content', note: 'studio test' });
    expect(ended.status).toBe(200);
    const statements = (await call('GET', '/api/statements', performer.token)).body;
    expect(statements).toEqual([expect.objectContaining({ id: ended.body.statementId, decision: 'end_stream' })]);
    expect(statements[0].appealableUntil).toBeTruthy();
    expect((await call('POST', '/api/appeals', performer.token, { statementId: ended.body.statementId, body: 'I was fully clothed; please look again.' })).status).toBe(201);
    expect((await call('GET', '/api/studio/appeals', performer.token)).body).toEqual([expect.objectContaining({ statementId: ended.body.statementId, status: 'open', decisionNote: null })]);
    // the stream was ended: the live status says so
    await waitFor(async () => (await call('GET', '/api/studio/live', performer.token)).body.broadcast === null, 'the broadcast gone from the live status', 5000, 100);
  });
});
