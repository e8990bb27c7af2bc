/**
 * Chat fan-out: p50/p99 from a viewer's send to receipt by each of 1,000 viewers connected over loopback
 * WebSockets (the whole path: frame checks, the gate, text analysis, the message stored in Postgres,
 * Redis pub/sub, fan-out). Runs on a throw-away database and Redis prefix. Runnable alone: npx tsx bench/chat.ts
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sql } from 'drizzle-orm';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import WebSocket from 'ws';
import { openBroadcast, schema } from '../db/index.ts';
import { startWarden } from '../bin/runtime.ts';
import { seedPerformer, seedSession } from '../bin/seed.ts';
import { createTestEnv } from '../tests/harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/**
 * The viewers' thread: connects `viewers` sockets, each signed in as its own attested adult viewer (joining a
 * room needs one), and stamps every chat message's arrival.
 */
const VIEWERS_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const WebSocket = require(workerData.wsPath);
const received = [];
const sockets = [];
(async () => {
  for (let i = 0; i < workerData.viewers; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, workerData.viewers - i) }, (_, j) => new Promise((resolve, reject) => {
      const ws = new WebSocket(workerData.url, { headers: { cookie: 'warden_session=' + workerData.tokens[i + j] } });
      ws.on('message', (d) => {
        const at = performance.timeOrigin + performance.now();
        const m = JSON.parse(d.toString());
        if (m.type === 'message') received.push([m.text, at]);
      });
      ws.once('open', resolve);
      ws.once('error', reject);
      sockets.push(ws);
    })));
  }
  parentPort.postMessage('connected');
  parentPort.on('message', () => { parentPort.postMessage(received); for (const ws of sockets) ws.terminate(); });
})();
`;

export interface ChatBenchResult { viewers: number; messages: number; receipts: number; p50Ms: number; p99Ms: number; maxMs: number }

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/**
 * Connects `viewers` readers (in a worker thread) and one sender, sends `messages` clean messages `gapMs`
 * apart (default 100 ms: ten a second, a busy room), and measures send-to-receipt for every viewer.
 */
export async function benchChat(opts: { viewers?: number; messages?: number; gapMs?: number; print?: (l: string) => void } = {}): Promise<ChatBenchResult> {
  const viewers = opts.viewers ?? 1000;
  const messages = opts.messages ?? 200;
  const print = opts.print ?? console.log;
  const env = await createTestEnv();
  // the bench measures fan-out, not the sender's rate limit: lift it in a copy of the default policy
  const policyFile = path.join(env.config.dataDir, 'bench-policy.yaml');
  await writeFile(policyFile, (await readFile(path.join(root, 'rules/policy.yaml'), 'utf8')).replace('burst: { count: 5, per: 10s }', 'burst: { count: 100000, per: 10s }').replace('sustained: { count: 30, per: 5m }', 'sustained: { count: 100000, per: 5m }').replace('duplicate_within: 30s', 'duplicate_within: 0s'));
  env.config.policyFile = policyFile; // the context reads its config object: reload picks the copy up
  await env.ctx.reloadPolicy();
  const warden = await startWarden(env.ctx, { api: true });
  const sockets: WebSocket[] = []; // the sender
  try {
    const p = await seedPerformer(env.ctx.db, 'bench-performer', { verified: true });
    const [key] = await env.ctx.db.select().from(schema.streamKeys).where(sql`user_id = ${p.userId}`);
    const { id: broadcastId } = await openBroadcast(env.ctx.db, { userId: p.userId, streamKeyId: key!.id, ingestNode: 'bench' });
    const url = `${warden.httpUrl!.replace('http', 'ws')}/chat/${broadcastId}`;
    // the viewers run in a worker thread: their event loop is not the server's (on this 2-core machine,
    // one core serves, the other reads), and both sides stamp times on the same absolute clock
    const tokens: string[] = [];
    for (let i = 0; i < viewers; i += 50) {
      tokens.push(...(await Promise.all(Array.from({ length: Math.min(50, viewers - i) }, (_, j) => seedSession(env.ctx.db, `bench-viewer-${i + j}`)))).map((v) => v.token));
    }
    const viewersThread = new Worker(VIEWERS_SOURCE, { eval: true, workerData: { url, viewers, tokens, wsPath: require.resolve('ws') } });
    await new Promise<void>((resolve, reject) => { viewersThread.once('message', () => resolve()); viewersThread.once('error', reject); });
    print(`chat  ${viewers} viewers connected to one node`);
    const s = await seedSession(env.ctx.db, 'bench-sender');
    const sender = new WebSocket(url, { headers: { cookie: `warden_session=${s.token}` } });
    sockets.push(sender);
    await new Promise((r) => sender.once('open', r));
    // warm up (first regex compilation, connection pools) before measuring steady state
    for (let i = 0; i < 10; i++) {
      sender.send(JSON.stringify({ type: 'message', text: `warm-up message ${i}` }));
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 500));
    const sentAt = new Map<string, number>();
    for (let i = 0; i < messages; i++) {
      const text = `benchmark message number ${i} about the stream`;
      sentAt.set(text, performance.timeOrigin + performance.now());
      sender.send(JSON.stringify({ type: 'message', text }));
      await new Promise((r) => setTimeout(r, opts.gapMs ?? 100));
    }
    await new Promise((r) => setTimeout(r, 2000));
    viewersThread.postMessage('report');
    const received = await new Promise<[string, number][]>((resolve) => viewersThread.once('message', resolve));
    await viewersThread.terminate();
    const latencies = received.map(([text, at]) => at - (sentAt.get(text) ?? Number.NaN)).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    const r: ChatBenchResult = { viewers, messages, receipts: latencies.length, p50Ms: round(pct(latencies, 50)), p99Ms: round(pct(latencies, 99)), maxMs: round(latencies.at(-1) ?? Number.NaN) };
    print(`chat  fan-out send→receipt over ${r.receipts} receipts: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms (target p99 < 50 ms)`);
    return r;
  } finally {
    for (const ws of sockets) ws.terminate();
    await warden.stop();
    await env.cleanup();
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  benchChat().then((r) => console.log(JSON.stringify(r)), (e: unknown) => { console.error(e); process.exitCode = 1; });
}
