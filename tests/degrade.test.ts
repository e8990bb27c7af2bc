// Deliberate degradation on the real Redis and Postgres, with real RTMP streams: with no analyzer running, a real
// backlog builds in the frames and audio queues; adaptive sampling (ingest/sampling.ts) stretches the sampling interval
// (a reported broadcast keeps the base interval longest and its frames and speech go first), sheds the other one's
// audio chunks as `skipped` with the reason, says so on the broadcasts and in /metrics, while chat verdicts and panic
// alerts still arrive; then an analyzer starts, the backlog drains and sampling comes back to the base interval.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { Job, Worker } from 'bullmq';
import { schema } from '../db/index.ts';
import { loadConfig } from '../core/config.ts';
import type { PublishEvent } from '../ingest/index.ts';
import { connectChat } from '../ingest/chat/index.ts';
import { startWarden, type WardenHandle } from '../bin/runtime.ts';
import { seedPerformer, seedSession } from '../bin/seed.ts';
import { buildDemoVideo, publishRtmp, type RtmpPublisher } from '../bin/demo-media.ts';
import { createTranscribeProcessor } from '../analyzer/processors/transcribe-audio.ts';
import { PocketsphinxTranscriber } from '../analyzer/audio/index.ts';
import { TextAnalyzer } from '../analyzer/text/index.ts';
import { openAlertStream } from '../bench/gates-common.ts';
import { createTestEnv, waitFor, type TestEnv } from './harness.ts';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const BASE_MS = 2000;
const MAX_MS = 8000;

let env: TestEnv;
let warden: WardenHandle;
let workers: WardenHandle | undefined;
const publishers: RtmpPublisher[] = [];
/** The reported broadcast (priority) and the other one, with their performers. */
let reported: { broadcastId: string; userId: string; handle: string };
let other: { broadcastId: string; userId: string; handle: string };

const sampling = () => warden.ingest!.sampling;
const stateOf = (id: string) => sampling().state().find((s) => s.broadcastId === id)!;
const samplesOf = (broadcastId: string, kind: 'frame' | 'audio') =>
  env.ctx.db.select().from(schema.samples).where(sql`broadcast_id = ${broadcastId} and kind = ${kind}`).orderBy(schema.samples.seq);
const broadcastRow = async (id: string) => (await env.ctx.db.select().from(schema.broadcasts).where(sql`id = ${id}`))[0]!;
const metricsText = async () => (await fetch(`${warden.httpUrl}/metrics`)).text();
const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
/** When the ingest node enqueued each frame job, with its sample's broadcast and its BullMQ priority. */
async function frameJobs(): Promise<{ id: string; sampleId: string; broadcastId: string; priority: number; timestamp: number }[]> {
  const jobs = await env.ctx.queues.frames.getJobs(['wait', 'prioritized']);
  const out = [];
  for (const j of jobs) {
    if (!j?.id) continue;
    const [s] = await env.ctx.db.select({ broadcastId: schema.samples.broadcastId }).from(schema.samples).where(sql`id = ${j.data.sampleId}`);
    out.push({ id: j.id, sampleId: j.data.sampleId as string, broadcastId: s!.broadcastId, priority: j.opts.priority ?? 0, timestamp: j.timestamp });
  }
  return out;
}

beforeAll(async () => {
  const base = loadConfig({});
  env = await createTestEnv({
    // 3 s audio chunks so the audio backlog builds within seconds; no analyzer of any kind until the recovery test
    tap: { ...base.tap, sampleIntervalMs: BASE_MS, audio: { chunkMs: 3000, overlapMs: 500 } },
    degrade: {
      ...base.degrade, sampleIntervalMaxMs: MAX_MS, framesHighMs: 1500, framesLowMs: 400, audioHighMs: 2500, audioLowMs: 500,
      controlMs: 3_600_000, // the test drives the controller (tick) itself
    },
    analyzer: { ...base.analyzer, workerProcesses: 0, audioConcurrency: 0, frameBatchSize: 1 },
  });
  const clip = await buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds: 16 });
  warden = await startWarden(env.ctx, { api: true, ingest: true });
  const live = new Map<string, string>();
  warden.ingest!.events.on('publish', (e: PublishEvent) => { if (e.type === 'accepted') live.set(e.userId, e.broadcastId); });
  const performers = await Promise.all(['degrade-reported', 'degrade-other'].map(async (handle) => ({ handle, ...(await seedPerformer(env.ctx.db, handle, { verified: true })) })));
  for (const p of performers) publishers.push(publishRtmp(clip, `rtmp://127.0.0.1:${env.config.rtmp.port}/live/${p.streamKey}`, { loop: true }));
  await waitFor(() => performers.every((p) => live.has(p.userId)), 'both broadcasts live', 30_000);
  [reported, other] = performers.map((p) => ({ broadcastId: live.get(p.userId)!, userId: p.userId, handle: p.handle })) as [typeof reported, typeof other];
  // a viewer reports the first broadcast: its performer now has an open (high) case
  const viewer = await seedSession(env.ctx.db, 'degrade-viewer');
  const res = await fetch(`${warden.httpUrl}/api/reports`, {
    method: 'POST', headers: { authorization: `Bearer ${viewer.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ subjectType: 'broadcast', subjectId: reported.broadcastId, category: 'sexual_content' }),
  });
  expect(res.status).toBe(201);
}, 120_000);

afterAll(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await workers?.stop();
  await warden?.stop();
  await env?.cleanup();
}, 120_000);

describe('deliberate degradation', () => {
  let tickedAt = 0;

  it('stretches the sampling interval under a real frames backlog, the reported broadcast last, and sheds the other one\'s audio first', async () => {
    // a real backlog: nothing consumes the frames and audio queues
    await waitFor(async () => {
      const b = await env.ctx.queues.backlog();
      return b.frames.oldestAgeMs > 2000 && b.audio.oldestAgeMs > 3000 && b.audio.waiting >= 2;
    }, 'frames and audio backlog', 40_000, 250);
    await sampling().tick();
    tickedAt = Date.now();
    expect(sampling().levels.stretch).toBe(1.5);
    expect(stateOf(reported.broadcastId)).toMatchObject({ priority: 'urgent', reason: 'open high case', intervalMs: BASE_MS, audio: true });
    expect(stateOf(other.broadcastId)).toMatchObject({ priority: 'normal', reason: null, intervalMs: 3000, audio: false });

    // the other broadcast's next speech chunks are recorded as skipped, with the reason; the reported one's are queued
    await waitFor(async () => (await samplesOf(other.broadcastId, 'audio')).some((s) => s.status === 'skipped'), 'a skipped audio chunk', 20_000, 250);
    await waitFor(async () => (await samplesOf(reported.broadcastId, 'audio')).some((s) => s.status === 'queued' && s.capturedAt.getTime() > tickedAt - 3000), 'a queued chunk of the reported broadcast', 20_000, 250);
    const skipped = (await samplesOf(other.broadcastId, 'audio')).filter((s) => s.status === 'skipped');
    expect(skipped[0]!.error).toMatch(/^audio backlog: transcription is behind \(\d+ chunks waiting, oldest \d+ s\); speech of 1 of 2 broadcasts transcribed/);
    expect(skipped[0]!.filePath).toBe('');
    expect((await samplesOf(reported.broadcastId, 'audio')).filter((s) => s.status === 'skipped')).toEqual([]);

    // still behind: the stretch grows until the other broadcast is at the maximum; the reported one only then moves
    for (let i = 0; i < 3; i++) await sampling().tick();
    expect(sampling().levels.stretch).toBeCloseTo(1.5 ** 4, 5);
    expect(stateOf(other.broadcastId).intervalMs).toBe(MAX_MS);
    expect(stateOf(reported.broadcastId).intervalMs).toBe(2500);
    expect(sampling().levels.audioSlots).toBe(1);
  }, 90_000);

  it('gives the reported broadcast\'s frames priority in the queue: they are taken before the waiting ones of the other', async () => {
    // the reported broadcast's next frame that is not a duplicate of its last (the clip holds each photo for a while)
    await waitFor(async () => (await frameJobs()).some((j) => j.broadcastId === reported.broadcastId && j.timestamp > tickedAt), 'a frame job of the reported broadcast after the tick', 20_000, 250);
    const jobs = await frameJobs();
    const urgentAfterTick = jobs.filter((j) => j.broadcastId === reported.broadcastId && j.timestamp > tickedAt);
    expect(urgentAfterTick.length).toBeGreaterThan(0);
    expect(urgentAfterTick.every((j) => j.priority === 0)).toBe(true);
    expect(jobs.filter((j) => j.broadcastId === other.broadcastId).every((j) => j.priority === 1)).toBe(true);
    expect(jobs.some((j) => j.priority === 1)).toBe(true);
    // a consumer taking one job at a time gets every job without priority before any prioritised one
    const order: string[] = [];
    const recorder = new Worker('frames', async (job) => { order.push(job.id!); }, { connection: env.ctx.bullConnection, prefix: env.config.redisPrefix, concurrency: 1, autorun: false });
    void recorder.run();
    await waitFor(() => jobs.every((j) => order.includes(j.id)), 'the waiting frame jobs taken', 20_000, 50);
    await recorder.close();
    const position = new Map(order.map((id, i) => [id, i]));
    const lastUrgent = Math.max(...jobs.filter((j) => j.priority === 0).map((j) => position.get(j.id)!));
    const firstNormal = Math.min(...jobs.filter((j) => j.priority === 1).map((j) => position.get(j.id)!));
    expect(lastUrgent).toBeLessThan(firstNormal);
  }, 60_000);

  it('tells the broadcasts and /metrics: intervals, stretch, backlog, samples shed by reason', async () => {
    // the other broadcast, now sampled every 8 s, has its taps' frames thinned; its note says sampling was reduced
    await waitFor(async () => (await broadcastRow(other.broadcastId)).tapNote?.includes('analyzer behind: sampling one frame per 8 s instead of 2 s'), 'the degradation in the tap note', 20_000, 250);
    expect((await broadcastRow(other.broadcastId)).tapNote).toMatch(/speech not transcribed now/);
    await waitFor(async () => metric(await metricsText(), /warden_samples_shed_total\{kind="frame",reason="interval_stretched"\} (\d+)/) > 0, 'frames thinned', 20_000, 500);
    const text = await metricsText();
    expect(metric(text, /warden_queue_waiting\{queue="audio"\} (\d+)/)).toBeGreaterThan(0);
    expect(metric(text, /warden_queue_oldest_waiting_seconds\{queue="audio"\} ([\d.e+-]+)/)).toBeGreaterThan(2.5);
    expect(metric(text, /warden_queue_oldest_waiting_seconds\{queue="frames"\} ([\d.e+-]+)/)).toBeGreaterThanOrEqual(0);
    expect(metric(text, /warden_sampling_streams\{interval_s="8"\} (\d+)/)).toBe(1);
    expect(metric(text, /warden_sampling_streams\{interval_s="2.5"\} (\d+)/)).toBe(1);
    expect(metric(text, /warden_sampling_stretch ([\d.e+-]+)/)).toBeCloseTo(5.0625, 3);
    expect(metric(text, /warden_audio_transcribed_streams (\d+)/)).toBe(1);
    expect(metric(text, /warden_samples_shed_total\{kind="audio",reason="audio_backlog"\} (\d+)/)).toBeGreaterThan(0);
    expect(metric(text, /warden_samples_total\{kind="audio",status="skipped"\} (\d+)/)).toBeGreaterThan(0);
  }, 60_000);

  it('at the longest interval and still far behind, skips the frames of the broadcast without priority, with the reason', async () => {
    const maxStretch = (MAX_MS / BASE_MS) ** 2;
    await waitFor(async () => {
      await sampling().tick();
      return sampling().levels.stretch === maxStretch && sampling().sheddingFrames;
    }, 'frames shed', 40_000, 500);
    expect(sampling().state().every((s) => s.intervalMs === MAX_MS)).toBe(true);
    const shedAt = Date.now();
    await waitFor(async () => (await samplesOf(other.broadcastId, 'frame')).some((s) => s.status === 'skipped'), 'a skipped frame', 30_000, 250);
    const skipped = (await samplesOf(other.broadcastId, 'frame')).find((s) => s.status === 'skipped')!;
    expect(skipped.error).toMatch(/^frames backlog: the analyzer is behind even at one frame per 8 s \(oldest waiting frame \d+ s\)/);
    expect(skipped.filePath).toBe('');
    // the reported broadcast's frames are still queued, never skipped
    await waitFor(async () => (await samplesOf(reported.broadcastId, 'frame')).some((s) => s.capturedAt.getTime() > shedAt && (s.status === 'queued' || s.status === 'duplicate')), 'a new frame of the reported broadcast queued', 30_000, 250);
    expect((await samplesOf(reported.broadcastId, 'frame')).filter((s) => s.status === 'skipped')).toEqual([]);
    expect(metric(await metricsText(), /warden_samples_shed_total\{kind="frame",reason="frames_backlog"\} (\d+)/)).toBeGreaterThan(0);
  }, 90_000);

  it('still checks chat and delivers panic alerts: they never wait on these queues', async () => {
    const viewer = await seedSession(env.ctx.db, 'degrade-chatter');
    const chat = await connectChat(warden.httpUrl!, other.broadcastId, viewer.token);
    try {
      chat.post('still here while the analyzer is behind');
      expect((await chat.next('ack', 5000)).verdict).toBe('allow');
      const from = chat.log.length;
      chat.post('i will kill you');
      const verdict = await waitFor(() => chat.log.slice(from).find((m) => m.type === 'ack' || m.type === 'held' || m.type === 'blocked'), 'a verdict', 5000, 10);
      expect(verdict.type).toBe('blocked');
    } finally {
      chat.close();
    }
    const moderator = await seedSession(env.ctx.db, 'degrade-moderator', 'moderator');
    const stream = await openAlertStream(warden.httpUrl!, moderator.token);
    try {
      const performer = await seedSession(env.ctx.db, other.handle, 'performer');
      const pressed = performance.now();
      const res = await fetch(`${warden.httpUrl}/api/alerts/panic`, {
        method: 'POST', headers: { authorization: `Bearer ${performer.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ protection: 'none', message: 'test during backlog' }),
      });
      expect(res.status).toBe(202);
      const { alert } = await res.json() as { alert: { id: string } };
      await waitFor(() => stream.raised.has(alert.id), 'the alert on the moderator stream', 5000, 5);
      expect(stream.raised.get(alert.id)!.at - pressed).toBeLessThan(1000);
    } finally {
      await stream.close();
    }
  }, 30_000);

  it('skips a stale chunk of a broadcast without priority at the transcriber, and an urgent one only past its own, longer bound', async () => {
    const audioJobs = (await env.ctx.queues.audio.getJobs(['wait', 'prioritized'])).filter((j): j is Job => !!j);
    const sampleOf = async (j: Job) => (await env.ctx.db.select().from(schema.samples).where(sql`id = ${j.data.sampleId}`))[0]!;
    let normal: Job | undefined;
    const urgent: Job[] = [];
    for (const j of audioJobs) {
      const s = await sampleOf(j);
      if (!normal && s.broadcastId === other.broadcastId && (j.opts.priority ?? 0) > 0) normal = j;
      if (s.broadcastId === reported.broadcastId && !j.opts.priority) urgent.push(j);
    }
    expect(normal).toBeTruthy();
    expect(urgent.length).toBeGreaterThanOrEqual(2);
    const transcriber = new PocketsphinxTranscriber({});
    const processor = (maxWaitUrgentMs: number) => createTranscribeProcessor({
      db: env.ctx.db, queues: env.ctx.queues, dataDir: env.config.dataDir, transcriber, analyzer: new TextAnalyzer(),
      policy: env.ctx.policy, metrics: env.ctx.metrics, logger: env.ctx.logger, maxWaitMs: 2000, maxWaitUrgentMs,
    });
    const process = processor(600_000);
    expect(Date.now() - normal!.timestamp).toBeGreaterThan(2000);
    await process(normal!);
    expect(await sampleOf(normal!)).toMatchObject({ status: 'skipped', error: expect.stringMatching(/^stale: waited \d+ s in the audio queue \(more than 2 s\); not transcribed$/) });
    // an urgent broadcast's chunk later than the bound for the others is still transcribed
    await new Promise((r) => setTimeout(r, Math.max(0, urgent[0]!.timestamp + 2100 - Date.now())));
    await process(urgent[0]!);
    expect((await sampleOf(urgent[0]!)).status).toBe('analysed');
    expect(metric(await metricsText(), /warden_samples_shed_total\{kind="audio",reason="stale"\} (\d+)/)).toBe(1);
    // but not past its own bound: skipped with the reason, its audio file kept
    const late = urgent[1]!;
    const waited = Date.now() - late.timestamp;
    expect(waited).toBeGreaterThan(1000);
    await processor(1000)(late);
    const skipped = await sampleOf(late);
    expect(skipped).toMatchObject({ status: 'skipped', error: expect.stringMatching(/^stale: waited \d+ s in the audio queue \(more than 1 s, the bound for an urgent broadcast\); not transcribed$/) });
    expect((await stat(path.join(env.config.dataDir, skipped.filePath))).size).toBeGreaterThan(44);
    expect(metric(await metricsText(), /warden_samples_shed_total\{kind="audio",reason="stale"\} (\d+)/)).toBe(2);
  }, 60_000);

  it('comes back to the base interval once an analyzer drains the backlog', async () => {
    workers = await startWarden(env.ctx, { workers: true });
    await waitFor(async () => {
      await sampling().tick();
      return sampling().levels.stretch === 1 && !sampling().sheddingFrames && sampling().state().every((s) => s.intervalMs === BASE_MS);
    }, 'sampling back at the base interval', 60_000, 500);
    const b = await env.ctx.queues.backlog();
    expect(b.frames.oldestAgeMs).toBeLessThan(1500);
    // the reduction is no longer on the broadcast once its note is rewritten (at most every 10 s)
    await waitFor(async () => {
      await sampling().tick();
      const note = (await broadcastRow(other.broadcastId)).tapNote ?? '';
      return note.length > 0 && !note.includes('analyzer behind');
    }, 'the tap note without the reduction', 20_000, 500);
    // frames sampled since are analysed
    const since = Date.now();
    await waitFor(async () => (await samplesOf(other.broadcastId, 'frame')).some((s) => s.capturedAt.getTime() > since && (s.status === 'analysed' || s.status === 'duplicate')), 'a new frame analysed', 30_000, 500);
  }, 120_000);
});
