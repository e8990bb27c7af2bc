/**
 * Chat fan-out: p50/p99 from a viewer's send to receipt by each of 1,000 viewers connected over loopback
 * WebSockets (the whole path: frame checks, Redis gate, text analysis, the message stored in Postgres,
 * Redis pub/sub, fan-out). Runs on a throw-away database and Redis prefix. Runnable alone: npx tsx bench/chat.ts
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sql } from 'drizzle-orm';
import WebSocket from 'ws';
import { openBroadcast, schema } from '../db/index.ts';
import { startWarden } from '../bin/runtime.ts';
import { seedPerformer, seedSession } from '../bin/seed.ts';
import { createTestEnv } from '../tests/harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ChatBenchResult { viewers: number; messages: number; receipts: number; p50Ms: number; p99Ms: number; maxMs: number }

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Connects `viewers` readers and one sender, sends `messages` clean messages `gapMs` apart, measures receipt. */
export async function benchChat(opts: { viewers?: number; messages?: number; gapMs?: number; print?: (l: string) => void } = {}): Promise<ChatBenchResult> {
  const viewers = opts.viewers ?? 1000;
  const messages = opts.messages ?? 100;
  const print = opts.print ?? console.log;
  const env = await createTestEnv();
  // the bench measures fan-out, not the sender's rate limit: lift it in a copy of the default policy
  const policyFile = path.join(env.config.dataDir, 'bench-policy.yaml');
  await writeFile(policyFile, (await readFile(path.join(root, 'rules/policy.yaml'), 'utf8')).replace('burst: { count: 5, per: 10s }', 'burst: { count: 100000, per: 10s }').replace('sustained: { count: 30, per: 5m }', 'sustained: { count: 100000, per: 5m }').replace('duplicate_within: 30s', 'duplicate_within: 0s'));
  env.config.policyFile = policyFile; // the context reads its config object: reload picks the copy up
  await env.ctx.reloadPolicy();
  const warden = await startWarden(env.ctx, { api: true });
  const sockets: WebSocket[] = [];
  try {
    const p = await seedPerformer(env.ctx.db, 'bench-performer', { verified: true });
    const [key] = await env.ctx.db.select().from(schema.streamKeys).where(sql`user_id = ${p.userId}`);
    const { id: broadcastId } = await openBroadcast(env.ctx.db, { userId: p.userId, streamKeyId: key!.id, ingestNode: 'bench' });
    const url = `${warden.httpUrl!.replace('http', 'ws')}/chat/${broadcastId}`;
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    for (let i = 0; i < viewers; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, viewers - i) }, () => new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.on('message', (d) => {
          const m = JSON.parse(d.toString()) as { type: string; text?: string };
          if (m.type === 'message' && m.text) {
            const t0 = sentAt.get(m.text);
            if (t0 !== undefined) latencies.push(performance.now() - t0);
          }
        });
        ws.once('open', () => resolve());
        ws.once('error', reject);
        sockets.push(ws);
      })));
    }
    print(`chat  ${viewers} viewers connected to one node`);
    const s = await seedSession(env.ctx.db, 'bench-sender');
    const sender = new WebSocket(url, { headers: { cookie: `warden_session=${s.token}` } });
    sockets.push(sender);
    await new Promise((r) => sender.once('open', r));
    for (let i = 0; i < messages; i++) {
      const text = `benchmark message number ${i} about the stream`;
      sentAt.set(text, performance.now());
      sender.send(JSON.stringify({ type: 'message', text }));
      await new Promise((r) => setTimeout(r, opts.gapMs ?? 20));
    }
    const deadline = Date.now() + 15_000;
    while (latencies.length < viewers * messages && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    latencies.sort((a, b) => a - b);
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
