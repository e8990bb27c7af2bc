// Stream keys over the API on the real Postgres and Redis: only an approved, unbanned performer gets one; it is
// shown once and stored hashed; the publish gate accepts it; rotating and revoking end the broadcast live on it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../api/index.ts';
import { connectRedis } from '../core/redis.ts';
import { insertVerification, keyStanding, openBroadcast, upsertUser } from '../db/index.ts';
import { PublishGate, hashStreamKey } from '../ingest/index.ts';
import { enforcementChannel } from '../moderation/index.ts';
import { seedPerformer, seedSession } from '../bin/seed.ts';
import { createTestEnv, waitFor, type TestEnv } from './harness.ts';
import { client } from './review-fixtures.ts';

let env: TestEnv;
let app: ReturnType<typeof createApi>;
beforeAll(async () => {
  env = await createTestEnv();
  app = createApi({ ctx: env.ctx });
});
afterAll(async () => env?.cleanup());

describe('stream keys', () => {
  it('are only for approved performers, shown once, stored hashed, accepted by the publish gate', async () => {
    const p = await seedSession(env.ctx.db, 'key-performer', 'performer');
    const me = client(app, p.token);
    const refused = await me.post('/api/keys', { label: 'OBS' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/verification/);
    expect((await client(app, (await seedSession(env.ctx.db, 'key-viewer', 'viewer')).token).post('/api/keys', {})).status).toBe(403);

    await insertVerification(env.ctx.db, { userId: p.userId, status: 'approved', expiresAt: new Date(Date.now() + 86_400_000) });
    const made = await me.post('/api/keys', { label: 'OBS' });
    expect(made.status).toBe(201);
    expect(made.body.key).toMatch(/^wk_[A-Za-z0-9_-]{43}$/);
    const list = (await me.get('/api/keys')).body;
    expect(list).toHaveLength(1);
    expect(JSON.stringify(list)).not.toContain(made.body.key);
    expect(list[0]).toMatchObject({ prefix: made.body.key.slice(0, 10), label: 'OBS', revokedAt: null });
    const [row] = await env.ctx.database.sql`select key_hash from stream_keys where id = ${made.body.id}`;
    expect(row!.key_hash).toBe(hashStreamKey(made.body.key));
    expect(await new PublishGate(env.ctx.db).check(made.body.key)).toMatchObject({ accepted: true });
  });

  it('rotating or revoking ends the broadcast live on the key; others cannot touch it', async () => {
    const { id: userId } = await upsertUser(env.ctx.db, { handle: 'key-rotator', role: 'performer' });
    await insertVerification(env.ctx.db, { userId, status: 'approved', expiresAt: new Date(Date.now() + 86_400_000) });
    const p = await seedSession(env.ctx.db, 'key-rotator', 'performer');
    const me = client(app, p.token);
    const first = (await me.post('/api/keys', {})).body;
    const standing = (await keyStanding(env.ctx.db, hashStreamKey(first.key)))!;
    const live = await openBroadcast(env.ctx.db, { userId, streamKeyId: standing.streamKeyId, ingestNode: 'test' });
    const sub = await connectRedis(env.config.redisUrl);
    const ended: string[] = [];
    await sub.subscribe(enforcementChannel(env.config.redisPrefix));
    sub.on('message', (_c, m) => { const msg = JSON.parse(m) as { type: string; broadcastId?: string }; if (msg.type === 'end_stream') ended.push(msg.broadcastId!); });
    try {
      const other = client(app, (await seedSession(env.ctx.db, 'key-thief', 'performer')).token);
      expect((await other.post(`/api/keys/${first.id}/revoke`)).status).toBe(404);
      const rotated = await me.post(`/api/keys/${first.id}/rotate`, { label: 'new laptop' });
      expect(rotated.status).toBe(201);
      expect(rotated.body).toMatchObject({ endedBroadcastId: live.id });
      await waitFor(() => ended.includes(live.id), 'end_stream for the broadcast on the rotated key', 3000, 10);
      expect(await new PublishGate(env.ctx.db).check(first.key)).toMatchObject({ accepted: false, reason: 'revoked_key' });
      expect(await new PublishGate(env.ctx.db).check(rotated.body.key)).toMatchObject({ accepted: true });
      expect((await me.post(`/api/keys/${first.id}/revoke`)).status).toBe(404); // already revoked
      expect((await me.post(`/api/keys/${rotated.body.id}/revoke`)).body).toEqual({ endedBroadcastId: null });
      const audit = await env.ctx.database.sql`select action from actions where user_id = ${userId} order by chain_seq`;
      expect(audit.map((r) => r.action)).toEqual(['stream_key_created', 'stream_key_created', 'stream_key_rotated', 'stream_key_revoked']);
    } finally {
      sub.disconnect();
    }
  });

  it('a publish of a key still live elsewhere supersedes that broadcast and is linked to it (a reconnect to another node)', async () => {
    const p = await seedPerformer(env.ctx.db, 'key-reconnector', { verified: true });
    const standing = (await keyStanding(env.ctx.db, hashStreamKey(p.streamKey)))!;
    const first = await openBroadcast(env.ctx.db, { userId: p.userId, streamKeyId: standing.streamKeyId, ingestNode: 'ingest-a' });
    expect(first).toMatchObject({ continuesId: null, superseded: [] });
    const second = await openBroadcast(env.ctx.db, { userId: p.userId, streamKeyId: standing.streamKeyId, ingestNode: 'ingest-b' });
    expect(second).toMatchObject({ continuesId: first.id, superseded: [{ id: first.id, ingestNode: 'ingest-a' }] });
    const rows = await env.ctx.database.sql`select id, status, end_reason, continues_broadcast_id from broadcasts where user_id = ${p.userId} order by started_at`;
    expect(rows.map((r) => [r.id, r.status, r.continues_broadcast_id])).toEqual([[first.id, 'ended', null], [second.id, 'live', first.id]]);
    expect(rows[0]!.end_reason).toMatch(/superseded/);
    // a third publish continues the second, not the first: the chain is one link per reconnect
    const third = await openBroadcast(env.ctx.db, { userId: p.userId, streamKeyId: standing.streamKeyId, ingestNode: 'ingest-a' });
    expect(third.continuesId).toBe(second.id);

    const moderator = client(app, (await seedSession(env.ctx.db, 'key-reconnect-mod', 'moderator')).token);
    const listed = (await moderator.get(`/api/broadcasts?userId=${p.userId}`)).body as { data: { id: string; continuesId: string | null; continuedById: string | null }[] };
    expect(listed.data.map((b) => [b.id, b.continuesId, b.continuedById])).toEqual([
      [third.id, second.id, null], [second.id, first.id, third.id], [first.id, null, second.id],
    ]);
  });
});
