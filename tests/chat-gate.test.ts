// The chat gate (ingest/chat/limits.ts, near-cache.ts) on the machine's real Redis: answers from the node's copy with
// no round trip, a restriction or freeze written by anyone reaches the copy at once (Redis's own invalidation push),
// limits are shared by two gates as two nodes would share them, and a dropped connection clears the copy until
// tracking is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { ChatLimits, type GateLimits } from '../ingest/chat/index.ts';
import { frozenRoomKey, restrictionKey } from '../moderation/index.ts';
import { connectRedis } from '../core/redis.ts';
import { createTestEnv, waitFor, type TestEnv } from './harness.ts';

let env: TestEnv;
let other: Redis;
const gates: ChatLimits[] = [];
/** Limits loose enough that repeated checks never trip them (the restriction tests). */
const loose: GateLimits = { rateLimit: { burst: { count: 10_000, perMs: 10_000 }, sustained: { count: 10_000, perMs: 60_000 } }, duplicateWithinMs: 0 };

beforeAll(async () => {
  env = await createTestEnv();
  // someone else writing to Redis: a moderator's node, the alert service
  other = await connectRedis(env.config.redisUrl, { name: 'chat-gate-test-writer' });
});
afterAll(async () => {
  for (const g of gates) await g.stop();
  other?.disconnect();
  await env?.cleanup();
});

async function gate(): Promise<ChatLimits> {
  const g = new ChatLimits({ redis: env.ctx.redis, prefix: env.config.redisPrefix, logger: env.ctx.logger });
  await g.start();
  gates.push(g);
  return g;
}

describe('chat gate', () => {
  it('answers from its copy, without a Redis round trip, once the user has joined', async () => {
    const g = await gate();
    await g.warm('u-fast', 'room-1');
    const misses = g.restrictions.stats.misses;
    // Redis answers nobody for 400 ms: a check that needed it would wait that long
    await other.call('CLIENT', 'PAUSE', '400', 'ALL');
    const t0 = performance.now();
    const answer = await g.check('u-fast', 'room-1', 'hello there', loose, 0);
    const ms = performance.now() - t0;
    expect(answer).toEqual({ ok: true });
    expect(ms).toBeLessThan(100);
    expect(g.restrictions.stats.misses).toBe(misses);
    await new Promise((r) => setTimeout(r, 450));
  });

  it('sees a restriction or a freeze written by anyone at once, and its lifting and expiry', async () => {
    const g = await gate();
    const p = env.config.redisPrefix;
    await g.warm('u-ban', 'room-2');
    expect(await g.check('u-ban', 'room-2', 'hi', loose, 0)).toEqual({ ok: true });
    await other.set(restrictionKey(p, 'platform', 'u-ban'), JSON.stringify({ kind: 'ban', until: null, reason: 'test' }));
    await waitFor(async () => !(await g.check('u-ban', 'room-2', 'hi', loose, 0)).ok, 'the ban in the copy', 1000, 5);
    expect(await g.check('u-ban', 'room-2', 'hi', loose, 0)).toMatchObject({ ok: false, code: 'restricted', restriction: { kind: 'ban' } });
    await other.del(restrictionKey(p, 'platform', 'u-ban'));
    await waitFor(async () => (await g.check('u-ban', 'room-2', 'hi', loose, 0)).ok, 'the lifted ban in the copy', 1000, 5);
    // a room-scoped timeout that ends by itself (TTL): gone when it ends, whether or not the expiry's push came yet
    await other.set(restrictionKey(p, 'room:room-2', 'u-ban'), JSON.stringify({ kind: 'timeout', until: new Date(Date.now() + 300).toISOString(), reason: 'test' }), 'PX', 300);
    await waitFor(async () => !(await g.check('u-ban', 'room-2', 'hi', loose, 0)).ok, 'the timeout in the copy', 1000, 5);
    await new Promise((r) => setTimeout(r, 350));
    expect(await g.check('u-ban', 'room-2', 'hi', loose, 0)).toEqual({ ok: true });
    // the performer's panic alert freezes the room for everyone in it
    await other.set(frozenRoomKey(p, 'room-2'), JSON.stringify({ kind: 'freeze', until: null, reason: 'the performer paused chat' }), 'EX', 60);
    await waitFor(async () => !(await g.check('u-ban', 'room-2', 'hi', loose, 0)).ok, 'the freeze in the copy', 1000, 5);
    expect(await g.check('someone-else', 'room-2', 'hi', loose, 0)).toMatchObject({ ok: false, code: 'restricted', restriction: { kind: 'freeze' } });
    expect(await g.check('someone-else', 'room-other', 'hi', loose, 0)).toEqual({ ok: true });
    await other.del(frozenRoomKey(p, 'room-2'));
    expect(g.restrictions.stats.invalidations).toBeGreaterThanOrEqual(4);
  });

  it('shares slow mode, duplicates and rate limits between two nodes', async () => {
    const [a, b] = [await gate(), await gate()];
    const limits: GateLimits = { rateLimit: { burst: { count: 3, perMs: 10_000 }, sustained: { count: 100, perMs: 60_000 } }, duplicateWithinMs: 30_000 };
    for (const g of [a, b]) await g.warm('u-two', 'room-3');
    expect(await a.check('u-two', 'room-3', 'same words', limits, 0)).toEqual({ ok: true });
    await waitFor(() => b.remoteNotices >= 1, 'the notice on node B', 1000, 2);
    expect(await b.check('u-two', 'room-3', 'same words', limits, 0)).toMatchObject({ ok: false, code: 'duplicate' });
    expect(await a.check('u-two', 'room-3', 'second', limits, 0)).toEqual({ ok: true });
    expect(await a.check('u-two', 'room-3', 'third', limits, 0)).toEqual({ ok: true });
    await waitFor(() => b.remoteNotices >= 3, 'the notices on node B', 1000, 2);
    const limited = await b.check('u-two', 'room-3', 'fourth', limits, 0);
    expect(limited).toMatchObject({ ok: false, code: 'rate_limited' });
    expect((limited as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(9000);
    // slow mode in a room: a message on B holds the user back on A
    expect(await b.check('u-slow', 'room-4', 'first', limits, 20)).toEqual({ ok: true });
    await waitFor(() => a.remoteNotices >= 1, 'the notice on node A', 1000, 2);
    const slow = await a.check('u-slow', 'room-4', 'next', limits, 20);
    expect(slow).toMatchObject({ ok: false, code: 'slow_mode' });
    expect((slow as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(15_000);
  });

  it('clears its copy when its connection drops, reads Redis meanwhile, and tracks again', async () => {
    const g = await gate();
    const p = env.config.redisPrefix;
    await g.warm('u-drop', 'room-5');
    expect(g.restrictions.size).toBeGreaterThan(0);
    const list = String(await other.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const id = /id=(\d+) .*name=warden-chat-invalidate-(\w+)/.exec(list.split('\n').find((l) => l.includes(`name=warden-chat-invalidate-${g.restrictions.tag}`)) ?? '')?.[1];
    expect(id).toBeTruthy();
    await other.call('CLIENT', 'KILL', 'ID', id!);
    await waitFor(() => g.restrictions.stats.rebuilds === 1, 'the drop noticed', 2000, 5);
    expect(g.restrictions.size).toBe(0);
    // a ban written while tracking is down is still seen: every check reads Redis until tracking is back
    await other.set(restrictionKey(p, 'platform', 'u-drop'), JSON.stringify({ kind: 'ban', until: null, reason: 'while down' }));
    expect(await g.check('u-drop', 'room-5', 'hi', loose, 0)).toMatchObject({ ok: false, code: 'restricted' });
    await waitFor(() => g.restrictions.active, 'tracking back', 5000, 10);
    await g.warm('u-drop', 'room-5');
    await other.del(restrictionKey(p, 'platform', 'u-drop'));
    await waitFor(async () => (await g.check('u-drop', 'room-5', 'hi', loose, 0)).ok, 'the lifted ban seen after the rebuild', 1000, 5);
  });
});
