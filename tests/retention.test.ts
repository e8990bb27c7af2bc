/**
 * Retention on the real Postgres and files on disk: samples past SAMPLE_RETENTION_DAYS go (file, row, scores,
 * transcript), chat messages past CHAT_RETENTION_DAYS and sessions ended more than SESSION_RETENTION_DAYS ago, while
 * what a case needs stays (and a kept duplicate keeps its
 * original); the audit log says what went; a file path outside the samples folder is never followed; sweeps on two
 * nodes at once delete each row once.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEvidence, insertChatMessage, insertSample, openBroadcast, openOrJoinCase, recordSignals, upsertUser } from '../db/index.ts';
import { Retention } from '../moderation/index.ts';
import { seedPerformer } from '../bin/seed.ts';
import { createTestEnv, type TestEnv } from './harness.ts';

const DAY = 86_400_000;
let env: TestEnv;
let userId: string;

beforeAll(async () => {
  env = await createTestEnv();
  ({ userId } = await seedPerformer(env.ctx.db, 'retention-performer', { verified: true }));
}, 60_000);

afterAll(async () => {
  await env?.cleanup();
});

async function newBroadcast(): Promise<string> {
  const [k] = await env.ctx.database.sql`select id from stream_keys where user_id = ${userId} limit 1`;
  const b = await openBroadcast(env.ctx.db, { userId, streamKeyId: k!.id as string, ingestNode: 'test' });
  await env.ctx.database.sql`update broadcasts set status = 'ended', ended_at = now() where id = ${b.id}`;
  return b.id;
}

/** A sample captured `daysAgo`, with its file written (unless `file: false`) and one score recorded. */
async function sample(broadcastId: string, seq: number, daysAgo: number, o: { kind?: 'frame' | 'audio'; file?: boolean; filePath?: string; duplicateOf?: string } = {}) {
  const kind = o.kind ?? 'frame';
  const rel = o.filePath ?? (o.file === false ? '' : path.join('samples', broadcastId, `${kind}-${seq}.${kind === 'frame' ? 'jpg' : 'wav'}`));
  if (rel && !o.filePath) {
    await mkdir(path.join(env.config.dataDir, 'samples', broadcastId), { recursive: true });
    await writeFile(path.join(env.config.dataDir, rel), Buffer.from(`sample ${seq}`));
  }
  const capturedAt = new Date(Date.now() - daysAgo * DAY);
  const s = await insertSample(env.ctx.db, { broadcastId, kind, seq, capturedAt, filePath: rel, status: o.duplicateOf ? 'duplicate' : o.file === false ? 'skipped' : 'queued', duplicateOf: o.duplicateOf ?? null });
  if (!o.duplicateOf && o.file !== false) await recordSignals(env.ctx.db, { id: s.id, broadcastId, capturedAt }, [{ analyzer: 'nsfw', label: 'porn', score: 0.9, model: 'nsfwjs', modelVersion: '1', backend: 'onnxruntime' }]);
  return { id: s.id, file: rel ? path.join(env.config.dataDir, rel) : '' };
}

async function caseWith(broadcastId: string, sampleId: string, reason: string, resolvedDaysAgo: number | null): Promise<string> {
  const c = await openOrJoinCase(env.ctx.db, { subjectType: 'broadcast', subjectId: broadcastId, broadcastId, userId, reasonType: 'rule', reason, priority: 'high', slaDueAt: new Date(Date.now() + 3600_000) });
  await addEvidence(env.ctx.db, { caseId: c.id, sampleId, ruleId: reason });
  if (resolvedDaysAgo !== null) await env.ctx.database.sql`update cases set status = 'resolved', resolved_at = ${new Date(Date.now() - resolvedDaysAgo * DAY).toISOString()} where id = ${c.id}`;
  return c.id;
}

const rowExists = async (id: string) => (await env.ctx.database.sql`select 1 from samples where id = ${id}`).length === 1;
const retention = (o: { samplesDays?: number; chatDays?: number; sessionsDays?: number; batch?: number } = {}) => new Retention({
  db: env.ctx.db, dataDir: env.config.dataDir, logger: env.ctx.logger, batch: o.batch,
  retention: { samplesMs: (o.samplesDays ?? 30) * DAY, chatMs: (o.chatDays ?? 0) * DAY, sessionsMs: (o.sessionsDays ?? 0) * DAY, evidenceMs: 365 * DAY },
});

describe('sample retention', () => {
  it('deletes what is past retention with its scores and transcript, keeps what cases still need, and audits it', async () => {
    const b = await newBroadcast();
    const plain = await sample(b, 1, 40);
    const audio = await sample(b, 2, 40, { kind: 'audio' });
    await env.ctx.database.sql`insert into transcripts (sample_id, broadcast_id, engine, engine_version, language, text, words, keywords, findings, decode_ms)
      values (${audio.id}, ${b}, 'pocketsphinx', '5', 'en-us', 'hello', '[]', '[]', '[]', 100)`;
    const openEvidence = await sample(b, 3, 40);
    const original = await sample(b, 4, 40);
    const duplicate = await sample(b, 5, 40, { duplicateOf: original.id });
    const oldEvidence = await sample(b, 6, 40);
    const recent = await sample(b, 7, 10);
    const skipped = await sample(b, 8, 40, { file: false });
    const outside = path.join(env.config.dataDir, 'outside.txt');
    await writeFile(outside, 'not a sample');
    const escaping = await sample(b, 9, 40, { filePath: '../outside.txt' });
    await caseWith(b, openEvidence.id, 'open-case', null);
    await caseWith(b, duplicate.id, 'recently-resolved', 10);
    const oldCase = await caseWith(b, oldEvidence.id, 'long-resolved', 400);
    // a second broadcast whose samples all go: its folder goes too
    const b2 = await newBroadcast();
    const gone = await sample(b2, 1, 31);

    const out = await retention({ batch: 2 }).sweep();
    expect(out).toEqual({ samples: 6, files: 4, chatMessages: 0, sessions: 0, batches: 3 });
    for (const s of [plain, audio, oldEvidence, skipped, escaping, gone]) expect(await rowExists(s.id)).toBe(false);
    for (const s of [plain, audio, oldEvidence, gone]) expect(existsSync(s.file)).toBe(false);
    for (const s of [openEvidence, original, duplicate, recent]) {
      expect(await rowExists(s.id)).toBe(true);
      if (s.file) expect(existsSync(s.file)).toBe(true);
    }
    expect(existsSync(outside)).toBe(true);
    expect(existsSync(path.join(env.config.dataDir, 'samples', b2))).toBe(false);
    expect(existsSync(path.join(env.config.dataDir, 'samples', b))).toBe(true);
    const sql = env.ctx.database.sql;
    expect((await sql`select count(*)::int as n from signals where sample_id in ${sql([plain.id, oldEvidence.id, gone.id])}`)[0]!.n).toBe(0);
    expect((await sql`select count(*)::int as n from signals where sample_id in ${sql([openEvidence.id, original.id, recent.id])}`)[0]!.n).toBe(3);
    expect((await sql`select count(*)::int as n from transcripts where sample_id = ${audio.id}`)[0]!.n).toBe(0);
    // the long-resolved case keeps its evidence row, saying the sample went
    const [ev] = await sql`select sample_id, details from case_evidence where case_id = ${oldCase}`;
    expect(ev!.sample_id).toBeNull();
    expect(ev!.details).toMatchObject({ sampleId: oldEvidence.id, sampleExpiredAt: expect.any(String) });
    const audit = await sql`select details from actions where action = 'expire_samples' order by id`;
    expect(audit.map((a) => (a.details as { samples: number }).samples)).toEqual([2, 2, 2]);
    expect(audit[0]!.details).toMatchObject({ retentionDays: 30, evidenceRetentionDays: 365, capturedBefore: expect.any(String) });
    // nothing more to do
    expect(await retention().sweep()).toEqual({ samples: 0, files: 0, chatMessages: 0, sessions: 0, batches: 0 });
  });

  it('keeps everything when every retention is 0', async () => {
    const b = await newBroadcast();
    const old = await sample(b, 1, 4000);
    expect(await retention({ samplesDays: 0, chatDays: 0 }).sweep()).toEqual({ samples: 0, files: 0, chatMessages: 0, sessions: 0, batches: 0 });
    expect(await rowExists(old.id)).toBe(true);
    expect(existsSync(old.file)).toBe(true);
  });

  it('deletes chat messages past CHAT_RETENTION_DAYS, except those a case joined or is about while it needs them', async () => {
    const b = await newBroadcast();
    const { id: viewer } = await upsertUser(env.ctx.db, { handle: 'retention-viewer', role: 'viewer' });
    const sql = env.ctx.database.sql;
    const message = async (daysAgo: number, body: string) => {
      const m = await insertChatMessage(env.ctx.db, { broadcastId: b, userId: viewer, body, verdict: 'allow' });
      await sql`update chat_messages set created_at = ${new Date(Date.now() - daysAgo * DAY).toISOString()} where id = ${m.id}`;
      return m.id;
    };
    const old = [await message(100, 'old one'), await message(95, 'old two'), await message(91, 'old three')];
    const recent = await message(10, 'recent');
    const joined = await message(100, 'held, joined an open case');
    const about = await message(100, 'reported, its case resolved 10 days ago');
    const longAgo = await message(100, 'reported, its case resolved 400 days ago');
    const joinedCase = await openOrJoinCase(env.ctx.db, { subjectType: 'broadcast', subjectId: b, broadcastId: b, userId, reasonType: 'rule', reason: 'chat-hold', priority: 'normal', slaDueAt: new Date() });
    await sql`update chat_messages set case_id = ${joinedCase.id} where id = ${joined}`;
    for (const [id, resolvedDaysAgo] of [[about, 10], [longAgo, 400]] as const) {
      const c = await openOrJoinCase(env.ctx.db, { subjectType: 'message', subjectId: id, broadcastId: b, userId: viewer, reasonType: 'report', reason: 'harassment', priority: 'normal', slaDueAt: new Date() });
      await sql`update cases set status = 'resolved', resolved_at = ${new Date(Date.now() - resolvedDaysAgo * DAY).toISOString()} where id = ${c.id}`;
    }
    const out = await retention({ samplesDays: 0, chatDays: 90, batch: 2 }).sweep();
    expect(out).toEqual({ samples: 0, files: 0, chatMessages: 4, sessions: 0, batches: 2 });
    const left = (await sql`select id from chat_messages where broadcast_id = ${b}`).map((r) => r.id as string).sort();
    expect(left).toEqual([recent, joined, about].sort());
    expect(old.concat(longAgo).every((id) => !left.includes(id))).toBe(true);
    const audit = await sql`select details from actions where action = 'expire_chat_messages' order by id`;
    expect(audit.map((a) => (a.details as { chatMessages: number }).chatMessages)).toEqual([2, 2]);
    expect(audit[0]!.details).toMatchObject({ retentionDays: 90, evidenceRetentionDays: 365 });
  });

  it('deletes sessions that ended (expired or revoked) more than SESSION_RETENTION_DAYS ago, and only those', async () => {
    const { id: viewer } = await upsertUser(env.ctx.db, { handle: 'retention-sessions', role: 'viewer' });
    const sql = env.ctx.database.sql;
    const session = async (name: string, expiresDaysAgo: number, revokedDaysAgo: number | null) => {
      const at = (d: number) => new Date(Date.now() - d * DAY).toISOString();
      const [r] = await sql`insert into sessions (user_id, token_hash, expires_at, revoked_at, ip, user_agent)
        values (${viewer}, ${`hash-${name}`}, ${at(expiresDaysAgo)}, ${revokedDaysAgo === null ? null : at(revokedDaysAgo)}, '198.51.100.7', 'test') returning id`;
      return r!.id as string;
    };
    const expiredLongAgo = await session('expired-long-ago', 40, null);
    const revokedLongAgo = await session('revoked-long-ago', -1, 45); // revoked 45 days ago, would have lasted until tomorrow
    const expiredRecently = await session('expired-recently', 5, null);
    const live = await session('live', -0.5, null);
    const revokedRecently = await session('revoked-recently', 20, 25); // revoked 25 days ago, before it expired: ended then, kept
    const out = await retention({ samplesDays: 0, sessionsDays: 30 }).sweep();
    expect(out).toMatchObject({ sessions: 2 });
    const left = (await sql`select id from sessions where user_id = ${viewer}`).map((r) => r.id as string).sort();
    expect(left).toEqual([expiredRecently, live, revokedRecently].sort());
    expect([expiredLongAgo, revokedLongAgo].some((id) => left.includes(id))).toBe(false);
    const [audit] = await sql`select details from actions where action = 'expire_sessions' order by id desc limit 1`;
    expect(audit!.details).toMatchObject({ sessions: 2, retentionDays: 30 });
  });

  it('two nodes sweeping at once delete each sample once', async () => {
    const b = await newBroadcast();
    const made = [];
    for (let i = 0; i < 60; i++) made.push(await sample(b, 100 + i, 50));
    const count = async () => (await env.ctx.database.sql`select count(*)::int as n from samples`)[0]!.n as number;
    const before = await count();
    const [x, y] = await Promise.all([retention({ batch: 5 }).sweep(), retention({ batch: 5 }).sweep()]);
    // both took batches, and together they deleted exactly what went (the earlier tests' old sample kept under retention 0 too)
    expect(x.batches).toBeGreaterThan(0);
    expect(y.batches).toBeGreaterThan(0);
    expect(x.samples + y.samples).toBe(before - (await count()));
    expect(x.samples + y.samples).toBeGreaterThanOrEqual(60);
    for (const s of made) expect(existsSync(s.file)).toBe(false);
    const [n] = await env.ctx.database.sql`select count(*)::int as n from samples where broadcast_id = ${b}`;
    expect(n!.n).toBe(0);
  });

  it('runs on the API node: a sample past retention goes without anyone asking', async () => {
    const { startWarden } = await import('../bin/runtime.ts');
    const b = await newBroadcast();
    const old = await sample(b, 1, 45);
    const warden = await startWarden(env.ctx, { api: true });
    try {
      const deadline = Date.now() + 10_000;
      while (await rowExists(old.id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await rowExists(old.id)).toBe(false);
      expect(existsSync(old.file)).toBe(false);
      const text = await env.ctx.metrics.registry.metrics();
      expect(Number(/warden_retention_deleted_total\{kind="samples"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
      expect(Number(/warden_retention_deleted_total\{kind="sample_files"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
    } finally {
      await warden.stop();
    }
  }, 30_000);
});
