// Ingest faults over real RTMP publishes (ffmpeg), real Postgres and Redis: the tap's ffmpeg killed with SIGKILL
// restarts and the broadcast goes on (same id, samples resume, sequence numbers continue without collision); a
// publisher whose connection drops (SIGKILL) and publishes again with the same key continues the same broadcast; one
// that does not come back ends after the grace; one that stops properly (SIGTERM: RTMP deleteStream) ends at once.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublishEvent } from '../../ingest/index.ts';
import { startWarden, type WardenHandle } from '../../bin/runtime.ts';
import { seedPerformer } from '../../bin/seed.ts';
import { buildDemoVideo, publishRtmp, type RtmpPublisher } from '../../bin/demo-media.ts';
import { createTestEnv, waitFor, type TestEnv } from '../harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GRACE_MS = 4000;
let env: TestEnv;
let warden: WardenHandle;
let video: string;
const events: (PublishEvent & { at: number })[] = [];
const publishers: RtmpPublisher[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  env.config.ingest.reconnectGraceMs = GRACE_MS;
  env.config.tap.sampleIntervalMs = 1000;
  // no analyzer runs here, so the frames backlog only grows: keep adaptive sampling from stretching the interval
  env.config.degrade = { ...env.config.degrade, sampleIntervalMaxMs: 1000 };
  env.config.tap.audio = { chunkMs: 3000, overlapMs: 500 };
  [warden, video] = await Promise.all([
    startWarden(env.ctx, { ingest: true }),
    buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds: 16, keyframeIntervalS: 1 }),
  ]);
  warden.ingest!.events.on('publish', (e: PublishEvent) => events.push({ ...e, at: Date.now() }));
}, 120_000);
afterAll(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await warden?.stop();
  await env?.cleanup();
});

const rtmp = (key: string) => `rtmp://127.0.0.1:${env.config.rtmp.port}/live/${key}`;
const publish = (key: string) => {
  const p = publishRtmp(video, rtmp(key), { loop: true });
  publishers.push(p);
  return p;
};
const sql = () => env.ctx.database.sql;

/** The broadcast's samples of one kind, by sequence number. */
async function seqs(broadcastId: string, kind: 'frame' | 'audio'): Promise<number[]> {
  const rows = await sql()`select seq from samples where broadcast_id = ${broadcastId} and kind = ${kind} order by seq`;
  return rows.map((r) => r.seq as number);
}

/** 0..n-1 with nothing missing and nothing twice. */
function contiguous(xs: number[]): boolean {
  return xs.every((x, i) => x === i);
}

async function accepted(userId: string): Promise<string> {
  const e = await waitFor(() => events.find((x) => x.type === 'accepted' && x.userId === userId), 'the publish accepted', 20_000);
  return (e as { broadcastId: string }).broadcastId;
}

describe('the tap killed', () => {
  it('restarts; the same broadcast goes on, its samples resume and their sequence numbers continue', async () => {
    const performer = await seedPerformer(env.ctx.db, 'fault-tap', { verified: true });
    const pub = publish(performer.streamKey);
    const broadcastId = await accepted(performer.userId);
    await waitFor(async () => (await seqs(broadcastId, 'frame')).length >= 3, 'three frame samples', 20_000);
    const tap = warden.ingest!.tapState(broadcastId)!;
    expect(tap.pid).toBeDefined();
    const before = await seqs(broadcastId, 'frame');
    process.kill(tap.pid!, 'SIGKILL');

    // restarted (after its 1 s back-off), a new ffmpeg, and samples after the kill under the same broadcast
    await waitFor(() => warden.ingest!.tapState(broadcastId)?.restarts === 1, 'the tap restarted', 10_000);
    expect(warden.ingest!.tapState(broadcastId)!.pid).not.toBe(tap.pid);
    await waitFor(async () => (await seqs(broadcastId, 'frame')).length >= before.length + 3, 'frames sampled again after the restart', 20_000);
    const [b] = await sql()`select status from broadcasts where id = ${broadcastId}`;
    expect(b!.status).toBe('live');
    expect((await sql()`select count(*)::int as n from broadcasts where user_id = ${performer.userId}`)[0]!.n).toBe(1);
    // every sample the tap emitted has a row, one each: no gap, no collision across the restart
    const frames = await seqs(broadcastId, 'frame');
    expect(contiguous(frames), `frame seqs ${frames.join(',')}`).toBe(true);
    const audio = await seqs(broadcastId, 'audio');
    expect(contiguous(audio), `audio seqs ${audio.join(',')}`).toBe(true);
    expect(events.filter((e) => e.type === 'ended' && e.broadcastId === broadcastId)).toEqual([]);
    await pub.stop();
    await waitFor(() => events.find((e) => e.type === 'ended' && e.broadcastId === broadcastId), 'the broadcast ended', 5000);
  }, 60_000);
});

describe('the publisher\'s connection dropped', () => {
  it('a reconnect with the same key within the grace continues the same broadcast; a proper stop ends it at once', async () => {
    const performer = await seedPerformer(env.ctx.db, 'fault-reconnect', { verified: true });
    const first = publish(performer.streamKey);
    const broadcastId = await accepted(performer.userId);
    await waitFor(async () => (await seqs(broadcastId, 'frame')).length >= 3, 'three frame samples', 20_000);

    process.kill(first.pid!, 'SIGKILL'); // no RTMP goodbye: a lost connection
    await waitFor(() => events.find((e) => e.type === 'interrupted' && e.broadcastId === broadcastId), 'the broadcast interrupted', 5000);
    expect(warden.ingest!.tapState(broadcastId)?.reconnecting).toBe(true);
    expect((await sql()`select status from broadcasts where id = ${broadcastId}`)[0]!.status).toBe('live');
    const before = await seqs(broadcastId, 'frame');

    publish(performer.streamKey);
    const resumed = await waitFor(() => events.find((e) => e.type === 'resumed' && e.broadcastId === broadcastId), 'the broadcast resumed', 15_000);
    console.log(`publisher reconnect: broadcast resumed after a ${(resumed as { gapMs: number }).gapMs} ms gap`);
    await waitFor(async () => (await seqs(broadcastId, 'frame')).length >= before.length + 3, 'frames after the reconnect', 20_000);
    // one broadcast, still live, its sequence numbers continuing past the first connection's
    const rows = await sql()`select id, status from broadcasts where user_id = ${performer.userId}`;
    expect(rows.map((r) => [r.id, r.status])).toEqual([[broadcastId, 'live']]);
    const frames = await seqs(broadcastId, 'frame');
    expect(contiguous(frames), `frame seqs ${frames.join(',')}`).toBe(true);
    expect(Math.min(...frames.slice(before.length))).toBe(before.length);
    expect(contiguous(await seqs(broadcastId, 'audio'))).toBe(true);
    expect(events.filter((e) => e.type === 'accepted' && e.userId === performer.userId)).toHaveLength(1);

    // a proper stop (SIGTERM: ffmpeg says deleteStream) ends it at once, with no grace
    const stoppedAt = Date.now();
    await publishers.at(-1)!.stop();
    const ended = await waitFor(() => events.find((e) => e.type === 'ended' && e.broadcastId === broadcastId), 'the broadcast ended', GRACE_MS - 500);
    expect(ended.at - stoppedAt).toBeLessThan(GRACE_MS - 1000);
    expect((await sql()`select status, end_reason from broadcasts where id = ${broadcastId}`)[0]).toMatchObject({ status: 'ended', end_reason: 'publisher disconnected' });
  }, 90_000);

  it('without a reconnect the broadcast ends once the grace is over, saying why', async () => {
    const performer = await seedPerformer(env.ctx.db, 'fault-gone', { verified: true });
    const pub = publish(performer.streamKey);
    const broadcastId = await accepted(performer.userId);
    await waitFor(async () => (await seqs(broadcastId, 'frame')).length >= 1, 'a frame sample', 20_000);
    process.kill(pub.pid!, 'SIGKILL');
    const interrupted = await waitFor(() => events.find((e) => e.type === 'interrupted' && e.broadcastId === broadcastId), 'the broadcast interrupted', 5000);
    const ended = await waitFor(() => events.find((e) => e.type === 'ended' && e.broadcastId === broadcastId), 'the broadcast ended', GRACE_MS + 5000);
    expect(ended.at - interrupted.at).toBeGreaterThanOrEqual(GRACE_MS - 100);
    const [b] = await waitFor(async () => {
      const r = await sql()`select status, end_reason from broadcasts where id = ${broadcastId} and status = 'ended'`;
      return r.length ? r : null;
    }, 'the broadcast row ended', 5000);
    expect(b!.end_reason).toBe(`publisher connection lost (no reconnect within ${GRACE_MS / 1000} s)`);
  }, 60_000);
});
