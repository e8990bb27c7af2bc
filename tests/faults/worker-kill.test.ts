// A frame worker process killed with SIGKILL in the middle of a batch, on real Postgres and Redis: the jobs it held
// are put back by BullMQ's stalled check (their locks expire) and analysed by the other worker or its replacement
// (the pool restarts it); every sample ends analysed, with one set of signals, one case per rule and one audit entry
// per decision; no job fails.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { insertSample, openBroadcast, schema } from '../../db/index.ts';
import { startWarden, type WardenHandle } from '../../bin/runtime.ts';
import { seedPerformer } from '../../bin/seed.ts';
import { createTestEnv, waitFor, type TestEnv } from '../harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const photo = (n: number) => path.join(root, 'node_modules/@vladmandic/face-api/demo', `sample${n}.jpg`);
const SAMPLES = 48;
let env: TestEnv;
let warden: WardenHandle;

beforeAll(async () => {
  env = await createTestEnv({ policyFile: path.join(root, 'tests/fixtures/policy-test.yaml') });
  env.config.analyzer.workerProcesses = 2; // the deployment shape: frame workers in child processes
  env.config.analyzer.audioConcurrency = 0;
  warden = await startWarden(env.ctx, { workers: true });
}, 120_000);
afterAll(async () => {
  await warden?.stop();
  await env?.cleanup();
});

describe('a frame worker killed mid-batch', () => {
  it('loses nothing: every sample analysed once, no duplicate signals, cases or audit entries, no failed job', async () => {
    const pool = warden.framePool!;
    expect(pool.pids).toHaveLength(2);
    const performer = await seedPerformer(env.ctx.db, 'fault-worker-kill', { verified: true });
    const [key] = await env.ctx.db.select().from(schema.streamKeys).where(sql`user_id = ${performer.userId}`);
    const { id: broadcastId } = await openBroadcast(env.ctx.db, { userId: performer.userId, streamKeyId: key!.id, ingestNode: env.config.nodeId });
    await mkdir(path.join(env.config.dataDir, 'samples', broadcastId), { recursive: true });
    const ids: string[] = [];
    for (let seq = 0; seq < SAMPLES; seq++) {
      const rel = path.join('samples', broadcastId, `${String(seq).padStart(7, '0')}.jpg`);
      await copyFile(photo(1 + (seq % 6)), path.join(env.config.dataDir, rel));
      const s = await insertSample(env.ctx.db, { broadcastId, kind: 'frame', seq, capturedAt: new Date(), filePath: rel });
      ids.push(s.id);
    }
    for (const sampleId of ids) await env.ctx.queues.add('analyze-frame', { sampleId });

    // in the middle of the batch: some analysed, and a child holding active jobs
    const analysed = async () => (await env.ctx.database.sql`select count(*)::int as n from samples where broadcast_id = ${broadcastId} and status = 'analysed'`)[0]!.n as number;
    let victim: { pid: number; jobs: Job[] } | undefined;
    await waitFor(async () => {
      if ((await analysed()) < 4) return false;
      const active = await env.ctx.queues.frames.getActive();
      for (const pid of pool.pids) {
        const jobs = active.filter((j) => j.processedBy?.endsWith(`:${pid}`));
        if (jobs.length > 0) { victim = { pid, jobs }; return true; }
      }
      return false;
    }, 'a frame worker holding jobs after some were analysed', 60_000, 20);
    const doneBefore = await analysed();
    const killedAt = Date.now();
    process.kill(victim!.pid, 'SIGKILL');
    console.log(`killed frame worker ${victim!.pid} holding ${victim!.jobs.length} active jobs, ${doneBefore}/${SAMPLES} samples analysed`);

    // the dead worker's jobs are back and done within seconds (10 s locks, a 5 s stalled check; BullMQ's defaults
    // of 30 s and 30 s would take up to a minute)
    await waitFor(async () => {
      for (const j of victim!.jobs) if ((await env.ctx.queues.frames.getJob(j.id!))?.finishedOn === undefined) return false;
      return true;
    }, 'the dead worker\'s jobs done again', 60_000, 250);
    const victimJobsMs = Date.now() - killedAt;
    console.log(`the ${victim!.jobs.length} jobs the dead worker held were done again ${victimJobsMs} ms after the kill`);
    expect(victimJobsMs).toBeLessThan(25_000);
    await waitFor(async () => (await analysed()) === SAMPLES, 'every sample analysed', 90_000, 250);
    const recoveredMs = Date.now() - killedAt;
    console.log(`every sample analysed ${recoveredMs} ms after the kill; frame worker restarts: ${pool.restarts}`);
    expect(pool.restarts).toBeGreaterThanOrEqual(1);
    expect(pool.pids).not.toContain(victim!.pid);
    await waitFor(async () => Object.values(await env.ctx.queues.depth()).every((n) => n === 0), 'the queues drained', 30_000);

    // the jobs the dead worker held were taken again (stalled and re-delivered), not lost and not failed; one it
    // finished in the moment between being seen active and the kill counts once, as it should
    let redelivered = 0;
    for (const j of victim!.jobs) {
      const again = await env.ctx.queues.frames.getJob(j.id!);
      expect(again, `job ${j.id}`).toBeTruthy();
      expect(await again!.getState()).toBe('completed');
      if (again!.finishedOn !== undefined && again!.finishedOn <= killedAt) continue;
      expect(again!.stalledCounter + again!.attemptsStarted).toBeGreaterThanOrEqual(2);
      redelivered++;
    }
    expect(redelivered).toBeGreaterThanOrEqual(1);
    expect((await env.ctx.queues.frames.getJobCounts('failed')).failed).toBe(0);

    const q = env.ctx.database.sql;
    // one set of nsfw signals per sample: the five classes, once each
    const perSample = await q`select sample_id, count(*)::int as n, count(distinct label)::int as labels from signals
      where broadcast_id = ${broadcastId} and analyzer = 'nsfw' group by sample_id`;
    expect(perSample).toHaveLength(SAMPLES);
    expect(perSample.every((r) => r.n === 5 && r.labels === 5)).toBe(true);
    const faceDup = await q`select sample_id, label, count(*)::int as n from signals where broadcast_id = ${broadcastId} and analyzer <> 'nsfw'
      group by sample_id, analyzer, label having count(*) > 1`;
    expect(faceDup).toEqual([]);
    // one case per rule for the broadcast, each sample's evidence once, each rule's decision audited once per sample
    const cases = await q`select reason, count(*)::int as n from cases where broadcast_id = ${broadcastId} group by reason`;
    expect(cases.length).toBeGreaterThan(0);
    expect(cases.every((c) => c.n === 1)).toBe(true);
    const evidenceDup = await q`select case_id, sample_id from case_evidence e join cases c on c.id = e.case_id
      where c.broadcast_id = ${broadcastId} group by case_id, sample_id having count(*) > 1`;
    expect(evidenceDup).toEqual([]);
    const actionDup = await q`select details->>'sampleId' as sample, rule_id, action, count(*)::int as n from actions
      where broadcast_id = ${broadcastId} and details ? 'sampleId' group by 1, 2, 3 having count(*) > 1`;
    expect(actionDup).toEqual([]);
    const reviewed = await q`select count(distinct details->>'sampleId')::int as n from actions where broadcast_id = ${broadcastId} and rule_id = 'any-frame'`;
    expect(reviewed[0]!.n).toBe(SAMPLES);
  }, 150_000);
});
