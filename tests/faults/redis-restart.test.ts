// Redis crashes (SIGKILL) and restarts while a broadcast runs, under a Warden with api, ingest and a frame worker
// process: a private redis-server of this test (append-only file, fsync on every write), never the machine's shared
// one. Nothing crashes; readiness is 503 while Redis is away; afterwards ingest, chat, alerts, enforcement and the
// workers are back on their own and the backlog drains. And readiness follows progress, not a ping: a worker stuck
// with jobs waiting makes /readyz 503 naming its queue, and the watchdog recreates it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../api/index.ts';
import { Queues } from '../../analyzer/jobs.ts';
import { WorkerWatchdog, runWorker } from '../../analyzer/workers.ts';
import { connectRedis } from '../../core/redis.ts';
import type { PublishEvent } from '../../ingest/index.ts';
import { connectChat, type ChatClient } from '../../ingest/chat/client.ts';
import { enforcementChannel, type EnforcementMessage } from '../../moderation/index.ts';
import { startWarden, type WardenHandle } from '../../bin/runtime.ts';
import { seedPerformer, seedSession } from '../../bin/seed.ts';
import { buildDemoVideo, publishRtmp, type RtmpPublisher } from '../../bin/demo-media.ts';
import { createTestEnv, waitFor, type TestEnv } from '../harness.ts';
import { PrivateRedis, alertStream, call } from './kit.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUTAGE_MS = 4000;
let redis: PrivateRedis;
let env: TestEnv;
let warden: WardenHandle;
let video: string;
const events: (PublishEvent & { at: number })[] = [];
const publishers: RtmpPublisher[] = [];
const clients: ChatClient[] = [];

beforeAll(async () => {
  redis = await PrivateRedis.create();
  env = await createTestEnv({ redisUrl: redis.url });
  env.config.tap = { ...env.config.tap, sampleIntervalMs: 1000, audio: null };
  env.config.degrade = { ...env.config.degrade, sampleIntervalMaxMs: 1000 };
  env.config.analyzer = { ...env.config.analyzer, workerProcesses: 1, audioConcurrency: 0, faceEveryN: 0, stuckMs: 8000 };
  [warden, video] = await Promise.all([
    startWarden(env.ctx, { api: true, ingest: true, workers: true }),
    buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds: 16, keyframeIntervalS: 1 }),
  ]);
  warden.ingest!.events.on('publish', (e: PublishEvent) => events.push({ ...e, at: Date.now() }));
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(publishers.map((p) => p.stop()));
  await warden?.stop();
  await env?.cleanup();
  await redis?.destroy();
});

const rtmp = (key: string) => `rtmp://127.0.0.1:${env.config.rtmp.port}/live/${key}`;
const q = () => env.ctx.database.sql;
const frameCount = async (broadcastId: string, status?: string) =>
  (await q()`select count(*)::int as n from samples where broadcast_id = ${broadcastId} and kind = 'frame' and (${status ?? null}::text is null or status = ${status ?? null})`)[0]!.n as number;

describe('Redis crashes and restarts', () => {
  it('nothing crashes; ingest, chat, alerts, enforcement and the workers reconnect and the backlog drains', async () => {
    const http = warden.httpUrl!;
    const performer = await seedPerformer(env.ctx.db, 'redis-performer', { verified: true });
    const performerSession = await seedSession(env.ctx.db, 'redis-performer', 'performer');
    const moderator = await seedSession(env.ctx.db, 'redis-moderator', 'moderator');
    const pub = publishRtmp(video, rtmp(performer.streamKey), { loop: true });
    publishers.push(pub);
    const accepted = await waitFor(() => events.find((e) => e.type === 'accepted' && e.userId === performer.userId), 'the publish accepted', 20_000);
    const broadcastId = (accepted as { broadcastId: string }).broadcastId;
    await waitFor(async () => (await frameCount(broadcastId, 'analysed')) >= 2, 'frames analysed', 30_000);
    const alerts = await alertStream(http, moderator.token);
    const [alice, bob] = await Promise.all(['redis-viewer-1', 'redis-viewer-2'].map(async (h) => {
      const s = await seedSession(env.ctx.db, h);
      const c = await connectChat(http, broadcastId, s.token);
      clients.push(c);
      return c;
    }));
    expect((await call(http, 'GET', '/readyz')).status).toBe(200);

    await redis.kill();
    const killedAt = Date.now();
    const framesAtKill = warden.ingest!.tapState(broadcastId)!.frames;
    await waitFor(async () => (await call(http, 'GET', '/readyz')).status === 503, 'readiness 503 while Redis is away', 5000, 200);
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + OUTAGE_MS - Date.now())));
    await redis.start();
    const restartedAt = Date.now();

    // readiness back (Redis answers, and the workers progress)
    await waitFor(async () => (await call(http, 'GET', '/readyz')).status === 200, 'ready again', 20_000, 250);
    console.log(`Redis away ${restartedAt - killedAt} ms; /readyz 200 again ${Date.now() - restartedAt} ms after it restarted`);
    // the broadcast went on and its tap still samples; frames sampled during the outage were kept and queued
    await waitFor(() => warden.ingest!.tapState(broadcastId)!.frames >= framesAtKill + 8, 'the tap sampling on', 20_000);
    // chat: a message is checked and fanned out to the room again (the gateway's subscription came back)
    let said = 0;
    await waitFor(async () => {
      const got = bob!.next('message', 1500).catch(() => null);
      alice!.post(`back after the restart, take ${['one', 'two', 'three', 'four', 'five', 'six'][said++ % 6]}`);
      return (await got) !== null;
    }, 'chat fan-out after the restart', 15_000, 1000).catch((err) => {
      console.log('alice', JSON.stringify(alice!.log.slice(-6)), 'bob', JSON.stringify(bob!.log.slice(-6)));
      throw err;
    });
    // alerts: a panic press reaches the moderator's stream (the hub's subscription came back)
    const panic = await call(http, 'POST', '/api/alerts/panic', performerSession.token, { message: 'after the restart' });
    expect(panic.status).toBe(202);
    const alertId = (panic.body as { alert: { id: string } }).alert.id;
    await waitFor(() => alerts.events.find((e) => e.type === 'raised' && e.alert.id === alertId), 'the alert after the restart', 3000, 10);

    // the backlog drains: every frame sample of the broadcast is analysed, no job failed
    await new Promise((r) => setTimeout(r, 2000));
    // enforcement reaches the ingest node again: an end_stream over Redis kicks the publisher
    const pubRedis = await connectRedis(redis.url);
    const kickedAt = Date.now();
    await pubRedis.publish(enforcementChannel(env.config.redisPrefix), JSON.stringify({ type: 'end_stream', broadcastId, reason: 'redis fault test' } satisfies EnforcementMessage));
    pubRedis.disconnect();
    const ended = await waitFor(() => events.find((e) => e.type === 'ended' && e.broadcastId === broadcastId), 'the publisher kicked', 5000, 10);
    expect(ended.at - kickedAt).toBeLessThan(1500);
    expect((ended as { reason: string }).reason).toBe('redis fault test');
    await waitFor(async () => (await frameCount(broadcastId, 'queued')) === 0 && (await frameCount(broadcastId)) > 0, 'every frame analysed', 60_000, 250);
    const frames = await q()`select seq, status from samples where broadcast_id = ${broadcastId} and kind = 'frame' order by seq`;
    expect(frames.every((f, i) => f.seq === i)).toBe(true);
    expect(frames.length).toBeGreaterThanOrEqual(framesAtKill + 8);
    expect(frames.every((f) => f.status === 'analysed' || f.status === 'duplicate')).toBe(true);
    expect((await env.ctx.queues.frames.getJobCounts('failed')).failed).toBe(0);
    console.log(`${frames.length} frame samples, all analysed; worker recreations by the watchdog: ${JSON.stringify(Object.fromEntries(Object.entries(await warden.watchdog!.health()).map(([k, v]) => [k, v.recreated])))}`);
    alerts.close();
  }, 150_000);

  it('readiness follows progress: a worker stuck on a hung job with jobs waiting makes /readyz 503, and the watchdog recreates it', async () => {
    const prefix = `${env.config.redisPrefix}_stuck`;
    const connection = await connectRedis(redis.url, { bullmq: true });
    const queues = new Queues(connection, prefix);
    const seen: number[] = [];
    // the first job hangs for good (a worker that looks alive and does nothing); later ones run
    const worker = runWorker('rules', async (job) => {
      if (job.data.n === 0) await new Promise(() => {});
      seen.push(job.data.n as number);
    }, { connection, prefix, concurrency: 1, logger: env.ctx.logger });
    // an idle worker is stuck after 1 s without progress while jobs wait; one running a job (it may be slow) after 2.5 s
    const watchdog = new WorkerWatchdog({ queues, stuckMs: 1000, busyStuckMs: 2500, logger: env.ctx.logger });
    watchdog.watch(worker);
    const app = createApi({ ctx: env.ctx, workers: watchdog });
    try {
      for (let n = 0; n < 4; n++) await queues.rules.add('stuck-test', { n }, { jobId: `stuck-${n}` });
      await waitFor(async () => (await queues.rules.getJobCounts('active')).active === 1, 'the first job taken', 5000, 50);
      const takenAt = Date.now();
      expect((await watchdog.health()).rules).toMatchObject({ ok: true, waiting: 3 });
      await new Promise((r) => setTimeout(r, 1500));
      expect((await watchdog.health()).rules).toMatchObject({ ok: true, waiting: 3 }); // busy: a slow job, not yet stuck
      await new Promise((r) => setTimeout(r, Math.max(0, takenAt + 2800 - Date.now())));
      const res = await app.request('http://localhost/readyz');
      expect(res.status).toBe(503);
      const body = await res.json() as { checks: { redis: { ok: boolean }; workers: { ok: boolean; error: string } } };
      expect(body.checks.redis.ok).toBe(true); // a ping says all is well; progress says not
      expect(body.checks.workers).toMatchObject({ ok: false, error: expect.stringMatching(/^rules: 3 jobs waiting .* no progress for/) });
      await watchdog.tick();
      expect(worker.recreated).toBe(1);
      await waitFor(() => seen.length === 3, 'the waiting jobs done by the recreated worker', 10_000, 50);
      expect(seen).toEqual([1, 2, 3]);
      expect((await app.request('http://localhost/readyz')).status).toBe(200);
    } finally {
      await worker.close();
      await queues.close();
      connection.disconnect();
    }
  }, 30_000);
});
