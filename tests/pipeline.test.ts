// The analysis pipeline on real Postgres and Redis: frame jobs → signals → rules → enforcement, idempotent.
import { copyFile, mkdir, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { insertSample, openBroadcast, schema } from '../db/index.ts';
import { connectRedis } from '../core/redis.ts';
import { enforcementChannel } from '../moderation/index.ts';
import { runFfmpeg } from '../ingest/ffmpeg.ts';
import { startWarden, type WardenHandle } from '../bin/runtime.ts';
import { seedPerformer } from '../bin/seed.ts';
import { createTestEnv, waitFor, type TestEnv } from './harness.ts';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const photo = (n: number) => path.join(root, 'node_modules/@vladmandic/face-api/demo', `sample${n}.jpg`);
const policyFile = path.join(root, 'tests/fixtures/policy-test.yaml');

let env: TestEnv;
let warden: WardenHandle;
let broadcastId: string;
let userId: string;
let seq = 0;

beforeAll(async () => {
  env = await createTestEnv({ policyFile });
  warden = await startWarden(env.ctx, { workers: true });
  const p = await seedPerformer(env.ctx.db, 'pipeline-performer', { verified: true });
  userId = p.userId;
  const [key] = await env.ctx.db.select().from(schema.streamKeys).where(sql`user_id = ${p.userId}`);
  ({ id: broadcastId } = await openBroadcast(env.ctx.db, { userId, streamKeyId: key!.id, ingestNode: env.config.nodeId }));
});
afterAll(async () => {
  await warden?.stop();
  await env?.cleanup();
});

/** Stores an image as the next frame sample of the broadcast and queues its analysis. */
async function addFrame(image: Buffer | string, into = broadcastId, frameSeq = seq++): Promise<string> {
  const rel = path.join('samples', into, `${String(frameSeq).padStart(7, '0')}.jpg`);
  await mkdir(path.join(env.config.dataDir, 'samples', into), { recursive: true });
  if (typeof image === 'string') await copyFile(image, path.join(env.config.dataDir, rel));
  else await writeFile(path.join(env.config.dataDir, rel), image);
  const s = await insertSample(env.ctx.db, { broadcastId: into, kind: 'frame', seq: frameSeq, capturedAt: new Date(), filePath: rel });
  await env.ctx.queues.add('analyze-frame', { sampleId: s.id });
  return s.id;
}

const sampleRow = async (id: string) => (await env.ctx.db.select().from(schema.samples).where(sql`id = ${id}`))[0]!;
const signalsOf = (id: string) => env.ctx.db.select().from(schema.signals).where(sql`sample_id = ${id} and analyzer = 'nsfw'`);
const actionsOf = (sampleId: string) => env.ctx.db.select().from(schema.actions).where(sql`details->>'sampleId' = ${sampleId}`);

describe('frame analysis pipeline', () => {
  it('scores a real photo: one signal per class, a probability distribution, model and backend recorded', async () => {
    const id = await addFrame(photo(1));
    await waitFor(async () => (await sampleRow(id)).status === 'analysed', 'sample analysed');
    const sigs = await signalsOf(id);
    expect(sigs.map((s) => s.label).sort()).toEqual(['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy']);
    expect(sigs.reduce((a, s) => a + s.score, 0)).toBeCloseTo(1, 3);
    expect(new Set(sigs.map((s) => `${s.model}@${s.modelVersion} ${s.backend}`)).size).toBe(1);
    expect(sigs[0]!.backend).toBe(warden.frameBackend);
    expect(sigs[0]!.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('opens one case per broadcast and rule, adds evidence, and records shadow actions without enforcing them', async () => {
    const ids = [await addFrame(photo(2)), await addFrame(photo(3))];
    await waitFor(async () => (await Promise.all(ids.map(actionsOf))).every((a) => a.length >= 2), 'both frames evaluated');
    const cases = await env.ctx.db.select().from(schema.cases).where(sql`broadcast_id = ${broadcastId} and reason = 'any-frame'`);
    expect(cases).toHaveLength(1);
    expect(cases[0]).toMatchObject({ priority: 'low', status: 'open', policyVersion: 'test-1', subjectType: 'broadcast', subjectId: broadcastId });
    const evidence = await env.ctx.db.select().from(schema.caseEvidence).where(sql`case_id = ${cases[0]!.id}`);
    expect(evidence.map((e) => e.sampleId)).toEqual(expect.arrayContaining(ids));
    const shadow = (await actionsOf(ids[0]!)).find((a) => a.ruleId === 'any-frame-shadow');
    expect(shadow).toMatchObject({ action: 'end_stream', shadow: true, policyVersion: 'test-1' });
    const live = await env.ctx.db.select().from(schema.broadcasts).where(sql`id = ${broadcastId}`);
    expect(live[0]!.status).toBe('live'); // shadow end_stream did nothing
  });

  it('is idempotent: a re-run job writes no second set of signals and no duplicate actions', async () => {
    const id = await addFrame(photo(4));
    await waitFor(async () => (await actionsOf(id)).length >= 2, 'frame evaluated');
    const before = { signals: (await signalsOf(id)).length, actions: (await actionsOf(id)).length, analysedAt: (await sampleRow(id)).analysedAt };
    await (await env.ctx.queues.frames.getJob(`frame-${id}`))?.remove();
    await env.ctx.queues.add('analyze-frame', { sampleId: id });
    await env.ctx.queues.add('evaluate-sample', { sampleId: id });
    await waitFor(async () => Object.values(await env.ctx.queues.depth()).every((n) => n === 0), 'queues drained');
    expect((await signalsOf(id)).length).toBe(before.signals);
    expect((await actionsOf(id)).length).toBe(before.actions);
    expect((await sampleRow(id)).analysedAt).toEqual(before.analysedAt);
  });

  it('marks a corrupt image failed with its error, holds it for review as the policy says, and keeps working', async () => {
    const good = await readFile(photo(5));
    const bad = await addFrame(good.subarray(0, 2000));
    const next = await addFrame(photo(6));
    await waitFor(async () => (await sampleRow(bad)).status === 'failed' && (await sampleRow(next)).status === 'analysed', 'bad failed, next analysed');
    expect((await sampleRow(bad)).error).toBeTruthy();
    expect(await signalsOf(bad)).toHaveLength(0);
    await waitFor(async () => (await env.ctx.db.select().from(schema.cases).where(sql`broadcast_id = ${broadcastId} and reason = 'analysis-failure'`)).length === 1, 'analysis-failure case');
  });

  it('terminates: a test-card frame publishes end_stream to the ingest nodes and opens an urgent case', async () => {
    const sub = await connectRedis(env.config.redisUrl);
    const messages: string[] = [];
    sub.on('message', (_c, m) => messages.push(m));
    await sub.subscribe(enforcementChannel(env.config.redisPrefix));
    const cardFile = path.join(env.config.dataDir, 'card.jpg');
    await runFfmpeg(['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360', '-frames:v', '1', '-y', cardFile]);
    const id = await addFrame(cardFile);
    await waitFor(() => messages.length > 0, 'end_stream message', 30_000);
    expect(JSON.parse(messages[0]!)).toMatchObject({ type: 'end_stream', broadcastId });
    const [c] = await env.ctx.db.select().from(schema.cases).where(sql`broadcast_id = ${broadcastId} and reason = 'drawn.terminate'`);
    expect(c).toMatchObject({ priority: 'urgent' });
    expect((await actionsOf(id)).map((a) => a.action)).toEqual(expect.arrayContaining(['end_stream', 'review']));
    sub.disconnect();
  });

  it('respects a rule\'s cooldown across evaluations (prior firings read back from the audit log)', async () => {
    const [key] = await env.ctx.db.select().from(schema.streamKeys).where(sql`user_id = ${userId}`);
    const { id: other } = await openBroadcast(env.ctx.db, { userId, streamKeyId: key!.id, ingestNode: env.config.nodeId });
    for (let i = 0; i < 3; i++) {
      const id = await addFrame(photo(1 + i), other, i);
      await waitFor(async () => (await actionsOf(id)).some((a) => a.ruleId === 'any-frame'), `frame ${i} evaluated`);
    }
    const firings = await env.ctx.db.select().from(schema.actions).where(sql`broadcast_id = ${other} and rule_id = 'once-per-hour'`);
    expect(firings).toHaveLength(1);
    expect(await env.ctx.db.select().from(schema.actions).where(sql`broadcast_id = ${other} and rule_id = 'any-frame'`)).toHaveLength(3);
  });

  it('keeps the audit log append-only', async () => {
    await expect(env.ctx.database.sql`update actions set action = 'x'`).rejects.toThrow(/append-only/);
    await expect(env.ctx.database.sql`delete from actions`).rejects.toThrow(/append-only/);
  });
});
