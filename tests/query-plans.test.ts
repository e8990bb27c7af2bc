/**
 * The queries every sample, every chat message and every sampling tick run stay index lookups when the tables are
 * the size a platform's are after weeks of streams: on a database seeded with 200,000 samples, 130,000 signals,
 * 200,000 chat messages, 100,000 audit entries and 40,000 pieces of case evidence (and ANALYZEd), each query the real functions send (captured with
 * their parameters through postgres.js's debug hook) is EXPLAINed, and no plan reads a whole large table (an EXPLAIN of
 * a DELETE runs nothing).
 *
 * Found this way: the duplicates of an analysed frame (now read by `samplesToReevaluate`, once per analysed frame) and a user's recent chat
 * messages (`userMessagesSince`, once per flagged or blocked message) had no index and scanned the largest tables.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import {
  chatContext, deleteExpiredChatMessages, deleteSamples, getSample, getSampleForEvaluation, highScoresSince, insertChatMessage, insertSample, lockExpiredSamples, markSampleSkipped, openCasePriorities,
  recordSignals, ruleFirings, sampleTimeline, samplesToReevaluate, schema, userMessagesSince,
} from '../db/index.ts';
import { createTestEnv, type TestEnv } from './harness.ts';

/** Tables that grow with every stream and message: a sequential scan of one of them on a hot path is the defect. */
const LARGE = ['samples', 'signals', 'chat_messages', 'actions', 'case_evidence'];

/**
 * A scan of a large table costing more than this (the planner's units) reads a large part of it, whatever its node
 * type: a sequential scan of the seeded tables costs 4,000–6,000, and so does a full index scan on an index whose
 * leading column the query does not constrain (what the planner picks instead of a sequential scan for an `order by`);
 * the hot-path lookups here cost under 300.
 */
const MAX_SCAN_COST = 1000;

interface PlanNode { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; 'Total Cost': number; Plans?: PlanNode[] }

/**
 * Every node of a plan tree: type, relation, index and cost. Under a Limit a node's cost is at most the Limit's: a scan
 * stopped after a few rows (`max(id)` reads one index entry) costs what the Limit says, not the whole scan.
 */
function nodesOf(plan: PlanNode, cap = Number.POSITIVE_INFINITY): { type: string; relation?: string; index?: string; cost: number }[] {
  const cost = Math.min(plan['Total Cost'], cap);
  const below = plan['Node Type'] === 'Limit' ? cost : cap;
  return [{ type: plan['Node Type'], relation: plan['Relation Name'], index: plan['Index Name'], cost }, ...(plan.Plans ?? []).flatMap((p) => nodesOf(p, below))];
}

let env: TestEnv;
let captured: { query: string; params: unknown[] }[] = [];
let client: postgres.Sql;
let db: ReturnType<typeof drizzle<typeof schema>>;
const ids: { broadcast: string; sample: string; viewer: string; performer: string; live: string[] } = { broadcast: '', sample: '', viewer: '', performer: '', live: [] };

beforeAll(async () => {
  env = await createTestEnv();
  const s = env.ctx.database.sql;
  // 50 performers with a key each, 2,000 viewers; 500 broadcasts (10 per performer) of 400 frames each, every third a
  // duplicate of the one before; one signal per analysed frame; 100 chat messages per viewer; 200 audit entries per broadcast
  await s.unsafe(`
    insert into users (handle, role) select 'perf-' || g, 'performer' from generate_series(1, 50) g;
    insert into users (handle, role) select 'viewer-' || g, 'viewer' from generate_series(1, 2000) g;
    insert into stream_keys (user_id, key_hash, key_prefix) select id, 'hash-' || handle, 'pfx' from users where role = 'performer';
    insert into broadcasts (user_id, stream_key_id, ingest_node, status, started_at, ended_at)
      select k.user_id, k.id, 'node-a', 'ended', now() - (g || ' hours')::interval, now() - (g || ' hours')::interval + interval '40 minutes'
      from stream_keys k, generate_series(1, 10) g;
    insert into samples (broadcast_id, kind, seq, captured_at, file_path, status, analysed_at)
      select b.id, 'frame', g, b.started_at + (g * 2 || ' seconds')::interval, 'samples/x.jpg',
        case when g % 3 = 0 then 'duplicate' else 'analysed' end, b.started_at + (g * 2 + 1 || ' seconds')::interval
      from broadcasts b, generate_series(1, 400) g;
    update samples d set duplicate_of = o.id from samples o
      where d.status = 'duplicate' and o.broadcast_id = d.broadcast_id and o.kind = d.kind and o.seq = d.seq - 1;
    insert into signals (sample_id, broadcast_id, analyzer, label, score, model, model_version, backend)
      select id, broadcast_id, 'nsfw', 'porn', 0.01, 'nsfwjs', '1', 'onnxruntime' from samples where status = 'analysed';
    insert into chat_messages (broadcast_id, user_id, body, verdict, created_at)
      select b.id, u.id, 'hello ' || g, 'allow', now() - (g || ' minutes')::interval
      from (select id, row_number() over (order by id) as n from users where role = 'viewer') u
      cross join generate_series(1, 100) g
      join (select id, row_number() over (order by id) - 1 as n from broadcasts) b on b.n = (u.n + g) % 500;
    insert into actions (action, actor_type, actor_id, subject_type, subject_id, broadcast_id, user_id, rule_id, details)
      select 'flag_for_review', 'rule', 'r', 'broadcast', b.id::text, b.id, b.user_id, 'rule-' || (g % 5),
        jsonb_build_object('capturedAt', to_char(b.started_at + (g || ' seconds')::interval, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
      from broadcasts b, generate_series(1, 200) g;
    insert into cases (subject_type, subject_id, broadcast_id, user_id, reason_type, reason, priority, status, sla_due_at, resolved_at)
      select 'broadcast', b.id::text, b.id, b.user_id, 'rule', 'rule-' || g, 'normal', 'resolved', now(), now() - interval '1 day'
      from broadcasts b, generate_series(1, 2) g;
    insert into case_evidence (case_id, sample_id)
      select c.id, s.id from cases c join samples s on s.broadcast_id = c.broadcast_id and s.seq % 5 = 0;
    analyze;
  `);
  const [b] = await s`select b.id, b.user_id from broadcasts b order by b.started_at desc limit 1`;
  ids.broadcast = b!.id as string;
  ids.performer = b!.user_id as string;
  ids.sample = (await s`select id from samples where broadcast_id = ${ids.broadcast} and seq = 200`)[0]!.id as string;
  ids.viewer = (await s`select id from users where handle = 'viewer-7'`)[0]!.id as string;
  ids.live = (await s`select id from broadcasts order by started_at desc limit 20`).map((r) => r.id as string);
  client = postgres(env.config.databaseUrl, { max: 1, onnotice: () => {}, debug: (_conn, query, params) => { captured.push({ query, params: params as unknown[] }); } });
  db = drizzle(client, { schema });
}, 180_000);

afterAll(async () => {
  await client?.end({ timeout: 1 });
  await env?.cleanup();
});

/** Runs `call`, then EXPLAINs every statement it sent; returns the scans of large tables that read them whole. */
async function wholeTableScans(call: () => Promise<unknown>): Promise<{ query: string; scans: string[] }[]> {
  captured = [];
  await call();
  const sent = captured.filter((c) => !/^\s*(begin|commit|rollback|savepoint|release)/i.test(c.query));
  expect(sent.length).toBeGreaterThan(0);
  const out: { query: string; scans: string[] }[] = [];
  for (const c of sent) {
    const [row] = await env.ctx.database.sql.unsafe(`explain (format json) ${c.query}`, c.params as never[]);
    const plan = (row!['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan;
    const scans = nodesOf(plan)
      .filter((n) => n.relation && LARGE.includes(n.relation) && (n.type === 'Seq Scan' || n.cost > MAX_SCAN_COST))
      .map((n) => `${n.type} on ${n.relation}${n.index ? ` using ${n.index}` : ''} (cost ${Math.round(n.cost)})`);
    if (process.env.QUERY_PLANS_VERBOSE) console.log(nodesOf(plan).filter((n) => n.relation).map((n) => `${n.type} ${n.relation} ${n.index ?? ''} ${n.cost}`).join('; '));
    if (scans.length) out.push({ query: c.query, scans });
  }
  return out;
}

describe('hot-path queries on tables of production size', () => {
  it('per analysed frame: reading it, its signals, the timeline, later samples and its duplicates', async () => {
    const sample = (await getSample(env.ctx.db, ids.sample))!;
    expect(await wholeTableScans(() => getSample(db, ids.sample))).toEqual([]);
    expect(await wholeTableScans(() => getSampleForEvaluation(db, ids.sample))).toEqual([]);
    expect(await wholeTableScans(() => sampleTimeline(db, ids.broadcast, 'frame', 180, 200))).toEqual([]);
    expect(await wholeTableScans(() => samplesToReevaluate(db, { ...sample, seq: 200 }, 20))).toEqual([]);
    expect(await wholeTableScans(() => recordSignals(db, sample, [{ analyzer: 'nsfw', label: 'hentai', score: 0.2, model: 'nsfwjs', modelVersion: '1', backend: 'onnxruntime' }]))).toEqual([]);
    expect(await wholeTableScans(() => ruleFirings(db, ids.broadcast, new Date(Date.now() - 3600_000)))).toEqual([]);
  });

  it('finds the duplicates of a frame through the index, and they are the right ones, with the later settled samples', async () => {
    const original = (await getSample(env.ctx.db, (await env.ctx.database.sql`select id from samples where broadcast_id = ${ids.broadcast} and seq = 2`)[0]!.id as string))!;
    expect(await wholeTableScans(() => samplesToReevaluate(db, original, 0))).toEqual([]);
    const dups = await samplesToReevaluate(env.ctx.db, original, 0);
    const [seq3] = await env.ctx.database.sql`select id from samples where broadcast_id = ${ids.broadcast} and seq = 3`;
    expect(dups).toEqual([seq3!.id]);
    // and the settled samples after it (seq 3..6 here), in seq order, its duplicate (seq 3) once
    const later = await samplesToReevaluate(env.ctx.db, original, 4);
    const seqs = await env.ctx.database.sql`select id from samples where broadcast_id = ${ids.broadcast} and seq between 3 and 6 order by seq`;
    expect(later).toEqual(seqs.map((r) => r.id));
  });

  it('per sample taken: its row, and a skipped one marked', async () => {
    expect(await wholeTableScans(() => insertSample(db, { broadcastId: ids.broadcast, kind: 'frame', seq: 401, capturedAt: new Date(), filePath: '', status: 'skipped', error: 'test' }))).toEqual([]);
    const queued = await insertSample(env.ctx.db, { broadcastId: ids.broadcast, kind: 'audio', seq: 1, capturedAt: new Date(), filePath: 'samples/a.wav' });
    expect(await wholeTableScans(() => markSampleSkipped(db, queued.id, 'stale'))).toEqual([]);
  });

  it('per chat message: storing it, the context of a held one and the sender\'s recent messages', async () => {
    expect(await wholeTableScans(() => insertChatMessage(db, { broadcastId: ids.broadcast, userId: ids.viewer, body: 'hi', verdict: 'allow' }))).toEqual([]);
    expect(await wholeTableScans(() => chatContext(db, ids.broadcast, new Date()))).toEqual([]);
    expect(await wholeTableScans(() => userMessagesSince(db, ids.viewer, new Date(Date.now() - 3600_000)))).toEqual([]);
    expect((await userMessagesSince(env.ctx.db, ids.viewer, new Date(Date.now() - 3600_000))).length).toBeGreaterThan(50);
  });

  it('per retention batch: the oldest samples and chat messages no case needs', async () => {
    const [month, year] = [new Date(Date.now() - 30 * 86_400_000), new Date(Date.now() - 365 * 86_400_000)];
    expect(await wholeTableScans(() => db.transaction((tx) => lockExpiredSamples(tx, month, year, 1000)))).toEqual([]);
    expect(await wholeTableScans(() => db.transaction((tx) => deleteExpiredChatMessages(tx, month, year, 1000)))).toEqual([]);
    // deleting a batch (rolled back: its statements are what is checked); 100 ids against these tables stand for the
    // sweep's 1,000 against a platform's, where a batch is a far smaller part of each table
    const batch = (await env.ctx.database.sql`select id from samples order by captured_at limit 100`).map((r) => r.id as string);
    expect(await wholeTableScans(() => db.transaction(async (tx) => {
      await deleteSamples(tx, batch);
      tx.rollback();
    }).catch((err: Error) => { if (!/rollback/i.test(err.message)) throw err; }))).toEqual([]);
    expect((await env.ctx.database.sql`select count(*)::int as n from samples where id in ${env.ctx.database.sql(batch)}`)[0]!.n).toBe(100);
  });

  it('per sampling tick: open cases of the live performers and new high scores of the live broadcasts', async () => {
    expect(await wholeTableScans(() => openCasePriorities(db, [ids.performer]))).toEqual([]);
    const [top] = await env.ctx.database.sql`select max(id)::bigint as m from signals`;
    expect(await wholeTableScans(() => highScoresSince(db, ids.live, Number(top!.m) - 1000, [{ analyzer: 'nsfw', label: 'porn', minScore: 0.8 }]))).toEqual([]);
  });
});
