// PostgreSQL away for 20 s under a running Warden (api, ingest, a frame worker process) with a live RTMP broadcast:
// Warden reaches Postgres through a TCP proxy of this test, and cutting the proxy is Postgres stopping for it (the
// machine's shared Postgres is never touched). While it is away the API answers 503 with a clear body, /readyz is
// 503, a panic press still reaches a moderator's alert stream, chat still gives verdicts, and the publish gate
// refuses new publishes (fails closed). Once it is back every write lands: the samples the tap took meanwhile and
// their analysis, the panic alert, the chat messages with the ids their senders were given, the refused publish's audit
// entry.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type AppContext } from '../../core/context.ts';
import { createLogger } from '../../core/logger.ts';
import { DATABASE_UNAVAILABLE } from '../../api/app.ts';
import type { PublishEvent } from '../../ingest/index.ts';
import { connectChat, type ChatClient } from '../../ingest/chat/client.ts';
import { startWarden, type WardenHandle } from '../../bin/runtime.ts';
import { seedPerformer, seedSession } from '../../bin/seed.ts';
import { buildDemoVideo, publishRtmp, type RtmpPublisher } from '../../bin/demo-media.ts';
import { createTestEnv, waitFor, type TestEnv } from '../harness.ts';
import { TcpProxy, alertStream, call } from './kit.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUTAGE_MS = 20_000;
let env: TestEnv;
let proxy: TcpProxy;
let ctx: AppContext;
let warden: WardenHandle;
let video: string;
const events: (PublishEvent & { at: number })[] = [];
const publishers: RtmpPublisher[] = [];
const clients: ChatClient[] = [];

beforeAll(async () => {
  env = await createTestEnv(); // the test's own view of the database, direct
  const pg = new URL(env.config.databaseUrl);
  proxy = await TcpProxy.start(Number(pg.port || 5432), pg.hostname);
  const config = {
    ...env.config,
    databaseUrl: proxy.url(env.config.databaseUrl),
    tap: { ...env.config.tap, sampleIntervalMs: 1000, audio: null },
    // keep sampling steady while the analyzer waits for Postgres (adaptive sampling would stretch it)
    degrade: { ...env.config.degrade, sampleIntervalMaxMs: 1000 },
    analyzer: { ...env.config.analyzer, workerProcesses: 1, audioConcurrency: 0, faceEveryN: 0 },
  };
  ctx = await createContext(config, { logger: createLogger(config.logLevel) });
  [warden, video] = await Promise.all([
    startWarden(ctx, { api: true, ingest: true, workers: true }),
    buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds: 16, keyframeIntervalS: 1 }),
  ]);
  warden.ingest!.events.on('publish', (e: PublishEvent) => events.push({ ...e, at: Date.now() }));
}, 120_000);
afterAll(async () => {
  proxy?.restore();
  for (const c of clients) c.close();
  await Promise.all(publishers.map((p) => p.stop()));
  await warden?.stop();
  await ctx?.close();
  await proxy?.close();
  await env?.cleanup();
});

const rtmp = (key: string) => `rtmp://127.0.0.1:${env.config.rtmp.port}/live/${key}`;
/** `warden_ingest_writes_pending` as /metrics reports it. */
async function pendingWrites(http: string): Promise<number> {
  const text = await fetch(`${http}/metrics`).then((r) => r.text());
  return Number(/^warden_ingest_writes_pending (\d+)/m.exec(text)?.[1] ?? NaN);
}
const q = () => env.ctx.database.sql;

describe('Postgres away for 20 s', () => {
  it('503 with a clear body, alerts fan out, chat goes on, the gate fails closed; every write lands once it is back', async () => {
    const http = warden.httpUrl!;
    const performer = await seedPerformer(env.ctx.db, 'outage-performer', { verified: true });
    const performerSession = await seedSession(env.ctx.db, 'outage-performer', 'performer');
    const other = await seedPerformer(env.ctx.db, 'outage-newcomer', { verified: true });
    const moderator = await seedSession(env.ctx.db, 'outage-moderator', 'moderator');
    const pub = publishRtmp(video, rtmp(performer.streamKey), { loop: true });
    publishers.push(pub);
    const accepted = await waitFor(() => events.find((e) => e.type === 'accepted' && e.userId === performer.userId), 'the publish accepted', 20_000);
    const broadcastId = (accepted as { broadcastId: string }).broadcastId;
    await waitFor(async () => (await q()`select 1 from samples where broadcast_id = ${broadcastId} and status = 'analysed'`).length >= 2, 'frames analysed', 30_000);
    // before the outage: the performer used the API (their session is cached in Redis), a moderator watches alerts,
    // two viewers are in the chat room
    expect((await call(http, 'GET', '/api/me', performerSession.token)).status).toBe(200);
    const alerts = await alertStream(http, moderator.token);
    const chatters: (ChatClient & { userId: string })[] = [];
    for (const handle of ['outage-viewer-1', 'outage-viewer-2', 'outage-viewer-3']) {
      const s = await seedSession(env.ctx.db, handle);
      const c = await connectChat(http, broadcastId, s.token);
      clients.push(c);
      chatters.push(Object.assign(c, { userId: s.userId }));
    }
    expect((await call(http, 'GET', '/api/cases', moderator.token)).status).toBe(200);

    proxy.cut();
    const cutAt = Date.now();
    const framesAtCut = warden.ingest!.tapState(broadcastId)!.frames;

    // the API: 503 with the clear body, not 500; readiness says why
    const cases = await call(http, 'GET', '/api/cases', moderator.token);
    expect(cases).toEqual({ status: 503, body: { error: { code: 'unavailable', message: DATABASE_UNAVAILABLE } } });
    expect(DATABASE_UNAVAILABLE).toBe('the database is unavailable; try again shortly');
    const ready = await call(http, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect((ready.body as { checks: { postgres: { ok: boolean } } }).checks.postgres.ok).toBe(false);

    // a panic press over HTTP reaches the moderator at once; it is stored later
    const pressed = Date.now();
    const panic = await call(http, 'POST', '/api/alerts/panic', performerSession.token, { message: 'help, during the outage' });
    expect(panic.status).toBe(202);
    const alertId = (panic.body as { alert: { id: string }; stored: boolean }).alert.id;
    expect((panic.body as { stored: boolean }).stored).toBe(false);
    const raised = await waitFor(() => alerts.events.find((e) => e.type === 'raised' && e.alert.id === alertId), 'the alert on the moderator\'s stream', 3000, 10);
    console.log(`panic press to the moderator's stream with Postgres away: ${raised.receivedAt - pressed} ms`);

    // chat: verdicts as usual (allowed and delivered, blocked, held), with message ids
    const [alice, bob, dana] = chatters;
    const delivered = bob!.next('message');
    alice!.post('still here while the database naps');
    const ack = await alice!.next('ack');
    expect(ack.verdict).toBe('allow');
    expect((await delivered).id).toBe(ack.id);
    bob!.post('add me on snapchat: bob_1999');
    const blocked = await bob!.next('blocked');
    dana!.post('im 14 and my mom doesnt know im here');
    const held = await dana!.next('held');

    // the publish gate fails closed: a new publish is refused and disconnected
    const newcomer = publishRtmp(video, rtmp(other.streamKey));
    publishers.push(newcomer);
    await waitFor(() => events.find((e) => e.type === 'refused' && e.reason === 'gate_unavailable'), 'the new publish refused', 10_000);
    expect(await Promise.race([newcomer.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))])).toBe(true);

    // the broadcast goes on: the tap keeps sampling meanwhile (its writes wait)
    await new Promise((r) => setTimeout(r, Math.max(0, cutAt + OUTAGE_MS - Date.now())));
    const framesAtRestore = warden.ingest!.tapState(broadcastId)!.frames;
    expect(framesAtRestore - framesAtCut).toBeGreaterThanOrEqual(10);
    expect(await pendingWrites(http)).toBeGreaterThanOrEqual(10); // /metrics shows what waits
    proxy.restore();
    const restoredAt = Date.now();

    // the API and readiness are back within seconds (the pool reconnects within 2 s, not postgres.js's default 20 s)
    await waitFor(async () => (await call(http, 'GET', '/api/cases', moderator.token)).status === 200, 'the API back', 6000, 200);
    await waitFor(async () => (await call(http, 'GET', '/readyz')).status === 200, 'ready again', 6000, 200);
    console.log(`API and /readyz answering 200 ${Date.now() - restoredAt} ms after Postgres returned`);
    // every frame the tap took has its row, in order, none twice: the outage's included
    await waitFor(async () => (await q()`select count(*)::int as n from samples where broadcast_id = ${broadcastId} and kind = 'frame'`)[0]!.n >= framesAtRestore,
      'the outage\'s samples stored', 20_000, 200);
    console.log(`${framesAtRestore - framesAtCut} frames sampled during the outage; stored ${Date.now() - restoredAt} ms after Postgres returned`);
    await waitFor(async () => (await pendingWrites(http)) === 0, 'no write pending', 5000, 100);
    expect(await fetch(`${http}/metrics`).then((r) => r.text())).not.toMatch(/^warden_ingest_writes_dropped_total\{/m);
    // the alert, the chat messages (with the ids their senders were given), the held message's critical case
    await waitFor(async () => (await q()`select 1 from alerts where id = ${alertId}`).length > 0, 'the alert stored', 10_000, 200);
    await waitFor(async () => (await q()`select 1 from chat_messages where id = ${held.id}`).length > 0, 'the chat stored', 10_000, 200);
    const stored = await q()`select id, verdict from chat_messages where id in ${q()([ack.id, blocked.id, held.id])}`;
    expect(Object.fromEntries(stored.map((r) => [r.id, r.verdict]))).toEqual({ [ack.id]: 'allow', [blocked.id]: 'block', [held.id]: 'hold' });
    expect((await q()`select count(*)::int as n from actions where action = 'block_message' and subject_id = ${blocked.id}`)[0]!.n).toBe(1);
    // the publish refused while Postgres was away is in the audit log, once, with the time it was refused
    const refusals = await waitFor(async () => {
      const rows = await q()`select details->>'refusedAt' as at, created_at from actions where action = 'refuse_publish' and details->>'reason' = 'gate_unavailable'`;
      return rows.length ? rows : null;
    }, 'the outage\'s publish refusal audited', 10_000, 200);
    expect(refusals).toHaveLength(1);
    expect(Date.parse(refusals[0]!.at)).toBeLessThan(restoredAt);
    expect(Date.parse(refusals[0]!.at)).toBeGreaterThanOrEqual(cutAt);
    const [minorCase] = await q()`select priority, reason from cases where subject_id = ${dana!.userId}`;
    expect(minorCase).toMatchObject({ priority: 'critical', reason: 'chat.minor_disclosure' });
    // the gate accepts again
    const again = publishRtmp(video, rtmp(other.streamKey), { loop: true });
    publishers.push(again);
    await waitFor(() => events.find((e) => e.type === 'accepted' && e.userId === other.userId), 'the publish accepted again', 20_000);

    // the publisher stops; every frame sample ends analysed (jobs waited out the outage, none failed)
    await pub.stop();
    await waitFor(() => events.find((e) => e.type === 'ended' && e.broadcastId === broadcastId), 'the broadcast ended', 10_000);
    await waitFor(async () => (await q()`select count(*)::int as n from samples where broadcast_id = ${broadcastId} and kind = 'frame' and status = 'queued'`)[0]!.n === 0,
      'every frame analysed', 60_000, 250);
    const frames = await q()`select seq, status from samples where broadcast_id = ${broadcastId} and kind = 'frame' order by seq`;
    expect(frames.every((f, i) => f.seq === i)).toBe(true);
    expect(frames.every((f) => f.status === 'analysed' || f.status === 'duplicate')).toBe(true);
    expect((await ctx.queues.frames.getJobCounts('failed')).failed).toBe(0);
    const [b] = await q()`select status, end_reason from broadcasts where id = ${broadcastId}`;
    expect(b).toMatchObject({ status: 'ended', end_reason: 'publisher disconnected' });
    alerts.close();
  }, 150_000);
});
