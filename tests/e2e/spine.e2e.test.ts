// End to end: a real RTMP publish with ffmpeg through the gate, the keyframe tap, the frame model in a worker
// process, the rules and enforcement, ending with the publisher kicked. Slow: run alone with `npm run test:e2e`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { schema } from '../../db/index.ts';
import type { PublishEvent } from '../../ingest/index.ts';
import { spawnFfmpeg } from '../../ingest/ffmpeg.ts';
import { startWarden, type WardenHandle } from '../../bin/runtime.ts';
import { seedPerformer } from '../../bin/seed.ts';
import { buildDemoVideo, publishRtmp } from '../../bin/demo-media.ts';
import { createTestEnv, waitFor, type TestEnv } from '../harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let env: TestEnv;
let warden: WardenHandle;
let video: string;
const events: (PublishEvent & { at: number })[] = [];

beforeAll(async () => {
  env = await createTestEnv({ policyFile: path.join(root, 'tests/fixtures/policy-test.yaml') });
  env.config.analyzer.workerProcesses = 1; // the real deployment shape: frame model in a child process
  [warden, video] = await Promise.all([
    startWarden(env.ctx, { api: true, ingest: true, workers: true }),
    buildDemoVideo({ dir: path.join(root, 'data/test-media'), seconds: 16 }),
  ]);
  warden.ingest!.events.on('publish', (e: PublishEvent) => events.push({ ...e, at: Date.now() }));
}, 180_000);
afterAll(async () => {
  await warden?.stop();
  await env?.cleanup();
});

const rtmp = (key: string) => `rtmp://127.0.0.1:${env.config.rtmp.port}/live/${key}`;

/** Plays a stream with ffmpeg for up to `ms` and returns how many bytes of FLV it received. */
async function play(url: string, ms: number): Promise<number> {
  const child = spawnFfmpeg(['-hide_banner', '-loglevel', 'error', '-i', url, '-c', 'copy', '-f', 'flv', '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let bytes = 0;
  child.stdout?.on('data', (b: Buffer) => { bytes += b.length; });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  await new Promise((r) => child.once('close', r));
  clearTimeout(timer);
  return bytes;
}

describe('the spine, end to end over RTMP', () => {
  it('refuses an unknown key and an unverified performer, records who and why, and no viewer gets a frame', async () => {
    const unverified = await seedPerformer(env.ctx.db, 'e2e-unverified', { verified: false });
    for (const [key, reason] of [['wk_unknown-key-000000000000', 'unknown_key'], [unverified.streamKey, 'not_verified']] as const) {
      const pub = publishRtmp(video, rtmp(key));
      const viewerBytes = play(`${rtmp(key)}`, 3000);
      const exit = await Promise.race([pub.exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
      expect(exit, 'the refused publisher was disconnected').not.toBeNull();
      expect(exit!.code).not.toBe(0);
      expect(await viewerBytes).toBe(0);
      await waitFor(() => events.some((e) => e.type === 'refused' && e.reason === reason), `refusal ${reason}`);
    }
    // the refusal event is emitted as the publisher is cut; its audit row is written right after
    const refusals = await waitFor(async () => {
      const rows = await env.ctx.db.select().from(schema.actions).where(sql`action = 'refuse_publish'`).orderBy(schema.actions.id);
      return rows.length >= 2 ? rows : null;
    }, 'both refusals in the audit log', 5000);
    expect(refusals.map((r) => (r.details as { reason: string }).reason)).toEqual(['unknown_key', 'not_verified']);
    expect(refusals[1]!.userId).toBe(unverified.userId);
    expect(JSON.stringify(refusals)).not.toContain(unverified.streamKey); // only the key's prefix is kept
    expect(await env.ctx.db.select().from(schema.broadcasts)).toHaveLength(0);
  }, 60_000);

  it('accepts a verified performer, samples keyframes, scores them, opens cases and kicks the stream within a second of end_stream', async () => {
    const performer = await seedPerformer(env.ctx.db, 'e2e-performer', { verified: true });
    const t0 = Date.now();
    const pub = publishRtmp(video, rtmp(performer.streamKey));
    const accepted = await waitFor(() => events.find((e) => e.type === 'accepted'), 'publish accepted', 15_000);
    const broadcastId = (accepted as { broadcastId: string }).broadcastId;
    // an unsigned viewer is refused even for the accepted stream
    expect(await play(rtmp(performer.streamKey), 2000)).toBe(0);

    const ended = await waitFor(() => events.find((e) => e.type === 'ended' && e.broadcastId === broadcastId), 'broadcast ended by the policy', 40_000);
    const exit = await pub.exited;
    const publisherGoneAt = Date.now();
    expect(Date.now() - t0, 'kicked before the 16 s file was sent').toBeLessThan(15_000);
    expect(exit.code).not.toBe(0);

    const [b] = await env.ctx.db.select().from(schema.broadcasts).where(sql`id = ${broadcastId}`);
    expect(b).toMatchObject({ status: 'ended', userId: performer.userId, tapMode: 'keyframes' });
    // fed in-process by node-media-server: H.264 keyframes sampled before decoding, without the B-frames' delay
    expect(b!.tapNote).toMatch(/^decoding only the keyframes sampled/);
    expect(b!.endReason).toContain('drawn.terminate');
    const [endAction] = await env.ctx.db.select().from(schema.actions).where(sql`broadcast_id = ${broadcastId} and action = 'end_stream' and not shadow`);
    expect(endAction).toBeDefined();
    const kickMs = ended.at - endAction!.createdAt.getTime();
    expect(publisherGoneAt - endAction!.createdAt.getTime(), 'publisher process saw the disconnect').toBeLessThan(1500);
    expect(kickMs, `end_stream to disconnect took ${kickMs} ms`).toBeLessThan(1000);

    await waitFor(async () => (await env.ctx.db.select().from(schema.samples).where(sql`broadcast_id = ${broadcastId} and status = 'queued'`)).length === 0, 'samples settled');
    const samples = await env.ctx.db.select().from(schema.samples).where(sql`broadcast_id = ${broadcastId} and kind = 'frame'`);
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(samples.every((s) => s.phash && s.filePath.startsWith('samples/'))).toBe(true);
    const signals = await env.ctx.db.select().from(schema.signals).where(sql`broadcast_id = ${broadcastId} and analyzer = 'nsfw'`);
    expect(signals.length).toBe(5 * samples.filter((s) => s.status === 'analysed').length);
    expect(new Set(signals.map((s) => s.backend))).toEqual(new Set([warden.frameBackend]));
    const cases = await env.ctx.db.select().from(schema.cases).where(sql`broadcast_id = ${broadcastId}`);
    expect(cases.find((c) => c.reason === 'drawn.terminate')).toMatchObject({ priority: 'urgent', status: 'open' });
    expect(cases.find((c) => c.reason === 'any-frame')).toBeDefined();

    const metrics = await (await fetch(`${warden.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/warden_publishes_total\{result="refused"\} 2/);
    expect(metrics).toMatch(/warden_signals_total\{analyzer="nsfw",backend="\w+"\} [1-9]/);
    expect(metrics).toMatch(/warden_queue_depth\{queue="frames"\} \d/);
    const ready = await fetch(`${warden.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
  }, 90_000);
});
