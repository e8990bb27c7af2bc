/** Redis connections (ioredis) with a clear error naming the URL when the server cannot be reached. */
import { Redis } from 'ioredis';
import { WardenError, errorText } from './errors.ts';
import { redactUrl } from '../db/connect.ts';

/**
 * Opens a Redis connection and waits until it is ready.
 * @param opts.bullmq true for connections BullMQ workers use (`maxRetriesPerRequest: null`, as BullMQ requires).
 * @throws WardenError('unavailable') naming the URL when Redis does not answer within 5 s.
 */
export async function connectRedis(url: string, opts: { bullmq?: boolean; name?: string } = {}): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: opts.name,
    maxRetriesPerRequest: opts.bullmq ? null : 3,
    enableReadyCheck: true,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  redis.on('error', () => {}); // reconnects by itself; failures surface on commands and /readyz
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new WardenError('unavailable', `cannot reach Redis at ${redactUrl(url)}: ${errorText(err)}`, { cause: err });
  }
  return redis;
}

/** Deletes every key under a prefix (tests' throw-away prefixes). Uses SCAN, never KEYS. */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) n += await redis.del(...keys);
  } while (cursor !== '0');
  return n;
}
