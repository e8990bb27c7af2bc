/**
 * Ban-to-disconnect across nodes: node A is this process (the API a moderator uses), node B a separate
 * `warden serve` process (api + ingest + analyzer, as deployed) holding the performer's live RTMP publish, both on
 * one throw-away Postgres database and Redis prefix, as tests/e2e/ban-nodes.e2e.test.ts runs them. Each round a
 * fresh verified performer publishes the demo clip to node B, a moderator bans them on node A
 * (`POST /api/users/:id/ban`), and the time from sending the decision to the publisher's ffmpeg exiting (its RTMP
 * connection closed by node B) is measured. A permanent ban revokes the performer's keys, so every round has its
 * own performer. Run alone with `npx tsx bench/gates-ban.ts [rounds]`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { getBroadcast, listBroadcasts } from '../db/index.ts';
import { startWarden, type WardenHandle } from '../bin/runtime.ts';
import { seedPerformer, seedSession } from '../bin/seed.ts';
import { publishRtmp, type RtmpPublisher } from '../bin/demo-media.ts';
import { createTestEnv, freePort, waitFor, type TestEnv } from '../tests/harness.ts';
import { demoClip, formatLatency, isMain, latency, root, type Latency } from './gates-common.ts';

/** Result of {@link benchBanAcrossNodes}. Latencies in milliseconds. */
export interface BanBench {
  /** Ban sent on node A → the publisher's ffmpeg exited (node B closed the RTMP connection). */
  disconnectMs: Latency;
  /** Ban sent on node A → node A's 200 response (the ban is recorded and published by then). */
  responseMs: Latency;
  rounds: number;
  /** Rounds whose publisher was still connected 3 s after the ban (should be 0). */
  notDisconnected: number;
  seconds: number;
  targetP99Ms: number;
}

/** Options of {@link benchBanAcrossNodes}. */
export interface BanBenchOptions {
  /** Ban rounds, one performer each (default 15). */
  rounds?: number;
  /** Milliseconds the publish runs on node B before the ban (default 1000). */
  liveMs?: number;
  print?: (line: string) => void;
}

const TARGET_P99_MS = 1000;

/** Node B: `bin/warden serve` as its own process, on node A's database and Redis prefix. */
async function startNodeB(env: TestEnv): Promise<{ httpUrl: string; rtmpPort: number; child: ChildProcess; stderr: () => string }> {
  const [httpPort, rtmpPort] = [await freePort(), await freePort()];
  const child = spawn(path.join(root, 'bin/warden'), ['serve'], {
    env: {
      PATH: process.env.PATH!, HOME: process.env.HOME!, DATABASE_URL: env.config.databaseUrl, REDIS_URL: env.config.redisUrl,
      REDIS_PREFIX: env.config.redisPrefix, HTTP_PORT: String(httpPort), RTMP_PORT: String(rtmpPort), RTMP_HOST: '127.0.0.1',
      DATA_DIR: path.join(env.config.dataDir, 'node-b'), NODE_ID: `bench-node-b-${randomBytes(3).toString('hex')}`,
      // one analyzer process beside the node (as deployed, the model never runs on the node's event loop); no transcription
      WORKER_PROCESSES: '1', AUDIO_CONCURRENCY: '0', LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err = (err + s).slice(-4000); });
  return { httpUrl: `http://127.0.0.1:${httpPort}`, rtmpPort, child, stderr: () => err };
}

/** SIGTERM, then SIGKILL after `ms`; resolves when the child has exited. */
async function stopChild(child: ChildProcess, ms = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(t);
}

/**
 * Measures ban-to-disconnect across two Warden processes over `rounds` performers (about 3 s per round plus
 * node B's start). Node B, the publishers, the database, the Redis keys and the data directory are removed
 * afterwards, also on failure.
 * @throws Error when node B does not start, a publish does not go live on node B, or a ban is refused.
 */
export async function benchBanAcrossNodes(opts: BanBenchOptions = {}): Promise<BanBench> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const rounds = opts.rounds ?? 15;
  const started = performance.now();
  let env: TestEnv | undefined;
  let nodeA: WardenHandle | undefined;
  let nodeB: Awaited<ReturnType<typeof startNodeB>> | undefined;
  let pub: RtmpPublisher | undefined;
  try {
    env = await createTestEnv();
    nodeB = await startNodeB(env);
    const b = nodeB;
    const [a, clip] = await Promise.all([startWarden(env.ctx, { api: true }), demoClip(16)]);
    nodeA = a;
    await waitFor(async () => {
      if (b.child.exitCode !== null) throw new Error(`node B exited with ${b.child.exitCode}: ${b.stderr()}`);
      return (await fetch(`${b.httpUrl}/readyz`).catch(() => null))?.ok;
    }, 'node B ready', 90_000, 250);
    const { db } = env.ctx;
    const tag = randomBytes(3).toString('hex');
    const moderator = await seedSession(db, `bench-ban-moderator-${tag}`, 'moderator');

    const cut: number[] = [];
    const response: number[] = [];
    let notDisconnected = 0;
    for (let i = 0; i < rounds; i++) {
      const performer = await seedPerformer(db, `bench-ban-${tag}-${i}`, { verified: true });
      pub = publishRtmp(clip, `rtmp://127.0.0.1:${b.rtmpPort}/live/${performer.streamKey}`, { loop: true });
      const p = pub;
      let ended: string | null = null;
      void p.exited.then((x) => { ended = x.stderr || `code ${x.code}`; });
      const live = await waitFor(async () => {
        if (ended !== null) throw new Error(`publish to node B ended before going live: ${ended}`);
        return (await listBroadcasts(db, { status: 'live', userId: performer.userId, page: 1, perPage: 1 })).rows[0];
      }, 'the broadcast live on node B', 20_000, 50).catch((err) => { throw new Error(`${String(err)}; node B: ${b.stderr()}`); });
      if (i === 0) {
        const row = await getBroadcast(db, live.id);
        if (!row?.ingestNode.startsWith('bench-node-b-')) throw new Error(`broadcast is on ${row?.ingestNode}, not node B`);
      }
      await new Promise((r) => setTimeout(r, opts.liveMs ?? 1000));

      const sent = performance.now();
      const exited = p.exited.then(() => performance.now());
      const res = await fetch(`${nodeA.httpUrl}/api/users/${performer.userId}/ban`, {
        method: 'POST', headers: { authorization: `Bearer ${moderator.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reasonCode: 'sexual_content', note: `bench round ${i}` }),
      });
      const responded = performance.now();
      if (res.status !== 200) throw new Error(`ban refused: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      const at = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
      response.push(responded - sent);
      if (at === null) notDisconnected++; else cut.push(at - sent);
      await p.stop();
      pub = undefined;
    }
    const disconnectMs = latency(cut);
    const responseMs = latency(response);
    print(`ban     ban on node A → publisher disconnected from node B: ${formatLatency(disconnectMs)}  [target p99 < ${TARGET_P99_MS} ms: ${disconnectMs.p99 < TARGET_P99_MS && notDisconnected === 0 ? 'met' : 'MISSED'}]${notDisconnected ? `, ${notDisconnected} still connected after 3 s` : ''}`);
    print(`ban     ban request → node A's response: ${formatLatency(responseMs)}`);
    return { disconnectMs, responseMs, rounds, notDisconnected, seconds: Math.round((performance.now() - started) / 1000), targetP99Ms: TARGET_P99_MS };
  } finally {
    await pub?.stop();
    if (nodeB) await stopChild(nodeB.child);
    await nodeA?.stop().catch(() => {});
    await env?.cleanup().catch((err) => console.error(`ban bench cleanup: ${String(err)}`));
  }
}

if (isMain(import.meta.url)) {
  const rounds = process.argv[2] ? Number(process.argv[2]) : undefined;
  benchBanAcrossNodes({ rounds }).then((r) => console.log(JSON.stringify(r)), (e: unknown) => { console.error(e); process.exitCode = 1; });
}
