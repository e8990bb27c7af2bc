// The publish gate against real Postgres: every refusal reason, acceptance, and failing closed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { connectDatabase, insertBan, insertStreamKey, insertVerification, upsertUser, schema } from '../db/index.ts';
import { PublishGate, generateStreamKey, hashStreamKey, keyPrefix } from '../ingest/index.ts';
import { seedPerformer } from '../bin/seed.ts';
import { createTestEnv, type TestEnv } from './harness.ts';

let env: TestEnv;
let gate: PublishGate;
beforeAll(async () => {
  env = await createTestEnv();
  gate = new PublishGate(env.ctx.db);
});
afterAll(async () => env?.cleanup());

async function keyFor(userId: string): Promise<string> {
  const key = generateStreamKey();
  await insertStreamKey(env.ctx.db, { userId, keyHash: hashStreamKey(key), keyPrefix: keyPrefix(key) });
  return key;
}

describe('publish gate', () => {
  it('accepts a verified performer with a valid key', async () => {
    const p = await seedPerformer(env.ctx.db, 'gate-ok', { verified: true });
    const r = await gate.check(p.streamKey);
    expect(r).toMatchObject({ accepted: true, userId: p.userId, handle: 'gate-ok' });
  });

  it('refuses an unknown key', async () => {
    expect(await gate.check(generateStreamKey())).toMatchObject({ accepted: false, reason: 'unknown_key' });
  });

  it('refuses a performer without an approved verification, and one whose approval expired', async () => {
    const p = await seedPerformer(env.ctx.db, 'gate-unverified', { verified: false });
    expect(await gate.check(p.streamKey)).toMatchObject({ accepted: false, reason: 'not_verified', userId: p.userId });
    await insertVerification(env.ctx.db, { userId: p.userId, status: 'approved', expiresAt: new Date(Date.now() - 1000) });
    await insertVerification(env.ctx.db, { userId: p.userId, status: 'rejected' });
    expect(await gate.check(p.streamKey)).toMatchObject({ accepted: false, reason: 'not_verified' });
  });

  it('refuses a revoked key but accepts the owner\'s other key', async () => {
    const p = await seedPerformer(env.ctx.db, 'gate-revoked', { verified: true });
    const other = await keyFor(p.userId);
    await env.ctx.db.update(schema.streamKeys).set({ revokedAt: new Date() }).where(sql`key_hash = ${hashStreamKey(p.streamKey)}`);
    expect(await gate.check(p.streamKey)).toMatchObject({ accepted: false, reason: 'revoked_key' });
    expect(await gate.check(other)).toMatchObject({ accepted: true });
  });

  it('refuses a key owned by a non-performer even when verified', async () => {
    const { id } = await upsertUser(env.ctx.db, { handle: 'gate-viewer', role: 'viewer' });
    await insertVerification(env.ctx.db, { userId: id, status: 'approved' });
    expect(await gate.check(await keyFor(id))).toMatchObject({ accepted: false, reason: 'not_performer' });
  });

  it('refuses a banned or suspended performer, and accepts again once the ban expired or was lifted', async () => {
    const p = await seedPerformer(env.ctx.db, 'gate-banned', { verified: true });
    const ban = await insertBan(env.ctx.db, { userId: p.userId, reason: 'test ban', createdBy: 'test' });
    expect(await gate.check(p.streamKey)).toMatchObject({ accepted: false, reason: 'banned' });
    await env.ctx.db.update(schema.bans).set({ liftedAt: new Date() }).where(sql`id = ${ban.id}`);
    expect(await gate.check(p.streamKey)).toMatchObject({ accepted: true });
    await insertBan(env.ctx.db, { userId: p.userId, kind: 'suspension', reason: 'old', createdBy: 'test', startsAt: new Date(Date.now() - 7200e3), expiresAt: new Date(Date.now() - 3600e3) });
    expect(await gate.check(p.streamKey)).toMatchObject({ accepted: true });
    await insertBan(env.ctx.db, { userId: p.userId, kind: 'suspension', reason: 'current', createdBy: 'test', expiresAt: new Date(Date.now() + 3600e3) });
    expect(await gate.check(p.streamKey)).toMatchObject({ accepted: false, reason: 'banned' });
  });

  it('fails closed when Postgres cannot answer', async () => {
    const p = await seedPerformer(env.ctx.db, 'gate-closed', { verified: true });
    const dead = await connectDatabase(env.config.databaseUrl, { max: 1 });
    await dead.close();
    const r = await new PublishGate(dead.db, 500).check(p.streamKey);
    expect(r).toMatchObject({ accepted: false, reason: 'gate_unavailable' });
    // and a database that hangs longer than the gate's timeout
    const slow = await connectDatabase(env.config.databaseUrl, { max: 1 });
    const hold = slow.sql.begin(async (tx) => { await tx`select pg_sleep(2)`; });
    const t0 = Date.now();
    expect(await new PublishGate(slow.db, 300).check(p.streamKey)).toMatchObject({ accepted: false, reason: 'gate_unavailable' });
    expect(Date.now() - t0).toBeLessThan(1500);
    await hold;
    await slow.close();
  });
});
