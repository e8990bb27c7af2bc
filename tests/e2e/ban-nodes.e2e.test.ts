// Bans enforced everywhere at once, across two Warden nodes: node A (this process: the API a moderator uses) and
// node B (a separate `warden serve` process holding the performer's live RTMP publish), on one Postgres and
// Redis. A ban decided on A disconnects the publish on B within a second; B then refuses the performer's
// publish and chat. A viewer given a play URL by A plays from B, and a ban on A cuts that play on B too.
// Slow: run alone with `npm run test:e2e`.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWarden, type WardenHandle } from '../../bin/runtime.ts';
import { seedPerformer, seedSession } from '../../bin/seed.ts';
import { buildDemoVideo, publishRtmp } from '../../bin/demo-media.ts';
import { forEachLine, spawnFfmpeg } from '../../ingest/ffmpeg.ts';
import { createTestEnv, freePort, waitFor, type TestEnv } from '../harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let env: TestEnv;
let nodeA: WardenHandle;
let nodeB: { httpUrl: string; rtmpPort: number; child: ChildProcess };
let video: string;

beforeAll(async () => {
  env = await createTestEnv();
  const [httpPort, rtmpPort] = [await freePort(), await freePort()];
  const child = spawn(path.join(root, 'bin/warden'), ['serve'], {
    env: {
      PATH: process.env.PATH!, HOME: process.env.HOME!, DATABASE_URL: env.config.databaseUrl, REDIS_URL: env.config.redisUrl,
      REDIS_PREFIX: env.config.redisPrefix, HTTP_PORT: String(httpPort), RTMP_PORT: String(rtmpPort), RTMP_HOST: '127.0.0.1',
      DATA_DIR: path.join(env.config.dataDir, 'node-b'), NODE_ID: 'ban-node-b', WORKER_PROCESSES: '0', AUDIO_CONCURRENCY: '0', LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  nodeB = { httpUrl: `http://127.0.0.1:${httpPort}`, rtmpPort, child };
  [nodeA, video] = await Promise.all([
    startWarden(env.ctx, { api: true }),
    buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds: 30 }),
  ]);
  await waitFor(async () => (await fetch(`${nodeB.httpUrl}/readyz`).catch(() => null))?.ok, 'node B ready', 90_000, 250);
}, 180_000);
afterAll(async () => {
  nodeB?.child.kill('SIGTERM');
  await new Promise((r) => nodeB?.child.once('exit', r));
  await nodeA?.stop();
  await env?.cleanup();
});

describe('bans across nodes', () => {
  it('a ban on node A cuts the live publish on node B within a second, and B refuses the performer afterwards', async () => {
    const performer = await seedPerformer(env.ctx.db, 'two-node-performer', { verified: true });
    const moderator = await seedSession(env.ctx.db, 'two-node-moderator', 'moderator');
    const pub = publishRtmp(video, `rtmp://127.0.0.1:${nodeB.rtmpPort}/live/${performer.streamKey}`, { loop: true });
    try {
      const [live] = await waitFor(async () => {
        const rows = await env.ctx.database.sql`select id, ingest_node from broadcasts where user_id = ${performer.userId} and status = 'live'`;
        return rows.length ? rows : null;
      }, 'the broadcast live on node B', 20_000);
      expect(live!.ingest_node).toBe('ban-node-b');
      await new Promise((r) => setTimeout(r, 1500)); // a couple of seconds of stream

      const sent = Date.now();
      const res = await fetch(`${nodeA.httpUrl}/api/users/${performer.userId}/ban`, {
        method: 'POST', headers: { authorization: `Bearer ${moderator.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reasonCode: 'sexual_content', note: 'two-node test' }),
      });
      expect(res.status).toBe(200);
      const exited = await Promise.race([pub.exited, new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
      const cutMs = Date.now() - sent;
      console.log(`ban on node A to publisher disconnected from node B: ${cutMs} ms`);
      expect(exited).not.toBeNull();
      expect(cutMs).toBeLessThan(1000);
      await waitFor(async () => (await env.ctx.database.sql`select 1 from broadcasts where id = ${live!.id} and status = 'ended'`).length > 0, 'the broadcast ended', 5000);

      // node B refuses the banned performer's next publish (and their key is revoked: the ban is permanent)
      const again = publishRtmp(video, `rtmp://127.0.0.1:${nodeB.rtmpPort}/live/${performer.streamKey}`);
      const refusedExit = await Promise.race([again.exited, new Promise<null>((r) => setTimeout(() => r(null), 8000))]);
      await again.stop();
      expect(refusedExit).not.toBeNull();
      const [refusal] = await waitFor(async () => {
        const rows = await env.ctx.database.sql`select details->>'reason' as reason from actions where action = 'refuse_publish' and user_id = ${performer.userId}`;
        return rows.length ? rows : null;
      }, 'the refused publish recorded', 5000);
      expect(refusal!.reason).toBe('banned');
      const keys = await env.ctx.database.sql`select revoked_at from stream_keys where user_id = ${performer.userId}`;
      expect(keys.every((k) => k.revoked_at !== null)).toBe(true);
    } finally {
      await pub.stop();
    }
  }, 60_000);

  it('a viewer playing from node B (URL issued by node A) is disconnected on B when node A bans them', async () => {
    const performer = await seedPerformer(env.ctx.db, 'two-node-watched', { verified: true });
    const moderator = await seedSession(env.ctx.db, 'two-node-moderator', 'moderator');
    const viewer = await seedSession(env.ctx.db, 'two-node-viewer');
    const pub = publishRtmp(video, `rtmp://127.0.0.1:${nodeB.rtmpPort}/live/${performer.streamKey}`, { loop: true });
    let player: ReturnType<typeof spawnFfmpeg> | undefined;
    try {
      const [live] = await waitFor(async () => {
        const rows = await env.ctx.database.sql`select id from broadcasts where user_id = ${performer.userId} and status = 'live'`;
        return rows.length ? rows : null;
      }, 'the broadcast live on node B', 20_000);
      const res = await fetch(`${nodeA.httpUrl}/api/broadcasts/${live!.id}/play`, {
        method: 'POST', headers: { authorization: `Bearer ${viewer.token}`, 'content-type': 'application/json' }, body: '{}',
      });
      expect(res.status).toBe(200);
      const { rtmpUrl } = await res.json() as { rtmpUrl: string };
      expect(rtmpUrl).toMatch(new RegExp(`^rtmp://127\\.0\\.0\\.1:${nodeB.rtmpPort}/watch/${live!.id}\\?token=`));
      player = spawnFfmpeg(['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', rtmpUrl, '-c', 'copy', '-progress', 'pipe:1', '-f', 'null', '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let frames = 0;
      forEachLine(player.stdout!, (l) => { const m = /^frame=(\d+)/.exec(l); if (m) frames = Number(m[1]); });
      const exited = new Promise<number>((resolve) => player!.once('close', () => resolve(Date.now())));
      await waitFor(() => frames > 0, 'frames at the viewer', 15_000, 50);

      const sent = Date.now();
      const ban = await fetch(`${nodeA.httpUrl}/api/users/${viewer.userId}/ban`, {
        method: 'POST', headers: { authorization: `Bearer ${moderator.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reasonCode: 'harassment', note: 'two-node viewer test' }),
      });
      expect(ban.status).toBe(200);
      const at = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
      expect(at).not.toBeNull();
      console.log(`ban on node A to viewer's play disconnected from node B: ${at! - sent} ms`);
      expect(at! - sent).toBeLessThan(1000);
      expect(pub.child.exitCode).toBeNull(); // the performer goes on
    } finally {
      player?.kill('SIGKILL');
      await pub.stop();
    }
    // node B closes the broadcast (and stores its last audio chunk) before the suite stops it
    await waitFor(async () => (await env.ctx.database.sql`select 1 from broadcasts where user_id = ${performer.userId} and status = 'ended'`).length > 0, 'the broadcast ended', 5000);
    await new Promise((r) => setTimeout(r, 500));
  }, 60_000);
});
