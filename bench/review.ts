/**
 * Review benchmark: the cost of the hash-chained audit log (appends per second, serial and from concurrent
 * transactions, against plain inserts into the same table without the chain), the queue listing's latency with
 * thousands of cases, and a decision's latency (resolve + audit + ban + statement + strike), on a throw-away
 * database.
 */
import { performance } from 'node:perf_hooks';
import { createApi } from '../api/index.ts';
import { appendAction, openOrJoinCase, schema } from '../db/index.ts';
import { seedSession } from '../bin/seed.ts';
import { createTestEnv } from '../tests/harness.ts';
import { seedBroadcast } from '../tests/review-fixtures.ts';

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

export interface ReviewBench {
  auditAppendsPerS: { serial: number; concurrent8: number; plainInsertSerial: number; chainCostRatio: number };
  queueListMs: { cases: number; p50: number; p99: number };
  decisionMs: { p50: number; p99: number; n: number };
}

export async function benchReview(opts: { appends?: number; cases?: number; decisions?: number } = {}): Promise<ReviewBench> {
  const env = await createTestEnv();
  try {
    const { db } = env.ctx;
    const n = opts.appends ?? 500;
    const entry = (i: number) => ({ action: 'bench', actorType: 'system' as const, actorId: 'bench', subjectType: 'thing', subjectId: `t${i}`, details: { i, note: 'x'.repeat(80) } });

    let t = performance.now();
    for (let i = 0; i < n; i++) await appendAction(db, entry(i));
    const serial = n / ((performance.now() - t) / 1000);
    t = performance.now();
    await Promise.all(Array.from({ length: 8 }, async (_, w) => { for (let i = 0; i < n / 8; i++) await appendAction(db, entry(w * 1000 + i)); }));
    const concurrent8 = n / ((performance.now() - t) / 1000);
    t = performance.now();
    for (let i = 0; i < n; i++) await db.insert(schema.actions).values(entry(i));
    const plain = n / ((performance.now() - t) / 1000);
    console.log(`audit log: ${serial.toFixed(0)} chained appends/s serial, ${concurrent8.toFixed(0)}/s from 8 concurrent writers; plain inserts ${plain.toFixed(0)}/s (chain costs ${(plain / serial).toFixed(2)}x)`);

    const casesN = opts.cases ?? 3000;
    const b = await seedBroadcast(db, env.config.dataDir, 'bench-performer');
    const priorities = ['critical', 'urgent', 'high', 'normal', 'low'] as const;
    for (let i = 0; i < casesN; i++) {
      await openOrJoinCase(db, { subjectType: 'broadcast', subjectId: `bench-${i}`, broadcastId: b.broadcastId, userId: b.userId, reasonType: 'rule', reason: `bench.${i % 7}`, priority: priorities[i % 5]!, slaDueAt: new Date(Date.now() + (i % 97) * 60_000) });
    }
    const mod = await seedSession(db, 'bench-moderator', 'moderator');
    const app = createApi({ ctx: env.ctx });
    const get = async (url: string) => {
      const s = performance.now();
      const r = await app.request(`http://localhost${url}`, { headers: { authorization: `Bearer ${mod.token}` } });
      await r.arrayBuffer();
      return performance.now() - s;
    };
    for (let i = 0; i < 5; i++) await get('/api/cases');
    const list: number[] = [];
    for (let i = 0; i < 50; i++) list.push(await get('/api/cases?perPage=25'));
    console.log(`queue: GET /api/cases over ${casesN} open cases p50 ${pct(list, 0.5).toFixed(1)} ms, p99 ${pct(list, 0.99).toFixed(1)} ms`);

    const decisions: number[] = [];
    const m = opts.decisions ?? 50;
    const ids = (await env.ctx.database.sql`select id from cases where status = 'open' limit ${m}`).map((r) => r.id as string);
    for (const id of ids) {
      const s = performance.now();
      const r = await app.request(`http://localhost/api/cases/${id}/decision`, {
        method: 'POST', headers: { authorization: `Bearer ${mod.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'warn', reasonCode: 'spam' }),
      });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`decision failed: ${r.status}`);
      decisions.push(performance.now() - s);
    }
    console.log(`decision: resolve + audit + statement + strike + notifications p50 ${pct(decisions, 0.5).toFixed(1)} ms, p99 ${pct(decisions, 0.99).toFixed(1)} ms (${decisions.length} decisions)`);
    return {
      auditAppendsPerS: { serial: Math.round(serial), concurrent8: Math.round(concurrent8), plainInsertSerial: Math.round(plain), chainCostRatio: Math.round((plain / serial) * 100) / 100 },
      queueListMs: { cases: casesN, p50: Math.round(pct(list, 0.5) * 10) / 10, p99: Math.round(pct(list, 0.99) * 10) / 10 },
      decisionMs: { p50: Math.round(pct(decisions, 0.5) * 10) / 10, p99: Math.round(pct(decisions, 0.99) * 10) / 10, n: decisions.length },
    };
  } finally {
    await env.cleanup();
  }
}
