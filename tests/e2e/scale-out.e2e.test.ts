// More machines, here: two ingest nodes (`warden ingest`: API + RTMP ingest, no analyzer) and three analyzer
// worker processes (`warden worker`), five separate processes on one Postgres and one Redis prefix, sharing a
// data directory as they would share a volume. Shows: publishes spread over both ingest nodes and each broadcast
// owned by exactly the node that holds it; frame jobs taken by all three workers (each logs the samples it
// analysed, with its pid); the same key published to the other node while live supersedes the first cleanly
// (one live broadcast, the older publisher cut within a second), and a publisher whose connection drops on one node and
// who reconnects to the other gets a second broadcast linked to the first; a ban decided through node A's API cuts a
// publish held by node B and a viewer playing from B; and the HTTP publish-gate hook answers nginx-rtmp's and
// MediaMTX's calls from the same gate. Slow: run alone with `npm run test:e2e`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedPerformer, seedSession } from '../../bin/seed.ts';
import { buildDemoVideo, publishRtmp } from '../../bin/demo-media.ts';
import { forEachLine, spawnFfmpeg } from '../../ingest/ffmpeg.ts';
import { createTestEnv, waitFor, type TestEnv } from '../harness.ts';
import { ingestNodeAddress } from '../../ingest/play-gate.ts';
import { startNode, type FuzzNode } from '../fuzz/kit.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HOOK_SECRET = 'scale-out-hook-secret-0123456789';
let env: TestEnv;
let a: FuzzNode;
let b: FuzzNode;
let workers: FuzzNode[] = [];
let video: string;

beforeAll(async () => {
  env = await createTestEnv();
  const shared = { DATA_DIR: path.join(env.config.dataDir, 'shared'), LOG_LEVEL: 'debug', SAMPLE_INTERVAL_S: '1', SAMPLE_INTERVAL_MAX_S: '1', FACE_EVERY_N: '0', AUDIO_CONCURRENCY: '0', INGEST_HOOK_SECRET: HOOK_SECRET };
  [a, b, video] = await Promise.all([
    startNode(env, 'ingest', { ...shared, NODE_ID: 'ingest-a' }),
    startNode(env, 'ingest', { ...shared, NODE_ID: 'ingest-b' }),
    buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds: 30 }),
  ]);
  // workers have no HTTP server of their own to ask: ready when they say their frame worker is
  workers = await Promise.all([1, 2, 3].map((i) => startNode(env, 'worker', { ...shared, NODE_ID: `worker-${i}`, WORKER_PROCESSES: '0' }, { ready: 'frame worker ready' })));
}, 240_000);

afterAll(async () => {
  await Promise.all([a, b, ...workers].map((n) => n?.stop()));
  await env?.cleanup();
});

const liveOf = async (userId: string) => env.ctx.database.sql<{ id: string; ingest_node: string }[]>`select id, ingest_node from broadcasts where user_id = ${userId} and status = 'live'`;

describe('two ingest nodes, three analyzer workers', () => {
  it('spreads publishes over both ingest nodes and frame jobs over all three workers; each broadcast has one owner', async () => {
    const performers = await Promise.all([0, 1, 2, 3].map((i) => seedPerformer(env.ctx.db, `scale-${i}`, { verified: true })));
    const nodes = [a, b, a, b];
    const pubs = performers.map((p, i) => publishRtmp(video, `rtmp://127.0.0.1:${nodes[i]!.rtmpPort}/live/${p.streamKey}`, { loop: true, nice: 10 }));
    try {
      const live = await Promise.all(performers.map((p) => waitFor(async () => { const r = await liveOf(p.userId); return r.length ? r : null; }, 'the broadcast live', 30_000)));
      for (const [i, rows] of live.entries()) {
        expect(rows).toHaveLength(1);
        expect(rows[0]!.ingest_node).toBe(nodes[i]!.nodeId);
      }
      // the node registry in Redis names both nodes (the play API points viewers at the holder)
      const registered = await ingestNodeAddress(env.ctx.redis, env.config.redisPrefix, 'ingest-b');
      expect(registered?.rtmpPort).toBe(b.rtmpPort);
      expect((await ingestNodeAddress(env.ctx.redis, env.config.redisPrefix, 'ingest-a'))?.rtmpPort).toBe(a.rtmpPort);
      await waitFor(async () => {
        const [r] = await env.ctx.database.sql`select count(*)::int as n from signals s join samples m on m.id = s.sample_id join broadcasts x on x.id = m.broadcast_id where x.user_id in ${env.ctx.database.sql(performers.map((p) => p.userId))}`;
        return r!.n > 0 && workers.every((w) => analysedBy(w) > 0) && workers.reduce((n, w) => n + analysedBy(w), 0) >= 30;
      }, 'frames analysed by all three workers', 90_000, 500);
      const perWorker = workers.map((w) => analysedBy(w));
      const perNode = await env.ctx.database.sql`select b.ingest_node, count(*)::int as samples from samples s join broadcasts b on b.id = s.broadcast_id where s.kind = 'frame' group by 1 order by 1`;
      console.log(`frames analysed per worker process: ${perWorker.join(', ')}; frame samples per ingest node: ${perNode.map((r) => `${r.ingest_node} ${r.samples}`).join(', ')}`);
      for (const n of perWorker) expect(n).toBeGreaterThan(0);
      expect(perNode.map((r) => r.ingest_node)).toEqual(['ingest-a', 'ingest-b']);
    } finally {
      await Promise.all(pubs.map((p) => p.stop()));
    }
  }, 180_000);

  it('the same key published to the other node while live supersedes the first: one live broadcast, the old publisher cut', async () => {
    const p = await seedPerformer(env.ctx.db, 'scale-twice', { verified: true });
    const first = publishRtmp(video, `rtmp://127.0.0.1:${a.rtmpPort}/live/${p.streamKey}`, { loop: true, nice: 10 });
    let second: ReturnType<typeof publishRtmp> | undefined;
    try {
      const [old] = await waitFor(async () => { const r = await liveOf(p.userId); return r.length ? r : null; }, 'live on A', 30_000);
      expect(old!.ingest_node).toBe('ingest-a');
      const sent = Date.now();
      second = publishRtmp(video, `rtmp://127.0.0.1:${b.rtmpPort}/live/${p.streamKey}`, { loop: true, nice: 10 });
      const cut = await Promise.race([first.exited.then(() => Date.now()), new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
      expect(cut, 'the publisher on node A was disconnected').not.toBeNull();
      console.log(`second publish on node B to the first publisher cut on node A: ${cut! - sent} ms (including B's RTMP handshake and gate)`);
      const [now] = await waitFor(async () => { const r = await liveOf(p.userId); return r.length === 1 && r[0]!.id !== old!.id ? r : null; }, 'live on B only', 10_000);
      expect(now!.ingest_node).toBe('ingest-b');
      const [ended] = await env.ctx.database.sql`select end_reason from broadcasts where id = ${old!.id}`;
      expect(ended!.end_reason).toMatch(/superseded/);
      const [linked] = await env.ctx.database.sql`select continues_broadcast_id from broadcasts where id = ${now!.id}`;
      expect(linked!.continues_broadcast_id, 'the broadcast on B is linked to the one it superseded on A').toBe(old!.id);
      expect(second.child.exitCode).toBeNull(); // the newer publish goes on
    } finally {
      await first.stop();
      await second?.stop();
    }
  }, 90_000);

  it('a publisher whose connection drops on node A and who reconnects to node B gets a second broadcast linked to the first', async () => {
    const p = await seedPerformer(env.ctx.db, 'scale-dropped', { verified: true });
    const first = publishRtmp(video, `rtmp://127.0.0.1:${a.rtmpPort}/live/${p.streamKey}`, { loop: true, nice: 10 });
    let second: ReturnType<typeof publishRtmp> | undefined;
    try {
      const [old] = await waitFor(async () => { const r = await liveOf(p.userId); return r.length ? r : null; }, 'live on A', 30_000);
      first.child.kill('SIGKILL'); // the encoder dies: the TCP connection closes without an RTMP deleteStream
      await waitFor(() => a.errors.some((l) => l.includes(old!.id) && l.includes('waiting for a reconnect')), 'node A waiting for the publisher to reconnect', 10_000, 100);
      second = publishRtmp(video, `rtmp://127.0.0.1:${b.rtmpPort}/live/${p.streamKey}`, { loop: true, nice: 10 });
      const [now] = await waitFor(async () => { const r = await liveOf(p.userId); return r.length === 1 && r[0]!.id !== old!.id ? r : null; }, 'live on B', 20_000);
      expect(now!.ingest_node).toBe('ingest-b');
      const rows = await env.ctx.database.sql`select id, status, end_reason, continues_broadcast_id from broadcasts where user_id = ${p.userId} order by started_at`;
      expect(rows.map((r) => [r.id, r.status, r.continues_broadcast_id])).toEqual([[old!.id, 'ended', null], [now!.id, 'live', old!.id]]);
      expect(rows[0]!.end_reason).toMatch(/superseded/);
      // node A drops its wait for the lost publisher on B's word, without ending anything else
      await waitFor(() => a.errors.some((l) => l.includes(old!.id) && l.includes('broadcast ended')), 'node A closing the superseded broadcast', 10_000, 100);
      expect(second.child.exitCode).toBeNull();
    } finally {
      await first.stop();
      await second?.stop();
    }
  }, 90_000);

  it('a ban through node A\'s API cuts the publish held by node B and a viewer playing from B', async () => {
    const performer = await seedPerformer(env.ctx.db, 'scale-banned', { verified: true });
    const watched = await seedPerformer(env.ctx.db, 'scale-watched', { verified: true });
    const moderator = await seedSession(env.ctx.db, 'scale-moderator', 'moderator');
    const viewer = await seedSession(env.ctx.db, 'scale-viewer');
    const pubs = [performer, watched].map((p) => publishRtmp(video, `rtmp://127.0.0.1:${b.rtmpPort}/live/${p.streamKey}`, { loop: true, nice: 10 }));
    let player: ReturnType<typeof spawnFfmpeg> | undefined;
    try {
      const [live, watchedLive] = await Promise.all([performer, watched].map(async (p) => (await waitFor(async () => { const r = await liveOf(p.userId); return r.length ? r : null; }, 'live on B', 30_000))[0]));
      expect(live!.ingest_node).toBe('ingest-b');
      // the viewer asks node A for a play URL: it names node B, which holds the broadcast
      const res = await fetch(`${a.httpUrl}/api/broadcasts/${watchedLive!.id}/play`, { method: 'POST', headers: { authorization: `Bearer ${viewer.token}`, 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(200);
      const { rtmpUrl } = await res.json() as { rtmpUrl: string };
      expect(rtmpUrl).toContain(`:${b.rtmpPort}/watch/${watchedLive!.id}`);
      player = spawnFfmpeg(['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', rtmpUrl, '-c', 'copy', '-progress', 'pipe:1', '-f', 'null', '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let frames = 0;
      forEachLine(player.stdout!, (l) => { const m = /^frame=(\d+)/.exec(l); if (m) frames = Number(m[1]); });
      const playerGone = new Promise<number>((r) => player!.once('close', () => r(Date.now())));
      await waitFor(() => frames > 0, 'frames at the viewer', 20_000, 50);

      const ban = async (userId: string, note: string) => {
        const sent = Date.now();
        const r = await fetch(`${a.httpUrl}/api/users/${userId}/ban`, { method: 'POST', headers: { authorization: `Bearer ${moderator.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ reasonCode: 'harassment', note }) });
        expect(r.status).toBe(200);
        return sent;
      };
      const sentP = await ban(performer.userId, 'scale-out test: performer');
      const cutP = await Promise.race([pubs[0]!.exited.then(() => Date.now()), new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
      expect(cutP, 'the banned performer\'s publish on B was cut').not.toBeNull();
      const sentV = await ban(viewer.userId, 'scale-out test: viewer');
      const cutV = await Promise.race([playerGone, new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
      expect(cutV, 'the banned viewer\'s play on B was cut').not.toBeNull();
      console.log(`ban on node A → publish cut on node B: ${cutP! - sentP} ms; → viewer's play cut on node B: ${cutV! - sentV} ms`);
      expect(cutP! - sentP).toBeLessThan(1500);
      expect(cutV! - sentV).toBeLessThan(1500);
      expect(pubs[1]!.child.exitCode).toBeNull(); // the other performer on B goes on
    } finally {
      player?.kill('SIGKILL');
      await Promise.all(pubs.map((p) => p.stop()));
    }
  }, 120_000);

  it('the HTTP publish-gate hook answers nginx-rtmp and MediaMTX from the same gate, behind its secret', async () => {
    const ok = await seedPerformer(env.ctx.db, 'scale-hook-ok', { verified: true });
    const unverified = await seedPerformer(env.ctx.db, 'scale-hook-unverified', { verified: false });
    const hook = (body: string | object, opts: { secret?: string | null; type?: string } = {}) => fetch(`${a.httpUrl}/api/ingest/on-publish${opts.secret === null ? '' : `?secret=${encodeURIComponent(opts.secret ?? HOOK_SECRET)}`}`, {
      method: 'POST', headers: { 'content-type': opts.type ?? (typeof body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json') },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const nginx = (key: string, app = 'live') => `call=publish&addr=203.0.113.7&clientid=1&app=${app}&flashver=FMLE%2F3.0&tcurl=rtmp%3A%2F%2Fedge%2F${app}&name=${encodeURIComponent(key)}&type=live`;
    const mtx = (key: string, action = 'publish', extra: object = {}) => ({ user: '', password: '', ip: '203.0.113.8', action, path: `live/${key}`, protocol: 'rtmp', id: null, query: '', ...extra });
    const code = async (r: Response) => (r.status === 204 ? 'accepted' : ((await r.json()) as { error: { code: string } }).error.code);
    const cases: [string, Promise<Response>, number, string][] = [
      ['nginx-rtmp: a verified performer', hook(nginx(ok.streamKey)), 204, 'accepted'],
      ['nginx-rtmp: an unverified performer', hook(nginx(unverified.streamKey)), 403, 'not_verified'],
      ['nginx-rtmp: an unknown key', hook(nginx('wk_nosuchkey')), 403, 'unknown_key'],
      ['nginx-rtmp: another app', hook(nginx(ok.streamKey, 'admin')), 403, 'unknown_app'],
      ['nginx-rtmp: publish_done', hook('call=publish_done&app=live&name=x'), 204, 'accepted'],
      ['nginx-rtmp: a viewer play by key', hook(`call=play&app=live&name=${ok.streamKey}`), 403, 'forbidden'],
      ['MediaMTX: a verified performer', hook(mtx(ok.streamKey)), 204, 'accepted'],
      ['MediaMTX: an unverified performer', hook(mtx(unverified.streamKey)), 403, 'not_verified'],
      ['MediaMTX: a read by key', hook(mtx(ok.streamKey, 'read')), 403, 'forbidden'],
      ['MediaMTX: Warden\'s own reader', hook(mtx(ok.streamKey, 'read', { user: 'warden', password: HOOK_SECRET })), 204, 'accepted'],
      ['MediaMTX: the API', hook(mtx('', 'api')), 403, 'forbidden'],
      ['no secret', hook(nginx(ok.streamKey), { secret: null }), 401, 'hook_unauthorized'],
      ['a wrong secret', hook(nginx(ok.streamKey), { secret: 'wrong-secret-wrong-secret' }), 401, 'hook_unauthorized'],
      ['plain text', hook('publish it', { type: 'text/plain' }), 415, 'unsupported_media_type'],
      ['broken JSON', hook('{"action":', { type: 'application/json' }), 400, 'bad_request'],
    ];
    for (const [label, res, status, expected] of cases) {
      const r = await res;
      expect([label, r.status, await code(r)]).toEqual([label, status, expected]);
    }
    // refusals are in the audit log like the embedded server's, with the client's address (written just after the answer)
    const refused = await waitFor(async () => {
      const rows = await env.ctx.database.sql`select details->>'reason' as reason, details->>'ip' as ip from actions where action = 'refuse_publish' and details->>'ip' like '203.0.113.%' order by id`;
      return rows.length >= 4 ? rows : null;
    }, 'the hook\'s refusals audited', 5000, 100);
    expect(refused.map((r) => r.reason).sort()).toEqual(['not_verified', 'not_verified', 'unknown_app', 'unknown_key']);
  }, 60_000);
});

/** Samples a worker process said it analysed (its debug line `frame analysed`). */
function analysedBy(w: FuzzNode): number {
  return w.errors.filter((l) => l.includes('"msg":"frame analysed"')).length;
}
