// ViewerCounts against the machine's real Redis, under a throw-away key prefix.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { connectRedis, deleteKeysWithPrefix } from '../core/redis.ts';
import { createLogger } from '../core/logger.ts';
import { ViewerCounts, readViewerCounts, viewerCountKey } from './viewer-counts.ts';

const prefix = `wt_vc_${randomBytes(4).toString('hex')}`;
const logger = createLogger('silent');
let redis: Redis;
const readViewerCount = async (r: Redis, p: string, id: string) => (await readViewerCounts(r, p, [id]))[0];
beforeAll(async () => { redis = await connectRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'); });
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

describe('ViewerCounts', () => {
  it('publishes 0 for a broadcast going live, coalesces joins and leaves into one write, deletes the count when it ends', async () => {
    const counts = new ViewerCounts({ redis, prefix, logger, flushMs: 60_000 }); // flushed by hand here
    try {
      expect(await readViewerCount(redis, prefix, 'b1')).toBeNull(); // not counted anywhere
      counts.track('b1');
      await counts.flush();
      expect(await readViewerCount(redis, prefix, 'b1')).toBe(0);
      for (let i = 0; i < 1000; i++) counts.add('b1', 1);
      counts.add('b1', -1);
      counts.add('b2', 1); // not live here: ignored
      let writes = 0;
      const monitor = await redis.duplicate().monitor();
      monitor.on('monitor', (_t: string, args: string[]) => { if (args[0]?.toLowerCase() === 'set' && args[1]?.startsWith(prefix)) writes++; });
      await counts.flush();
      await new Promise((r) => setTimeout(r, 100));
      monitor.disconnect();
      expect(writes).toBe(1);
      expect(await readViewerCount(redis, prefix, 'b1')).toBe(999);
      expect(await readViewerCount(redis, prefix, 'b2')).toBeNull();
      expect(await readViewerCounts(redis, prefix, ['b2', 'b1'])).toEqual([null, 999]); // a page of broadcasts, in order
      const ttl = await redis.ttl(viewerCountKey(prefix, 'b1'));
      expect(ttl).toBeGreaterThan(80);
      expect(ttl).toBeLessThanOrEqual(90);
      for (let i = 0; i < 1005; i++) counts.add('b1', -1);
      await counts.flush();
      expect(await readViewerCount(redis, prefix, 'b1')).toBe(0); // never below zero
      counts.untrack('b1');
      await new Promise((r) => setTimeout(r, 50));
      expect(await readViewerCount(redis, prefix, 'b1')).toBeNull();
    } finally {
      await counts.stop();
    }
  });

  it('refreshes every count within a third of its life, so a dead node\'s counts expire rather than go stale', async () => {
    const counts = new ViewerCounts({ redis, prefix, logger, flushMs: 100, ttlS: 3 });
    try {
      counts.track('b3');
      counts.add('b3', 5);
      await new Promise((r) => setTimeout(r, 4000)); // past the TTL: only the refresh keeps it
      expect(await readViewerCount(redis, prefix, 'b3')).toBe(5);
    } finally {
      await counts.stop();
    }
    expect(await readViewerCount(redis, prefix, 'b3')).toBeNull(); // a node that stops deletes its counts
  });

  it('keeps a count it could not write and writes it once Redis answers', async () => {
    const dead = await connectRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    const counts = new ViewerCounts({ redis: dead, prefix, logger, flushMs: 60_000 });
    try {
      dead.disconnect();
      counts.track('b4');
      counts.add('b4', 2);
      await counts.flush(); // fails: kept
      await dead.connect();
      await counts.flush();
      expect(await readViewerCount(redis, prefix, 'b4')).toBe(2);
    } finally {
      await counts.stop();
      dead.disconnect();
    }
  });
});
